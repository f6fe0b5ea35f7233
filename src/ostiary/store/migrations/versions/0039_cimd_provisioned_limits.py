"""Issue 17: provisioned request-rate limits (store/tables/quotas.py) and client ID metadata documents:
CIMD policies and the metadata URLs they received (store/tables/cimd.py).

Revision ID: 0039
Revises: 0038
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "provisioned_limits",
        sa.Column("account_id", sa.String(12), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("category", sa.String(64), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "cimd_policies",
        sa.Column("policy_id", sa.String(64), primary_key=True),
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("cache_duration", sa.Integer, nullable=True),
        sa.Column("url_patterns", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_cimd_policies_pool", "cimd_policies", ["user_pool_id", "created_at"])
    op.create_table(
        "cimd_urls",
        sa.Column(
            "policy_id",
            sa.String(64),
            sa.ForeignKey("cimd_policies.policy_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("url", sa.String(256), primary_key=True),
        sa.Column("document", JSONDoc, nullable=True),
        sa.Column("cached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cimd_urls")
    op.drop_index("ix_cimd_policies_pool", table_name="cimd_policies")
    op.drop_table("cimd_policies")
    op.drop_table("provisioned_limits")
