"""Provisioned request-rate limits of user pools (issue 17, migration 0039): one row per account,
Region and category that UpdateProvisionedLimit raised (no row: the category's default). The counts
themselves are fixed-window rows of ``counters`` (store/windows.py). See userpools/provisioned_limits.py."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table

from ostiary.store.tables.base import UTCDateTime, metadata

__all__ = ["provisioned_limits"]

provisioned_limits = Table(
    "provisioned_limits",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("value", Integer, nullable=False),  # requests per second
    Column("updated_at", UTCDateTime(), nullable=False),
)
