"""IAM Identity Center's OIDC service (sso-oidc) and the portal API's tokens (issue 14, migration 0031).

Registered clients (RegisterClient: unauthenticated, so they belong to no account; the secret kept as
its sha256), device authorizations (StartDeviceAuthorization: the device code as its sha256, the user
code the portal's device page looks up), authorization codes (the ``/authorize`` page's, PKCE-bound,
kept as sha256), and sign-in sessions with their tokens: a session is one user of one identity store
signed in through one client (or the web portal, client NULL) until the instance's session duration
ends; its access tokens and rotating refresh tokens are kept as sha256 only. Logout and a refresh
token's reuse revoke the whole session.

CreateTokenWithIAM's sessions are apart (migration 0034): one user of one application (its ARN the
client), the scopes granted and how the user was established; their tokens never reach the portal API.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

__all__ = [
    "sso_oidc_app_sessions",
    "sso_oidc_app_tokens",
    "sso_oidc_auth_codes",
    "sso_oidc_clients",
    "sso_oidc_device_requests",
    "sso_oidc_sessions",
    "sso_oidc_tokens",
]

sso_oidc_clients = Table(
    "sso_oidc_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("secret_hash", String(64), nullable=False),  # sha256 hex of the client secret
    Column("client_name", String(128), nullable=False),
    Column("client_type", String(16), nullable=False),  # public
    Column("scopes", JSONDoc, nullable=False),  # list of scope strings
    Column("grant_types", JSONDoc, nullable=False),  # list; empty = the device code grant only (legacy)
    Column("redirect_uris", JSONDoc, nullable=False),
    Column("issuer_url", String(1024), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),  # clientSecretExpiresAt (90 days)
    Index("ix_sso_oidc_clients_expires", "expires_at"),
)

sso_oidc_device_requests = Table(
    "sso_oidc_device_requests",
    metadata,
    Column("device_code_hash", String(64), primary_key=True),
    Column("user_code", String(8), nullable=False, unique=True),  # 8 letters, stored without the dash
    Column("client_id", String(64), ForeignKey("sso_oidc_clients.client_id", ondelete="CASCADE"), nullable=False),
    Column(
        "identity_store_id",
        String(16),
        ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("status", String(16), nullable=False),  # PENDING | APPROVED | DENIED | USED
    Column("user_id", String(64), nullable=True),  # who approved
    Column("interval_seconds", Integer, nullable=False),  # grows by 5 at each slow_down (RFC 8628 §3.5)
    Column("last_polled_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_sso_oidc_device_requests_expires", "expires_at"),
)

sso_oidc_auth_codes = Table(
    "sso_oidc_auth_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("client_id", String(64), ForeignKey("sso_oidc_clients.client_id", ondelete="CASCADE"), nullable=False),
    Column("redirect_uri", String(1024), nullable=False),
    Column("code_challenge", String(128), nullable=False),
    Column("scopes", JSONDoc, nullable=False),
    Column(
        "identity_store_id",
        String(16),
        ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", String(64), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_sso_oidc_auth_codes_expires", "expires_at"),
)

sso_oidc_sessions = Table(
    "sso_oidc_sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column(
        "identity_store_id",
        String(16),
        ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", String(64), nullable=False),
    # NULL for the web portal's own session; a client deleted (expired) ends its sessions
    Column("client_id", String(64), ForeignKey("sso_oidc_clients.client_id", ondelete="CASCADE"), nullable=True),
    Column("scopes", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),  # the instance's session duration
    Column("revoked_at", UTCDateTime(), nullable=True),
    Index("ix_sso_oidc_sessions_user", "identity_store_id", "user_id"),
    Index("ix_sso_oidc_sessions_expires", "expires_at"),
)

sso_oidc_tokens = Table(
    "sso_oidc_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex of the bearer/refresh token
    Column("session_id", String(64), ForeignKey("sso_oidc_sessions.session_id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),  # ACCESS | REFRESH
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),  # a refresh token is spent once (rotation)
    Index("ix_sso_oidc_tokens_session", "session_id"),
)


# CreateTokenWithIAM (trusted identity propagation): a user's session with an application
sso_oidc_app_sessions = Table(
    "sso_oidc_app_sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column(
        "application_arn",
        String(256),
        ForeignKey("sso_applications.application_arn", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "identity_store_id",
        String(16),
        ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", String(64), nullable=False),
    Column("scopes", JSONDoc, nullable=False),
    Column("refresh", Boolean, nullable=False),  # the session has refresh tokens
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Index("ix_sso_oidc_app_sessions_expires", "expires_at"),
)

sso_oidc_app_tokens = Table(
    "sso_oidc_app_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex
    Column(
        "session_id", String(64), ForeignKey("sso_oidc_app_sessions.session_id", ondelete="CASCADE"), nullable=False
    ),
    Column("kind", String(8), nullable=False),  # ACCESS | REFRESH
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
    Index("ix_sso_oidc_app_tokens_session", "session_id"),
)
