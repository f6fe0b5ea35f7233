"""Limits on one-time codes across re-issues: issued codes and failed verifications per user pool,
subject (a user, an unknown name, a destination) and kind of code, with the back-off lock.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "code_limits",
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("purpose", sa.String(48), primary_key=True),
        sa.Column("issued", sa.Integer, nullable=False),
        sa.Column("issue_window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("failure_window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lockouts", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_code_limits_updated", "code_limits", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_code_limits_updated", table_name="code_limits")
    op.drop_table("code_limits")
