"""store/movable.py in the store: a SQLite transaction opened under ``movable()`` does not wait for
another writer (WriterBusy, nothing written); one that is not movable, or whose request has committed
already, waits as before."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ostiary.store import movable
from ostiary.store.db import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = Store(f"sqlite:///{tmp_path / 'm.db'}")
    with st.tx() as conn:
        conn.exec_driver_sql("CREATE TABLE scratch (id INTEGER PRIMARY KEY, v TEXT)")
    try:
        yield st
    finally:
        st.dispose()


def _holder(path: Path) -> sqlite3.Connection:
    """Another process's writer, as far as SQLite can tell: its own connection holding the lock."""
    other = sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


@contextlib.contextmanager
def _released_soon(other: sqlite3.Connection) -> Iterator[None]:
    """The other writer lets go of the lock 0.3 s from now, while the block's write waits for it."""
    timer = threading.Timer(0.3, lambda: (other.rollback(), other.close()))
    timer.start()
    try:
        yield
    finally:
        timer.join()


def _count(store: Store) -> int:
    with store.read() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM scratch").scalar() or 0)


def test_movable_write_does_not_wait_for_another_connection(store: Store, tmp_path: Path) -> None:
    other = _holder(tmp_path / "m.db")
    try:
        with movable.movable(), pytest.raises(movable.WriterBusy), store.tx() as conn:
            conn.exec_driver_sql("INSERT INTO scratch (v) VALUES ('moved')")
        assert _count(store) == 0  # nothing written
        # the request run again where it may wait (the pooled connection's timeout restored)
        with _released_soon(other), store.tx() as conn:
            conn.exec_driver_sql("INSERT INTO scratch (v) VALUES ('waited')")
    finally:
        with contextlib.suppress(sqlite3.ProgrammingError):  # closed by the timer
            other.rollback()
            other.close()
    assert _count(store) == 1
    # the next write (movable or not) gets a working connection with SQLite's full busy timeout
    with movable.movable(), store.tx() as conn:
        conn.exec_driver_sql("INSERT INTO scratch (v) VALUES ('after')")
        timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert timeout == 30000
    assert _count(store) == 2


def test_movable_write_that_gets_the_lock_keeps_the_full_busy_timeout(store: Store) -> None:
    with movable.movable(), store.tx() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        conn.exec_driver_sql("INSERT INTO scratch (v) VALUES ('x')")
    assert _count(store) == 1


def test_a_committed_request_is_pinned_and_waits(store: Store, tmp_path: Path) -> None:
    with movable.movable():
        assert movable.is_movable()
        with store.tx() as conn:
            conn.exec_driver_sql("INSERT INTO scratch (v) VALUES ('first')")
        assert not movable.is_movable()  # committed: it may not be run again
        other = _holder(tmp_path / "m.db")
        with _released_soon(other), store.tx() as conn:  # waits for it instead of raising WriterBusy
            conn.exec_driver_sql("INSERT INTO scratch (v) VALUES ('second')")
    assert _count(store) == 2
    assert not movable.is_movable()


def test_not_movable_waits(store: Store, tmp_path: Path) -> None:
    with _released_soon(_holder(tmp_path / "m.db")), store.tx() as conn:
        conn.exec_driver_sql("INSERT INTO scratch (v) VALUES ('waited')")
    assert _count(store) == 1


def test_movable_write_moves_when_another_thread_holds_the_process_lock(store: Store) -> None:
    entered, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store.tx() as conn:
            conn.exec_driver_sql("INSERT INTO scratch (v) VALUES ('thread')")
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert entered.wait(10)
        with movable.movable(), pytest.raises(movable.WriterBusy), store.tx():
            pass
    finally:
        release.set()
        thread.join()
    assert _count(store) == 1


def test_writer_busy_is_not_an_exception() -> None:
    # code that catches Exception around a best-effort write must not swallow it
    assert not issubclass(movable.WriterBusy, Exception)
