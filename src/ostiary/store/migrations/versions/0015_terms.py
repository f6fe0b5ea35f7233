"""Terms documents of app clients (CreateTerms): links shown on the hosted sign-up page.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "user_pool_terms",
        sa.Column("terms_id", sa.String(36), primary_key=True),
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("enforcement", sa.String(16), nullable=False),
        sa.Column("links", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("client_id", "name", name="uq_user_pool_terms_client_name"),
    )
    op.create_index("ix_user_pool_terms_pool", "user_pool_terms", ["user_pool_id", "created_at"])


def downgrade() -> None:
    op.drop_table("user_pool_terms")
