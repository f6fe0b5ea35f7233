"""Fixed-window request counts in the shared ``counters`` table: one statement per count.

``count`` adds one to the window of ``key`` that starts at ``window_start`` and answers the window's
count, atomically: ``INSERT … ON CONFLICT (key) DO UPDATE SET count = CASE WHEN the stored window is
this one THEN count + 1 ELSE 1 END … RETURNING count``. Two processes (or nodes on one PostgreSQL)
counting at once each see their own increment: the conflicting insert waits for the other's row lock
(PostgreSQL) or the database's one writer (SQLite, ``BEGIN IMMEDIATE``). No read-modify-write, no
``SELECT … FOR UPDATE`` round trip: the provisioned limits' hot path (userpools/provisioned_limits.py).

The dialect-specific insert lives here, as for ``store/rows.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, bindparam, case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ostiary.store import tables as t

_c = t.counters.c


def _statement(insert: Any) -> Any:
    stmt = insert(t.counters).values(key=bindparam("key"), count=1, window_start=bindparam("start"), locked=False)
    return stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "count": case((_c.window_start == stmt.excluded.window_start, _c.count + 1), else_=1),
            "window_start": stmt.excluded.window_start,
        },
    ).returning(_c.count)


_PG = _statement(pg_insert)
_SQLITE = _statement(sqlite_insert)


def count(conn: Connection, key: str, window_start: dt.datetime) -> int:
    """Count one request under ``key`` in the window starting at ``window_start``; the window's count."""
    statement = _PG if conn.dialect.name == "postgresql" else _SQLITE
    return int(conn.execute(statement, {"key": key[:512], "start": window_start}).scalar_one())


def relax_durability(conn: Connection) -> None:
    """On PostgreSQL, this transaction's commit does not wait for its WAL flush: a rate counter lost in
    a crash costs nothing, and the wait would be most of the counter's cost."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
