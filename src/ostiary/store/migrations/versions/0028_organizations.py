"""AWS Organizations (issue 14): ``org_organizations``, ``org_units``, ``org_accounts``,
``org_create_account_requests``, ``org_policies``, ``org_policy_attachments``, ``org_handshakes``,
``org_service_access``, ``org_delegated_admins``.

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _org_fk(primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "org_id",
        sa.String(34),
        sa.ForeignKey("org_organizations.org_id", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "org_organizations",
        sa.Column("org_id", sa.String(34), primary_key=True),
        sa.Column(
            "management_account_id",
            sa.String(12),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("feature_set", sa.String(32), nullable=False),
        sa.Column("root_id", sa.String(34), nullable=False, unique=True),
        sa.Column("policy_types", JSONDoc, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "org_units",
        sa.Column("ou_id", sa.String(68), primary_key=True),
        _org_fk(),
        sa.Column("parent_id", sa.String(68), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("org_id", "parent_id", "name", name="uq_org_units_name"),
    )
    op.create_table(
        "org_accounts",
        sa.Column("account_id", sa.String(12), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        _org_fk(),
        sa.Column("parent_id", sa.String(68), nullable=False),
        sa.Column("email", sa.String(64), nullable=True),
        sa.Column("email_key", sa.String(64), nullable=True),
        sa.Column("joined_method", sa.String(16), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.UniqueConstraint("org_id", "email_key", name="uq_org_accounts_email"),
    )
    op.create_index("ix_org_accounts_parent", "org_accounts", ["org_id", "parent_id"])
    op.create_table(
        "org_create_account_requests",
        sa.Column("request_id", sa.String(40), primary_key=True),
        _org_fk(),
        sa.Column("account_name", sa.String(50), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("failure_reason", sa.String(64), nullable=True),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_org_create_account_requests_org", "org_create_account_requests", ["org_id", "requested_at"])
    op.create_table(
        "org_policies",
        sa.Column("policy_id", sa.String(130), primary_key=True),
        _org_fk(),
        sa.Column("policy_type", sa.String(40), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.String(512), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.UniqueConstraint("org_id", "policy_type", "name", name="uq_org_policies_name"),
    )
    op.create_table(
        "org_policy_attachments",
        _org_fk(primary_key=True),
        sa.Column("policy_id", sa.String(130), primary_key=True),
        sa.Column("target_id", sa.String(100), primary_key=True),
        sa.Column("policy_type", sa.String(40), nullable=False),
    )
    op.create_index("ix_org_policy_attachments_target", "org_policy_attachments", ["org_id", "target_id"])
    op.create_table(
        "org_handshakes",
        sa.Column("handshake_id", sa.String(34), primary_key=True),
        _org_fk(),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target_account_id", sa.String(12), nullable=False),
        sa.Column("notes", sa.String(1024), nullable=True),
        sa.Column("tags", JSONDoc, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_org_handshakes_target", "org_handshakes", ["target_account_id"])
    op.create_index("ix_org_handshakes_org", "org_handshakes", ["org_id"])
    op.create_table(
        "org_service_access",
        _org_fk(primary_key=True),
        sa.Column("service_principal", sa.String(128), primary_key=True),
        sa.Column("enabled_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "org_delegated_admins",
        sa.Column("account_id", sa.String(12), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("service_principal", sa.String(128), primary_key=True),
        _org_fk(),
        sa.Column("enabled_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_org_delegated_admins_org", "org_delegated_admins", ["org_id", "service_principal"])


def downgrade() -> None:
    op.drop_table("org_delegated_admins")
    op.drop_table("org_service_access")
    op.drop_table("org_handshakes")
    op.drop_table("org_policy_attachments")
    op.drop_table("org_policies")
    op.drop_table("org_create_account_requests")
    op.drop_table("org_accounts")
    op.drop_table("org_units")
    op.drop_table("org_organizations")
