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

Like authentik's ``stages/password/lockout.py``, the checks answer enum outcomes (``LockCheck``,
``Failure``, ``Release``) rather than booleans, and each sign-in failure, each lock engaged and each
lock a successful sign-in releases is one audit event (``ostiary.audit``), written in the
transaction that counts it: ``failed`` and ``succeeded`` are what the sign-in flows call.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets

from sqlalchemy import Connection, Select, bindparam, delete, select, update

from ostiary.audit import recorder as audit
from ostiary.crypto.secrets import SecretBox
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import ServiceError
from ostiary.store import rows
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import existence
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import NotAuthorizedException

USER_FREE_FAILURES = 5
MAX_LOCK_SECONDS = 900
ADDRESS_WINDOW = dt.timedelta(minutes=15)
ADDRESS_MAX_FAILURES = 100
USER_RESET = dt.timedelta(minutes=15)  # a user's count starts again after this long without a failure
# a counter whose last failure is older than this can no longer lock anything (it restarts): swept
IDLE = max(USER_RESET, ADDRESS_WINDOW, dt.timedelta(seconds=MAX_LOCK_SECONDS))
SWEEP_ONE_IN = 16  # a new counter row sweeps the idle ones with this odds


class LockCheck(enum.Enum):
    """Whether a sign-in attempt may go on."""

    OPEN = "open"
    USER_LOCKED = "user-locked"  # the user's (or the unknown name's) failures lock it
    ADDRESS_LOCKED = "address-locked"  # the source address's failures lock it

    @property
    def locked(self) -> bool:
        return self is not LockCheck.OPEN


class Failure(enum.Enum):
    """What a counted failure did (authentik: INVALID / LAST_ATTEMPT / LOCKED)."""

    INVALID = "invalid"  # counted; no lock yet
    LAST_ATTEMPT = "last-attempt"  # counted; the next failure locks
    LOCKED = "locked"  # this failure engaged (or lengthened) the user's lock
    ADDRESS_LOCKED = "address-locked"  # this failure reached the source address's limit


class Release(enum.Enum):
    """What a successful sign-in did to the user's count."""

    NONE = "none"  # nothing counted
    CLEARED = "cleared"  # failures below the lock threshold forgotten
    RELEASED = "released"  # a lock the failures had engaged is released


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
_CLEAR = delete(t.counters).where(t.counters.c.key == bindparam("key")).returning(t.counters.c.count)


def is_locked(conn: Connection, pool_id: str, user_id: str | None, address: str, now: dt.datetime) -> LockCheck:
    if user_id:
        params = {"address": _address_key(pool_id, address), "user": _user_key(pool_id, user_id)}
        rows = conn.execute(_BOTH, params).all()
    else:
        rows = conn.execute(_ADDRESS, {"address": _address_key(pool_id, address)}).all()
    for row in rows:
        last = utc(row.window_start)
        if row.key.startswith("signin-fail:user:"):
            # below the threshold nothing is locked, even when a concurrent request's failure was
            # recorded with a later clock than this request's (``now < last`` would refuse it uncounted)
            seconds = lock_seconds(row.n)
            if seconds and now < last + dt.timedelta(seconds=seconds):
                return LockCheck.USER_LOCKED
        elif row.n >= ADDRESS_MAX_FAILURES and now < last + ADDRESS_WINDOW:
            return LockCheck.ADDRESS_LOCKED
    return LockCheck.OPEN


def record_failure(conn: Connection, pool_id: str, user_id: str | None, address: str, now: dt.datetime) -> Failure:
    outcome = Failure.INVALID
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
        if key.startswith("signin-fail:addr:"):
            if count == ADDRESS_MAX_FAILURES:
                outcome = Failure.ADDRESS_LOCKED
        elif count >= USER_FREE_FAILURES:
            outcome = Failure.LOCKED
        elif count == USER_FREE_FAILURES - 1 and outcome is Failure.INVALID:
            outcome = Failure.LAST_ATTEMPT
    return outcome


def sweep(conn: Connection, now: dt.datetime) -> None:
    """Delete sign-in counters idle for longer than they can matter (they would restart at 1)."""
    c = t.counters.c
    conn.execute(delete(t.counters).where(c.key.like("signin-fail:%"), c.window_start < now - IDLE))


def record_success(conn: Connection, pool_id: str, user_id: str) -> Release:
    count = conn.execute(_CLEAR, {"key": _user_key(pool_id, user_id)}).scalar()
    if count is None or count == 0:
        return Release.NONE
    return Release.RELEASED if count >= USER_FREE_FAILURES else Release.CLEARED


# -- what the sign-in flows call: the counters and their audit events, in the caller's transaction --


def failed(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    user: User | None,
    counted: str | None,
    error: ServiceError,
) -> Failure:
    """A failed attempt (wrong password, proof, answer or passkey) of ``user`` (None: an unknown
    name, counted under its phantom id ``counted``): counted, and recorded with the ``error`` the
    request answers; a lock it engages is an event of its own."""
    outcome = record_failure(conn, pool.id, counted, ctx.source_ip, ctx.now)
    event = audit.sign_in_event(ctx)
    username = None if user is not None else audit.HIDDEN
    details = {"lockout": outcome.value}
    for name in (event, audit.Event.LOCKOUT_ENGAGED):
        audit.record(
            conn,
            ctx,
            event=name,
            error=error if name is event else None,
            user=user,
            pool_id=pool.id,
            username=username,
            account_id=pool.account_id,
            details=details,
        )
        if outcome not in (Failure.LOCKED, Failure.ADDRESS_LOCKED):
            break
    return outcome


def refused(ctx: RequestContext, pool: PoolView, user: User | None, check: LockCheck) -> ServiceError:
    """A sign-in attempt refused by a lock: recorded (in a transaction of its own: nothing else
    changes), and the error to raise."""
    error = NotAuthorizedException("Password attempts exceeded")
    with ctx.store.tx() as conn:
        audit.record(
            conn,
            ctx,
            event=audit.sign_in_event(ctx),
            error=error,
            user=user,
            pool_id=pool.id,
            username=None if user is not None else audit.HIDDEN,
            account_id=pool.account_id,
            details={"lockout": check.value},
        )
    return error


def succeeded(ctx: RequestContext, conn: Connection, pool: PoolView, user: User) -> Release:
    """A right password, proof or answer of ``user``: its count is forgotten; a lock released so is
    an audit event."""
    outcome = record_success(conn, pool.id, user.id)
    if outcome is Release.RELEASED:
        details = {"lockout": outcome.value}
        event = audit.Event.LOCKOUT_RELEASED
        audit.record(conn, ctx, event=event, user=user, account_id=pool.account_id, details=details)
    return outcome
