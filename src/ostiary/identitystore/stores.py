"""The identity store itself: DescribeIdentityStore, ListIdentityStores, and which store a request
names (``IdentityStoreId``: ``d-…`` or the store's ARN).

An identity store belongs to the account that owns its instance (``ssoadmin.instances``); to any
other account it does not exist (ResourceNotFoundException). The IAM resource of every
identitystore operation is the store's ARN, ``arn:aws:identitystore::<account>:identitystore/<id>``
(the Service Authorization Reference's ``Identitystore`` resource).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, select

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import paging
from ostiary.ssoadmin.errors import ResourceNotFoundException
from ostiary.ssoadmin.instances import by_identity_store
from ostiary.store import tables as t

_ARN = re.compile(r"arn:aws[a-z-]*:identitystore::(\d{12}):identitystore/(.+)")


def store_id_of(value: str) -> str:
    """The store id of an ``IdentityStoreId`` parameter (an id or the store's ARN)."""
    m = _ARN.fullmatch(value)
    return m.group(2) if m else value


def store_arn(account_id: str, store_id: str) -> str:
    return f"arn:aws:identitystore::{account_id}:identitystore/{store_id}"


def resource(ctx: RequestContext, params: Params) -> str:
    """The IAM resource of an identitystore request: the named store's ARN in the caller's account
    (a store of another account is not found once authorized)."""
    return store_arn(ctx.account_id, store_id_of(str(params.get("IdentityStoreId", ""))))


def not_found(store_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException("IDENTITY_STORE not found.", ResourceType="IDENTITY_STORE", ResourceId=store_id)


def owned(conn: Connection, ctx: RequestContext, params: Params) -> str:
    """The store id the request names, once the caller's account is known to own it."""
    store_id = store_id_of(str(params["IdentityStoreId"]))
    m = _ARN.fullmatch(str(params["IdentityStoreId"]))
    instance = by_identity_store(conn, store_id)
    if instance is None or instance["account_id"] != ctx.account_id or (m and m.group(1) != ctx.account_id):
        raise not_found(store_id)
    return store_id


@operation("identitystore", "DescribeIdentityStore", resource=resource)
def describe_identity_store(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        store_id = owned(conn, ctx, params)
    return {"IdentityStoreId": store_id, "IdentityStoreArn": store_arn(ctx.account_id, store_id)}


@operation("identitystore", "ListIdentityStores", resource=lambda ctx, p: "*")
def list_identity_stores(ctx: RequestContext, params: Params) -> Result:
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    i = t.sso_instances
    query = select(i.c.identity_store_id).where(i.c.account_id == ctx.account_id)
    if after:
        query = query.where(i.c.identity_store_id > str(after[0]))
    with ctx.store.read() as conn:
        ids = [r[0] for r in conn.execute(query.order_by(i.c.identity_store_id).limit(limit + 1))]
    out: dict[str, Any] = {
        "IdentityStores": [
            {"IdentityStoreId": s, "IdentityStoreArn": store_arn(ctx.account_id, s)} for s in ids[:limit]
        ]
    }
    if len(ids) > limit:
        out["NextToken"] = paging.encode([ids[limit - 1]])
    return out
