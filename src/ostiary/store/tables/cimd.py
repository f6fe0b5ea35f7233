"""Client ID metadata documents (issue 17, migration 0039): CIMD policies of user pools and the
metadata URLs they have received, with the cached document of each. See userpools/cimd.py."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

__all__ = ["cimd_policies", "cimd_urls"]

cimd_policies = Table(
    "cimd_policies",
    metadata,
    Column("policy_id", String(64), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(128), nullable=False),  # the app client whose registration CIMD clients share
    Column("name", String(32), nullable=False),
    Column("cache_duration", Integer, nullable=True),  # seconds; None: the default (one day)
    Column("url_patterns", JSONDoc, nullable=False),  # 1 to 5 https patterns, `*` a wildcard
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_cimd_policies_pool", "user_pool_id", "created_at"),
)

cimd_urls = Table(
    "cimd_urls",
    metadata,
    Column("policy_id", String(64), ForeignKey("cimd_policies.policy_id", ondelete="CASCADE"), primary_key=True),
    Column("url", String(256), primary_key=True),
    Column("document", JSONDoc, nullable=True),  # the validated metadata document; None once invalidated
    Column("cached_at", UTCDateTime(), nullable=True),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)
