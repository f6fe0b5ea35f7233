"""Point-in-time recovery and replicas of user pools (issue 17): the change journal of users, groups,
memberships and passkeys with its triggers (store/journal.py), the recoveries, the replicas
(store/tables/recovery.py, store/tables/replicas.py).

Revision ID: 0042
Revises: 0041
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from ostiary.store import journal

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "user_pool_journal",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("user_pool_id", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("row_key", sa.Text, nullable=False),
        sa.Column("before", JSONDoc, nullable=True),
        sa.Column("at_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_user_pool_journal_pool", "user_pool_journal", ["user_pool_id", "at_us"])
    op.create_table(
        "user_pool_recoveries",
        sa.Column("restore_id", sa.String(36), primary_key=True),
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("status", sa.String(48), nullable=False),
        sa.Column("restore_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("preview", JSONDoc, nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_user_pool_recoveries_pool", "user_pool_recoveries", ["user_pool_id", "trigger_at"])
    op.create_index("ix_user_pool_recoveries_account", "user_pool_recoveries", ["account_id", "status"])
    op.create_table(
        "user_pool_replicas",
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    journal.create_triggers(op.get_bind())


def downgrade() -> None:
    journal.drop_triggers(op.get_bind())
    op.drop_table("user_pool_replicas")
    op.drop_table("user_pool_recoveries")
    op.drop_table("user_pool_journal")
