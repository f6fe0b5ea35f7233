"""The identity store's revisions, e-mail key and external ids, and SCIM bearer tokens (issue 14):
``identitystore_users.revision``/``email_key``, ``identitystore_groups.revision``,
``identitystore_external_ids``, ``scim_tokens``.

Revision ID: 0029
Revises: 0028
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def _store_fk() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "identity_store_id",
        sa.String(16),
        sa.ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.add_column("identitystore_users", sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("identitystore_users", sa.Column("email_key", sa.String(1024), nullable=True))
    op.create_index("ix_identitystore_users_email", "identitystore_users", ["identity_store_id", "email_key"])
    op.add_column("identitystore_groups", sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "identitystore_external_ids",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _store_fk(),
        sa.Column("resource_type", sa.String(8), nullable=False),
        sa.Column(
            "user_id",
            sa.String(64),
            sa.ForeignKey("identitystore_users.user_id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column(
            "group_id",
            sa.String(64),
            sa.ForeignKey("identitystore_groups.group_id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("issuer", sa.String(256), nullable=False),
        sa.Column("external_id", sa.String(256), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.UniqueConstraint(
            "identity_store_id", "resource_type", "issuer", "external_id", name="uq_identitystore_external_ids"
        ),
    )
    op.create_index("ix_identitystore_external_ids_user", "identitystore_external_ids", ["user_id"])
    op.create_index("ix_identitystore_external_ids_group", "identitystore_external_ids", ["group_id"])
    op.create_table(
        "scim_tokens",
        sa.Column("token_id", sa.String(64), primary_key=True),
        _store_fk(),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_scim_tokens_store", "scim_tokens", ["identity_store_id"])


def downgrade() -> None:
    op.drop_table("scim_tokens")
    op.drop_table("identitystore_external_ids")
    op.drop_index("ix_identitystore_users_email", table_name="identitystore_users")
    op.drop_column("identitystore_users", "email_key")
    op.drop_column("identitystore_users", "revision")
    op.drop_column("identitystore_groups", "revision")
