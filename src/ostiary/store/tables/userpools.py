"""Cognito user pools (cognito-idp): pools, app clients, users and what hangs off them (groups,
refresh-token lineages, codes, challenge sessions, devices, federation, passkeys, import jobs, terms,
threat protection, session tracking).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

user_pools = Table(
    "user_pools",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("config", JSONDoc, nullable=False),
    Index("ix_user_pools_account_region", "account_id", "region", "created_at"),
)


user_pool_clients = Table(
    "user_pool_clients",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("secret_enc", Text, nullable=True),  # the primary secret, sealed
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("config", JSONDoc, nullable=False),
    # migration 0013: {"primary_id", "primary_created", "extra": [{"id", "sealed", "created"}]} once a
    # secret was added (AddUserPoolClientSecret) or the primary replaced; NULL means one secret whose
    # id is "<client id>--<creation time in ms>"
    Column("secret_rotation", JSONDoc, nullable=True),
    Index("ix_user_pool_clients_pool", "user_pool_id", "created_at"),
)


# ListUsers' filter keys (migration 0024): each filterable value as the filter compares it (the username
# lower-cased, the others as stored), cut to SEARCH_KEY_LEN characters so that an index entry stays far
# below PostgreSQL's limit (a longer value is checked in Python), in code-point order on both dialects
# (SQLite's BINARY; the "C" collation on PostgreSQL) so that a prefix is an index range.
SEARCH_KEY_LEN = 256


SEARCH_ATTRIBUTES = ("email", "phone_number", "name", "given_name", "family_name", "preferred_username")


_SearchKey = String(SEARCH_KEY_LEN).with_variant(String(SEARCH_KEY_LEN, collation="C"), "postgresql")


_SubKey = String(36).with_variant(String(36, collation="C"), "postgresql")


def username_search_key(username: str) -> str:
    """search_username of a user named ``username`` (the column's default; bulk loads give it)."""
    return username.lower()[:SEARCH_KEY_LEN]


def _username_search_key(ctx: Any) -> str:
    return username_search_key(str(ctx.get_current_parameters()["username"]))


users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),  # the immutable `sub`
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("username", String(128), nullable=False),
    Column("username_key", String(128), nullable=False),
    Column("status", String(32), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("attributes", JSONDoc, nullable=False),
    Column("email_key", String(320), nullable=True),
    Column("phone_key", String(32), nullable=True),
    Column("preferred_username_key", String(128), nullable=True),
    Column("password_hash", Text, nullable=True),
    Column("srp_salt", String(64), nullable=True),
    Column("srp_verifier", Text, nullable=True),
    Column("password_updated_at", UTCDateTime(), nullable=True),
    Column("mfa", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("pending_attributes", JSONDoc, nullable=True),
    # set from the row's own username and id on every INSERT (the attribute keys: directory.alias_keys)
    Column("search_username", _SearchKey, nullable=False, default=_username_search_key),
    Column("search_sub", _SubKey, nullable=False, default=lambda ctx: ctx.get_current_parameters()["id"]),
    *(Column(f"search_{name}", _SearchKey, nullable=True) for name in SEARCH_ATTRIBUTES),
    UniqueConstraint("user_pool_id", "username_key", name="uq_users_pool_username"),
    Index("ix_users_pool_email", "user_pool_id", "email_key"),
    Index("ix_users_pool_phone", "user_pool_id", "phone_key"),
    Index("ix_users_pool_preferred", "user_pool_id", "preferred_username_key"),
    # ListUsers: every page is a keyset range on one of these, in the order it reads
    Index("ix_users_pool_created", "user_pool_id", "created_at", "id"),
    Index("ix_users_pool_status", "user_pool_id", "status", "id"),
    Index("ix_users_pool_enabled", "user_pool_id", "enabled", "id"),
    Index("ix_users_search_username", "user_pool_id", "search_username", "id"),
    Index("ix_users_search_sub", "user_pool_id", "search_sub", "id"),
    # partial (migration 0026): a user without the attribute is not in its index, so a bulk load of users
    # without a phone, a name… does not pay for indexes whose (pool, NULL, id) entries, in random id
    # order, no filter ever reads
    *(
        Index(
            f"ix_users_search_{name}",
            "user_pool_id",
            f"search_{name}",
            "id",
            sqlite_where=text(f"search_{name} IS NOT NULL"),
            postgresql_where=text(f"search_{name} IS NOT NULL"),
        )
        for name in SEARCH_ATTRIBUTES
    ),
)


groups = Table(
    "groups",
    metadata,
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("description", String(2048), nullable=True),
    Column("role_arn", String(2048), nullable=True),
    Column("precedence", Integer, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)


group_members = Table(
    "group_members",
    metadata,
    Column("user_pool_id", String(64), primary_key=True),
    Column("group_name", String(128), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("added_at", UTCDateTime(), nullable=False),
    ForeignKeyConstraint(["user_pool_id", "group_name"], ["groups.user_pool_id", "groups.name"], ondelete="CASCADE"),
    Index("ix_group_members_user", "user_id"),
)


# One row per sign-in lineage (the `origin_jti` of every token minted from it).
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("previous_hash", String(64), nullable=True),
    Column("auth_time", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("device_key", String(128), nullable=True),
    Column("scopes", String(2048), nullable=True),
    # migration 0018 (session tracking, set only while the pool tracks sessions): the public session
    # id ("tkn…"), the last refresh and its IP address, the SSO session ("sso…") it came through
    Column("session_id", String(28), nullable=True),
    Column("last_active_at", UTCDateTime(), nullable=True),
    Column("last_ip", String(128), nullable=True),
    Column("origin_sso", String(28), nullable=True),
    Index("ix_refresh_tokens_user", "user_id"),
    Index("ix_refresh_tokens_previous", "previous_hash"),
)


# One-time codes (sign-up, forgot password, attribute verification), stored hashed.
codes = Table(
    "codes",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("purpose", String(48), primary_key=True),
    Column("code_hash", String(64), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


# Limits on one-time codes across re-issues (ostiary.userpools.code_limits): per pool, subject (a
# user's sub; an HMAC of an unknown name or of a destination address) and kind of code.
code_limits = Table(
    "code_limits",
    metadata,
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
    Column("subject", String(80), primary_key=True),
    Column("purpose", String(48), primary_key=True),
    Column("issued", Integer, nullable=False),
    Column("issue_window_start", UTCDateTime(), nullable=True),
    Column("failures", Integer, nullable=False),
    Column("failure_window_start", UTCDateTime(), nullable=True),
    Column("lockouts", Integer, nullable=False),
    Column("locked_until", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_code_limits_updated", "updated_at"),
)


# Challenge sessions between InitiateAuth and RespondToAuthChallenge (single use, short-lived).
auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("username", String(128), nullable=False),
    Column("challenge", String(48), nullable=False),
    Column("state", JSONDoc, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_auth_sessions_expires", "expires_at"),
)


# A user's device: created when a sign-in returns NewDeviceMetadata, confirmed with its SRP verifier
# (ConfirmDevice), remembered or not (UpdateDeviceStatus).
devices = Table(
    "devices",
    metadata,
    Column("device_key", String(128), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("group_key", String(128), nullable=False),
    Column("confirmed", Boolean, nullable=False),
    Column("remembered", Boolean, nullable=False),
    Column("srp_salt", String(128), nullable=True),
    Column("srp_verifier", Text, nullable=True),
    Column("attributes", JSONDoc, nullable=False),  # [{Name, Value}]: device_name, last_ip_used, …
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("last_authenticated_at", UTCDateTime(), nullable=True),
    Index("ix_devices_user", "user_id", "created_at"),
)


# CreateIdentityProvider: ProviderDetails without its secrets (client_secret, private_key), which are
# sealed together as JSON in sealed_secrets.
user_pool_identity_providers = Table(
    "user_pool_identity_providers",
    metadata,
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
    Column("provider_name", String(32), primary_key=True),
    Column("provider_type", String(32), nullable=False),
    Column("details", JSONDoc, nullable=False),
    Column("sealed_secrets", Text, nullable=True),
    Column("attribute_mapping", JSONDoc, nullable=False),
    Column("idp_identifiers", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)


# Which user an external identity (provider + its user id: OIDC sub, SAML NameID…) signs in as:
# the EXTERNAL_PROVIDER user it created (linked = false) or, after AdminLinkProviderForUser, an
# existing user (linked = true).
external_identities = Table(
    "external_identities",
    metadata,
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
    Column("provider_name", String(32), primary_key=True),
    Column("provider_user_id", String(512), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("linked", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_external_identities_user", "user_id"),
)


# Passkeys of user pool users (CompleteWebAuthnRegistration; migration 0012): the credential's
# public key (COSE, base64url) and signature counter; the id is the credential id, base64url.
webauthn_credentials = Table(
    "webauthn_credentials",
    metadata,
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
    Column("credential_id", String(1400), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("public_key", Text, nullable=False),
    Column("sign_count", BigInteger, nullable=False),
    Column("relying_party_id", String(127), nullable=False),
    Column("friendly_name", String(256), nullable=True),
    Column("attachment", String(32), nullable=True),
    Column("transports", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_webauthn_credentials_user", "user_id"),
)


# CreateUserImportJob (migration 0014): the CSV arrives at the job's pre-signed URL and waits here
# until StartUserImportJob imports it.
user_import_jobs = Table(
    "user_import_jobs",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("cloudwatch_logs_role_arn", String(2048), nullable=False),
    Column("csv", Text, nullable=True),  # unused since migration 0025 (the file is in user_import_slices)
    Column("imported", BigInteger, nullable=False),
    Column("skipped", BigInteger, nullable=False),
    Column("failed", BigInteger, nullable=False),
    Column("message", String(1024), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=True),
    Column("completed_at", UTCDateTime(), nullable=True),
    Index("ix_user_import_jobs_pool", "user_pool_id", "created_at"),
)


# Per-row errors of an import job (migration 0023): what AWS writes to the job's CloudWatch Logs.
user_import_errors = Table(
    "user_import_errors",
    metadata,
    Column("job_id", String(64), ForeignKey("user_import_jobs.job_id", ondelete="CASCADE"), primary_key=True),
    Column("line_number", BigInteger, primary_key=True),
    Column("username", String(128), nullable=True),
    Column("message", String(1024), nullable=False),
)


# An import job's uploaded CSV (migration 0025), in slices (import_batch.SLICE_BYTES of text each), read one
# at a time while the job runs (the file is never held whole) and deleted when it ends.
user_import_slices = Table(
    "user_import_slices",
    metadata,
    Column("job_id", String(64), ForeignKey("user_import_jobs.job_id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("text", Text, nullable=False),
)


# Terms documents of app clients (CreateTerms, migration 0015): one terms-of-use and one
# privacy-policy per client, each a map of language to URL, linked from the hosted sign-up page.
user_pool_terms = Table(
    "user_pool_terms",
    metadata,
    Column("terms_id", String(36), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(128), nullable=False),
    Column("name", String(32), nullable=False),
    Column("source", String(16), nullable=False),
    Column("enforcement", String(16), nullable=False),
    Column("links", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("client_id", "name", name="uq_user_pool_terms_client_name"),
    Index("ix_user_pool_terms_pool", "user_pool_id", "created_at"),
)


# Threat protection (SetRiskConfiguration, migration 0016): one risk configuration per pool
# (client_id "ALL") and per app client that overrides it; the document holds the
# CompromisedCredentials, AccountTakeover and RiskException configurations as AWS shapes them.
user_pool_risk_configurations = Table(
    "user_pool_risk_configurations",
    metadata,
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
    Column("client_id", String(128), primary_key=True),
    Column("config", JSONDoc, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)


# Sign-in events of pools whose threat protection is AUDIT or ENFORCED (AdminListUserAuthEvents,
# migration 0016): kept 90 days. ``details`` holds EventRisk, ChallengeResponses and EventContextData.
user_auth_events = Table(
    "user_auth_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("event_type", String(16), nullable=False),
    Column("response", String(16), nullable=False),
    Column("details", JSONDoc, nullable=False),
    Column("feedback_value", String(8), nullable=True),
    Column("feedback_provider", String(8), nullable=True),
    Column("feedback_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_user_auth_events_user", "user_id", "created_at"),
    Index("ix_user_auth_events_pool", "user_pool_id", "created_at"),
)


# SetUserPoolSessionConfiguration (no row: DISABLED, MaxPerUser 20).
user_pool_session_config = Table(
    "user_pool_session_config",
    metadata,
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
    Column("tracking", String(16), nullable=False),
    Column("max_per_user", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)


# SetUserPoolClientSessionConfiguration (no row: SSO sessions reused for 60 minutes).
user_pool_client_session_config = Table(
    "user_pool_client_session_config",
    metadata,
    Column("client_id", String(128), ForeignKey("user_pool_clients.client_id", ondelete="CASCADE"), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("sso_max_minutes", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
