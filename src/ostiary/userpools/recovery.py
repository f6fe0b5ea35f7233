"""Point-in-time recovery of user pools: InitiatePointInTimeRecovery, StartPointInTimeRecovery,
CancelPointInTimeRecovery, DescribePointInTimeRecovery, ListPointInTimeRecoveries (docs/recovery.md).

Initiate checks the recovery point, pauses the pool's writes of user data (pool_gate) and answers the
preview at once (PREVIEW_GENERATED: counting reads one journal row per changed row). Start restores
in one transaction and answers RESTORE_COMPLETED; Cancel answers PREVIEW_CANCELLED. A preview neither
started nor cancelled within 24 hours expires (PREVIEW_EXPIRED) and the pool's writes resume.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.engine import Row

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.tables.recovery import user_pool_recoveries as r
from ostiary.userpools import paging, pool_state, restore
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import (
    ConcurrentModificationException,
    FeatureUnavailableInTierException,
    InvalidParameterException,
    LimitExceededException,
    OperationNotEnabledException,
    ResourceNotFoundException,
)
from ostiary.userpools.lookup import pool_for_caller

PREVIEW_LIFETIME = dt.timedelta(hours=24)
DAY = dt.timedelta(days=1)
WINDOW_DAYS = {"ESSENTIALS": 1, "PLUS": 14}  # how far back each feature plan may recover
# AWS's quotas: previews of a pool per 24 hours and per 30 days, completed recoveries of a pool per
# 24 hours, recoveries in progress per account
PREVIEWS_PER_DAY, PREVIEWS_PER_MONTH, RESTORES_PER_DAY, ACTIVE_PER_ACCOUNT = 3, 10, 1, 5
IMPORTING = ("Pending", "InProgress", "Stopping")


def status_of(row: Row[Any], now: dt.datetime) -> str:
    """The recovery's status, a preview past its 24 hours read as expired (the sweep writes it)."""
    if row.status in pool_state.PREVIEWING and row.expires_at <= now:
        return "PREVIEW_EXPIRED"
    return str(row.status)


def _restoration(row: Row[Any], now: dt.datetime, *, with_preview: bool = True) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "RestoreId": row.restore_id,
        "RestoreStatus": status_of(row, now),
        "RestoreTimestamp": row.restore_at,
    }
    if with_preview:
        shape["TriggerTimestamp"] = row.trigger_at
        if row.preview is not None:
            shape["RestorePreview"] = row.preview
    return shape


def _pool(conn: Connection, ctx: RequestContext, pool_id: str) -> PoolView:
    pool = pool_for_caller(conn, ctx, pool_id)
    if ctx.region != pool.region:
        raise OperationNotEnabledException(
            f"Point-in-time recovery is available only in the primary Region of user pool {pool.id}, {pool.region}."
        )
    tier = pool.config.get("UserPoolTier") or "ESSENTIALS"
    if tier not in WINDOW_DAYS:
        raise FeatureUnavailableInTierException("Point-in-time recovery requires the Essentials or Plus feature plan.")
    return pool


def _recovery(conn: Connection, pool: PoolView, restore_id: str, *, lock: bool = False) -> Row[Any]:
    query = select(r).where(r.c.restore_id == restore_id, r.c.user_pool_id == pool.id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise ResourceNotFoundException(f"Recovery {restore_id} does not exist in user pool {pool.id}.")
    return row


def _check_point(ctx: RequestContext, conn: Connection, pool: PoolView, point: dt.datetime) -> None:
    now = ctx.now
    days = min(
        WINDOW_DAYS[pool.config.get("UserPoolTier") or "ESSENTIALS"], max(ctx.settings.recovery_retention_days, 1)
    )
    if point > now - dt.timedelta(seconds=ctx.settings.recovery_min_age_seconds):
        minutes = ctx.settings.recovery_min_age_seconds // 60
        when = f"at least {minutes} minutes in the past" if minutes else "in the past"
        raise InvalidParameterException(f"The recovery point must be {when}.")
    if point < now - dt.timedelta(days=days):
        raise InvalidParameterException(
            f"The recovery point must be within the recovery period of user pool {pool.id}: {days} day(s)."
        )
    created = conn.execute(select(t.user_pools.c.created_at).where(t.user_pools.c.id == pool.id)).scalar_one()
    if point < created:
        raise InvalidParameterException("The recovery point can't be earlier than the creation time of the user pool.")


def _check_quotas(conn: Connection, ctx: RequestContext, pool: PoolView) -> None:
    now = ctx.now
    mine = conn.execute(select(r).where(r.c.user_pool_id == pool.id, r.c.trigger_at > now - 30 * DAY)).all()
    if any(status_of(row, now) in pool_state.PAUSING for row in mine):
        raise ConcurrentModificationException(f"User pool {pool.id} already has a recovery in progress.")
    importing = conn.execute(
        select(func.count())
        .select_from(t.user_import_jobs)
        .where(t.user_import_jobs.c.user_pool_id == pool.id, t.user_import_jobs.c.status.in_(IMPORTING))
    ).scalar()
    if importing:
        raise ConcurrentModificationException(
            f"A user import job is in progress in user pool {pool.id}: wait for it to complete or stop it."
        )
    if sum(row.trigger_at > now - DAY for row in mine) >= PREVIEWS_PER_DAY or len(mine) >= PREVIEWS_PER_MONTH:
        raise LimitExceededException(f"User pool {pool.id} has reached its quota of recovery previews.")
    restored = [row for row in mine if row.status == "RESTORE_COMPLETED" and row.completed_at > now - DAY]
    if len(restored) >= RESTORES_PER_DAY:
        raise LimitExceededException(f"User pool {pool.id} can complete one recovery in 24 hours.")
    active = conn.execute(
        select(r.c.status, r.c.expires_at).where(r.c.account_id == pool.account_id, r.c.status.in_(pool_state.PAUSING))
    ).all()
    if (
        sum(1 for row in active if row.status not in pool_state.PREVIEWING or row.expires_at > now)
        >= ACTIVE_PER_ACCOUNT
    ):
        raise LimitExceededException(f"The account can have at most {ACTIVE_PER_ACCOUNT} recoveries in progress.")


@operation("cognito-idp", "InitiatePointInTimeRecovery")
def initiate_point_in_time_recovery(ctx: RequestContext, params: Params) -> Result:
    point = params["RestoreTimestamp"]
    if point.tzinfo is None:
        point = point.replace(tzinfo=dt.UTC)
    restore_id = str(uuid.uuid4())
    with ctx.store.tx() as conn:
        pool = _pool(conn, ctx, params["UserPoolId"])
        restore.sweep(conn, ctx.settings, ctx.now)
        _check_point(ctx, conn, pool, point)
        _check_quotas(conn, ctx, pool)
        counts = restore.preview(restore.plan(conn, pool.id, point))
        conn.execute(
            insert(r).values(
                restore_id=restore_id,
                user_pool_id=pool.id,
                account_id=pool.account_id,
                status="PREVIEW_GENERATED",
                restore_at=point,
                trigger_at=ctx.now,
                preview=counts,
                expires_at=ctx.now + PREVIEW_LIFETIME,
            )
        )
        row = _recovery(conn, pool, restore_id)
    pool_state.forget()
    return {"Restoration": _restoration(row, ctx.now)}


@operation("cognito-idp", "StartPointInTimeRecovery")
def start_point_in_time_recovery(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = _pool(conn, ctx, params["UserPoolId"])
        row = _recovery(conn, pool, params["RestoreId"], lock=True)
        status = status_of(row, ctx.now)
        if status != "PREVIEW_GENERATED":
            raise InvalidParameterException(
                f"Recovery {row.restore_id} is {status}: you can start a recovery only when it is PREVIEW_GENERATED."
            )
        began = conn.execute(
            update(r)
            .where(r.c.restore_id == row.restore_id, r.c.status == "PREVIEW_GENERATED", r.c.expires_at > ctx.now)
            .values(status="RESTORING")
        )
        if began.rowcount != 1:
            raise ConcurrentModificationException(f"Recovery {row.restore_id} was changed by another request.")
        restore.apply(conn, pool.id, restore.plan(conn, pool.id, row.restore_at))
        conn.execute(
            update(r).where(r.c.restore_id == row.restore_id).values(status="RESTORE_COMPLETED", completed_at=ctx.now)
        )
        row = _recovery(conn, pool, row.restore_id)
    pool_state.forget()
    return {"Restoration": _restoration(row, ctx.now)}


@operation("cognito-idp", "CancelPointInTimeRecovery")
def cancel_point_in_time_recovery(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = _pool(conn, ctx, params["UserPoolId"])
        row = _recovery(conn, pool, params["RestoreId"], lock=True)
        status = status_of(row, ctx.now)
        if status not in pool_state.PREVIEWING:
            raise InvalidParameterException(
                f"Recovery {row.restore_id} is {status}: you can cancel a recovery only before you start it."
            )
        done = conn.execute(
            update(r)
            .where(r.c.restore_id == row.restore_id, r.c.status.in_(pool_state.PREVIEWING))
            .values(status="PREVIEW_CANCELLED", completed_at=ctx.now)
        )
        if done.rowcount != 1:
            raise ConcurrentModificationException(f"Recovery {row.restore_id} was changed by another request.")
        row = _recovery(conn, pool, row.restore_id)
    pool_state.forget()
    return {"Restoration": _restoration(row, ctx.now)}


@operation("cognito-idp", "DescribePointInTimeRecovery")
def describe_point_in_time_recovery(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = _pool(conn, ctx, params["UserPoolId"])
        row = _recovery(conn, pool, params["RestoreId"])
    return {"Restoration": _restoration(row, ctx.now)}


@operation("cognito-idp", "ListPointInTimeRecoveries")
def list_point_in_time_recoveries(ctx: RequestContext, params: Params) -> Result:
    limit = params.get("MaxResults") or 60
    after = paging.decode(params.get("NextToken"))
    query = select(r).where(r.c.user_pool_id == params["UserPoolId"])
    if after:
        if len(after) != 2 or not all(isinstance(v, str) for v in after):
            raise InvalidParameterException("Invalid NextToken.")
        when = dt.datetime.fromisoformat(after[0])
        query = query.where((r.c.trigger_at < when) | ((r.c.trigger_at == when) & (r.c.restore_id < after[1])))
    with ctx.store.read() as conn:
        _pool(conn, ctx, params["UserPoolId"])
        rows = conn.execute(query.order_by(r.c.trigger_at.desc(), r.c.restore_id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    out: dict[str, Any] = {"Restorations": [_restoration(row, ctx.now, with_preview=False) for row in page]}
    if len(rows) > limit:
        out["NextToken"] = paging.encode([page[-1].trigger_at.isoformat(), page[-1].restore_id])
    return out
