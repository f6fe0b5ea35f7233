"""Raw reads and inserts: the hottest statements run on the driver's own cursor instead of
SQLAlchemy's execution.

A token check or a refresh reads one or two rows by key. Through SQLAlchemy Core each statement also
paid for a new DBAPI cursor, the result's metadata (psycopg describes every column of every result),
the execution context and the Row: on PostgreSQL 70-90 µs of CPU per statement against ~20 µs for
the driver alone (on SQLite about half that). :class:`RawSelect` keeps what Core gives that matters —
the statement is a Core ``select()`` compiled by the connection's dialect (so the SQL is the same
portable text, with the dialect's quoting and parameter style), and every column's value goes through
its type's own result processor (SQLite's timestamps and booleans, JSON) — and drops the rest: it is
compiled once per dialect, executed on one cursor kept per DBAPI connection, and its rows are
named tuples (``row.id``), which the directory's row readers take as they take Core rows.

It runs on the connection ``conn`` already holds, inside its transaction if it has one. Server-side
preparation is the driver's (psycopg prepares a statement on its connection after
``prepare_threshold`` executions, as for every other statement). Driver errors come back as
SQLAlchemy's ``DBAPIError`` (so ``Store.read`` still drops a broken connection), and a lost
connection is invalidated as Core would. Bind parameters must need no processing by their type
(strings, numbers): the constructor refuses others, and expanding (``IN``) parameters.

:class:`RawInsert` does the same for the INSERTs every audited write or new session makes (the audit
event, the STS session): a Core ``insert(table)`` compiled once per dialect for one fixed set of
columns, each value passed through its type's bind processor (SQLite's timestamps, JSON documents) as
Core would, with no execution context, no events and no result. Every column not named must have no
Python-side default (the constructor refuses it: Core would have computed one), and the caller passes
every named column.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Insert, Select

_CURSOR = "ostiary.raw_cursor"


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positions: tuple[str, ...] | None  # parameter names in order (positional paramstyles), else named
    make: Callable[[Any], Any]


class RawSelect:
    """A Core ``select()`` run on the DBAPI cursor (see the module's docstring): ``rows`` and ``first``
    answer named tuples whose fields are the statement's selected column keys (labels)."""

    def __init__(self, stmt: Select[Any]) -> None:
        self.stmt = stmt
        self._by_dialect: dict[str, _Compiled] = {}
        fields = [str(col.key) for col in stmt.selected_columns]
        self._row: Any = namedtuple("RawRow", fields)  # type: ignore[misc]  # the fields are the statement's

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.stmt.compile(dialect=dialect)
        sql = compiled.string
        if "POSTCOMPILE" in sql:
            raise ValueError("RawSelect: expanding parameters are not supported")
        for name, bind in compiled.binds.items():
            if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                raise ValueError(f"RawSelect: parameter {name} needs its type's bind processing")
        positions = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
        processors = [
            col.type.dialect_impl(dialect).result_processor(dialect, None) for col in self.stmt.selected_columns
        ]
        row_type = self._row
        if not any(processors):
            make: Callable[[Any], Any] = row_type._make
        else:

            def make(raw: Any) -> Any:
                return row_type._make(
                    [value if p is None else p(value) for p, value in zip(processors, raw, strict=True)]
                )

        found = self._by_dialect[dialect.name] = _Compiled(sql, positions, make)
        return found

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        dialect = conn.dialect
        compiled = self._by_dialect.get(dialect.name) or self._compile(dialect)
        args: Any = params if compiled.positions is None else tuple(params[n] for n in compiled.positions)
        raw = _execute(conn, compiled.sql, args, fetch=True)
        make = compiled.make
        return [make(r) for r in raw]

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Any | None:
        found = self.rows(conn, params)
        return found[0] if found else None


def _execute(conn: Connection, sql: str, args: Any, *, fetch: bool, many: bool = False) -> Any:
    """Run ``sql`` on the cursor kept for the DBAPI connection ``conn`` holds (the rows if ``fetch``);
    a driver error comes back as SQLAlchemy's DBAPIError, a lost connection invalidated."""
    dialect = conn.dialect
    fairy = conn.connection
    dbapi_conn = fairy.dbapi_connection
    kept = fairy.info.get(_CURSOR)
    if kept is not None and kept[0] is dbapi_conn:
        cursor = kept[1]
    else:
        cursor = fairy.cursor()
        fairy.info[_CURSOR] = (dbapi_conn, cursor)
    try:
        if many:
            cursor.executemany(sql, args)
            return None
        cursor.execute(sql, args)
        return cursor.fetchall() if fetch else None
    except dialect.loaded_dbapi.Error as err:
        fairy.info.pop(_CURSOR, None)
        lost = dialect.is_disconnect(err, dbapi_conn, cursor)
        if lost:
            conn.invalidate(err)
        raise DBAPIError.instance(
            sql, args, err, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from err


@dataclass(frozen=True)
class _CompiledInsert:
    sql: str
    # (parameter name, bind processor or None) in the order of the positional parameters, or None
    # for a named paramstyle (then ``processors`` maps the names that need processing)
    positions: tuple[tuple[str, Callable[[Any], Any] | None], ...] | None
    processors: dict[str, Callable[[Any], Any]]


class RawInsert:
    """An ``INSERT INTO table (columns) VALUES (...)`` of one row, run on the DBAPI cursor (see the
    module's docstring). ``columns``: the column keys every call passes, no more, no fewer."""

    def __init__(self, stmt: Insert, columns: list[str]) -> None:
        table = stmt.table
        known = {c.key for c in table.c}
        unknown = set(columns) - known
        if unknown:
            raise ValueError(f"RawInsert: no such columns {sorted(unknown)}")
        for col in table.c:
            if col.key not in columns and (col.default is not None or col.onupdate is not None):
                raise ValueError(f"RawInsert: column {col.key} has a Python-side default: name it")
        self.stmt = stmt
        self.columns = tuple(columns)
        self._by_dialect: dict[str, _CompiledInsert] = {}

    def _compile(self, dialect: Dialect) -> _CompiledInsert:
        compiled = self.stmt.compile(dialect=dialect, column_keys=list(self.columns))
        if compiled.insert_prefetch or compiled.postfetch or compiled.returning:
            raise ValueError("RawInsert: the statement needs Core's execution (defaults, RETURNING)")
        processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                processors[name] = proc
        if set(compiled.binds) != set(self.columns):
            raise ValueError("RawInsert: the compiled parameters are not the named columns")
        positions = None
        if compiled.positional and compiled.positiontup:
            positions = tuple((name, processors.get(name)) for name in compiled.positiontup)
        found = self._by_dialect[dialect.name] = _CompiledInsert(compiled.string, positions, processors)
        return found

    def _args(self, compiled: _CompiledInsert, params: Mapping[str, Any]) -> Any:
        if compiled.positions is not None:
            return tuple(params[name] if proc is None else proc(params[name]) for name, proc in compiled.positions)
        args = {name: params[name] for name in self.columns}
        for name, proc in compiled.processors.items():
            args[name] = proc(args[name])
        return args

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Insert one row in ``conn``'s transaction; ``params`` holds every named column's value."""
        dialect = conn.dialect
        compiled = self._by_dialect.get(dialect.name) or self._compile(dialect)
        _execute(conn, compiled.sql, self._args(compiled, params), fetch=False)

    def execute_many(self, conn: Connection, rows: list[Mapping[str, Any]]) -> None:
        """Insert ``rows`` in ``conn``'s transaction with the driver's ``executemany``."""
        if not rows:
            return
        dialect = conn.dialect
        compiled = self._by_dialect.get(dialect.name) or self._compile(dialect)
        _execute(conn, compiled.sql, [self._args(compiled, r) for r in rows], fetch=False, many=True)
