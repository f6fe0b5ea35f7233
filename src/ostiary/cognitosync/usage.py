"""Usage: DescribeIdentityUsage (Cognito Identity or developer credentials), DescribeIdentityPoolUsage
and ListIdentityPoolUsage (developer credentials).

Figures are counted from the datasets themselves, never kept apart: an identity's DatasetCount and
DataStorage (bytes of its datasets' live records); a pool's DataStorage, SyncSessionsCount (the sync
sessions that wrote: the sum of its datasets' sync counts) and LastModifiedDate (its latest dataset
change; absent while it has none).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from ostiary.cognitosync import callers
from ostiary.cognitosync.errors import InvalidParameterException, NotAuthorizedException
from ostiary.identitypools import identities
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import paging

_D = t.sync_datasets
_P = t.identity_pools


def _pool_usage(conn: Connection, pool_id: str) -> dict[str, Any]:
    row = conn.execute(
        select(
            func.coalesce(func.sum(_D.c.data_storage), 0).label("storage"),
            func.coalesce(func.sum(_D.c.sync_count), 0).label("sessions"),
            func.max(_D.c.updated_at).label("modified"),
        ).where(_D.c.identity_pool_id == pool_id)
    ).one()
    out: dict[str, Any] = {
        "IdentityPoolId": pool_id,
        "SyncSessionsCount": int(row.sessions),
        "DataStorage": int(row.storage),
    }
    if row.modified is not None:
        out["LastModifiedDate"] = utc(row.modified)
    return out


@operation("cognito-sync", "DescribeIdentityUsage", resource=callers.identity_resource)
def describe_identity_usage(ctx: RequestContext, params: Params) -> Result:
    identity_id = params["IdentityId"]
    with ctx.store.read() as conn:
        callers.identity_access(conn, ctx, params["IdentityPoolId"], identity_id)
        row = conn.execute(
            select(
                func.count().label("datasets"),
                func.coalesce(func.sum(_D.c.data_storage), 0).label("storage"),
                func.max(_D.c.updated_at).label("modified"),
            ).where(_D.c.identity_id == identity_id, _D.c.deleted.is_(False))
        ).one()
        identity = identities.get(conn, identity_id)
    modified = utc(row.modified) if row.modified is not None else None
    if identity is not None and (modified is None or identity.updated_at > modified):
        modified = identity.updated_at
    usage: dict[str, Any] = {
        "IdentityId": identity_id,
        "IdentityPoolId": params["IdentityPoolId"],
        "DatasetCount": int(row.datasets),
        "DataStorage": int(row.storage),
    }
    if modified is not None:
        usage["LastModifiedDate"] = modified
    return {"IdentityUsage": usage}


@operation("cognito-sync", "DescribeIdentityPoolUsage", resource=callers.pool_resource)
def describe_identity_pool_usage(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = callers.developer_pool(conn, ctx, params["IdentityPoolId"])
        return {"IdentityPoolUsage": _pool_usage(conn, pool.id)}


@operation("cognito-sync", "ListIdentityPoolUsage")
def list_identity_pool_usage(ctx: RequestContext, params: Params) -> Result:
    given = params.get("MaxResults")
    if given is not None and given < 1:
        raise InvalidParameterException("MaxResults must be at least 1.")
    limit = min(int(given or 60), 60)
    after = paging.decode(params.get("NextToken"))
    with ctx.store.read() as conn:
        if callers.of(conn, ctx).cognito:
            raise NotAuthorizedException(callers.DEVELOPER_ONLY)
        query = (
            select(_P.c.id)
            .where(_P.c.account_id == ctx.account_id, _P.c.region == ctx.region)
            .order_by(_P.c.id)
            .limit(limit + 1)
        )
        if after:
            query = query.where(_P.c.id > str(after[0]))
        ids = [r.id for r in conn.execute(query).all()]
        page = ids[:limit]
        usages = [_pool_usage(conn, pool_id) for pool_id in page]
    out: dict[str, Any] = {"IdentityPoolUsages": usages, "MaxResults": limit, "Count": len(usages)}
    if len(ids) > limit:
        out["NextToken"] = paging.encode([page[-1]])
    return out
