"""Datasets and records as stored (query-only: no operations): rows, shapes, limits and the writes
UpdateRecords, DeleteDataset and identity merges share.

AWS's limits (Amazon Cognito Sync quotas): 20 datasets per identity, 1024 records per dataset, 1 MB per
dataset; a dataset's size is the UTF-8 length of its live records' keys and values (removed records
count for nothing), keys are 1-1024 characters and values at most 1 MB - 1 byte (the model's bounds).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from ostiary.cognitosync.errors import LimitExceededException, ResourceNotFoundException
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.store.upserts import insert_ignore

MAX_DATASETS = 20
MAX_RECORDS = 1024
MAX_BYTES = 1024 * 1024

_D = t.sync_datasets
_R = t.sync_records


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def size(key: str, value: str | None) -> int:
    return 0 if value is None else len(key.encode("utf-8")) + len(value.encode("utf-8"))


def not_found(name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Dataset '{name}' not found.")


def dataset(conn: Connection, identity_id: str, name: str, *, lock: bool = False) -> Any | None:
    query = select(_D).where(_D.c.identity_id == identity_id, _D.c.name == name)
    if lock and conn.dialect.name != "sqlite":  # SQLite: the transaction holds the write lock already
        query = query.with_for_update()
    return conn.execute(query).first()


def live(conn: Connection, identity_id: str, name: str, *, lock: bool = False) -> Any:
    """A dataset that exists (not deleted), else ResourceNotFoundException."""
    row = dataset(conn, identity_id, name, lock=lock)
    if row is None or row.deleted:
        raise not_found(name)
    return row


def dataset_shape(row: Any) -> dict[str, Any]:
    return {
        "IdentityId": row.identity_id,
        "DatasetName": row.name,
        "CreationDate": utc(row.created_at),
        "LastModifiedDate": utc(row.updated_at),
        "LastModifiedBy": row.last_modified_by,
        "DataStorage": int(row.data_storage),
        "NumRecords": int(row.num_records),
    }


def record_shape(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Key": row.key,
        "SyncCount": int(row.sync_count),
        "LastModifiedDate": utc(row.updated_at),
        "LastModifiedBy": row.last_modified_by,
    }
    if row.value is not None:
        out["Value"] = row.value
    if row.device_updated_at is not None:
        out["DeviceLastModifiedDate"] = utc(row.device_updated_at)
    return out


def live_count(conn: Connection, identity_id: str) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(_D).where(_D.c.identity_id == identity_id, _D.c.deleted.is_(False))
        ).scalar()
        or 0
    )


def open_for_write(conn: Connection, identity_id: str, pool_id: str, name: str, who: str, now: dt.datetime) -> Any:
    """The dataset's row, locked for this transaction; created (or re-created after a deletion) within
    the 20-datasets limit."""
    row = dataset(conn, identity_id, name, lock=True)
    if (row is None or row.deleted) and live_count(conn, identity_id) >= MAX_DATASETS:
        raise LimitExceededException(
            f"The identity {identity_id} already has {MAX_DATASETS} datasets, the most it may have."
        )
    if row is None:
        insert_ignore(
            conn,
            _D,
            ["identity_id", "name"],
            [
                {
                    "identity_id": identity_id,
                    "name": name,
                    "identity_pool_id": pool_id,
                    "sync_count": 0,
                    "num_records": 0,
                    "data_storage": 0,
                    "last_modified_by": who,
                    "deleted": False,
                    "merged": [],
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        row = dataset(conn, identity_id, name, lock=True)
    elif row.deleted:
        conn.execute(
            update(_D)
            .where(_D.c.identity_id == identity_id, _D.c.name == name)
            .values(deleted=False, created_at=now, merged=[], num_records=0, data_storage=0)
        )
        row = dataset(conn, identity_id, name, lock=True)
    assert row is not None
    return row


def current_records(conn: Connection, identity_id: str, name: str, keys: list[str]) -> dict[str, Any]:
    """The stored records (removed ones too) of ``keys``, by key."""
    if not keys:
        return {}
    hashes = [key_hash(k) for k in keys]
    rows = conn.execute(
        select(_R).where(_R.c.identity_id == identity_id, _R.c.dataset_name == name, _R.c.key_hash.in_(hashes))
    ).all()
    return {r.key: r for r in rows}


def write_records(
    conn: Connection,
    identity_id: str,
    name: str,
    changes: list[tuple[str, str | None, dt.datetime | None]],
    existing: dict[str, Any],
    sync_count: int,
    who: str,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Write (key, value or None for a removal, device date) at ``sync_count``; the Record shapes."""
    out: list[dict[str, Any]] = []
    for key, value, device_date in changes:
        values = {
            "key": key,
            "value": value,
            "sync_count": sync_count,
            "last_modified_by": who,
            "updated_at": now,
            "device_updated_at": device_date,
        }
        where = and_(_R.c.identity_id == identity_id, _R.c.dataset_name == name, _R.c.key_hash == key_hash(key))
        if key in existing:
            conn.execute(update(_R).where(where).values(**values))
        else:
            conn.execute(
                insert(_R).values(identity_id=identity_id, dataset_name=name, key_hash=key_hash(key), **values)
            )
        out.append(
            {
                "Key": key,
                **({"Value": value} if value is not None else {}),
                "SyncCount": sync_count,
                "LastModifiedDate": now,
                "LastModifiedBy": who,
                **({"DeviceLastModifiedDate": device_date} if device_date is not None else {}),
            }
        )
    return out


def tally(conn: Connection, identity_id: str, name: str) -> tuple[int, int]:
    """(live records, bytes) of a dataset, counted from its rows."""
    rows = conn.execute(
        select(_R.c.key, _R.c.value).where(
            _R.c.identity_id == identity_id, _R.c.dataset_name == name, _R.c.value.is_not(None)
        )
    ).all()
    return len(rows), sum(size(r.key, r.value) for r in rows)


def check_limits(num_records: int, data_storage: int, name: str) -> None:
    if num_records > MAX_RECORDS:
        raise LimitExceededException(f"The dataset {name} would hold more than {MAX_RECORDS} records.")
    if data_storage > MAX_BYTES:
        raise LimitExceededException(f"The dataset {name} would be larger than {MAX_BYTES} bytes (1 MB).")


def remove_dataset(conn: Connection, identity_id: str, name: str, now: dt.datetime) -> None:
    """DeleteDataset: its records go, the row stays as a tombstone with one more sync count; datasets
    that reported it as merged no longer do; its subscriptions end."""
    conn.execute(delete(_R).where(_R.c.identity_id == identity_id, _R.c.dataset_name == name))
    conn.execute(
        update(_D)
        .where(_D.c.identity_id == identity_id, _D.c.name == name)
        .values(
            deleted=True,
            sync_count=_D.c.sync_count + 1,
            num_records=0,
            data_storage=0,
            merged=[],
            updated_at=now,
        )
    )
    for other in conn.execute(select(_D.c.name, _D.c.merged).where(_D.c.identity_id == identity_id)).all():
        if name in (other.merged or []):
            conn.execute(
                update(_D)
                .where(_D.c.identity_id == identity_id, _D.c.name == other.name)
                .values(merged=[m for m in other.merged if m != name])
            )
    conn.execute(
        delete(t.sync_subscriptions).where(
            t.sync_subscriptions.c.identity_id == identity_id, t.sync_subscriptions.c.dataset_name == name
        )
    )
