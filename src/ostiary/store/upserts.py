"""``INSERT … ON CONFLICT DO NOTHING`` for any table (SQLite and PostgreSQL spell it the same way but
need their own dialect's construct): a row that another transaction inserted meanwhile is left as it
is instead of failing the caller's transaction (on PostgreSQL a failed statement aborts it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def insert_ignore(conn: Connection, table: Table, keys: list[str], rows: list[dict[str, Any]]) -> int:
    """Insert ``rows``, skipping those whose ``keys`` (a unique or primary key) already exist; how many
    were inserted."""
    if not rows:
        return 0
    make = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = make(table).on_conflict_do_nothing(index_elements=keys).execution_options(preserve_rowcount=True)
    return int(conn.execute(stmt, rows).rowcount or 0)
