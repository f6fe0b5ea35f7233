"""Threat protection: risk configurations (SetRiskConfiguration) and sign-in events
(AdminListUserAuthEvents).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "user_pool_risk_configurations",
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("client_id", sa.String(128), primary_key=True),
        sa.Column("config", JSONDoc, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "user_auth_events",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_type", sa.String(16), nullable=False),
        sa.Column("response", sa.String(16), nullable=False),
        sa.Column("details", JSONDoc, nullable=False),
        sa.Column("feedback_value", sa.String(8), nullable=True),
        sa.Column("feedback_provider", sa.String(8), nullable=True),
        sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_user_auth_events_user", "user_auth_events", ["user_id", "created_at"])
    op.create_index("ix_user_auth_events_pool", "user_auth_events", ["user_pool_id", "created_at"])


def downgrade() -> None:
    op.drop_table("user_auth_events")
    op.drop_table("user_pool_risk_configurations")
