"""IAM Identity Center's trusted identity propagation (issue 14): an instance's additional Regions
(``sso_instance_regions``), applications' session configuration (``sso_application_settings``), access
scopes, IAM authentication methods and grants, trusted token issuers, and CreateTokenWithIAM's
sessions and tokens (``sso_oidc_app_sessions``, ``sso_oidc_app_tokens``).

Revision ID: 0034
Revises: 0033
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _instance_fk() -> sa.ForeignKey:
    return sa.ForeignKey("sso_instances.instance_arn", ondelete="CASCADE")


def _application_fk() -> sa.ForeignKey:
    return sa.ForeignKey("sso_applications.application_arn", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "sso_instance_regions",
        sa.Column("instance_arn", sa.String(128), _instance_fk(), primary_key=True),
        sa.Column("region_name", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "sso_application_settings",
        sa.Column("application_arn", sa.String(256), _application_fk(), primary_key=True),
        sa.Column("user_background_sessions", sa.String(8), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "sso_application_scopes",
        sa.Column("application_arn", sa.String(256), _application_fk(), primary_key=True),
        sa.Column("scope", sa.String(160), primary_key=True),
        sa.Column("targets", JSONDoc, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "sso_application_auth_methods",
        sa.Column("application_arn", sa.String(256), _application_fk(), primary_key=True),
        sa.Column("method_type", sa.String(8), primary_key=True),
        sa.Column("actor_policy", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "sso_application_grants",
        sa.Column("application_arn", sa.String(256), _application_fk(), primary_key=True),
        sa.Column("grant_type", sa.String(64), primary_key=True),
        sa.Column("grant", JSONDoc, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "sso_trusted_token_issuers",
        sa.Column("issuer_arn", sa.String(256), primary_key=True),
        sa.Column("instance_arn", sa.String(128), _instance_fk(), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("issuer_type", sa.String(16), nullable=False),
        sa.Column("issuer_url", sa.String(512), nullable=False),
        sa.Column("claim_attribute_path", sa.String(255), nullable=False),
        sa.Column("identity_store_attribute_path", sa.String(255), nullable=False),
        sa.Column("jwks_retrieval_option", sa.String(32), nullable=False),
        sa.Column("client_token", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("instance_arn", "issuer_url", name="uq_sso_trusted_token_issuers_url"),
        sa.UniqueConstraint("instance_arn", "name", name="uq_sso_trusted_token_issuers_name"),
    )
    op.create_table(
        "sso_oidc_app_sessions",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("application_arn", sa.String(256), _application_fk(), nullable=False),
        sa.Column(
            "identity_store_id",
            sa.String(16),
            sa.ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("scopes", JSONDoc, nullable=False),
        sa.Column("refresh", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_sso_oidc_app_sessions_expires", "sso_oidc_app_sessions", ["expires_at"])
    op.create_table(
        "sso_oidc_app_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("sso_oidc_app_sessions.session_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_sso_oidc_app_tokens_session", "sso_oidc_app_tokens", ["session_id"])


def downgrade() -> None:
    for table in (
        "sso_oidc_app_tokens",
        "sso_oidc_app_sessions",
        "sso_trusted_token_issuers",
        "sso_application_grants",
        "sso_application_auth_methods",
        "sso_application_scopes",
        "sso_application_settings",
        "sso_instance_regions",
    ):
        op.drop_table(table)
