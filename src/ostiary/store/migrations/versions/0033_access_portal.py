"""The access portal's tables (issue 14): ``accessportal_credentials`` (directory users' passwords and
TOTP) and ``accessportal_invitations`` (one-time links to set a first password).

Revision ID: 0033
Revises: 0032
"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accessportal_credentials",
        sa.Column(
            "user_id",
            sa.String(64),
            sa.ForeignKey("identitystore_users.user_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "identity_store_id",
            sa.String(16),
            sa.ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("password_temporary", sa.Boolean(), nullable=False),
        sa.Column("password_set_at", UTCDateTime(), nullable=True),
        sa.Column("totp_secret", sa.Text(), nullable=True),
        sa.Column("totp_pending", sa.Text(), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "accessportal_invitations",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(64),
            sa.ForeignKey("identitystore_users.user_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "identity_store_id",
            sa.String(16),
            sa.ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_accessportal_invitations_user", "accessportal_invitations", ["user_id"])


def downgrade() -> None:
    op.drop_table("accessportal_invitations")
    op.drop_table("accessportal_credentials")
