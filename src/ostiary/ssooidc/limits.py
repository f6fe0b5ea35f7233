"""Fixed-window bounds on sso-oidc's unauthenticated work, in the shared ``counters`` table (so they hold
across processes and nodes; the row locked while it is decided, ``store.rows.locked_row``):

- RegisterClient per source address (``REGISTRATIONS`` an hour): registrations are rows anyone may
  create;
- StartDeviceAuthorization per client (``AUTHORIZATIONS`` per 10 minutes);
- user-code lookups of the device page per source address (``USER_CODE_LOOKUPS`` per 10 minutes): a
  user types a code once or twice, a guesser tries many (20^8 codes, a few live at a time).

Each answers whether the attempt is within its bound; the caller answers its own error (sso-oidc's
``SlowDownException``, the page's message).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, update

from ostiary.store import tables as t
from ostiary.store.rows import locked_row

REGISTRATIONS = (200, dt.timedelta(hours=1))
AUTHORIZATIONS = (60, dt.timedelta(minutes=10))
USER_CODE_LOOKUPS = (30, dt.timedelta(minutes=10))


def hit(conn: Connection, key: str, bound: tuple[int, dt.timedelta], now: dt.datetime) -> bool:
    """Count one attempt under ``key`` (in the caller's write transaction); False when over the bound."""
    limit, window = bound
    key = key[:512]
    row, _ = locked_row(conn, t.counters, {"key": key}, {"count": 0, "window_start": now, "locked": False})
    if row.window_start + window <= now:
        count, start = 1, now
    else:
        count, start = int(row._mapping["count"]) + 1, row.window_start
    conn.execute(update(t.counters).where(t.counters.c.key == key).values(count=count, window_start=start))
    return bool(count <= limit)


def registration(conn: Connection, source: str, now: dt.datetime) -> bool:
    return hit(conn, f"sso-oidc:register:{source}", REGISTRATIONS, now)


def authorization(conn: Connection, client_id: str, now: dt.datetime) -> bool:
    return hit(conn, f"sso-oidc:device:{client_id}", AUTHORIZATIONS, now)


def user_code_lookup(conn: Connection, source: str, now: dt.datetime) -> bool:
    """The device page's bound, to call in a write transaction before ``device.pending`` with the
    browser's address; False: refuse the lookup (say the code is not valid, or to wait)."""
    return hit(conn, f"sso-oidc:user-code:{source}", USER_CODE_LOOKUPS, now)
