"""Passkeys (WebAuthn credentials) of user pool users.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "webauthn_credentials",
        sa.Column("user_pool_id", sa.String(64), sa.ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("credential_id", sa.String(1400), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("relying_party_id", sa.String(127), nullable=False),
        sa.Column("friendly_name", sa.String(256), nullable=True),
        sa.Column("attachment", sa.String(32), nullable=True),
        sa.Column("transports", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_webauthn_credentials_user", "webauthn_credentials", ["user_id"])


def downgrade() -> None:
    op.drop_table("webauthn_credentials")
