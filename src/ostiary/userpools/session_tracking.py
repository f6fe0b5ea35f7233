"""Session tracking's settings and hooks, shared by sign-in, tokens and the hosted UI: no operations
(those are in sessions.py, which builds on this module).

The pool's and clients' settings are read through a per-process cache, so sign-in and refresh run no
extra query while a pool does not track sessions. The hooks: a new refresh-token lineage
(tokens.start_lineage) evicts the user's least recently active token sessions and gets its session
id; a refresh records its time and IP address; the hosted UI asks whether an SSO session may be
reused silently and for the id of a new one.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from ostiary.caching import TtlCache
from ostiary.protocol.context import RequestContext
from ostiary.store import tables as t

DEFAULT_MAX_PER_USER = 20
DEFAULT_SSO_MINUTES = 60
_ALPHABET = string.ascii_lowercase + string.digits


def new_id(kind: str) -> str:
    """A session id: ``tkn`` or ``sso`` and 25 lowercase letters and digits."""
    return kind + "".join(secrets.choice(_ALPHABET) for _ in range(25))


# --------------------------------------------------------------------------------------------
# the pool's and clients' settings, cached per process (as lookup.py caches pools and clients)


@dataclass(frozen=True)
class PoolSessions:
    enabled: bool
    max_per_user: int


DISABLED = PoolSessions(False, DEFAULT_MAX_PER_USER)
_cache: TtlCache[str, Any] = TtlCache("session_settings", ttl=2)  # cache_pool_seconds

POOL_CONFIG = select(t.user_pool_session_config).where(
    t.user_pool_session_config.c.user_pool_id == bindparam("pool_id")
)
CLIENT_CONFIG = select(t.user_pool_client_session_config.c.sso_max_minutes).where(
    t.user_pool_client_session_config.c.client_id == bindparam("client_id")
)


def forget() -> None:
    _cache.clear()


def pool_sessions(conn: Connection, pool_id: str) -> PoolSessions:
    def load() -> PoolSessions:
        row = conn.execute(POOL_CONFIG, {"pool_id": pool_id}).first()
        return DISABLED if row is None else PoolSessions(row.tracking == "ENABLED", int(row.max_per_user))

    found: PoolSessions = _cache.get_or_load("pool:" + pool_id, load)
    return found


def enabled(conn: Connection, pool_id: str) -> bool:
    return pool_sessions(conn, pool_id).enabled


def client_sso_minutes(conn: Connection, client_id: str) -> int:
    def load() -> int:
        value = conn.execute(CLIENT_CONFIG, {"client_id": client_id}).scalar()
        return DEFAULT_SSO_MINUTES if value is None else int(value)

    found: int = _cache.get_or_load("client:" + client_id, load)
    return found


# --------------------------------------------------------------------------------------------
# hooks (tokens.start_lineage, auth._refresh, oauth.sso_sessions)

_RT = t.refresh_tokens.c
_SSO = t.sso_sessions.c


def on_new_lineage(
    conn: Connection, pool_id: str, user_id: str, now: dt.datetime, ip: str | None, origin_sso: str | None
) -> dict[str, Any]:
    """The tracking columns of a new lineage ({} while the pool does not track sessions); first,
    the user's least recently active token sessions beyond MaxPerUser - 1 are revoked."""
    config = pool_sessions(conn, pool_id)
    if not config.enabled:
        return {}
    active = conn.execute(
        select(_RT.id)
        .where(
            _RT.user_id == user_id,
            _RT.user_pool_id == pool_id,
            _RT.session_id.is_not(None),
            _RT.revoked_at.is_(None),
            _RT.expires_at > now,
        )
        .order_by(func.coalesce(_RT.last_active_at, _RT.created_at), _RT.created_at)
    ).all()
    excess = len(active) - config.max_per_user + 1
    if excess > 0:
        conn.execute(update(t.refresh_tokens).where(_RT.id.in_([r.id for r in active[:excess]])).values(revoked_at=now))
    if origin_sso:
        conn.execute(
            update(t.sso_sessions)
            .where(_SSO.user_id == user_id, _SSO.session_id == origin_sso)
            .values(last_active_at=now)
        )
    return {"session_id": new_id("tkn"), "last_ip": ip, "origin_sso": origin_sso}


def refreshed(ctx: RequestContext, conn: Connection, pool_id: str, lineage_id: str, in_tx: bool) -> None:
    """After a refresh: the session's last activity and IP address (tracked pools only); ``conn``
    is used when it is a transaction, a write transaction is opened otherwise."""
    if not enabled(conn, pool_id):
        return
    stmt = (
        update(t.refresh_tokens)
        .where(_RT.id == lineage_id, _RT.session_id.is_not(None))
        .values(last_active_at=ctx.now, last_ip=ctx.source_ip or None)
    )
    if in_tx:
        conn.execute(stmt)
        return
    with ctx.store.tx() as write:
        write.execute(stmt)


def sso_reusable(conn: Connection, pool_id: str, client_id: str, auth_time: dt.datetime, now: dt.datetime) -> bool:
    """Whether ``client_id`` may reuse an SSO session silently (tracked pools: within the client's
    SSOSession.MaxValidityMinutes of the sign-in; otherwise while the session lasts)."""
    if not enabled(conn, pool_id):
        return True
    return now < auth_time + dt.timedelta(minutes=client_sso_minutes(conn, client_id))


def new_sso_id(conn: Connection, pool_id: str) -> str | None:
    """The session id of a new SSO session (None while the pool does not track sessions)."""
    return new_id("sso") if enabled(conn, pool_id) else None
