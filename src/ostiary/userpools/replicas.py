"""User pool replicas: CreateUserPoolReplica, DeleteUserPoolReplica, UpdateUserPoolReplica,
ListUserPoolReplicas (multi-Region replication; docs/replicas.md).

A replica is the same pool (same id, users, keys, clients and tokens) answering in another Region:
Ostiary serves every Region from one store, so a replica has nothing to copy and is never behind.
What a request may do in a secondary Region is decided by ``pool_gate.guard`` (reads and sign-ins;
no writes of user data, no TOTP; an INACTIVE replica answers no end user). A Region is the signed
call's credential scope, or an unsigned call's endpoint host (``cognito-idp.<region>.…``).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store.tables.replicas import user_pool_replicas as r
from ostiary.userpools import paging, pool_state, tags
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import (
    FeatureUnavailableInTierException,
    InvalidParameterException,
    LimitExceededException,
    OperationNotEnabledException,
    ResourceNotFoundException,
)
from ostiary.userpools.lookup import pool_for_caller

# an AWS Region's name: us-east-1, ap-southeast-2, us-gov-west-1, eu-central-2…
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
MAX_SECONDARIES = 1  # "each user directory can have at most one secondary replica"


def _arn(pool: PoolView, region: str) -> str:
    return f"arn:aws:cognito-idp:{region}:{pool.account_id}:userpool/{pool.id}"


def _shape(pool: PoolView, region: str, status: str, role: str) -> dict[str, Any]:
    return {"RegionName": region, "Status": status, "Role": role, "UserPoolArn": _arn(pool, region)}


def _primary_only(ctx: RequestContext, pool: PoolView) -> None:
    if ctx.region != pool.region:
        raise OperationNotEnabledException(
            f"{ctx.operation} must be called in the primary Region of user pool {pool.id}, {pool.region}."
        )


def _replica(conn: Connection, pool: PoolView, region: str) -> Any:
    row = conn.execute(select(r).where(r.c.user_pool_id == pool.id, r.c.region == region)).first()
    if row is None:
        raise ResourceNotFoundException(f"User pool {pool.id} has no replica in {region}.")
    return row


@operation("cognito-idp", "CreateUserPoolReplica")
def create_user_pool_replica(ctx: RequestContext, params: Params) -> Result:
    region = params["RegionName"]
    if not REGION.match(region):
        raise InvalidParameterException(f"{region} is not a valid Region name.")
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        _primary_only(ctx, pool)
        if pool.config.get("UserPoolTier") == "LITE":
            raise FeatureUnavailableInTierException(
                "Multi-Region replication requires the Essentials or Plus feature plan."
            )
        if region == pool.region:
            raise InvalidParameterException(f"{region} is the primary Region of user pool {pool.id}.")
        existing = conn.execute(select(r.c.region).where(r.c.user_pool_id == pool.id)).scalars().all()
        if region in existing:
            raise InvalidParameterException(f"User pool {pool.id} already has a replica in {region}.")
        if len(existing) >= MAX_SECONDARIES:
            raise LimitExceededException(f"User pool {pool.id} can have at most {MAX_SECONDARIES} secondary replica.")
        conn.execute(
            insert(r).values(
                user_pool_id=pool.id, region=region, status="INACTIVE", created_at=ctx.now, updated_at=ctx.now
            )
        )
        tags.replace(conn, _arn(pool, region), pool.account_id, dict(params.get("UserPoolTags") or {}))
    pool_state.forget()
    # nothing to copy (one store): the replica is made at once, INACTIVE as AWS's new replicas are
    return {"UserPoolReplica": _shape(pool, region, "INACTIVE", "SECONDARY")}


@operation("cognito-idp", "DeleteUserPoolReplica")
def delete_user_pool_replica(ctx: RequestContext, params: Params) -> Result:
    region = params["RegionName"]
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        _primary_only(ctx, pool)
        if region == pool.region:
            raise InvalidParameterException(f"{region} is the primary Region of user pool {pool.id}.")
        row = _replica(conn, pool, region)
        if row.status != "INACTIVE":
            raise InvalidParameterException(
                f"The replica in {region} is {row.status}: you can delete only an INACTIVE replica."
            )
        gone = conn.execute(
            delete(r).where(r.c.user_pool_id == pool.id, r.c.region == region, r.c.status == "INACTIVE")
        )
        if gone.rowcount != 1:  # changed by a concurrent call since it was read
            raise InvalidParameterException(f"The replica in {region} is no longer INACTIVE.")
        tags.replace(conn, _arn(pool, region), pool.account_id, {})
    pool_state.forget()
    return {"UserPoolReplica": _shape(pool, region, "DELETING", "SECONDARY")}


@operation("cognito-idp", "UpdateUserPoolReplica")
def update_user_pool_replica(ctx: RequestContext, params: Params) -> Result:
    region, status = params["RegionName"], params["Status"]
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        if region == pool.region:
            raise InvalidParameterException(
                f"{region} is the primary Region of user pool {pool.id}: it is always ACTIVE."
            )
        _replica(conn, pool, region)
        conn.execute(
            update(r).where(r.c.user_pool_id == pool.id, r.c.region == region).values(status=status, updated_at=ctx.now)
        )
    pool_state.forget()
    return {"UserPoolReplica": _shape(pool, region, status, "SECONDARY")}


@operation("cognito-idp", "ListUserPoolReplicas")
def list_user_pool_replicas(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        rows = conn.execute(select(r).where(r.c.user_pool_id == pool.id).order_by(r.c.region)).all()
    replicas = [_shape(pool, pool.region, "ACTIVE", "PRIMARY")]
    replicas += [_shape(pool, row.region, row.status, "SECONDARY") for row in rows]
    page, token = paging.slice_after(replicas, lambda item: item["RegionName"], params.get("NextToken"), 60)
    return {"UserPoolReplicas": page, **({"NextToken": token} if token else {})}
