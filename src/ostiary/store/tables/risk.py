"""Adaptive authentication's memory (issue 16, migration 0037): what a user's sign-ins have shown
(``risk_known``: devices, user-agent families, addresses, networks, countries), where and when the
user last signed in (``risk_last_sign_ins``), and recent attempts per address and per user
(``risk_attempts``: the velocity signals). See userpools/risk/adaptive.py and docs/threat-protection.md.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Table

from ostiary.store.tables.base import UTCDateTime, metadata

__all__ = ["risk_attempts", "risk_known", "risk_last_sign_ins"]

# One row per (user, kind, value) a successful sign-in showed; kind: device (a device key), agent (a
# user-agent family), ip, net (/24 or /48), country. Bounded per user and kind (oldest forgotten).
risk_known = Table(
    "risk_known",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("value", String(128), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("first_seen", UTCDateTime(), nullable=False),
    Column("last_seen", UTCDateTime(), nullable=False),
)

# The user's last successful sign-in: impossible travel compares the next one with it.
risk_last_sign_ins = Table(
    "risk_last_sign_ins",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("ip", String(45), nullable=False),
    Column("latitude", Float(), nullable=True),
    Column("longitude", Float(), nullable=True),
    Column("country", String(2), nullable=True),
)

# Recent first-factor attempts of a pool (an hour is kept): ``subject`` is the user's id, or a keyed
# hash of a name no user has; ``failed`` a wrong password.
risk_attempts = Table(
    "risk_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("address", String(45), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("failed", Boolean(), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_risk_attempts_address", "user_pool_id", "address", "at"),
    Index("ix_risk_attempts_subject", "user_pool_id", "subject", "at"),
)
