"""IAM Identity Center's administration (issue 14): ``sso_permission_sets``,
``sso_account_assignments``, ``sso_provisioned``, ``sso_operations``, ``sso_applications``,
``sso_application_assignments``, ``sso_access_control``.

Revision ID: 0030
Revises: 0029
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def _instance(primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "instance_arn",
        sa.String(128),
        sa.ForeignKey("sso_instances.instance_arn", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
    )


def _permission_set() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "permission_set_arn",
        sa.String(256),
        sa.ForeignKey("sso_permission_sets.permission_set_arn", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.create_table(
        "sso_permission_sets",
        sa.Column("permission_set_arn", sa.String(256), primary_key=True),
        _instance(),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("description", sa.String(700), nullable=True),
        sa.Column("session_duration", sa.String(100), nullable=False),
        sa.Column("relay_state", sa.String(240), nullable=True),
        sa.Column("inline_policy", sa.Text(), nullable=True),
        sa.Column("managed_policies", JSONDoc, nullable=False),
        sa.Column("customer_policies", JSONDoc, nullable=False),
        sa.Column("permissions_boundary", JSONDoc, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("instance_arn", "name", name="uq_sso_permission_sets_name"),
    )
    op.create_table(
        "sso_account_assignments",
        _permission_set(),
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("principal_type", sa.String(8), primary_key=True),
        sa.Column("principal_id", sa.String(64), primary_key=True),
        _instance(),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sso_account_assignments_principal", "sso_account_assignments", ["principal_id"])
    op.create_index("ix_sso_account_assignments_account", "sso_account_assignments", ["instance_arn", "account_id"])
    op.create_table(
        "sso_provisioned",
        _permission_set(),
        sa.Column("account_id", sa.String(12), primary_key=True),
        _instance(),
        sa.Column("role_name", sa.String(64), nullable=False),
        sa.Column("role_path", sa.String(512), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("provisioned_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sso_provisioned_account", "sso_provisioned", ["instance_arn", "account_id"])
    op.create_table(
        "sso_operations",
        sa.Column("request_id", sa.String(36), primary_key=True),
        _instance(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_reason", sa.String(1024), nullable=True),
        sa.Column("permission_set_arn", sa.String(256), nullable=False),
        sa.Column("target_id", sa.String(12), nullable=True),
        sa.Column("target_type", sa.String(32), nullable=True),
        sa.Column("principal_type", sa.String(8), nullable=True),
        sa.Column("principal_id", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sso_operations_instance", "sso_operations", ["instance_arn", "kind", "created_at"])
    op.create_table(
        "sso_applications",
        sa.Column("application_arn", sa.String(256), primary_key=True),
        _instance(),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("provider_arn", sa.String(256), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(128), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("portal_options", JSONDoc, nullable=False),
        sa.Column("assignment_required", sa.Boolean(), nullable=False),
        sa.Column("client_token", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sso_applications_instance", "sso_applications", ["instance_arn"])
    op.create_table(
        "sso_application_assignments",
        sa.Column(
            "application_arn",
            sa.String(256),
            sa.ForeignKey("sso_applications.application_arn", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("principal_type", sa.String(8), primary_key=True),
        sa.Column("principal_id", sa.String(64), primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sso_application_assignments_principal", "sso_application_assignments", ["principal_id"])
    op.create_table(
        "sso_access_control",
        _instance(primary_key=True),
        sa.Column("attributes", JSONDoc, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "sso_access_control",
        "sso_application_assignments",
        "sso_applications",
        "sso_operations",
        "sso_provisioned",
        "sso_account_assignments",
        "sso_permission_sets",
    ):
        op.drop_table(table)
