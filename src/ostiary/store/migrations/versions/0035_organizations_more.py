"""AWS Organizations, the rest (issue 14): the organization's resource policy
(``org_resource_policies``), the ENABLE_ALL_FEATURES handshakes' parent (``org_handshakes``), and when a
policy or an attachment last changed (``org_policies.updated_at``, ``org_policy_attachments.attached_at``:
an effective policy's LastUpdatedTimestamp).

Revision ID: 0035
Revises: 0034
"""

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "org_resource_policies",
        sa.Column(
            "org_id",
            sa.String(34),
            sa.ForeignKey("org_organizations.org_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("policy_id", sa.String(34), nullable=False, unique=True),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("org_handshakes") as batch:
        batch.add_column(sa.Column("parent_handshake_id", sa.String(34), nullable=True))
    with op.batch_alter_table("org_policies") as batch:
        batch.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("org_policy_attachments") as batch:
        batch.add_column(sa.Column("attached_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("org_policy_attachments") as batch:
        batch.drop_column("attached_at")
    with op.batch_alter_table("org_policies") as batch:
        batch.drop_column("updated_at")
    with op.batch_alter_table("org_handshakes") as batch:
        batch.drop_column("parent_handshake_id")
    op.drop_table("org_resource_policies")
