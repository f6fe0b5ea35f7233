"""Issue 16's adaptive authentication tables: ``risk_known`` (what a user's sign-ins have shown:
devices, user-agent families, addresses, networks, countries), ``risk_last_sign_ins`` (where and when
each user last signed in) and ``risk_attempts`` (recent attempts per address and per user).

Revision ID: 0037
Revises: 0036
"""

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "risk_known",
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("value", sa.String(128), primary_key=True),
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "risk_last_sign_ins",
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("ip", sa.String(45), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
    )
    op.create_table(
        "risk_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
        sa.Column("address", sa.String(45), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_risk_attempts_address", "risk_attempts", ["user_pool_id", "address", "at"])
    op.create_index("ix_risk_attempts_subject", "risk_attempts", ["user_pool_id", "subject", "at"])


def downgrade() -> None:
    op.drop_index("ix_risk_attempts_subject", table_name="risk_attempts")
    op.drop_index("ix_risk_attempts_address", table_name="risk_attempts")
    op.drop_table("risk_attempts")
    op.drop_table("risk_last_sign_ins")
    op.drop_table("risk_known")
