"""Groups of an identity store: CreateGroup, DescribeGroup, UpdateGroup, DeleteGroup, ListGroups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ostiary.identitystore import documents, records, stores
from ostiary.identitystore.users import actor, filter_value
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import paging
from ostiary.store import tables as t


@operation("identitystore", "CreateGroup", resource=stores.resource)
def create_group(ctx: RequestContext, params: Params) -> Result:
    doc = documents.group_document(params)
    with ctx.store.tx() as conn:
        store_id = stores.owned(conn, ctx, params)
        group_id, revision = records.create_group(conn, store_id, doc, actor(ctx), ctx.now)
    return {
        "IdentityStoreId": store_id,
        "GroupId": group_id,
        "GroupArn": records.group_arn(group_id),
        "Revision": str(revision),
    }


@operation("identitystore", "DescribeGroup", resource=stores.resource)
def describe_group(ctx: RequestContext, params: Params) -> Result:
    group_id = params["GroupId"].rpartition("/")[2]
    with ctx.store.read() as conn:
        store_id = stores.owned(conn, ctx, params)
        row = records.get_group(conn, store_id, group_id)
        ext = records.external_ids_of(conn, records.GROUP, [group_id]).get(group_id)
    return records.group_shape(row, ext)


@operation("identitystore", "UpdateGroup", resource=stores.resource)
def update_group(ctx: RequestContext, params: Params) -> Result:
    group_id = params["GroupId"].rpartition("/")[2]
    with ctx.store.tx() as conn:
        store_id = stores.owned(conn, ctx, params)
        row = records.get_group(conn, store_id, group_id)
        doc = documents.apply_operations("Group", row["document"], params["Operations"])
        revision = records.update_group(conn, row, doc, actor(ctx), ctx.now, params.get("Revision"))
    return {
        "IdentityStoreId": store_id,
        "GroupId": group_id,
        "GroupArn": records.group_arn(group_id),
        "Revision": str(revision),
    }


@operation("identitystore", "DeleteGroup", resource=stores.resource)
def delete_group(ctx: RequestContext, params: Params) -> Result:
    """Deletes the group and its memberships; a group that does not exist is no error (AWS)."""
    group_id = params["GroupId"].rpartition("/")[2]
    with ctx.store.tx() as conn:
        store_id = stores.owned(conn, ctx, params)
        records.delete_group(conn, store_id, group_id, params.get("Revision"))
    return {}


@operation("identitystore", "ListGroups", resource=stores.resource)
def list_groups(ctx: RequestContext, params: Params) -> Result:
    g = t.identitystore_groups
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    name = filter_value(params, "DisplayName")
    with ctx.store.read() as conn:
        store_id = stores.owned(conn, ctx, params)
        query = select(g).where(g.c.identity_store_id == store_id)
        if name is not None:
            query = query.where(g.c.display_name_key == name.casefold())
        if after:
            query = query.where(g.c.group_id > str(after[0]))
        rows = conn.execute(query.order_by(g.c.group_id).limit(limit + 1)).mappings().all()
        page = rows[:limit]
        ext = records.external_ids_of(conn, records.GROUP, [r["group_id"] for r in page])
    out: dict[str, Any] = {"Groups": [records.group_shape(r, ext.get(r["group_id"])) for r in page]}
    if len(rows) > limit:
        out["NextToken"] = paging.encode([page[-1]["group_id"]])
    return out
