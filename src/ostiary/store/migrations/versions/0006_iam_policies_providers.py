"""IAM groups, managed policies with versions and attachments, OIDC and SAML providers, role
permissions boundaries, and STS session extras (kind, policy ARNs, session tags, federation).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "iam_groups",
        sa.Column("account_id", sa.String(12), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("name_key", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("group_id", sa.String(32), nullable=False, unique=True),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "iam_group_members",
        sa.Column("account_id", sa.String(12), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("group_key", sa.String(128), primary_key=True),
        sa.Column("user_key", sa.String(64), primary_key=True),
    )
    op.create_index("ix_iam_group_members_user", "iam_group_members", ["account_id", "user_key"])
    op.create_table(
        "iam_policies",
        sa.Column("arn", sa.String(2048), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("policy_id", sa.String(32), nullable=False, unique=True),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("description", sa.String(1000), nullable=True),
        sa.Column("default_version", sa.String(16), nullable=False),
        sa.Column("next_version", sa.Integer, nullable=False),
        sa.Column("tags", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_iam_policies_account", "iam_policies", ["account_id"])
    op.create_table(
        "iam_policy_versions",
        sa.Column("arn", sa.String(2048), sa.ForeignKey("iam_policies.arn", ondelete="CASCADE"), primary_key=True),
        sa.Column("version_id", sa.String(16), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "iam_attachments",
        sa.Column("account_id", sa.String(12), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("principal_type", sa.String(8), primary_key=True),
        sa.Column("principal_key", sa.String(128), primary_key=True),
        sa.Column("policy_arn", sa.String(2048), primary_key=True),
    )
    op.create_index("ix_iam_attachments_policy", "iam_attachments", ["policy_arn"])
    op.create_table(
        "iam_oidc_providers",
        sa.Column("arn", sa.String(2048), primary_key=True),
        sa.Column("account_id", sa.String(12), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("url", sa.String(1024), nullable=False),
        sa.Column("client_ids", JSONDoc, nullable=False),
        sa.Column("thumbprints", JSONDoc, nullable=False),
        sa.Column("tags", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "iam_saml_providers",
        sa.Column("arn", sa.String(2048), primary_key=True),
        sa.Column("account_id", sa.String(12), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("metadata_document", sa.Text, nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tags", JSONDoc, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("iam_roles") as batch:
        batch.add_column(sa.Column("permissions_boundary", sa.String(2048), nullable=True))
    with op.batch_alter_table("sts_sessions") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="assumed-role"))
        batch.add_column(sa.Column("policy_arns", JSONDoc, nullable=True))
        batch.add_column(sa.Column("session_tags", JSONDoc, nullable=True))
        batch.add_column(sa.Column("transitive_tag_keys", JSONDoc, nullable=True))
        batch.add_column(sa.Column("federation", JSONDoc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sts_sessions") as batch:
        for name in ("federation", "transitive_tag_keys", "session_tags", "policy_arns", "kind"):
            batch.drop_column(name)
    with op.batch_alter_table("iam_roles") as batch:
        batch.drop_column("permissions_boundary")
    for table in (
        "iam_saml_providers",
        "iam_oidc_providers",
        "iam_attachments",
        "iam_policy_versions",
        "iam_policies",
        "iam_group_members",
        "iam_groups",
    ):
        op.drop_table(table)
