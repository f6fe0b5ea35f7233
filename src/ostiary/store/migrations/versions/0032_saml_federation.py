"""Ostiary as a SAML 2.0 identity provider (issue 14): ``samlidp_certificates`` (each IAM Identity
Center instance's SAML signing certificate, the key sealed) and ``samlidp_applications`` (each SAML
application's settings).

Revision ID: 0032
Revises: 0031
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "samlidp_certificates",
        sa.Column(
            "instance_arn",
            sa.String(128),
            sa.ForeignKey("sso_instances.instance_arn", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("private_enc", sa.Text(), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("not_after", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "samlidp_applications",
        sa.Column(
            "application_arn",
            sa.String(256),
            sa.ForeignKey("sso_applications.application_arn", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "instance_arn",
            sa.String(128),
            sa.ForeignKey("sso_instances.instance_arn", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("sp_entity_id", sa.String(1024), nullable=False),
        sa.Column("config", JSONDoc, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("instance_arn", "sp_entity_id", name="uq_samlidp_applications_entity"),
    )


def downgrade() -> None:
    op.drop_table("samlidp_applications")
    op.drop_table("samlidp_certificates")
