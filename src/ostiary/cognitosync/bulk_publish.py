"""BulkPublish and GetBulkPublishDetails (developer credentials): every dataset of an identity pool,
published to the pool's Cognito stream (SetIdentityPoolConfiguration's CognitoStreams).

AWS publishes to an Amazon Kinesis stream. Ostiary has no Kinesis; a stream is a sink the operator
chooses (setting ``cognito_streams``: ``<stream name>=<http(s) URL>`` entries, comma-separated):

- a URL: each record is POSTed to it as JSON through ``egress`` (an operator's destination: trusted,
  under egress's size and time caps); a status of 400 or more fails the publish;
- any other stream: a JSON-lines file, ``<data_dir>/cognito-streams/<StreamName>.jsonl``, one record
  per line, appended.

One record per dataset, in the shape Cognito Streams documents (``identityPoolId``, ``identityId``,
``dataSetName``, ``operation``, ``kinesisSyncRecords`` [``key``, ``value``, ``syncCount``,
``lastModifiedDate``, ``deviceLastModifiedDate``, ``op``], ``lastModifiedDate``, ``syncCount``,
``payloadType`` ``Inline``). The publish runs in a background thread of the server: BulkPublish answers
at once and GetBulkPublishDetails reports IN_PROGRESS, then SUCCEEDED or FAILED (with FailureMessage).
As AWS: streams must be configured and not DISABLED (InvalidParameterException), one publish at a time
(DuplicateRequestException), one successful publish per 24 hours (AlreadyStreamedException). A publish
still IN_PROGRESS when its server stopped is reported FAILED after an hour.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from ostiary import egress
from ostiary.audit import recorder
from ostiary.cognitosync import callers, configuration
from ostiary.cognitosync.errors import AlreadyStreamedException, DuplicateRequestException, InvalidParameterException
from ostiary.config import Settings
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import Store, after_commit, utc
from ostiary.userpools import triggers

log = logging.getLogger("ostiary.cognitosync")

_C = t.sync_pool_config
_D = t.sync_datasets
_R = t.sync_records
ONCE_PER = dt.timedelta(hours=24)
ABANDONED = dt.timedelta(hours=1)
STREAMS_OFF = "Cognito streams are not configured (or DISABLED) for identity pool {pool}."


def sink_of(settings: Settings, stream: str) -> str:
    """Where a stream's records go: a URL from ``cognito_streams``, else the JSON-lines file's path."""
    url = triggers.function_targets(settings.cognito_streams).get(stream)
    if url:
        return url
    return str(settings.data_dir / "cognito-streams" / f"{Path(stream).name}.jsonl")


def _records(store: Store, pool_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with store.read() as conn:
        datasets = conn.execute(
            select(_D)
            .where(_D.c.identity_pool_id == pool_id, _D.c.deleted.is_(False))
            .order_by(_D.c.identity_id, _D.c.name)
        ).all()
        for ds in datasets:
            rows = conn.execute(
                select(_R)
                .where(_R.c.identity_id == ds.identity_id, _R.c.dataset_name == ds.name)
                .order_by(_R.c.sync_count, _R.c.key_hash)
            ).all()
            out.append(
                {
                    "identityPoolId": pool_id,
                    "identityId": ds.identity_id,
                    "dataSetName": ds.name,
                    "operation": "replace",
                    "kinesisSyncRecords": [
                        {
                            "key": r.key,
                            "value": r.value,
                            "syncCount": int(r.sync_count),
                            "lastModifiedDate": int(utc(r.updated_at).timestamp() * 1000),
                            "deviceLastModifiedDate": int(utc(r.device_updated_at).timestamp() * 1000)
                            if r.device_updated_at is not None
                            else None,
                            "op": "replace" if r.value is not None else "remove",
                        }
                        for r in rows
                    ],
                    "lastModifiedDate": int(utc(ds.updated_at).timestamp() * 1000),
                    "kinesisSyncRecordsURL": None,
                    "payloadType": "Inline",
                    "syncCount": int(ds.sync_count),
                }
            )
    return out


def _publish(store: Store, settings: Settings, pool_id: str, stream: str) -> None:
    failure: str | None = None
    try:
        sink = sink_of(settings, stream)
        items = _records(store, pool_id)
        if sink.startswith(("http://", "https://")):
            policy = egress.policy(settings)
            for item in items:
                resp = policy.fetch("POST", sink, trusted=True, json_body=item)
                if resp.status >= 400:
                    raise egress.EgressFailed(f"the stream's endpoint answered HTTP {resp.status}")
        else:
            path = Path(sink)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                for item in items:
                    out.write(json.dumps(item, separators=(",", ":")) + "\n")
    except (egress.EgressError, OSError) as err:
        failure = f"Publishing to stream {stream} failed: {err}"
        log.warning("bulk publish failed", extra={"identity_pool_id": pool_id, "error": type(err).__name__})
    except Exception as err:  # the thread reports every failure in the pool's status
        failure = f"Publishing to stream {stream} failed: {type(err).__name__}"
        log.exception("bulk publish failed", extra={"identity_pool_id": pool_id})
    with store.tx() as conn:
        conn.execute(
            update(_C)
            .where(_C.c.identity_pool_id == pool_id)
            .values(
                bulk_status="FAILED" if failure else "SUCCEEDED",
                bulk_completed_at=dt.datetime.now(dt.UTC),
                bulk_failure=failure,
            )
        )


def _status(row: Any, now: dt.datetime) -> str | None:
    status = row.bulk_status if row is not None else None
    if status == "IN_PROGRESS" and row.bulk_started_at is not None and now - utc(row.bulk_started_at) > ABANDONED:
        return "FAILED"
    return status


@operation("cognito-sync", "BulkPublish", resource=callers.pool_resource)
def bulk_publish(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = callers.developer_pool(conn, ctx, params["IdentityPoolId"])
        row = configuration.locked_config(conn, pool.id, ctx.now)
        streams = row.cognito_streams or {}
        if not streams.get("StreamName") or streams.get("StreamingStatus") == "DISABLED":
            raise InvalidParameterException(STREAMS_OFF.format(pool=pool.id))
        status = _status(row, ctx.now)
        if status == "IN_PROGRESS":
            raise DuplicateRequestException(f"A bulk publish of identity pool {pool.id} is in progress.")
        if (
            status == "SUCCEEDED"
            and row.bulk_completed_at is not None
            and ctx.now - utc(row.bulk_completed_at) < ONCE_PER
        ):
            raise AlreadyStreamedException(
                f"Identity pool {pool.id} was bulk published in the last 24 hours; one bulk publish per 24 hours."
            )
        conn.execute(
            update(_C)
            .where(_C.c.identity_pool_id == pool.id)
            .values(bulk_status="IN_PROGRESS", bulk_started_at=ctx.now, bulk_completed_at=None, bulk_failure=None)
        )
        recorder.record(conn, ctx, params)
        store, settings, stream = ctx.store, ctx.settings, str(streams["StreamName"])
        after_commit(
            conn,
            lambda: threading.Thread(
                target=_publish, args=(store, settings, pool.id, stream), name="ostiary-bulk-publish", daemon=True
            ).start(),
        )
    return {"IdentityPoolId": pool.id}


@operation("cognito-sync", "GetBulkPublishDetails", resource=callers.pool_resource)
def get_bulk_publish_details(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = callers.developer_pool(conn, ctx, params["IdentityPoolId"])
        row = configuration.config_of(conn, pool.id)
    status = _status(row, ctx.now)
    out: dict[str, Any] = {"IdentityPoolId": pool.id, "BulkPublishStatus": status or "NOT_STARTED"}
    if row is not None and row.bulk_started_at is not None:
        out["BulkPublishStartTime"] = utc(row.bulk_started_at)
    if row is not None and row.bulk_completed_at is not None:
        out["BulkPublishCompleteTime"] = utc(row.bulk_completed_at)
    if status == "FAILED":
        out["FailureMessage"] = (row.bulk_failure if row is not None else None) or "The bulk publish did not finish."
    return out
