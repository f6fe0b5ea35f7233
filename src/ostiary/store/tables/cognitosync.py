"""Cognito Sync (issue 17, migration 0039): datasets of identities and their records, push devices and
their subscriptions, an identity pool's sync configuration. See cognitosync/."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, String, Table, Text

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

__all__ = ["sync_datasets", "sync_devices", "sync_pool_config", "sync_records", "sync_subscriptions"]

# One row per (identity, dataset name). ``sync_count`` is the dataset's DatasetSyncCount (one more per
# UpdateRecords that wrote, and per deletion); ``deleted``: DeleteDataset's tombstone (ListRecords
# answers DatasetDeletedAfterRequestedSyncCount from it; UpdateRecords re-creates the dataset);
# ``data_storage`` the UTF-8 bytes of its live keys and values; ``merged`` the names of datasets
# merged into it when identities merged (ListRecords' MergedDatasetNames).
sync_datasets = Table(
    "sync_datasets",
    metadata,
    Column("identity_id", String(64), ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("identity_pool_id", String(64), nullable=False),
    Column("sync_count", BigInteger, nullable=False),
    Column("num_records", BigInteger, nullable=False),
    Column("data_storage", BigInteger, nullable=False),
    Column("last_modified_by", String(256), nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("merged", JSONDoc, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_sync_datasets_pool", "identity_pool_id"),
)

# Records: ``key_hash`` (sha256 of the key) keys the row, since a 1024-character key is too long for an
# index; ``value`` NULL is a removed record (a tombstone ListRecords hands to devices that synced before).
sync_records = Table(
    "sync_records",
    metadata,
    Column("identity_id", String(64), ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True),
    Column("dataset_name", String(128), primary_key=True),
    Column("key_hash", String(64), primary_key=True),
    Column("key", Text, nullable=False),
    Column("value", Text, nullable=True),
    Column("sync_count", BigInteger, nullable=False),
    Column("last_modified_by", String(256), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("device_updated_at", UTCDateTime(), nullable=True),
    Index("ix_sync_records_count", "identity_id", "dataset_name", "sync_count", "key_hash"),
)

# An identity pool's sync settings: SetIdentityPoolConfiguration's PushSync and CognitoStreams,
# SetCognitoEvents' Events, and the last BulkPublish's status.
sync_pool_config = Table(
    "sync_pool_config",
    metadata,
    Column("identity_pool_id", String(64), ForeignKey("identity_pools.id", ondelete="CASCADE"), primary_key=True),
    Column("push_sync", JSONDoc, nullable=True),
    Column("cognito_streams", JSONDoc, nullable=True),
    Column("events", JSONDoc, nullable=False),
    Column("bulk_status", String(16), nullable=True),
    Column("bulk_started_at", UTCDateTime(), nullable=True),
    Column("bulk_completed_at", UTCDateTime(), nullable=True),
    Column("bulk_failure", Text, nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# RegisterDevice: a device of an identity; its push token sealed under the KEK, ``token_hash`` (sha256
# of platform and token) finds the device again when the same token registers twice.
sync_devices = Table(
    "sync_devices",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("identity_id", String(64), ForeignKey("identities.id", ondelete="CASCADE"), nullable=False),
    Column("identity_pool_id", String(64), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("token", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_sync_devices_token", "identity_id", "token_hash", unique=True),
)

sync_subscriptions = Table(
    "sync_subscriptions",
    metadata,
    Column("device_id", String(64), ForeignKey("sync_devices.id", ondelete="CASCADE"), primary_key=True),
    Column("dataset_name", String(128), primary_key=True),
    Column("identity_id", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_sync_subscriptions_dataset", "identity_id", "dataset_name"),
)
