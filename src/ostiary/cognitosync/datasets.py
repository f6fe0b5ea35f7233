"""Datasets and their records: ListDatasets, DescribeDataset, DeleteDataset, ListRecords, UpdateRecords.

A dataset belongs to one identity and is created by the first UpdateRecords that writes to it. Each
successful UpdateRecords that changes something raises the dataset's sync count (DatasetSyncCount) by
one, and every record it writes takes the new count as its SyncCount. ListRecords returns the records
changed after a client's ``LastSyncCount`` (removed records too, without a Value, so devices drop them)
and a SyncSessionToken (session_tokens.py) that UpdateRecords requires.

UpdateRecords applies RecordPatches (Op ``replace`` with a Value, or ``remove``) as a patch: records it
does not name stay as they are. Each patch's SyncCount must be the record's current SyncCount (0 for a
record the server has never had): a stale one is ResourceConflictException ("Current SyncCount for:
<key> is: <n> not: <m>"), and nothing of the request is written. The checks run again inside the
transaction that writes, with the dataset's row locked, so two devices racing on one record cannot
both win. AWS's limits (records.py) are LimitExceededException. A Sync Trigger (sync_trigger.py) sees the
changes of calls made with Cognito Identity credentials before they are stored; subscribed devices are
then told (push.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select, tuple_, update

from ostiary.cognitosync import callers, configuration, push, records, session_tokens, sync_trigger
from ostiary.cognitosync.errors import (
    InvalidParameterException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.userpools import paging, triggers

_D = t.sync_datasets
_R = t.sync_records

MAX_DATASETS_PAGE = 64
MAX_RECORDS_PAGE = 1024


def _page_size(params: Params, most: int) -> int:
    given = params.get("MaxResults")
    if given is None:
        return most
    if given < 1:
        raise InvalidParameterException("MaxResults must be at least 1.")
    return min(int(given), most)


# -- datasets -----------------------------------------------------------------------------------------


@operation("cognito-sync", "ListDatasets", resource=callers.datasets_resource)
def list_datasets(ctx: RequestContext, params: Params) -> Result:
    limit = _page_size(params, MAX_DATASETS_PAGE)
    after = paging.decode(params.get("NextToken"))
    with ctx.store.read() as conn:
        callers.identity_access(conn, ctx, params["IdentityPoolId"], params["IdentityId"])
        query = (
            select(_D)
            .where(_D.c.identity_id == params["IdentityId"], _D.c.deleted.is_(False))
            .order_by(_D.c.name)
            .limit(limit + 1)
        )
        if after:
            query = query.where(_D.c.name > str(after[0]))
        rows = conn.execute(query).all()
    page = rows[:limit]
    out: dict[str, Any] = {"Datasets": [records.dataset_shape(r) for r in page], "Count": len(page)}
    if len(rows) > limit:
        out["NextToken"] = paging.encode([page[-1].name])
    return out


@operation("cognito-sync", "DescribeDataset", resource=callers.dataset_resource)
def describe_dataset(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        callers.identity_access(conn, ctx, params["IdentityPoolId"], params["IdentityId"])
        row = records.live(conn, params["IdentityId"], params["DatasetName"])
    return {"Dataset": records.dataset_shape(row)}


@operation("cognito-sync", "DeleteDataset", resource=callers.dataset_resource)
def delete_dataset(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        callers.identity_access(conn, ctx, params["IdentityPoolId"], params["IdentityId"])
        row = records.live(conn, params["IdentityId"], params["DatasetName"], lock=True)
        shape = records.dataset_shape(row)
        records.remove_dataset(conn, params["IdentityId"], params["DatasetName"], ctx.now)
    return {"Dataset": shape}


# -- records ------------------------------------------------------------------------------------------


@operation("cognito-sync", "ListRecords", resource=callers.dataset_resource)
def list_records(ctx: RequestContext, params: Params) -> Result:
    identity_id, name = params["IdentityId"], params["DatasetName"]
    last = int(params.get("LastSyncCount") or 0)
    if last < 0:
        raise InvalidParameterException("LastSyncCount must not be negative.")
    limit = _page_size(params, MAX_RECORDS_PAGE)
    after = paging.decode(params.get("NextToken"))
    given_token = params.get("SyncSessionToken")
    if given_token and session_tokens.valid(ctx, given_token, identity_id, name):
        token = given_token
    else:
        token = session_tokens.issue(ctx, identity_id, name)
    with ctx.store.read() as conn:
        callers.identity_access(conn, ctx, params["IdentityPoolId"], identity_id)
        row = records.dataset(conn, identity_id, name)
        if row is None or row.deleted:
            return {
                "Records": [],
                "Count": 0,
                "DatasetSyncCount": int(row.sync_count) if row is not None else 0,
                "DatasetExists": False,
                "DatasetDeletedAfterRequestedSyncCount": row is not None and 0 < last < int(row.sync_count),
                "SyncSessionToken": token,
            }
        query = (
            select(_R)
            .where(_R.c.identity_id == identity_id, _R.c.dataset_name == name, _R.c.sync_count > last)
            .order_by(_R.c.sync_count, _R.c.key_hash)
            .limit(limit + 1)
        )
        if after:
            if len(after) != 2 or not isinstance(after[0], int):
                raise InvalidParameterException("Invalid NextToken.")
            query = query.where(tuple_(_R.c.sync_count, _R.c.key_hash) > tuple_(int(after[0]), str(after[1])))
        found = conn.execute(query).all()
    page = found[:limit]
    out: dict[str, Any] = {
        "Records": [records.record_shape(r) for r in page],
        "Count": len(page),
        "DatasetSyncCount": int(row.sync_count),
        "LastModifiedBy": row.last_modified_by,
        "DatasetExists": True,
        "DatasetDeletedAfterRequestedSyncCount": False,
        "SyncSessionToken": token,
    }
    if row.merged:
        out["MergedDatasetNames"] = list(row.merged)
    if len(found) > limit:
        out["NextToken"] = paging.encode([int(page[-1].sync_count), page[-1].key_hash])
    return out


def _patches(params: Params) -> list[tuple[str, str | None, int, dt.datetime | None]]:
    """The request's patches as (key, value or None for a removal, SyncCount, device date)."""
    out: list[tuple[str, str | None, int, dt.datetime | None]] = []
    seen: set[str] = set()
    patches = params.get("RecordPatches") or []
    if len(patches) > records.MAX_RECORDS:
        raise InvalidParameterException(f"At most {records.MAX_RECORDS} record patches may be sent at once.")
    for patch in patches:
        key = patch["Key"]
        if key in seen:
            raise InvalidParameterException(f"The record {key} is patched more than once.")
        seen.add(key)
        if patch["SyncCount"] < 0:
            raise InvalidParameterException("SyncCount must not be negative.")
        if patch["Op"] == "replace":
            if patch.get("Value") is None:
                raise InvalidParameterException(f"A replace of the record {key} needs a Value.")
            value: str | None = patch["Value"]
        else:
            value = None
        out.append((key, value, int(patch["SyncCount"]), patch.get("DeviceLastModifiedDate")))
    return out


def _conflicts(existing: dict[str, Any], patches: list[tuple[str, str | None, int, dt.datetime | None]]) -> None:
    for key, _, count, _ in patches:
        current = int(existing[key].sync_count) if key in existing else 0
        if count != current:
            raise ResourceConflictException(f"Current SyncCount for: {key} is: {current} not: {count}")


def _device(conn: Connection, identity_id: str, device_id: str | None) -> None:
    if device_id is None:
        return
    found = conn.execute(
        select(t.sync_devices.c.id).where(t.sync_devices.c.id == device_id, t.sync_devices.c.identity_id == identity_id)
    ).first()
    if found is None:
        raise ResourceNotFoundException(f"Device '{device_id}' not found.")


@operation("cognito-sync", "UpdateRecords", resource=callers.dataset_resource, offload=triggers.offload)
def update_records(ctx: RequestContext, params: Params) -> Result:
    pool_id, identity_id, name = params["IdentityPoolId"], params["IdentityId"], params["DatasetName"]
    session_tokens.check(ctx, params["SyncSessionToken"], identity_id, name)
    patches = _patches(params)
    device_id = params.get("DeviceId")
    with ctx.store.read() as conn:
        caller = callers.identity_access(conn, ctx, pool_id, identity_id)
        _device(conn, identity_id, device_id)
        existing = records.current_records(conn, identity_id, name, [p[0] for p in patches])
        _conflicts(existing, patches)  # before the trigger runs: a stale request fails fast
        function = configuration.sync_trigger_of(conn, pool_id) if caller.cognito else None
    who = device_id or callers.modified_by(ctx, caller)
    dates = {key: date for key, _, _, date in patches}
    wanted: dict[str, str | None] = {key: value for key, value, _, _ in patches}
    if function is not None and patches:
        # the trigger runs outside the writing transaction (it may take seconds); what it answers is
        # stored only if no other device changed these records meanwhile (checked again below)
        olds = {k: (existing[k].value if k in existing else None) for k in wanted}
        wanted = sync_trigger.run(
            ctx, function, pool_id, identity_id, name, {k: (olds[k], v) for k, v in wanted.items()}
        )
    if not wanted:
        return {"Records": []}
    with ctx.store.tx() as conn:
        row = records.open_for_write(conn, identity_id, pool_id, name, who, ctx.now)
        current = records.current_records(conn, identity_id, name, sorted(set(wanted) | set(dates)))
        _conflicts(current, patches)
        count = int(row.sync_count) + 1
        num, size = int(row.num_records), int(row.data_storage)
        for key, value in wanted.items():
            old = current.get(key)
            if old is not None and old.value is not None:
                num -= 1
                size -= records.size(key, old.value)
            if value is not None:
                num += 1
                size += records.size(key, value)
        records.check_limits(num, size, name)
        changes = [(key, value, dates.get(key)) for key, value in wanted.items()]
        written = records.write_records(conn, identity_id, name, changes, current, count, who, ctx.now)
        conn.execute(
            update(_D)
            .where(_D.c.identity_id == identity_id, _D.c.name == name)
            .values(sync_count=count, num_records=num, data_storage=size, last_modified_by=who, updated_at=ctx.now)
        )
        push.notify_subscribers(conn, ctx.settings, pool_id, identity_id, name, count, ctx.now, skip_device=device_id)
    return {"Records": written}
