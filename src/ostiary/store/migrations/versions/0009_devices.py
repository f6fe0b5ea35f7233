"""Remembered devices of user pool users (device tracking, device SRP).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("device_key", sa.String(128), primary_key=True),
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("group_key", sa.String(128), nullable=False),
        sa.Column("confirmed", sa.Boolean, nullable=False),
        sa.Column("remembered", sa.Boolean, nullable=False),
        sa.Column("srp_salt", sa.String(128), nullable=True),
        sa.Column("srp_verifier", sa.Text, nullable=True),
        sa.Column("attributes", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_authenticated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_devices_user", "devices", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_table("devices")
