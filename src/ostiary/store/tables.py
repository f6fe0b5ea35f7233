"""SQLAlchemy Core tables. Every change here needs an Alembic migration (a test compares them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

metadata = MetaData()

JSONDoc = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """timestamptz on PostgreSQL; on SQLite the ISO text that SQLAlchemy writes, read back with
    ``datetime.fromisoformat`` (several times faster than the default regex parser) as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value: str | None) -> dt.datetime | None:
            if value is None:
                return None
            parsed = dt.datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)

        return process


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

# --- user pools: users, groups, tokens, codes, challenge sessions, signing keys, outbox -------------

# ListUsers' filter keys (migration 0024): each filterable value as the filter compares it (the username
# lower-cased, the others as stored), cut to SEARCH_KEY_LEN characters so that an index entry stays far
# below PostgreSQL's limit (a longer value is checked in Python), in code-point order on both dialects
# (SQLite's BINARY; the "C" collation on PostgreSQL) so that a prefix is an index range.
SEARCH_KEY_LEN = 256
SEARCH_ATTRIBUTES = ("email", "phone_number", "name", "given_name", "family_name", "preferred_username")
_SearchKey = String(SEARCH_KEY_LEN).with_variant(String(SEARCH_KEY_LEN, collation="C"), "postgresql")
_SubKey = String(36).with_variant(String(36, collation="C"), "postgresql")


def _username_search_key(ctx: Any) -> str:
    return str(ctx.get_current_parameters()["username"]).lower()[:SEARCH_KEY_LEN]


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
    *(Index(f"ix_users_search_{name}", "user_pool_id", f"search_{name}", "id") for name in SEARCH_ATTRIBUTES),
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


# --- IAM: users and inline policies ------------------------------------------------------------

iam_users = Table(
    "iam_users",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("name_key", String(64), primary_key=True),  # user names are unique regardless of case
    Column("name", String(64), nullable=False),
    Column("user_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("permissions_boundary", String(2048), nullable=True),
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Inline policies of users (and, later, groups and roles): the document as given, validated.
iam_inline_policies = Table(
    "iam_inline_policies",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("principal_type", String(8), primary_key=True),  # user | group | role
    Column("principal_key", String(128), primary_key=True),
    Column("policy_name", String(128), primary_key=True),
    Column("document", Text, nullable=False),
)


# --- IAM roles and STS sessions -----------------------------------------------------------------

iam_roles = Table(
    "iam_roles",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("name_key", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("role_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("trust_policy", Text, nullable=False),
    Column("description", String(1000), nullable=True),
    Column("max_session_duration", Integer, nullable=False),
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("permissions_boundary", String(2048), nullable=True),
)

# Temporary credentials: ASIA access keys with a secret (sealed) and a session token (hashed).
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


# --- IAM groups, managed policies, identity providers -----------------------------------------

iam_groups = Table(
    "iam_groups",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("name_key", String(128), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("group_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

iam_group_members = Table(
    "iam_group_members",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("group_key", String(128), primary_key=True),
    Column("user_key", String(64), primary_key=True),
    Index("ix_iam_group_members_user", "account_id", "user_key"),
)

# Managed policies: customer managed (account_id = the account) and AWS managed (account_id "aws").
iam_policies = Table(
    "iam_policies",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("name", String(128), nullable=False),
    Column("policy_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("description", String(1000), nullable=True),
    Column("default_version", String(16), nullable=False),
    Column("next_version", Integer, nullable=False),
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_iam_policies_account", "account_id"),
)

iam_policy_versions = Table(
    "iam_policy_versions",
    metadata,
    Column("arn", String(2048), ForeignKey("iam_policies.arn", ondelete="CASCADE"), primary_key=True),
    Column("version_id", String(16), primary_key=True),
    Column("document", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

iam_attachments = Table(
    "iam_attachments",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("principal_type", String(8), primary_key=True),  # user | group | role
    Column("principal_key", String(128), primary_key=True),
    Column("policy_arn", String(2048), primary_key=True),
    Index("ix_iam_attachments_policy", "policy_arn"),
)

iam_oidc_providers = Table(
    "iam_oidc_providers",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(1024), nullable=False),
    Column("client_ids", JSONDoc, nullable=False),
    Column("thumbprints", JSONDoc, nullable=False),
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

iam_saml_providers = Table(
    "iam_saml_providers",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("metadata_document", Text, nullable=False),
    Column("valid_until", UTCDateTime(), nullable=True),
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
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


# --- Cognito identity pools (cognito-identity) -------------------------------------------------

# One row per identity pool; ``config`` is the IdentityPool document minus id, name and tags (tags
# live in ``tags`` like user pools'); ``roles``/``role_mappings`` are SetIdentityPoolRoles' input;
# ``tag_maps`` is {provider name: {"UseDefaults": bool, "PrincipalTags": {tag: claim}}}.
identity_pools = Table(
    "identity_pools",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("region", String(32), nullable=False),
    Column("name", String(128), nullable=False),
    Column("config", JSONDoc, nullable=False),
    Column("roles", JSONDoc, nullable=False),
    Column("role_mappings", JSONDoc, nullable=False),
    Column("tag_maps", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_identity_pools_account_region", "account_id", "region", "created_at"),
)

# Identities (REGION:GUID); ``disabled`` once every login of an authenticated identity is unlinked.
identities = Table(
    "identities",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("identity_pool_id", String(64), ForeignKey("identity_pools.id", ondelete="CASCADE"), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_identities_pool", "identity_pool_id", "created_at", "id"),
)

# Logins linked to identities: (pool, provider name, the provider's subject) → one identity. The
# subject is the user-pool ``sub``, the developer user identifier, an OIDC ``sub``, …
identity_logins = Table(
    "identity_logins",
    metadata,
    Column("identity_pool_id", String(64), ForeignKey("identity_pools.id", ondelete="CASCADE"), primary_key=True),
    Column("provider", String(256), primary_key=True),
    Column("subject", String(1024), primary_key=True),
    Column("identity_id", String(64), ForeignKey("identities.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_identity_logins_identity", "identity_id"),
)


# --- Devices (migration 0009) --------------------------------------------------------------------

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


# --- OAuth 2.0 and the hosted UI (migration 0008) ------------------------------------------------

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


# --- Federation inside user pools (migration 0010) -----------------------------------------------

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


# --- IAM account settings, MFA devices, instance profiles, login profiles (migration 0011) ------

# Virtual MFA devices: serial arn:aws:iam::<acct>:mfa<path><name>; the TOTP seed sealed; assigned to
# at most one user (user_key, EnableMFADevice); last_step refuses a code's reuse.
iam_mfa_devices = Table(
    "iam_mfa_devices",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("name_key", String(256), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("path", String(512), nullable=False),
    Column("seed_enc", Text, nullable=False),
    Column("user_key", String(64), nullable=True),
    Column("enabled_at", UTCDateTime(), nullable=True),
    Column("last_step", BigInteger, nullable=True),
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

iam_instance_profiles = Table(
    "iam_instance_profiles",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("name_key", String(128), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("profile_id", String(32), nullable=False, unique=True),
    Column("path", String(512), nullable=False),
    Column("role_key", String(64), nullable=True),  # name_key of its role (at most one)
    Column("tags", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Console passwords of IAM users (CreateLoginProfile): hashed (Argon2id), never stored in clear.
iam_login_profiles = Table(
    "iam_login_profiles",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("user_key", String(64), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("reset_required", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("password_changed_at", UTCDateTime(), nullable=True),
)

# One row per account that has an alias or a password policy.
iam_account_settings = Table(
    "iam_account_settings",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("alias", String(63), nullable=True, unique=True),
    Column("password_policy", JSONDoc, nullable=True),
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
    Column("csv", Text, nullable=True),
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

# --- IAM SSH keys, certificates, service-specific credentials (migration 0017) -------------------

iam_ssh_public_keys = Table(
    "iam_ssh_public_keys",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("key_id", String(128), primary_key=True),
    Column("user_key", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("uploaded_at", UTCDateTime(), nullable=False),
)

iam_signing_certificates = Table(
    "iam_signing_certificates",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("certificate_id", String(128), primary_key=True),
    Column("user_key", String(64), nullable=True),  # NULL: the account root's
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("uploaded_at", UTCDateTime(), nullable=False),
)

# Server certificates: the private key sealed under the KEK, never returned.
iam_server_certificates = Table(
    "iam_server_certificates",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("name_key", String(128), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    Column("certificate_id", String(128), nullable=False, unique=True),
    Column("body", Text, nullable=False),
    Column("chain", Text, nullable=True),
    Column("private_key_enc", Text, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("tags", JSONDoc, nullable=False),
    Column("uploaded_at", UTCDateTime(), nullable=False),
)

# Service-specific credentials: the password hashed (Argon2id), shown once at creation and reset.
iam_service_specific_credentials = Table(
    "iam_service_specific_credentials",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("credential_id", String(128), primary_key=True),
    Column("user_key", String(64), nullable=False),
    Column("service_name", String(128), nullable=False),
    Column("service_user_name", String(200), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True),
)

# DeleteServiceLinkedRole's tasks (GetServiceLinkedRoleDeletionStatus).
iam_deletion_tasks = Table(
    "iam_deletion_tasks",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("task_id", String(256), primary_key=True),
    Column("role_name", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", JSONDoc, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)


# GenerateCredentialReport (migration 0021): the account's latest credential report, the CSV as
# generated (GetCredentialReport returns it unchanged until the next generation).
iam_credential_reports = Table(
    "iam_credential_reports",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("content", Text, nullable=False),
    Column("generated_at", UTCDateTime(), nullable=False),
)


# --- User session tracking (migration 0018) ------------------------------------------------------

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


# --- Audit events (migration 0022, ostiary.audit) -----------------------------------------------

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
