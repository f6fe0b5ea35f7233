"""Store.tune_for_bulk_load and Store.checkpoint (the CSV import's process): on SQLite the write
connections keep a larger page cache and a longer write-ahead log, which checkpoint() copies into the
database file; reads and untuned stores keep SQLite's defaults; on PostgreSQL both do nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

from ostiary.store import db
from ostiary.store.db import Store
from tests.conftest import migrated_store

ROWS = 2000  # 2,000 rows of 4 KiB: a log of more than SQLite's default 1,000 pages


def _pragmas(conn: Connection) -> tuple[int, int, int]:
    run = conn.exec_driver_sql
    return (
        run("PRAGMA cache_size").scalar(),
        run("PRAGMA wal_autocheckpoint").scalar(),
        run("PRAGMA journal_size_limit").scalar(),
    )


def _fill(store: Store) -> None:
    with store.tx() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS scratch (id INTEGER PRIMARY KEY, body BLOB)")
    with store.tx() as conn:
        conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO scratch (body) SELECT randomblob(4000) FROM n",
            (ROWS,),
        )


def test_sqlite_bulk_connections_and_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "bulk.db"
    store = Store(f"sqlite:///{path}")
    try:
        store.migrate()
        with store.tx() as conn:  # a write connection made before the tuning is replaced
            defaults = _pragmas(conn)
        assert defaults[1] == 1000
        store.tune_for_bulk_load()
        store.tune_for_bulk_load()  # once is enough; twice changes nothing
        with store.tx() as conn:
            assert _pragmas(conn) == (-db.BULK_CACHE_KIB, db.BULK_WAL_PAGES, db.BULK_WAL_KEEP_BYTES)
        with store.read_engine.connect() as conn:  # reads keep the defaults
            assert _pragmas(conn) == defaults
        before = path.stat().st_size
        _fill(store)
        # the rows are in the log, not yet in the database file: no checkpoint ran on the commit
        assert path.stat().st_size < before + ROWS * 4000 // 2
        store.checkpoint()
        assert path.stat().st_size >= before + ROWS * 4000
    finally:
        store.dispose()


def test_sqlite_untuned_store_checkpoints_as_sqlite_does(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    store = Store(f"sqlite:///{path}")
    try:
        store.migrate()
        before = path.stat().st_size
        _fill(store)
        assert path.stat().st_size >= before + ROWS * 4000  # the commit's automatic checkpoint
        with store.tx() as conn:
            assert _pragmas(conn)[:2] == (-2000, 1000)
    finally:
        store.dispose()


def test_postgresql_does_nothing(tmp_path: Path, database_admin_url: str | None) -> None:
    with migrated_store("postgresql", tmp_path, database_admin_url) as store:
        store.tune_for_bulk_load()
        store.checkpoint()
        with store.tx() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
