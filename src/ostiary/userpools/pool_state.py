"""What a user pool's replicas and recoveries allow of a request, read once per pool per cache
lifetime (query-only: no operations). A pool with a recovery in progress refuses writes to its user
data; a secondary Region (a replica) answers reads and sign-ins only; see docs/recovery.md and
docs/replicas.md.

The state is cached like the pools themselves (``pool_states``: ``cache_pool_seconds``, 2 s). Another
process may still accept a write for that long after a recovery was initiated: the restore reverts
every change after the recovery point, that write too, so nothing it wrote survives the recovery.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Connection, Select, exists, select

from ostiary.caching import TtlCache
from ostiary.store.db import Store
from ostiary.store.tables.recovery import user_pool_recoveries
from ostiary.store.tables.replicas import user_pool_replicas

# a recovery in these statuses pauses writes (PREVIEW_* until its preview expires)
PAUSING = ("PREVIEW_GENERATING", "PREVIEW_GENERATED", "RESTORING", "TEMPORARY_INTERNAL_ERROR_SEE_SUPPORT_CASE")
PREVIEWING = ("PREVIEW_GENERATING", "PREVIEW_GENERATED")


@dataclass(frozen=True)
class PoolState:
    replicas: dict[str, str] = field(default_factory=dict)  # region -> status
    recovering: bool = False


_NONE = PoolState()
_states: TtlCache[str, PoolState] = TtlCache("pool_states", ttl=2)


def forget() -> None:
    """Drop this process's cached states (after a recovery or a replica changed)."""
    _states.clear()


def any_state(store: Store, now: dt.datetime) -> bool:
    """Whether any pool has a replica or a recovery in progress: when none has, a request needs no
    look at its pool (the common case costs one cached lookup, no connection)."""

    def load() -> PoolState:
        with store.read() as conn:
            replica = conn.execute(select(exists().select_from(user_pool_replicas))).scalar()
            active = conn.execute(select(exists(_active(now)))).scalar()
        return PoolState(recovering=bool(replica) or bool(active))

    return _states.get_or_load("*", load).recovering


def _active(now: dt.datetime) -> Select[tuple[str]]:
    r = user_pool_recoveries
    return (
        select(r.c.restore_id)
        .where(r.c.status.in_(PAUSING))
        .where((r.c.status.not_in(PREVIEWING)) | (r.c.expires_at > now))
    )


def _load(conn: Connection, pool_id: str, now: dt.datetime) -> PoolState:
    rows = conn.execute(
        select(user_pool_replicas.c.region, user_pool_replicas.c.status).where(
            user_pool_replicas.c.user_pool_id == pool_id
        )
    ).all()
    active = conn.execute(select(exists(_active(now).where(user_pool_recoveries.c.user_pool_id == pool_id)))).scalar()
    if not rows and not active:
        return _NONE
    return PoolState(replicas={row.region: row.status for row in rows}, recovering=bool(active))


def of(conn: Connection, pool_id: str, now: dt.datetime) -> PoolState:
    """The pool's replicas and whether a recovery of it is in progress."""
    return _states.get_or_load("pool:" + pool_id, lambda: _load(conn, pool_id, now))


def of_store(store: Store, pool_id: str, now: dt.datetime) -> PoolState:
    """``of``, opening a connection only when the cache has no answer."""

    def load() -> PoolState:
        with store.read() as conn:
            return _load(conn, pool_id, now)

    return _states.get_or_load("pool:" + pool_id, load)
