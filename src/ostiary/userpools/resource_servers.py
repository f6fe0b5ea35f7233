"""Resource servers: CreateResourceServer, DescribeResourceServer, UpdateResourceServer,
DeleteResourceServer, ListResourceServers (Cognito API Reference; Developer Guide, "Scopes, M2M, and
APIs with resource servers").

A resource server declares custom scopes ``<Identifier>/<ScopeName>`` that app clients may list in
AllowedOAuthScopes (checked in clients.py). As in AWS, updating a resource server so that a scope
disappears, or deleting it, changes no app client: the client keeps the scope in AllowedOAuthScopes,
and tokens simply stop carrying it (the token endpoint grants only scopes that ``custom_scopes``
still returns).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Row

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.userpools import paging
from ostiary.userpools.errors import InvalidParameterException, LimitExceededException, ResourceNotFoundException
from ostiary.userpools.lookup import pool_for_caller

MAX_PER_POOL = 25  # AWS quota: resource servers per user pool
MAX_SCOPES = 100  # the model's ResourceServerScopeListType
_PAGE = 50  # ListResourceServersLimitType max

_ONE = select(t.resource_servers).where(
    t.resource_servers.c.user_pool_id == bindparam("pool_id"), t.resource_servers.c.identifier == bindparam("ident")
)
_ALL = select(t.resource_servers.c.identifier, t.resource_servers.c.scopes).where(
    t.resource_servers.c.user_pool_id == bindparam("pool_id")
)


def custom_scopes(conn: Connection, pool_id: str) -> set[str]:
    """Every custom scope ``<identifier>/<scope name>`` the pool's resource servers define now."""
    return {
        f"{row.identifier}/{scope['ScopeName']}"
        for row in conn.execute(_ALL, {"pool_id": pool_id})
        for scope in row.scopes or []
    }


def _server_type(row: Row[Any]) -> dict[str, Any]:
    return {
        "UserPoolId": row.user_pool_id,
        "Identifier": row.identifier,
        "Name": row.name,
        "Scopes": [{"ScopeName": s["ScopeName"], "ScopeDescription": s["ScopeDescription"]} for s in row.scopes],
    }


def _scopes(params: Params) -> list[dict[str, str]]:
    """The scope list, checked: the model constrains each name and description; names are unique."""
    scopes = list(params.get("Scopes") or [])
    if len(scopes) > MAX_SCOPES:
        raise LimitExceededException(f"A resource server can have at most {MAX_SCOPES} scopes.")
    seen: set[str] = set()
    out = []
    for scope in scopes:
        name = scope["ScopeName"]
        if name in seen:
            raise InvalidParameterException(f"Duplicate scope name: {name}")
        seen.add(name)
        out.append({"ScopeName": name, "ScopeDescription": scope["ScopeDescription"]})
    return out


def _get(conn: Connection, pool_id: str, identifier: str) -> Row[Any]:
    row = conn.execute(_ONE, {"pool_id": pool_id, "ident": identifier}).first()
    if row is None:
        raise ResourceNotFoundException(f"Resource server {identifier} does not exist.")
    return row


@operation("cognito-idp", "CreateResourceServer")
def create_resource_server(ctx: RequestContext, params: Params) -> Result:
    scopes = _scopes(params)
    identifier = params["Identifier"]
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        if conn.execute(_ONE, {"pool_id": pool.id, "ident": identifier}).first() is not None:
            raise InvalidParameterException(f"{identifier} already exists in user pool {pool.id}.")
        count = conn.execute(
            select(func.count()).select_from(t.resource_servers).where(t.resource_servers.c.user_pool_id == pool.id)
        ).scalar_one()
        if count >= MAX_PER_POOL:
            raise LimitExceededException(f"A user pool can have at most {MAX_PER_POOL} resource servers.")
        conn.execute(
            insert(t.resource_servers).values(
                user_pool_id=pool.id, identifier=identifier, name=params["Name"], scopes=scopes, created_at=ctx.now
            )
        )
        return {"ResourceServer": _server_type(_get(conn, pool.id, identifier))}


@operation("cognito-idp", "DescribeResourceServer")
def describe_resource_server(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        return {"ResourceServer": _server_type(_get(conn, pool.id, params["Identifier"]))}


@operation("cognito-idp", "UpdateResourceServer")
def update_resource_server(ctx: RequestContext, params: Params) -> Result:
    """Replaces Name and Scopes (omitted Scopes: none), as AWS documents for this operation."""
    scopes = _scopes(params)
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _get(conn, pool.id, params["Identifier"])
        rs = t.resource_servers.c
        conn.execute(
            update(t.resource_servers)
            .where(rs.user_pool_id == pool.id, rs.identifier == row.identifier)
            .values(name=params["Name"], scopes=scopes)
        )
        return {"ResourceServer": _server_type(_get(conn, pool.id, row.identifier))}


@operation("cognito-idp", "DeleteResourceServer")
def delete_resource_server(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _get(conn, pool.id, params["Identifier"])
        rs = t.resource_servers.c
        conn.execute(delete(t.resource_servers).where(rs.user_pool_id == pool.id, rs.identifier == row.identifier))
    return None


@operation("cognito-idp", "ListResourceServers")
def list_resource_servers(ctx: RequestContext, params: Params) -> Result:
    """In identifier order; NextToken is the last identifier returned."""
    limit = int(params.get("MaxResults") or _PAGE)
    after = paging.decode(params.get("NextToken"))
    rs = t.resource_servers.c
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        query = select(t.resource_servers).where(rs.user_pool_id == pool.id)
        if after:
            query = query.where(rs.identifier > str(after[0]))
        rows = conn.execute(query.order_by(rs.identifier).limit(limit + 1)).all()
    out: dict[str, Any] = {"ResourceServers": [_server_type(r) for r in rows[:limit]]}
    if len(rows) > limit:
        out["NextToken"] = paging.encode([rows[limit - 1].identifier])
    return out
