"""Cognito identity pools: pools, identities and the logins linked to them.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "identity_pools",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(12), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("config", JSONDoc, nullable=False),
        sa.Column("roles", JSONDoc, nullable=False),
        sa.Column("role_mappings", JSONDoc, nullable=False),
        sa.Column("tag_maps", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_identity_pools_account_region", "identity_pools", ["account_id", "region", "created_at"])
    op.create_table(
        "identities",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "identity_pool_id",
            sa.String(64),
            sa.ForeignKey("identity_pools.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_identities_pool", "identities", ["identity_pool_id", "created_at", "id"])
    op.create_table(
        "identity_logins",
        sa.Column(
            "identity_pool_id",
            sa.String(64),
            sa.ForeignKey("identity_pools.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("provider", sa.String(256), primary_key=True),
        sa.Column("subject", sa.String(1024), primary_key=True),
        sa.Column("identity_id", sa.String(64), sa.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_identity_logins_identity", "identity_logins", ["identity_id"])


def downgrade() -> None:
    op.drop_table("identity_logins")
    op.drop_table("identities")
    op.drop_table("identity_pools")
