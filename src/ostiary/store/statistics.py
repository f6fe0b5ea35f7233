"""Planner statistics (issue 13): the query planners choose indexes from them.

``refresh_if_stale`` runs at startup (SQLite: when the statistics are missing, or the table has more than
doubled or halved since), ``refresh`` after a bulk load (a user import job). On SQLite a bounded
``ANALYZE`` (``analysis_limit``: about a thousand rows sampled per index, milliseconds on a million-user
table) then ``PRAGMA optimize``; on PostgreSQL ``ANALYZE`` of the tables bulk loads grow (autovacuum
analyses the rest on its own schedule). The listings that must never pick a wrong index (ListUsers)
also name it on SQLite (userpools/user_search.py), so statistics make plans better, never correct.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

log = logging.getLogger("ostiary.store")

# the tables bulk loads grow
BULK_TABLES = ("users",)
_SQLITE_ANALYSIS_LIMIT = 1000


def refresh(conn: Connection, tables: tuple[str, ...] = BULK_TABLES) -> None:
    """Refresh the statistics of ``tables`` (an autocommit connection or inside a transaction)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA analysis_limit={_SQLITE_ANALYSIS_LIMIT}")
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")
        conn.exec_driver_sql("PRAGMA optimize")
    else:
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")
    log.debug("planner statistics refreshed: %s", ", ".join(tables))


def _sqlite_stale(conn: Connection, table: str) -> bool:
    """No statistics for ``table``, or rows counted more than twice or less than half of what it holds now
    (``max(rowid)``: one index step, not a count)."""
    stat = conn.exec_driver_sql(
        "SELECT stat FROM sqlite_stat1 WHERE tbl = ? AND idx IS NOT NULL LIMIT 1", (table,)
    ).scalar()
    rows = conn.exec_driver_sql(f"SELECT max(rowid) FROM {table}").scalar() or 0
    if stat is None:
        return True
    counted = int(str(stat).split()[0])
    return not (rows / 2 <= counted <= rows * 2)


def refresh_if_stale(conn: Connection) -> bool:
    """At startup: SQLite's statistics of the bulk-loaded tables when missing or stale (PostgreSQL's
    autovacuum keeps its own). True when they were refreshed."""
    if conn.dialect.name != "sqlite":
        return False
    try:
        stale = tuple(table for table in BULK_TABLES if _sqlite_stale(conn, table))
    except OperationalError:  # no sqlite_stat1 table yet: never analysed
        stale = BULK_TABLES
    if stale:
        refresh(conn, stale)
    return bool(stale)


# rows a bulk load must add before its statistics are refreshed (a smaller load moves no estimate much)
BULK_LOAD_ROWS = 1000


def after_bulk_load(conn: Connection, rows: int) -> bool:
    """After a bulk load of ``rows`` rows (a user import job): refresh when that many moves estimates."""
    if rows < BULK_LOAD_ROWS:
        return False
    refresh(conn)
    return True
