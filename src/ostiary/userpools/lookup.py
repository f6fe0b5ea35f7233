"""Finding the pool and app client a request names, for signed (admin) and unsigned (client) calls."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select

from ostiary.caching import TtlCache
from ostiary.crypto.secrets import SecretBox
from ostiary.protocol.context import RequestContext
from ostiary.store import tables as t
from ostiary.userpools import pool_state
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import ResourceNotFoundException

CLIENT_SECRET_CONTEXT = "client-secret:"


@dataclass(frozen=True)
class ClientView:
    id: str
    pool_id: str
    name: str
    config: dict[str, Any]
    secret: str | None  # the primary secret (what DescribeUserPoolClient shows)
    other_secrets: tuple[str, ...] = ()  # the second secret during a rotation (AddUserPoolClientSecret)
    # a client ID metadata document's client (userpools/cimd.py): the app client of the CIMD policy its
    # URL matched, seen through the document (its redirect URIs, its grants and scopes within the app
    # client's), public; None for the app client itself
    cimd_url: str | None = None

    @property
    def code_owner(self) -> str:
        """Whose authorization codes are whose: the app client's id, or for a CIMD client a name no app
        client id can take (``:`` is not in their alphabet), so neither redeems the other's codes."""
        if self.cimd_url is None:
            return self.id
        return "cimd:" + hashlib.sha256(self.cimd_url.encode()).hexdigest()

    def secrets(self) -> tuple[str, ...]:
        """Every secret the client may use: SECRET_HASH and client authentication accept any."""
        return (self.secret, *self.other_secrets) if self.secret is not None else ()

    def flows(self) -> set[str]:
        return set(self.config.get("ExplicitAuthFlows") or [])

    @property
    def prevent_user_existence_errors(self) -> bool:
        return self.config.get("PreventUserExistenceErrors") == "ENABLED"

    def as_token_config(self) -> dict[str, Any]:
        return {**self.config, "ClientId": self.id}


_POOL = select(t.user_pools).where(t.user_pools.c.id == bindparam("pool_id"))
_CLIENT = select(t.user_pool_clients).where(t.user_pool_clients.c.client_id == bindparam("client_id"))

# Pools and app clients change rarely and are read by every sign-in and token check: each process
# keeps them for ``cache_pool_seconds`` (2 s). A change made through this process is seen at once
# (``forget_views`` is called by every write to a pool or client); another process sees it within
# that time.
_views: TtlCache[str, Any] = TtlCache("pools", ttl=2)


def forget_views() -> None:
    """Drop the cached pools and clients (after a write to either)."""
    _views.clear()


def pool_by_id(conn: Connection, pool_id: str) -> PoolView | None:
    def load() -> PoolView | None:
        row = conn.execute(_POOL, {"pool_id": pool_id}).first()
        if row is None:
            return None
        return PoolView(id=row.id, account_id=row.account_id, region=row.region, name=row.name, config=dict(row.config))

    found: PoolView | None = _views.get_or_load("pool:" + pool_id, load)
    return found


def pool_for_caller(conn: Connection, ctx: RequestContext, pool_id: str) -> PoolView:
    """The caller's pool (same account, and its Region or one of its replicas'), else ResourceNotFoundException."""
    pool = pool_by_id(conn, pool_id)
    if (
        pool is None
        or pool.account_id != ctx.account_id
        or (pool.region != ctx.region and ctx.region not in pool_state.of(conn, pool_id, ctx.now).replicas)
    ):
        raise ResourceNotFoundException(f"User pool {pool_id} does not exist.")
    return pool


def client_by_id(conn: Connection, box: SecretBox, client_id: str) -> ClientView | None:
    def load() -> ClientView | None:
        row = conn.execute(_CLIENT, {"client_id": client_id}).first()
        if row is None:
            return None
        context = CLIENT_SECRET_CONTEXT + row.client_id
        secret = box.open(row.secret_enc, context) if row.secret_enc else None
        extra = ((row.secret_rotation or {}).get("extra") or []) if secret is not None else []
        return ClientView(
            id=row.client_id,
            pool_id=row.user_pool_id,
            name=row.name,
            config=dict(row.config),
            secret=secret,
            other_secrets=tuple(box.open(e["sealed"], context) for e in extra),
        )

    found: ClientView | None = _views.get_or_load("client:" + client_id, load)
    return found


def client_and_pool(conn: Connection, box: SecretBox, client_id: str) -> tuple[ClientView, PoolView]:
    """For unsigned calls: the client named by ``ClientId`` and its pool."""
    client = client_by_id(conn, box, client_id)
    pool = pool_by_id(conn, client.pool_id) if client is not None else None
    if client is None or pool is None:
        raise ResourceNotFoundException(f"User pool client {client_id} does not exist.")
    return client, pool


def client_in_pool(conn: Connection, box: SecretBox, pool: PoolView, client_id: str) -> ClientView:
    client = client_by_id(conn, box, client_id)
    if client is None or client.pool_id != pool.id:
        raise ResourceNotFoundException(f"User pool client {client_id} does not exist.")
    return client
