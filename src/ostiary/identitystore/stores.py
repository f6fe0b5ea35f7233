"""The identity store itself: DescribeIdentityStore, ListIdentityStores, UpdateIdentityStore (its
network configuration, ``network.py``), and which store a request names (``IdentityStoreId``: ``d-…``
or the store's ARN).

An identity store belongs to the account that owns its instance (``ssoadmin.instances``); to any
other account it does not exist (ResourceNotFoundException). The IAM resource of every
identitystore operation is the store's ARN, ``arn:aws:identitystore::<account>:identitystore/<id>``
(the Service Authorization Reference's ``Identitystore`` resource).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.engine import RowMapping

from ostiary.identitystore import network
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import paging
from ostiary.ssoadmin.errors import AccessDeniedException, ResourceNotFoundException, ValidationException
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


def _instance(conn: Connection, ctx: RequestContext, params: Params, lock: bool = False) -> RowMapping:
    store_id = store_id_of(str(params["IdentityStoreId"]))
    m = _ARN.fullmatch(str(params["IdentityStoreId"]))
    query = select(t.sso_instances).where(t.sso_instances.c.identity_store_id == store_id)
    instance = conn.execute(query.with_for_update() if lock else query).mappings().first()
    if instance is None or instance["account_id"] != ctx.account_id or (m and m.group(1) != ctx.account_id):
        raise not_found(store_id)
    return instance


def owned(conn: Connection, ctx: RequestContext, params: Params) -> str:
    """The store id the request names, once the caller's account is known to own it and the store's
    network configuration admits the request's address."""
    instance = _instance(conn, ctx, params)
    if not network.api_allowed(network.config(instance), ctx.source_ip):
        raise AccessDeniedException(
            "The identity store's network configuration does not allow requests from this address."
        )
    return str(instance["identity_store_id"])


@operation("identitystore", "DescribeIdentityStore", resource=resource)
def describe_identity_store(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        instance = _instance(conn, ctx, params)
    store_id = str(instance["identity_store_id"])
    out: dict[str, Any] = {"IdentityStoreId": store_id, "IdentityStoreArn": store_arn(ctx.account_id, store_id)}
    cfg = network.config(instance)
    if cfg:
        out["NetworkConfiguration"] = cfg
    return out


@operation("identitystore", "UpdateIdentityStore", resource=resource)
def update_identity_store(ctx: RequestContext, params: Params) -> Result:
    """Replaces the network configuration (omitted lists are cleared); without one, changes nothing."""
    cfg: dict[str, Any] | None = None
    if "NetworkConfiguration" in params:
        try:
            cfg = network.checked(params["NetworkConfiguration"])
        except ValueError as e:
            raise ValidationException(f"Invalid IP address range: {e}") from None
    with ctx.store.tx() as conn:
        instance = _instance(conn, ctx, params, lock=True)
        if cfg is not None:
            settings = {**(instance["settings"] or {}), network.SETTING: cfg}
            conn.execute(
                update(t.sso_instances)
                .where(t.sso_instances.c.instance_arn == instance["instance_arn"])
                .values(settings=settings)
            )
    store_id = str(instance["identity_store_id"])
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
