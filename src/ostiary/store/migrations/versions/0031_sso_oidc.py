"""sso-oidc and the portal API's tables (issue 14): ``sso_oidc_clients``, ``sso_oidc_device_requests``,
``sso_oidc_auth_codes``, ``sso_oidc_sessions``, ``sso_oidc_tokens``.

Revision ID: 0031
Revises: 0030
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def UTCDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _client_fk(nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "client_id",
        sa.String(64),
        sa.ForeignKey("sso_oidc_clients.client_id", ondelete="CASCADE"),
        nullable=nullable,
    )


def _store_fk() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "identity_store_id",
        sa.String(16),
        sa.ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "sso_oidc_clients",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("client_name", sa.String(128), nullable=False),
        sa.Column("client_type", sa.String(16), nullable=False),
        sa.Column("scopes", JSONDoc, nullable=False),
        sa.Column("grant_types", JSONDoc, nullable=False),
        sa.Column("redirect_uris", JSONDoc, nullable=False),
        sa.Column("issuer_url", sa.String(1024), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sso_oidc_clients_expires", "sso_oidc_clients", ["expires_at"])
    op.create_table(
        "sso_oidc_device_requests",
        sa.Column("device_code_hash", sa.String(64), primary_key=True),
        sa.Column("user_code", sa.String(8), nullable=False, unique=True),
        _client_fk(),
        _store_fk(),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sso_oidc_device_requests_expires", "sso_oidc_device_requests", ["expires_at"])
    op.create_table(
        "sso_oidc_auth_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        _client_fk(),
        sa.Column("redirect_uri", sa.String(1024), nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("scopes", JSONDoc, nullable=False),
        _store_fk(),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sso_oidc_auth_codes_expires", "sso_oidc_auth_codes", ["expires_at"])
    op.create_table(
        "sso_oidc_sessions",
        sa.Column("session_id", sa.String(64), primary_key=True),
        _store_fk(),
        sa.Column("user_id", sa.String(64), nullable=False),
        _client_fk(nullable=True),
        sa.Column("scopes", JSONDoc, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_sso_oidc_sessions_user", "sso_oidc_sessions", ["identity_store_id", "user_id"])
    op.create_index("ix_sso_oidc_sessions_expires", "sso_oidc_sessions", ["expires_at"])
    op.create_table(
        "sso_oidc_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(64),
            sa.ForeignKey("sso_oidc_sessions.session_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_sso_oidc_tokens_session", "sso_oidc_tokens", ["session_id"])


def downgrade() -> None:
    op.drop_table("sso_oidc_tokens")
    op.drop_table("sso_oidc_sessions")
    op.drop_table("sso_oidc_auth_codes")
    op.drop_table("sso_oidc_device_requests")
    op.drop_table("sso_oidc_clients")
