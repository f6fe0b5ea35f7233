"""An identity pool's sync settings: GetIdentityPoolConfiguration / SetIdentityPoolConfiguration
(PushSync, CognitoStreams) and GetCognitoEvents / SetCognitoEvents (the Sync Trigger). Developer
credentials of the pool's account only (callers.developer_pool).

PushSync's ApplicationArns name SNS platform applications (``arn:aws:sns:<region>:<account>:app/<PLATFORM>/<name>``):
RegisterDevice accepts a device of a platform one of them names. Its RoleArn and CognitoStreams'
RoleArn must be roles of the pool's account. CognitoStreams names the stream BulkPublish (and nothing
else in Ostiary) publishes to: see bulk_publish.py for where a stream's records go. SetCognitoEvents
changes only the events it names; an empty function ARN removes an event. The only event AWS has is
``SyncTrigger``; its function must be one the setting ``lambda_functions`` configures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select, update

from ostiary.audit import recorder
from ostiary.cognitosync import callers, sync_trigger
from ostiary.cognitosync.errors import InvalidParameterException
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.upserts import insert_ignore
from ostiary.sts import sessions
from ostiary.userpools import triggers

_C = t.sync_pool_config
EVENTS = frozenset({sync_trigger.EVENT})


def config_of(conn: Connection, pool_id: str) -> Any | None:
    """The pool's sync settings row, or None when none was ever set."""
    return conn.execute(select(_C).where(_C.c.identity_pool_id == pool_id)).first()


def locked_config(conn: Connection, pool_id: str, now: dt.datetime) -> Any:
    """The pool's settings row (created when missing), locked until the transaction ends."""
    insert_ignore(
        conn,
        _C,
        ["identity_pool_id"],
        [{"identity_pool_id": pool_id, "events": {}, "updated_at": now}],
    )
    query = select(_C).where(_C.c.identity_pool_id == pool_id)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    return conn.execute(query).one()


def sync_trigger_of(conn: Connection, pool_id: str) -> str | None:
    row = config_of(conn, pool_id)
    events = (row.events if row is not None else None) or {}
    function = events.get(sync_trigger.EVENT)
    return str(function) if function else None


def _shape(pool_id: str, row: Any | None) -> dict[str, Any]:
    out: dict[str, Any] = {"IdentityPoolId": pool_id}
    if row is not None and row.push_sync:
        out["PushSync"] = row.push_sync
    if row is not None and row.cognito_streams:
        out["CognitoStreams"] = row.cognito_streams
    return out


def _check_role(conn: Connection, account: str, arn: str | None, what: str) -> None:
    if arn is None:
        return
    role = sessions.find_role(conn, arn)
    if role is None or role.account_id != account:
        raise InvalidParameterException(f"{what} {arn} is not a role of this account.")


def _check_push_sync(conn: Connection, account: str, push: dict[str, Any]) -> None:
    for arn in push.get("ApplicationArns") or []:
        if arn.split(":")[4:5] != [account]:
            raise InvalidParameterException(f"The platform application {arn} is not of this account.")
    _check_role(conn, account, push.get("RoleArn"), "RoleArn")


@operation("cognito-sync", "GetIdentityPoolConfiguration", resource=callers.pool_resource)
def get_identity_pool_configuration(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = callers.developer_pool(conn, ctx, params["IdentityPoolId"])
        return _shape(pool.id, config_of(conn, pool.id))


@operation("cognito-sync", "SetIdentityPoolConfiguration", resource=callers.pool_resource)
def set_identity_pool_configuration(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = callers.developer_pool(conn, ctx, params["IdentityPoolId"])
        changes: dict[str, Any] = {}
        push = params.get("PushSync")
        if push is not None:
            _check_push_sync(conn, pool.account_id, push)
            changes["push_sync"] = push or None
        streams = params.get("CognitoStreams")
        if streams is not None:
            _check_role(conn, pool.account_id, streams.get("RoleArn"), "RoleArn")
            if streams and not streams.get("StreamName"):
                raise InvalidParameterException("CognitoStreams needs a StreamName.")
            changes["cognito_streams"] = streams or None
        locked_config(conn, pool.id, ctx.now)
        if changes:
            conn.execute(update(_C).where(_C.c.identity_pool_id == pool.id).values(updated_at=ctx.now, **changes))
        recorder.record(conn, ctx, params)
        return _shape(pool.id, config_of(conn, pool.id))


@operation("cognito-sync", "GetCognitoEvents", resource=callers.pool_resource)
def get_cognito_events(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = callers.developer_pool(conn, ctx, params["IdentityPoolId"])
        row = config_of(conn, pool.id)
    return {"Events": dict((row.events if row is not None else None) or {})}


@operation("cognito-sync", "SetCognitoEvents", resource=callers.pool_resource)
def set_cognito_events(ctx: RequestContext, params: Params) -> Result:
    given: dict[str, str] = params["Events"]
    for event, function in given.items():
        if event not in EVENTS:
            raise InvalidParameterException(f"Unknown event type {event}; the one event is {sync_trigger.EVENT}.")
        if function and triggers.target_of(ctx.settings, function) is None:
            raise InvalidParameterException(
                f"Ostiary has no function configured for {function} (setting lambda_functions)."
            )
    with ctx.store.tx() as conn:
        pool = callers.developer_pool(conn, ctx, params["IdentityPoolId"])
        row = locked_config(conn, pool.id, ctx.now)
        events = dict(row.events or {})
        for event, function in given.items():
            if function:
                events[event] = function
            else:
                events.pop(event, None)
        conn.execute(update(_C).where(_C.c.identity_pool_id == pool.id).values(events=events, updated_at=ctx.now))
        recorder.record(conn, ctx, params)
    return None
