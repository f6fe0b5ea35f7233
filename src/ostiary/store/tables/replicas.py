"""User pool replicas (issue 17, migration 0042): the secondary Regions where a pool answers with the
same users, keys and tokens, on the same store (userpools/replicas.py)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table

from ostiary.store.tables.base import UTCDateTime, metadata

__all__ = ["user_pool_replicas"]

user_pool_replicas = Table(
    "user_pool_replicas",
    metadata,
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("status", String(16), nullable=False),  # INACTIVE | ACTIVE (CREATING and DELETING pass at once)
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
