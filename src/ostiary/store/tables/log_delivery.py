"""Log delivery of user pools (issue 16, migration 0038): SetLogDeliveryConfiguration's
LogConfigurations, one row per pool (no row: nothing exported). See userpools/log_delivery.py."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

__all__ = ["user_pool_log_delivery"]

user_pool_log_delivery = Table(
    "user_pool_log_delivery",
    metadata,
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), primary_key=True),
    Column("config", JSONDoc, nullable=False),  # the LogConfigurations list, as set
    Column("updated_at", UTCDateTime(), nullable=False),
)
