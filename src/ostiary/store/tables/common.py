"""Tables more than one service uses: accounts and their access keys, tags, counters, signing keys,
the outbox, single-use markers and audit events.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(12), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(32), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("secret_enc", Text, nullable=False),
    Column("principal_type", String(16), nullable=False),
    Column("principal_name", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # GetAccessKeyLastUsed (migration 0011): recorded at most once a minute per key and process
    Column("last_used_at", UTCDateTime(), nullable=True),
    Column("last_used_service", String(64), nullable=True),
    Column("last_used_region", String(32), nullable=True),
    Index("ix_access_keys_account", "account_id"),
)


tags = Table(
    "tags",
    metadata,
    Column("resource_arn", String(2048), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
)


# Fixed-window counters (rate limits, lockout) live in the database so that processes stay stateless.
counters = Table(
    "counters",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("window_start", UTCDateTime(), nullable=False),
    Column("locked", Boolean, nullable=False, default=False),
)


signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("owner", String(128), nullable=False),  # a user pool id, or "cognito-identity"
    Column("purpose", String(16), nullable=False),  # "id" | "access"
    Column("private_enc", Text, nullable=False),
    Column("public_jwk", JSONDoc, nullable=False),
    Column("status", String(16), nullable=False),  # "active" | "retired"
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_signing_keys_owner", "owner", "status"),
)


# The outbox: messages kept when no sender is configured, in --dev or with settings.outbox; subject and
# body sealed under the KEK inside ``body`` (ostiary.notify.outbox), rows expire (outbox_ttl_seconds).
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_pool_id", String(64), nullable=False),
    Column("username", String(128), nullable=False),
    Column("medium", String(8), nullable=False),
    Column("destination", String(320), nullable=False),
    Column("subject", String(512), nullable=False),
    Column("body", Text, nullable=False),
    Column("purpose", String(48), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_outbox_destination", "destination"),
)


# Single-use markers outside user pools (ostiary.store.markers): an HMAC of what was spent (e.g. a
# SAML assertion's provider and ID, for AssumeRoleWithSAML), kept until it could no longer be accepted.
single_use_markers = Table(
    "single_use_markers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("purpose", String(48), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_single_use_markers_expires", "expires_at"),
)


# One row per security-relevant state change (sign-ins, lockout, passwords, MFA, IAM keys and policies,
# role trust, STS and identity-pool credentials), written in the transaction of the change; read by
# CloudTrail's LookupEvents and `ostiary events`; pruned after audit_retention_days. No foreign keys:
# the record outlives the user, pool or account it names. Never holds a secret.
audit_events = Table(
    "audit_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("event_time", UTCDateTime(), nullable=False),
    Column("event_name", String(64), nullable=False),  # CloudTrail's eventName where one exists
    Column("event_source", String(64), nullable=False),  # e.g. cognito-idp.amazonaws.com
    Column("account_id", String(12), nullable=True),
    Column("region", String(32), nullable=True),
    Column("principal_arn", String(2048), nullable=True),  # who: the caller's ARN (AWS-signed calls)
    Column("access_key_id", String(128), nullable=True),
    Column("user_pool_id", String(64), nullable=True),  # who: a user-pool user (pool + username + sub)
    Column("username", String(256), nullable=True),
    Column("user_sub", String(36), nullable=True),
    Column("resource_type", String(64), nullable=True),  # what it acted on
    Column("resource_name", String(2048), nullable=True),
    Column("source_ip", String(64), nullable=True),  # from where
    Column("user_agent", String(1024), nullable=True),
    Column("outcome", String(8), nullable=False),  # success | failure
    Column("error_code", String(128), nullable=True),
    Column("error_message", String(1024), nullable=True),
    Column("request_id", String(64), nullable=True),
    Column("details", JSONDoc, nullable=False),
    Index("ix_audit_events_time", "event_time"),
    Index("ix_audit_events_name", "event_name", "event_time"),
    Index("ix_audit_events_username", "username", "event_time"),
    Index("ix_audit_events_pool", "user_pool_id", "event_time"),
    Index("ix_audit_events_principal", "principal_arn", "event_time"),
    Index("ix_audit_events_access_key", "access_key_id", "event_time"),
    Index("ix_audit_events_resource", "resource_name", "event_time"),
)
