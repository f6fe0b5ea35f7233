"""audit.spool: events written behind the response, in batches, on SQLite and PostgreSQL — within the
delay, all of them, at once when a batch is full or a reader asks, kept across a refused write,
dropped (and counted) only past MAX_PENDING, written at shutdown."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select, text

from ostiary.audit import recorder, spool
from ostiary.store import tables as t
from ostiary.store.db import Store
from tests.conftest import ACCOUNT_ID, Server, migrated_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, database_admin_url: str | None) -> Iterator[Store]:
    with migrated_store(request.param, tmp_path, database_admin_url) as s:
        yield s


def _row(n: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_time": dt.datetime.now(dt.UTC),
        "event_name": "AssumeRole",
        "event_source": "sts.amazonaws.com",
        "account_id": "123456789012",
        "region": "us-east-1",
        "principal_arn": "arn:aws:iam::123456789012:root",
        "access_key_id": "AKIAEXAMPLE",
        "user_pool_id": None,
        "username": "root",
        "user_sub": None,
        "resource_type": "AWS::IAM::Role",
        "resource_name": "arn:aws:iam::123456789012:role/r",
        "source_ip": "127.0.0.1",
        "user_agent": "test",
        "outcome": "success",
        "error_code": None,
        "error_message": None,
        "request_id": f"req-{n}",
        "details": {"n": n},
    }


def _count(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t.audit_events)).scalar() or 0)


def _spool(store: Store, delay: float) -> spool.Spool:
    return spool.Spool(store, delay, recorder._write_batch(_settings()))


def _settings() -> Any:
    from ostiary.config import Settings

    return Settings()


def _until(predicate: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def test_events_arrive_within_the_delay_in_one_batch(store: Store) -> None:
    s = _spool(store, 0.2)
    for n in range(10):
        s.add(_row(n))
    assert _count(store) == 0  # not on the caller's path
    assert _until(lambda: _count(store) == 10)
    with store.read() as conn:
        got = sorted(r.details["n"] for r in conn.execute(select(t.audit_events)).all())
    assert got == list(range(10))
    s.close()


def test_a_full_batch_is_written_before_the_delay(store: Store) -> None:
    s = _spool(store, 60.0)  # the delay alone would not write it in this test's time
    for n in range(spool.MAX_BATCH):
        s.add(_row(n))
    assert _until(lambda: _count(store) == spool.MAX_BATCH)
    s.close()


def test_flush_writes_what_is_pending_now_and_close_writes_the_rest(store: Store) -> None:
    s = _spool(store, 60.0)
    s.add(_row(1))
    s.flush()
    assert _count(store) == 1
    s.add(_row(2))
    s.close()
    assert _count(store) == 2
    s.add(_row(3))  # after close: written on the caller's thread
    assert _count(store) == 3


def test_concurrent_writers_lose_nothing(store: Store) -> None:
    s = _spool(store, 0.05)

    def burst(base: int) -> None:
        for n in range(200):
            s.add(_row(base + n))

    threads = [threading.Thread(target=burst, args=(k * 1000,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    s.close()
    assert _count(store) == 800


def test_a_refused_write_is_tried_again_and_only_the_excess_is_dropped(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool, "MAX_PENDING", 5)
    s = _spool(store, 60.0)
    with store.tx() as conn:  # the table is gone for a while: every write is refused
        conn.execute(text("ALTER TABLE audit_events RENAME TO audit_events_away"))
    try:
        before = spool.DROPPED._value.get()
        for n in range(8):
            s.add(_row(n))
        s.flush()  # refused: all 8 kept, then cut to the newest MAX_PENDING
        assert spool.DROPPED._value.get() - before == 3
    finally:
        with store.tx() as conn:
            conn.execute(text("ALTER TABLE audit_events_away RENAME TO audit_events"))
    s.flush()
    with store.read() as conn:
        got = sorted(r.details["n"] for r in conn.execute(select(t.audit_events)).all())
    assert got == [3, 4, 5, 6, 7]  # the oldest went
    s.close()


def test_disposing_the_store_writes_what_is_pending(store: Store) -> None:
    s = spool.spool_of(store, 60.0, recorder._write_batch(_settings()))
    assert spool.spool_of(store, 60.0, recorder._write_batch(_settings())) is s  # one per store
    s.add(_row(1))
    store.dispose()  # as a CLI command or the server's shutdown does: the spool writes first
    assert _count(store) == 1


_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def _assume(server: Server) -> str:
    """A new role session on ``server``; the access key id it was issued."""
    role = "spool-" + secrets.token_hex(3)
    server.client("iam").create_role(RoleName=role, AssumeRolePolicyDocument=_TRUST)
    creds = server.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{role}", RoleSessionName="spooled"
    )
    return str(creds["Credentials"]["AccessKeyId"])


def _issued(server: Server, akid: str) -> bool:
    """Whether the AssumeRole event of ``akid`` is in the table (read directly: nothing flushes)."""
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(t.audit_events.c.details).where(t.audit_events.c.event_name == "AssumeRole"))
            return any((r.details or {}).get("issuedAccessKeyId") == akid for r in rows)
    finally:
        engine.dispose()


def test_a_role_sessions_event_reaches_the_table_without_a_reader(server: Server) -> None:
    akid = _assume(server)
    assert _until(lambda: _issued(server, akid), seconds=5.0)  # the spool's thread wrote it


def test_with_the_spool_off_the_event_is_written_on_the_request(server_factory: Any) -> None:
    off = server_factory(env={"OSTIARY_AUDIT_SPOOL_MS": "0"})
    akid = _assume(off)
    assert _issued(off, akid)  # already there when the response came
