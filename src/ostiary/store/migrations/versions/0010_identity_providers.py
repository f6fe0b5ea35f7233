"""User pool identity providers (SAML, OIDC, social) and the external identities of users.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "user_pool_identity_providers",
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("provider_name", sa.String(32), primary_key=True),
        sa.Column("provider_type", sa.String(32), nullable=False),
        sa.Column("details", JSONDoc, nullable=False),
        sa.Column("sealed_secrets", sa.Text, nullable=True),
        sa.Column("attribute_mapping", JSONDoc, nullable=False),
        sa.Column("idp_identifiers", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "external_identities",
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("provider_name", sa.String(32), primary_key=True),
        sa.Column("provider_user_id", sa.String(512), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("linked", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_external_identities_user", "external_identities", ["user_id"])


def downgrade() -> None:
    op.drop_table("external_identities")
    op.drop_table("user_pool_identity_providers")
