"""Users of an identity store: CreateUser, DescribeUser, UpdateUser, DeleteUser, ListUsers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ostiary.identitystore import documents, records, stores
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import paging
from ostiary.ssoadmin.errors import ValidationException
from ostiary.store import tables as t


def actor(ctx: RequestContext) -> str | None:
    """CreatedBy/UpdatedBy: the caller's ARN."""
    return ctx.principal.arn if ctx.principal else None


@operation("identitystore", "CreateUser", resource=stores.resource)
def create_user(ctx: RequestContext, params: Params) -> Result:
    doc = documents.user_document(params)
    with ctx.store.tx() as conn:
        store_id = stores.owned(conn, ctx, params)
        user_id, revision = records.create_user(conn, store_id, doc, actor(ctx), ctx.now)
    return {
        "IdentityStoreId": store_id,
        "UserId": user_id,
        "UserArn": records.user_arn(user_id),
        "Revision": str(revision),
    }


@operation("identitystore", "DescribeUser", resource=stores.resource)
def describe_user(ctx: RequestContext, params: Params) -> Result:
    user_id = params["UserId"].rpartition("/")[2]
    with ctx.store.read() as conn:
        store_id = stores.owned(conn, ctx, params)
        row = records.get_user(conn, store_id, user_id)
        ext = records.external_ids_of(conn, records.USER, [user_id]).get(user_id)
    return records.user_shape(row, ext, params.get("Extensions"))


@operation("identitystore", "UpdateUser", resource=stores.resource)
def update_user(ctx: RequestContext, params: Params) -> Result:
    user_id = params["UserId"].rpartition("/")[2]
    with ctx.store.tx() as conn:
        store_id = stores.owned(conn, ctx, params)
        row = records.get_user(conn, store_id, user_id)
        doc = documents.apply_operations("User", row["document"], params["Operations"])
        revision = records.update_user(conn, row, doc, actor(ctx), ctx.now, params.get("Revision"))
    return {
        "IdentityStoreId": store_id,
        "UserId": user_id,
        "UserArn": records.user_arn(user_id),
        "Revision": str(revision),
    }


@operation("identitystore", "DeleteUser", resource=stores.resource)
def delete_user(ctx: RequestContext, params: Params) -> Result:
    """Deletes the user and its group memberships; a user that does not exist is no error (AWS)."""
    user_id = params["UserId"].rpartition("/")[2]
    with ctx.store.tx() as conn:
        store_id = stores.owned(conn, ctx, params)
        records.delete_user(conn, store_id, user_id, params.get("Revision"))
    return {}


def filter_value(params: Params, path: str) -> str | None:
    """The (deprecated) Filters' one equality on ``path``: its value, or None without a filter."""
    filters = params.get("Filters") or []
    if not filters:
        return None
    f = filters[0]
    if str(f["AttributePath"]).casefold() != path.casefold():
        raise ValidationException(f"Filtering by {f['AttributePath']} is not supported: only {path}")
    return str(f["AttributeValue"])


@operation("identitystore", "ListUsers", resource=stores.resource)
def list_users(ctx: RequestContext, params: Params) -> Result:
    u = t.identitystore_users
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    name = filter_value(params, "UserName")
    with ctx.store.read() as conn:
        store_id = stores.owned(conn, ctx, params)
        query = select(u).where(u.c.identity_store_id == store_id)
        if name is not None:
            query = query.where(u.c.user_name_key == name.casefold())
        if after:
            query = query.where(u.c.user_id > str(after[0]))
        rows = conn.execute(query.order_by(u.c.user_id).limit(limit + 1)).mappings().all()
        page = rows[:limit]
        ext = records.external_ids_of(conn, records.USER, [r["user_id"] for r in page])
    out: dict[str, Any] = {
        "Users": [records.user_shape(r, ext.get(r["user_id"]), params.get("Extensions")) for r in page]
    }
    if len(rows) > limit:
        out["NextToken"] = paging.encode([page[-1]["user_id"]])
    return out
