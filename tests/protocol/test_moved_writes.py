"""A write that would wait for another SQLite writer (a CSV import's process, another worker) moves off
the event loop (store/movable.py): the worker answers other requests meanwhile, and the write itself
completes once the lock is free, exactly once."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from typing import Any

import httpx
import pytest

from tests.conftest import Server


def _moved(srv: Server) -> float:
    text = httpx.get(srv.url + "/metrics", timeout=10).text
    found = re.search(r"^ostiary_requests_moved_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_a_write_waiting_for_another_writer_does_not_stall_the_worker(server_factory: Any) -> None:
    srv: Server = server_factory()
    if not srv.database_url.startswith("sqlite"):
        pytest.skip("SQLite's single writer only")
    idp = srv.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="moved-writes")["UserPool"]["Id"]
    idp.admin_create_user(UserPoolId=pool, Username="alice", MessageAction="SUPPRESS")
    before = _moved(srv)

    # another process's writer, as SQLite sees it: a connection of its own holding the write lock
    other = sqlite3.connect(srv.database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    done: dict[str, Any] = {}

    def write() -> None:
        client = srv.client("cognito-idp")
        try:
            done["answer"] = client.admin_update_user_attributes(
                UserPoolId=pool, Username="alice", UserAttributes=[{"Name": "given_name", "Value": "Moved"}]
            )
        except Exception as exc:  # reported below
            done["error"] = exc

    writer = threading.Thread(target=write)
    try:
        writer.start()
        deadline = time.monotonic() + 30
        while _moved(srv) < before + 1:  # the write found the lock taken and went to a worker thread
            assert time.monotonic() < deadline, "the write was not moved off the event loop"
            assert writer.is_alive(), done
            time.sleep(0.05)
        # the same (only) worker answers a read and a sign-up-free write-less call meanwhile
        user = idp.admin_get_user(UserPoolId=pool, Username="alice")
        assert user["Username"] == "alice"
        assert idp.describe_user_pool(UserPoolId=pool)["UserPool"]["Id"] == pool
        assert writer.is_alive(), done  # the write still waits for the lock
    finally:
        other.rollback()
        other.close()
    writer.join(30)
    assert "error" not in done, done
    attrs = {a["Name"]: a["Value"] for a in idp.admin_get_user(UserPoolId=pool, Username="alice")["UserAttributes"]}
    assert attrs["given_name"] == "Moved"
    assert _moved(srv) == before + 1


def test_a_moved_request_is_counted_by_the_provisioned_limits_once(server_factory: Any) -> None:
    # the throttle's count is the request's first write: when it finds the lock taken the request
    # moves before it was counted, and its second run counts it (neither skipped nor counted twice)
    srv: Server = server_factory(env={"OSTIARY_PROVISIONED_LIMITS": "true"})
    if not srv.database_url.startswith("sqlite"):
        pytest.skip("SQLite's single writer only")
    idp = srv.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="moved-counted")["UserPool"]["Id"]
    idp.admin_create_user(UserPoolId=pool, Username="bob", MessageAction="SUPPRESS")
    before = _moved(srv)
    path = srv.database_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    done: dict[str, Any] = {}

    def read() -> None:
        done["answer"] = srv.client("cognito-idp").admin_get_user(UserPoolId=pool, Username="bob")

    reader = threading.Thread(target=read)
    try:
        reader.start()
        deadline = time.monotonic() + 30
        while _moved(srv) < before + 1:
            assert time.monotonic() < deadline, "the request was not moved off the event loop"
            time.sleep(0.05)
    finally:
        other.rollback()
        other.close()
    reader.join(30)
    assert done["answer"]["Username"] == "bob"
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT key, count FROM counters WHERE key LIKE 'rate:%'").fetchall()
    # AdminGetUser is this test's only request of the UserRead category: counted, once
    assert [count for key, count in rows if key.endswith(":UserRead")] == [1], rows
