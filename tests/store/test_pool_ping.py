"""PostgreSQL: a pooled connection is pinged only when it comes back to use after sitting idle."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ostiary.store import db
from ostiary.store.db import Store
from tests.conftest import _pg_database, _pg_drop


@pytest.fixture
def pg(database_admin_url: str | None) -> Iterator[tuple[Store, str]]:
    if not database_admin_url:
        pytest.skip("OSTIARY_TEST_DATABASE_URL not set")
    url, name = _pg_database(database_admin_url)
    store = Store(url)
    try:
        yield store, name
    finally:
        store.dispose()
        _pg_drop(database_admin_url, name)


def _kill_backends(admin_url: str, name: str) -> int:
    with psycopg.connect("postgresql://" + admin_url.split("://", 1)[1], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return len(rows)


def _backend(store: Store) -> int:
    with store.tx() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_an_idle_connection_is_pinged_and_replaced(
    pg: tuple[Store, str], database_admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, name = pg
    first = _backend(store)
    assert _kill_backends(database_admin_url, name) >= 1
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # every checkout counts as after an idle time
    assert _backend(store) != first  # the ping found it gone; the pool connected again, no error


def test_a_busy_connection_is_not_pinged(
    pg: tuple[Store, str], database_admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, name = pg
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)
    first = _backend(store)
    pings: list[int] = []
    monkeypatch.setattr(store.engine.dialect, "do_ping", lambda c: pings.append(1) or True)
    assert _backend(store) == first and not pings  # checked in a moment ago: no round trip to ping
    assert _kill_backends(database_admin_url, name) >= 1
    with pytest.raises(DBAPIError) as failed:  # broken within the window: that request fails ...
        _backend(store)
    assert failed.value.connection_invalidated
    assert _backend(store) != first  # ... and the next one gets a new connection
