"""store.windows.count: one atomic upsert-increment per request, on SQLite and PostgreSQL. Concurrent
counts of one window each see their own increment (no two answer the same count), and a new window
starts again at 1."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ostiary.store import windows
from ostiary.store.db import Store
from tests.conftest import migrated_store

START = dt.datetime(2026, 12, 5, 22, 0, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, database_admin_url: str | None) -> Iterator[Store]:
    with migrated_store(request.param, tmp_path, database_admin_url) as s:
        yield s


def _count(store: Store, key: str, start: dt.datetime) -> int:
    with store.tx() as conn:
        windows.relax_durability(conn)
        return windows.count(conn, key, start)


def test_concurrent_counts_are_each_counted_once(store: Store) -> None:
    with ThreadPoolExecutor(8) as pool:
        seen = sorted(pool.map(lambda _: _count(store, "rate:x", START), range(40)))
    assert seen == list(range(1, 41))


def test_a_new_window_starts_at_one_and_keys_are_apart(store: Store) -> None:
    assert [_count(store, "rate:a", START) for _ in range(3)] == [1, 2, 3]
    assert _count(store, "rate:b", START) == 1
    later = START + dt.timedelta(seconds=1)
    assert [_count(store, "rate:a", later) for _ in range(2)] == [1, 2]
    assert _count(store, "rate:a", START) == 1  # an older window's request (a slow clock) starts it again
