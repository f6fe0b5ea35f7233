"""Groups: CreateGroup, GetGroup, UpdateGroup, DeleteGroup, ListGroups, ListUsersInGroup,
AdminAddUserToGroup, AdminRemoveUserFromGroup, AdminListGroupsForUser (Cognito API Reference).

Group membership feeds ``cognito:groups`` (ordered by Precedence), ``cognito:roles`` and
``cognito:preferred_role`` in tokens (claims.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, tuple_, update
from sqlalchemy.engine import Row

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import directory, paging
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import GroupExistsException, ResourceNotFoundException
from ostiary.userpools.lookup import pool_for_caller
from ostiary.userpools.users import require_user, user_type

_MAX = 60


def _group_type(row: Row[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "GroupName": row.name,
        "UserPoolId": row.user_pool_id,
        "LastModifiedDate": utc(row.updated_at),
        "CreationDate": utc(row.created_at),
    }
    if row.description is not None:
        out["Description"] = row.description
    if row.role_arn is not None:
        out["RoleArn"] = row.role_arn
    if row.precedence is not None:
        out["Precedence"] = row.precedence
    return out


def _groups_page(conn: Connection, query: Any, limit: int, after: list[Any] | None) -> dict[str, Any]:
    """One page of groups in name order; NextToken is the last name returned."""
    if after:
        query = query.where(t.groups.c.name > after[0])
    rows = conn.execute(query.order_by(t.groups.c.name).limit(limit + 1)).all()
    out: dict[str, Any] = {"Groups": [_group_type(r) for r in rows[:limit]]}
    if len(rows) > limit:
        out["NextToken"] = paging.encode([rows[limit - 1].name])
    return out


def _get(conn: Connection, pool: PoolView, name: str) -> Row[Any]:
    row = conn.execute(select(t.groups).where(t.groups.c.user_pool_id == pool.id, t.groups.c.name == name)).first()
    if row is None:
        raise ResourceNotFoundException("Group not found.")
    return row


@operation("cognito-idp", "CreateGroup")
def create_group(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        exists = conn.execute(
            select(t.groups.c.name).where(t.groups.c.user_pool_id == pool.id, t.groups.c.name == params["GroupName"])
        ).first()
        if exists is not None:
            raise GroupExistsException(f"A group with the name {params['GroupName']} already exists.")
        conn.execute(
            insert(t.groups).values(
                user_pool_id=pool.id,
                name=params["GroupName"],
                description=params.get("Description"),
                role_arn=params.get("RoleArn"),
                precedence=params.get("Precedence"),
                created_at=ctx.now,
                updated_at=ctx.now,
            )
        )
        return {"Group": _group_type(_get(conn, pool, params["GroupName"]))}


@operation("cognito-idp", "GetGroup")
def get_group(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        return {"Group": _group_type(_get(conn, pool, params["GroupName"]))}


@operation("cognito-idp", "UpdateGroup")
def update_group(ctx: RequestContext, params: Params) -> Result:
    """Only the members given change (AWS keeps the others)."""
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        _get(conn, pool, params["GroupName"])
        values: dict[str, Any] = {"updated_at": ctx.now}
        for member, column in (("Description", "description"), ("RoleArn", "role_arn"), ("Precedence", "precedence")):
            if member in params:
                values[column] = params[member]
        conn.execute(
            update(t.groups)
            .where(t.groups.c.user_pool_id == pool.id, t.groups.c.name == params["GroupName"])
            .values(**values)
        )
        return {"Group": _group_type(_get(conn, pool, params["GroupName"]))}


@operation("cognito-idp", "DeleteGroup")
def delete_group(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        _get(conn, pool, params["GroupName"])
        g = t.group_members.c
        conn.execute(delete(t.group_members).where(g.user_pool_id == pool.id, g.group_name == params["GroupName"]))
        conn.execute(delete(t.groups).where(t.groups.c.user_pool_id == pool.id, t.groups.c.name == params["GroupName"]))
    return None


@operation("cognito-idp", "ListGroups")
def list_groups(ctx: RequestContext, params: Params) -> Result:
    limit = int(params.get("Limit") or _MAX)
    after = paging.decode(params.get("NextToken"))
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        return _groups_page(conn, select(t.groups).where(t.groups.c.user_pool_id == pool.id), limit, after)


@operation("cognito-idp", "ListUsersInGroup", offload=True)
def list_users_in_group(ctx: RequestContext, params: Params) -> Result:
    limit = int(params.get("Limit") or _MAX)
    after = paging.decode(params.get("NextToken"))
    m = t.group_members.c
    u = t.users.c
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        _get(conn, pool, params["GroupName"])
        query = (
            select(t.users)
            .select_from(t.users.join(t.group_members, m.user_id == u.id))
            .where(m.user_pool_id == pool.id, m.group_name == params["GroupName"])
            .order_by(u.created_at, u.id)
            .limit(limit + 1)
        )
        if after:
            query = query.where(tuple_(u.created_at, u.id) > tuple_(dt.datetime.fromisoformat(after[0]), after[1]))
        rows = conn.execute(query).all()
    users = [directory._user(r) for r in rows[:limit]]
    out: dict[str, Any] = {"Users": [user_type(x) for x in users]}
    if len(rows) > limit:
        last = users[-1]
        out["NextToken"] = paging.encode([last.created_at.isoformat(), last.id])
    return out


@operation("cognito-idp", "AdminAddUserToGroup")
def admin_add_user_to_group(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = require_user(conn, pool, params["Username"])
        _get(conn, pool, params["GroupName"])
        m = t.group_members.c
        present = conn.execute(
            select(m.user_id).where(
                and_(m.user_pool_id == pool.id, m.group_name == params["GroupName"], m.user_id == user.id)
            )
        ).first()
        if present is None:
            conn.execute(
                insert(t.group_members).values(
                    user_pool_id=pool.id, group_name=params["GroupName"], user_id=user.id, added_at=ctx.now
                )
            )
    return None


@operation("cognito-idp", "AdminRemoveUserFromGroup")
def admin_remove_user_from_group(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = require_user(conn, pool, params["Username"])
        _get(conn, pool, params["GroupName"])
        m = t.group_members.c
        conn.execute(
            delete(t.group_members).where(
                m.user_pool_id == pool.id, m.group_name == params["GroupName"], m.user_id == user.id
            )
        )
    return None


@operation("cognito-idp", "AdminListGroupsForUser", offload=True)
def admin_list_groups_for_user(ctx: RequestContext, params: Params) -> Result:
    limit = int(params.get("Limit") or _MAX)
    after = paging.decode(params.get("NextToken"))
    g = t.groups.c
    m = t.group_members.c
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        user = require_user(conn, pool, params["Username"])
        joined = t.groups.join(t.group_members, and_(g.user_pool_id == m.user_pool_id, g.name == m.group_name))
        query = select(t.groups).select_from(joined).where(m.user_pool_id == pool.id, m.user_id == user.id)
        return _groups_page(conn, query, limit, after)
