"""Point-in-time recovery of user pools (issue 17, migration 0042): the change journal of a pool's user
data, written by database triggers in the transaction of each change (store/journal.py), and the
recoveries (userpools/recovery.py)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

__all__ = ["user_pool_journal", "user_pool_recoveries"]

# One row per changed row of users, groups, group_members or webauthn_credentials: the row as it
# was before the change (NULL for an insert), keyed by the row's primary key as a JSON array (without
# the pool's id). No foreign key: a deleted pool's rows are swept with the old ones.
user_pool_journal = Table(
    "user_pool_journal",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("user_pool_id", String(64), nullable=False),
    Column("entity", String(32), nullable=False),  # users | groups | group_members | webauthn_credentials
    Column("row_key", Text, nullable=False),
    Column("before", JSONDoc, nullable=True),
    Column("at_us", BigInteger, nullable=False),  # the change's time, microseconds since the epoch (UTC)
    Index("ix_user_pool_journal_pool", "user_pool_id", "at_us"),
)

# InitiatePointInTimeRecovery's recoveries: status, the recovery point and the preview.
user_pool_recoveries = Table(
    "user_pool_recoveries",
    metadata,
    Column("restore_id", String(36), primary_key=True),
    Column("user_pool_id", String(64), ForeignKey("user_pools.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", String(12), nullable=False),
    Column("status", String(48), nullable=False),
    Column("restore_at", UTCDateTime(), nullable=False),
    Column("trigger_at", UTCDateTime(), nullable=False),
    Column("preview", JSONDoc, nullable=True),
    Column("expires_at", UTCDateTime(), nullable=False),  # a preview not started or cancelled by then expires
    Column("completed_at", UTCDateTime(), nullable=True),
    Index("ix_user_pool_recoveries_pool", "user_pool_id", "trigger_at"),
    Index("ix_user_pool_recoveries_account", "account_id", "status"),
)
