"""The change journal of user pools' data (point-in-time recovery, userpools/recovery.py), kept by
database triggers: every INSERT, UPDATE and DELETE of a journaled table's row writes, in the same
transaction, the row as it was before (NULL for an insert) to ``user_pool_journal``. Triggers see
every write, whatever module or driver path made it: the API's statements, the import's bulk COPY
and the rows that ON DELETE CASCADE removes. SQL of each dialect lives here (docs/recovery.md).

The SQLite triggers name the tables' columns as the metadata has them: a migration that adds a column
to a journaled table recreates them (``drop_triggers`` then ``create_triggers``); PostgreSQL's
``to_jsonb(OLD)`` takes every column.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import JSON, Connection, Table

from ostiary.store.tables import userpools as up

# the journaled tables and the columns of their key (after user_pool_id)
JOURNALED: dict[str, tuple[str, ...]] = {
    "users": ("id",),
    "groups": ("name",),
    "group_members": ("group_name", "user_id"),
    "webauthn_credentials": ("credential_id",),
}
TABLES: dict[str, Table] = {
    "users": up.users,
    "groups": up.groups,
    "group_members": up.group_members,
    "webauthn_credentials": up.webauthn_credentials,
}

_SQLITE_NOW_US = "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"
_PG_NOW_US = "(extract(epoch from clock_timestamp()) * 1000000)::bigint"


def _sqlite_image(table: Table) -> str:
    """json_object of OLD's columns (JSON columns embedded as JSON, not as their text)."""
    parts = []
    for col in table.columns:
        value = f"json(OLD.{col.name})" if isinstance(col.type, JSON) else f"OLD.{col.name}"
        parts.append(f"'{col.name}', {value}")
    return "json_object(" + ", ".join(parts) + ")"


def _sqlite(name: str) -> Iterator[str]:
    table = TABLES[name]
    key_new = "json_array(" + ", ".join(f"NEW.{c}" for c in JOURNALED[name]) + ")"
    key_old = "json_array(" + ", ".join(f"OLD.{c}" for c in JOURNALED[name]) + ")"
    insert = "INSERT INTO user_pool_journal (user_pool_id, entity, row_key, before, at_us) VALUES "
    yield (
        f"CREATE TRIGGER journal_{name}_insert AFTER INSERT ON {name} BEGIN "
        f"{insert}(NEW.user_pool_id, '{name}', {key_new}, NULL, {_SQLITE_NOW_US}); END"
    )
    for op in ("UPDATE", "DELETE"):
        yield (
            f"CREATE TRIGGER journal_{name}_{op.lower()} AFTER {op} ON {name} BEGIN "
            f"{insert}(OLD.user_pool_id, '{name}', {key_old}, {_sqlite_image(table)}, {_SQLITE_NOW_US}); END"
        )


def _postgresql(name: str) -> Iterator[str]:
    key_new = "json_build_array(" + ", ".join(f"NEW.{c}" for c in JOURNALED[name]) + ")::text"
    key_old = "json_build_array(" + ", ".join(f"OLD.{c}" for c in JOURNALED[name]) + ")::text"
    insert = "INSERT INTO user_pool_journal (user_pool_id, entity, row_key, before, at_us) VALUES "
    yield (
        f"CREATE OR REPLACE FUNCTION journal_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP = 'INSERT' THEN {insert}(NEW.user_pool_id, '{name}', {key_new}, NULL, {_PG_NOW_US}); "
        f"ELSE {insert}(OLD.user_pool_id, '{name}', {key_old}, to_jsonb(OLD), {_PG_NOW_US}); END IF; "
        "RETURN NULL; END $$"
    )
    yield (
        f"CREATE TRIGGER journal_{name} AFTER INSERT OR UPDATE OR DELETE ON {name} "
        f"FOR EACH ROW EXECUTE FUNCTION journal_{name}()"
    )


def create_triggers(conn: Connection) -> None:
    """The journal's triggers on every journaled table (the migration that adds the journal)."""
    make = _postgresql if conn.dialect.name == "postgresql" else _sqlite
    for name in JOURNALED:
        for statement in make(name):
            conn.exec_driver_sql(statement)


def drop_triggers(conn: Connection) -> None:
    for name in JOURNALED:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS journal_{name} ON {name}")
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS journal_{name}()")
        else:
            for op in ("insert", "update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS journal_{name}_{op}")
