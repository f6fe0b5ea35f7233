"""Datasets when identities merge (identitypools: a login of another identity linked, or
MergeDeveloperIdentities): the merged identity's datasets, records, devices and subscriptions move to
the surviving identity, so nothing synced is lost.

A dataset whose name the surviving identity does not use keeps its name. One whose name it does use
moves as ``<name>.<merged identity id>`` (the name cut to keep 128 characters), and the surviving
identity's dataset reports it in ListRecords' MergedDatasetNames, so a Sync Manager's onDatasetsMerged
callback can fold it in and delete it (DeleteDataset ends the report). Deleted datasets of the merged
identity are dropped. Registered with ``identitypools.identities.MERGE_HOOKS`` when this package is
imported (identitypools imports nothing of cognitosync).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, select, update

from ostiary.cognitosync import records
from ostiary.identitypools import identities
from ostiary.store import tables as t

_D = t.sync_datasets
_R = t.sync_records


def merged_name(name: str, source: str) -> str:
    return f"{name[: 128 - len(source) - 1]}.{source}"


def merge_datasets(conn: Connection, source: str, target: str, now: dt.datetime) -> None:
    for ds in conn.execute(select(_D).where(_D.c.identity_id == source).order_by(_D.c.name)).all():
        if ds.deleted:
            conn.execute(delete(_D).where(_D.c.identity_id == source, _D.c.name == ds.name))
            continue
        name = ds.name
        held = records.dataset(conn, target, name)
        if held is not None and not held.deleted:
            name = merged_name(ds.name, source)
            clash = records.dataset(conn, target, name)
            if clash is not None:  # merged once before under this name: the newer copy replaces it
                conn.execute(delete(_R).where(_R.c.identity_id == target, _R.c.dataset_name == name))
                conn.execute(delete(_D).where(_D.c.identity_id == target, _D.c.name == name))
            merged = [m for m in (held.merged or []) if m != name] + [name]
            conn.execute(
                update(_D)
                .where(_D.c.identity_id == target, _D.c.name == held.name)
                .values(merged=merged, updated_at=now)
            )
        elif held is not None:  # the surviving identity's tombstone of that name gives way
            conn.execute(delete(_D).where(_D.c.identity_id == target, _D.c.name == name))
        conn.execute(
            update(_D).where(_D.c.identity_id == source, _D.c.name == ds.name).values(identity_id=target, name=name)
        )
        conn.execute(
            update(_R)
            .where(_R.c.identity_id == source, _R.c.dataset_name == ds.name)
            .values(identity_id=target, dataset_name=name)
        )
        conn.execute(
            update(t.sync_subscriptions)
            .where(t.sync_subscriptions.c.identity_id == source, t.sync_subscriptions.c.dataset_name == ds.name)
            .values(dataset_name=name)
        )
    conn.execute(update(t.sync_devices).where(t.sync_devices.c.identity_id == source).values(identity_id=target))
    conn.execute(
        update(t.sync_subscriptions).where(t.sync_subscriptions.c.identity_id == source).values(identity_id=target)
    )


def register() -> None:
    if merge_datasets not in identities.MERGE_HOOKS:
        identities.MERGE_HOOKS.append(merge_datasets)
