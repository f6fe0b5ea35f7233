"""The sign-in counters of userpools.lockout, on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from ostiary.store.db import Store
from ostiary.userpools import lockout
from tests.conftest import migrated_store

POOL = "us-east-1_lockout"
USER = "0f8fad5b-d9cb-469f-a165-70867728950e"
NOW = dt.datetime(2026, 12, 5, 21, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, database_admin_url: str | None) -> Iterator[Store]:
    with migrated_store(request.param, tmp_path, database_admin_url) as s:
        yield s


def _fail(store: Store, at: dt.datetime) -> lockout.Failure:
    with store.tx() as conn:
        return lockout.record_failure(conn, POOL, USER, "192.0.2.1", at)


def _check(store: Store, at: dt.datetime) -> lockout.LockCheck:
    with store.tx() as conn:
        return lockout.is_locked(conn, POOL, USER, "192.0.2.1", at)


def test_a_failure_below_the_threshold_locks_nobody_even_one_recorded_after_the_request_began(store: Store) -> None:
    # Two concurrent sign-ins: B began (its clock read) a moment before A, A's failure was recorded
    # first. B must still be checked against the password and counted, not refused as locked.
    _fail(store, NOW + dt.timedelta(milliseconds=5))
    assert _check(store, NOW) is lockout.LockCheck.OPEN
    for _ in range(3):
        assert _check(store, NOW) is lockout.LockCheck.OPEN
        _fail(store, NOW)
    assert _fail(store, NOW) is lockout.Failure.LOCKED  # the fifth failure engages the lock
    assert _check(store, NOW) is lockout.LockCheck.USER_LOCKED
    assert _check(store, NOW + dt.timedelta(seconds=1)) is lockout.LockCheck.OPEN
