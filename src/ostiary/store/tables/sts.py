"""STS: temporary credentials (ASIA keys with a sealed secret and a hashed session token)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
)

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

# Stored temporary credentials: ASIA access keys with a secret (sealed) and a session token (hashed):
# GetSessionToken, GetFederationToken, and role sessions issued before self-contained tokens (or too
# large for one); other role sessions are not stored (access/session_tokens.py).
sts_sessions = Table(
    "sts_sessions",
    metadata,
    Column("access_key_id", String(32), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("secret_enc", Text, nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("role_name", String(64), nullable=False),
    Column("role_path", String(512), nullable=False),
    Column("role_id", String(32), nullable=False),
    Column("session_name", String(64), nullable=False),
    Column("session_policy", Text, nullable=True),
    Column("source_identity", String(64), nullable=True),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # assumed-role (AssumeRole*, identity pools) | user (GetSessionToken: role_* name the user)
    Column("kind", String(16), nullable=False, server_default="assumed-role"),
    Column("policy_arns", JSONDoc, nullable=True),
    Column("session_tags", JSONDoc, nullable=True),  # {key: value}
    Column("transitive_tag_keys", JSONDoc, nullable=True),
    Column("federation", JSONDoc, nullable=True),  # web identity / SAML facts of the session
    # when an MFA code was checked for this session (GetSessionToken / AssumeRole with SerialNumber
    # and TokenCode; migration 0011): aws:MultiFactorAuthPresent and aws:MultiFactorAuthAge
    Column("mfa_auth_time", UTCDateTime(), nullable=True),
    Index("ix_sts_sessions_expires", "expires_at"),
)
