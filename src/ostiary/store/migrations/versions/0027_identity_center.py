"""IAM Identity Center's instances and identity stores (issue 14): ``sso_instances``,
``identitystore_users``, ``identitystore_groups``, ``identitystore_memberships``.

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def _audit() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=True),
    ]


def _store_fk() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "identity_store_id",
        sa.String(16),
        sa.ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "sso_instances",
        sa.Column("instance_arn", sa.String(128), primary_key=True),
        sa.Column("identity_store_id", sa.String(16), nullable=False, unique=True),
        sa.Column("account_id", sa.String(12), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("client_token", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("settings", JSONDoc, nullable=True),
    )
    op.create_table(
        "identitystore_users",
        sa.Column("user_id", sa.String(64), primary_key=True),
        _store_fk(),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("user_name_key", sa.String(128), nullable=False),
        sa.Column("document", JSONDoc, nullable=False),
        *_audit(),
        sa.UniqueConstraint("identity_store_id", "user_name_key", name="uq_identitystore_users_name"),
    )
    op.create_table(
        "identitystore_groups",
        sa.Column("group_id", sa.String(64), primary_key=True),
        _store_fk(),
        sa.Column("display_name", sa.String(1024), nullable=False),
        sa.Column("display_name_key", sa.String(1024), nullable=False),
        sa.Column("document", JSONDoc, nullable=False),
        *_audit(),
        sa.UniqueConstraint("identity_store_id", "display_name_key", name="uq_identitystore_groups_name"),
    )
    op.create_table(
        "identitystore_memberships",
        sa.Column("membership_id", sa.String(64), primary_key=True),
        _store_fk(),
        sa.Column(
            "group_id",
            sa.String(64),
            sa.ForeignKey("identitystore_groups.group_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.String(64),
            sa.ForeignKey("identitystore_users.user_id", ondelete="CASCADE"),
            nullable=False,
        ),
        *_audit(),
        sa.UniqueConstraint("group_id", "user_id", name="uq_identitystore_memberships"),
    )
    op.create_index("ix_identitystore_memberships_user", "identitystore_memberships", ["user_id"])


def downgrade() -> None:
    op.drop_table("identitystore_memberships")
    op.drop_table("identitystore_groups")
    op.drop_table("identitystore_users")
    op.drop_table("sso_instances")
