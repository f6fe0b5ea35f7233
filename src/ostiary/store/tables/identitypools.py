"""Cognito identity pools (cognito-identity): pools, identities and their logins."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
)

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

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
