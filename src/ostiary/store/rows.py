"""Rows that concurrent requests update: created if missing, then locked until the transaction ends.

Counters (sign-in lockout, one-time-code limits) are read, decided on and written back; two requests
doing that at once must not both write ``n + 1``. On PostgreSQL the row is created with
``INSERT … ON CONFLICT DO NOTHING`` (two first failures cannot both insert) and read with
``SELECT … FOR UPDATE``; on SQLite a write transaction already holds the database's one writer lock
(``BEGIN IMMEDIATE``, see store.db), and the same statements are correct there. The dialect-specific
insert lives here, not in the services.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Table, and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def locked_row(conn: Connection, table: Table, key: dict[str, Any], defaults: dict[str, Any]) -> tuple[Row[Any], bool]:
    """The row of ``table`` whose primary key is ``key``, created with ``defaults`` when missing, locked
    until the transaction ends; and whether this call created it."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values({**key, **defaults}).on_conflict_do_nothing(index_elements=list(key))
    created = conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount == 1
    where = and_(*(table.c[name] == value for name, value in key.items()))
    return conn.execute(select(table).where(where).with_for_update()).one(), created
