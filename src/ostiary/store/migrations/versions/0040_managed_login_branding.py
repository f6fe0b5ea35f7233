"""Managed login branding (issue 17): a style per app client and its image assets
(store/tables/managed_login.py).

Revision ID: 0040
Revises: 0039
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "managed_login_brandings",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "client_id",
            sa.String(128),
            sa.ForeignKey("user_pool_clients.client_id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("use_cognito_provided_values", sa.Boolean, nullable=False),
        sa.Column("settings", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "managed_login_assets",
        sa.Column(
            "branding_id",
            sa.String(36),
            sa.ForeignKey("managed_login_brandings.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("category", sa.String(32), primary_key=True),
        sa.Column("color_mode", sa.String(8), primary_key=True),
        sa.Column("extension", sa.String(8), nullable=False),
        sa.Column("resource_id", sa.String(40), nullable=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("managed_login_assets")
    op.drop_table("managed_login_brandings")
