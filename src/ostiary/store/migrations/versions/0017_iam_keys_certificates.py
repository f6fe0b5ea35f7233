"""IAM: SSH public keys, signing certificates, server certificates, service-specific credentials,
service-linked role deletion tasks.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def _account() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("account_id", sa.String(12), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "iam_ssh_public_keys",
        _account(),
        sa.Column("key_id", sa.String(128), primary_key=True),
        sa.Column("user_key", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "iam_signing_certificates",
        _account(),
        sa.Column("certificate_id", sa.String(128), primary_key=True),
        sa.Column("user_key", sa.String(64), nullable=True),  # NULL: the account root's
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "iam_server_certificates",
        _account(),
        sa.Column("name_key", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("certificate_id", sa.String(128), nullable=False, unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("chain", sa.Text, nullable=True),
        sa.Column("private_key_enc", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tags", JSONDoc, nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "iam_service_specific_credentials",
        _account(),
        sa.Column("credential_id", sa.String(128), primary_key=True),
        sa.Column("user_key", sa.String(64), nullable=False),
        sa.Column("service_name", sa.String(128), nullable=False),
        sa.Column("service_user_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "iam_deletion_tasks",
        _account(),
        sa.Column("task_id", sa.String(256), primary_key=True),
        sa.Column("role_name", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", JSONDoc, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "iam_deletion_tasks",
        "iam_service_specific_credentials",
        "iam_server_certificates",
        "iam_signing_certificates",
        "iam_ssh_public_keys",
    ):
        op.drop_table(table)
