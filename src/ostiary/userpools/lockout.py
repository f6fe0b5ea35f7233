"""Sign-in lockout: per user and per source address, counted in the store (processes stay stateless).

Cognito locks a user after 5 failed sign-in attempts, with a lock that starts at 1 second and
doubles with each further failure up to about 15 minutes, and answers
``NotAuthorizedException: Password attempts exceeded`` while locked. A successful sign-in resets
the user's count. The source-address counter (default 100 failures per 15 minutes) slows spraying
across many users from one address.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Select, bindparam, delete, insert, select, update

from ostiary.store import tables as t
from ostiary.store.db import utc

USER_FREE_FAILURES = 5
MAX_LOCK_SECONDS = 900
ADDRESS_WINDOW = dt.timedelta(minutes=15)
ADDRESS_MAX_FAILURES = 100


def _user_key(pool_id: str, user_id: str) -> str:
    return f"signin-fail:user:{pool_id}:{user_id}"


def _address_key(pool_id: str, address: str) -> str:
    return f"signin-fail:addr:{pool_id}:{address}"


def _select() -> Select[tuple[str, int, dt.datetime]]:
    c = t.counters.c
    return select(c.key, c.count.label("n"), c.window_start)


def lock_seconds(failures: int) -> float:
    if failures < USER_FREE_FAILURES:
        return 0.0
    return float(min(2 ** (failures - USER_FREE_FAILURES), MAX_LOCK_SECONDS))


# built once: every sign-in checks the counters twice and clears the user's (statement construction
# cost more than the reads)
_BOTH = _select().where(t.counters.c.key.in_([bindparam("address"), bindparam("user")]))
_ADDRESS = _select().where(t.counters.c.key == bindparam("address"))
_CLEAR = delete(t.counters).where(t.counters.c.key == bindparam("key"))


def is_locked(conn: Connection, pool_id: str, user_id: str | None, address: str, now: dt.datetime) -> bool:
    if user_id:
        params = {"address": _address_key(pool_id, address), "user": _user_key(pool_id, user_id)}
        rows = conn.execute(_BOTH, params).all()
    else:
        rows = conn.execute(_ADDRESS, {"address": _address_key(pool_id, address)}).all()
    for row in rows:
        last = utc(row.window_start)
        if row.key.startswith("signin-fail:user:"):
            if now < last + dt.timedelta(seconds=lock_seconds(row.n)):
                return True
        elif row.n >= ADDRESS_MAX_FAILURES and now < last + ADDRESS_WINDOW:
            return True
    return False


def record_failure(conn: Connection, pool_id: str, user_id: str | None, address: str, now: dt.datetime) -> None:
    keys = [_address_key(pool_id, address)]
    if user_id:
        keys.append(_user_key(pool_id, user_id))
    for key in keys:
        row = conn.execute(_select().where(t.counters.c.key == key)).first()
        if row is None:
            conn.execute(insert(t.counters).values(key=key, count=1, window_start=now, locked=False))
            continue
        count = row.n + 1
        if key.startswith("signin-fail:addr:") and now >= utc(row.window_start) + ADDRESS_WINDOW:
            count = 1
        conn.execute(update(t.counters).where(t.counters.c.key == key).values(count=count, window_start=now))


def record_success(conn: Connection, pool_id: str, user_id: str) -> None:
    conn.execute(_CLEAR, {"key": _user_key(pool_id, user_id)})
