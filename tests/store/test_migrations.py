"""Alembic migrations produce exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ostiary.store.db import Store
from ostiary.store.tables import metadata
from tests.conftest import _pg_database, _pg_drop


def _check(url: str) -> None:
    store = Store(url)
    store.migrate()
    store.migrate()  # idempotent
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    store.dispose()


def test_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'm.db'}")


def test_postgresql(database_admin_url: str | None) -> None:
    if not database_admin_url:
        pytest.skip("OSTIARY_TEST_DATABASE_URL not set")
    url, name = _pg_database(database_admin_url)
    try:
        _check(url)
    finally:
        _pg_drop(database_admin_url, name)


def test_sqlite_is_in_wal_mode(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    store.migrate()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY: statement journals of triggers
    with store.read_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2
