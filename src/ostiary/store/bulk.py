"""Many rows into one table through the DBAPI cursor, for bulk loads (the CSV user import): the
values arrive as tuples in a fixed column order and go to the driver as they are, skipping
SQLAlchemy's per-row work of a Core ``insert()`` (parameter dicts, defaults, bind processing, and
PostgreSQL's insertmanyvalues statement building), which was the largest Python share of an import.

Bind semantics stay SQLAlchemy's: the processors are the columns' own (``bind``, ``processor``: the
JSON serializer of the engine, SQLite's datetime text, psycopg's Jsonb wrapper…), applied by the
caller to each value that needs one, once per batch for a value every row shares. Column defaults
are not applied: the caller gives every column (``BulkInsert`` refuses a column list that leaves out a
NOT NULL column without a server default).

SQLite: ``executemany`` of one ``INSERT … VALUES (?, …)``. PostgreSQL: ``COPY … FROM STDIN`` (text
format; psycopg dumps each value with the connection's adapters, the same dumpers as for a bound
parameter, so the server parses the same text). A unique or foreign-key violation is raised as
SQLAlchemy's ``IntegrityError`` on both, the transaction then being the caller's to roll back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError

Processor = Callable[[Any], Any]


class BulkInsert:
    """``INSERT`` of rows given as tuples in ``columns``' order, through the driver's cursor."""

    def __init__(self, dialect: Dialect, table: Table, columns: Sequence[str]) -> None:
        self.dialect = dialect
        self.table = table
        self.columns: list[Column[Any]] = [table.c[name] for name in columns]
        missing = [
            c.name
            for c in table.c
            if c.name not in columns and not c.nullable and c.server_default is None and c.autoincrement is not True
        ]
        if missing:
            raise ValueError(f"BulkInsert into {table.name} needs every NOT NULL column; missing {missing}")
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(c.name) for c in self.columns)
        self.postgres = dialect.name == "postgresql"
        if self.postgres:
            self.sql = f"COPY {quote(table.name)} ({names}) FROM STDIN"
        else:
            marks = ", ".join("?" for _ in self.columns)
            self.sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"
        self._processors: dict[str, Processor | None] = {
            c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in self.columns
        }

    def processor(self, column: str) -> Processor:
        """The function that turns a Python value of ``column`` into what the driver takes."""
        found = self._processors[column]
        return found if found is not None else _same

    def bind(self, column: str, value: Any) -> Any:
        """One value of ``column`` as the driver takes it (for a value every row of a batch shares)."""
        return self.processor(column)(value)

    def run(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (processed values, in ``columns``' order) in ``conn``'s transaction."""
        if not rows:
            return
        if not self.postgres:
            conn.exec_driver_sql(self.sql, list(rows))  # SQLAlchemy wraps the driver's errors
            return
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            with driver.cursor() as cursor, cursor.copy(self.sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except driver.IntegrityError as exc:  # psycopg's, raised as SQLAlchemy raises it elsewhere
            raise IntegrityError(self.sql, None, exc) from exc


def _same(value: Any) -> Any:
    return value
