"""Sign-in lockout: per user and per source address, counted in the store (processes stay stateless).

Cognito locks a user after 5 failed sign-in attempts, with a lock that starts at 1 second and
doubles with each further failure up to about 15 minutes, and answers
``NotAuthorizedException: Password attempts exceeded`` while locked. A successful sign-in resets
the user's count, and so do 15 minutes without a failed attempt (AWS: "not initiate any sign-in
attempts for 15 consecutive minutes"). The source-address counter (default 100 failures per 15
minutes) slows spraying across many users from one address.

Where the app client prevents user existence errors, an unknown name is counted and locked exactly
as a user is, under its phantom id (``existence.phantom_id``: an HMAC of the pool and name, never the
name itself), so that the lockout answer does not tell real users from unknown ones. Counters idle
for longer than they can matter are swept now and then, so names that do not exist cannot grow the
table without bound.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import Connection, Select, bindparam, delete, select, update

from ostiary.crypto.secrets import SecretBox
from ostiary.store import rows
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import existence
from ostiary.userpools.directory import PoolView, User

USER_FREE_FAILURES = 5
MAX_LOCK_SECONDS = 900
ADDRESS_WINDOW = dt.timedelta(minutes=15)
ADDRESS_MAX_FAILURES = 100
USER_RESET = dt.timedelta(minutes=15)  # a user's count starts again after this long without a failure
# a counter whose last failure is older than this can no longer lock anything (it restarts): swept
IDLE = max(USER_RESET, ADDRESS_WINDOW, dt.timedelta(seconds=MAX_LOCK_SECONDS))
SWEEP_ONE_IN = 16  # a new counter row sweeps the idle ones with this odds


def subject(box: SecretBox, pool: PoolView, user: User | None, name: str) -> str:
    """Whom a sign-in attempt counts against: the user, or the phantom id of an unknown name."""
    return user.id if user is not None else existence.phantom_id(box, pool, name)


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
        # locked until the transaction ends: concurrent failures are counted one by one (store.rows)
        row, created = rows.locked_row(
            conn, t.counters, {"key": key}, {"count": 0, "window_start": now, "locked": False}
        )
        if created and secrets.randbelow(SWEEP_ONE_IN) == 0:
            sweep(conn, now)
        count = int(row._mapping["count"]) + 1  # (Row.count is the tuple method)
        idle = now - utc(row.window_start)
        if not created and idle >= (ADDRESS_WINDOW if key.startswith("signin-fail:addr:") else USER_RESET):
            count = 1
        conn.execute(update(t.counters).where(t.counters.c.key == key).values(count=count, window_start=now))


def sweep(conn: Connection, now: dt.datetime) -> None:
    """Delete sign-in counters idle for longer than they can matter (they would restart at 1)."""
    c = t.counters.c
    conn.execute(delete(t.counters).where(c.key.like("signin-fail:%"), c.window_start < now - IDLE))


def record_success(conn: Connection, pool_id: str, user_id: str) -> None:
    conn.execute(_CLEAR, {"key": _user_key(pool_id, user_id)})
