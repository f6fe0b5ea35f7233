"""OAuth 2.0 and the hosted UI: domains, resource servers, UI customization, authorization codes and
single-sign-on sessions.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

# A pool's domains: a prefix (served as <prefix>.<auth base host> and under /_domain/<prefix>) or a
# custom domain name.
user_pool_domains = Table(
    "user_pool_domains",
    metadata,
    Column("domain", String(253), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("custom", Boolean, nullable=False),
    Column("certificate_arn", String(2048), nullable=True),
    Column("managed_login_version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_user_pool_domains_pool", "user_pool_id"),
)


resource_servers = Table(
    "resource_servers",
    metadata,
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
    Column("identifier", String(256), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("scopes", JSONDoc, nullable=False),  # [{ScopeName, ScopeDescription}]
    Column("created_at", UTCDateTime(), nullable=False),
)


# SetUICustomization: per client, or pool-wide under client_id "ALL".
ui_customizations = Table(
    "ui_customizations",
    metadata,
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
    Column("client_id", String(128), primary_key=True),
    Column("css", Text, nullable=True),
    Column("image", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)


# Authorization codes: stored hashed, single-use (deleted when redeemed), short-lived.
oauth_codes = Table(
    "oauth_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("redirect_uri", String(2048), nullable=False),
    Column("scopes", JSONDoc, nullable=False),
    Column("nonce", String(1024), nullable=True),
    Column("code_challenge", String(128), nullable=True),
    Column("code_challenge_method", String(8), nullable=True),
    Column("auth_time", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("sso_session_id", String(28), nullable=True),  # migration 0018: the SSO session it came through
    Index("ix_oauth_codes_expires", "expires_at"),
)


# The hosted UI's single-sign-on sessions (the cookie holds the id; the store keeps its hash).
sso_sessions = Table(
    "sso_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("auth_time", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # migration 0018 (session tracking): the public session id ("sso…"), the app client signed in
    # through, the last token grant
    Column("session_id", String(28), nullable=True),
    Column("client_id", String(128), nullable=True),
    Column("last_active_at", UTCDateTime(), nullable=True),
    Index("ix_sso_sessions_user", "user_id"),
)
