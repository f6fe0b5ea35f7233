"""A write that would wait for another SQLite writer (a CSV import's process, another worker) moves off
the event loop (store/movable.py): the worker answers other requests meanwhile, and the write itself
completes once the lock is free, exactly once."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Server


@dataclass
class Setup:
    srv: Server
    idp: Any
    pool: str
    path: str  # the server's SQLite database file


def _setup(server_factory: Any, database_admin_url: str | None, username: str, env: dict[str, str]) -> Setup:
    if database_admin_url:
        pytest.skip("SQLite's single writer only")
    srv: Server = server_factory(env=env)
    idp = srv.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="moved-" + username)["UserPool"]["Id"]
    idp.admin_create_user(UserPoolId=pool, Username=username, MessageAction="SUPPRESS")
    return Setup(srv, idp, pool, srv.database_url.removeprefix("sqlite:///"))


def _moved(srv: Server) -> float:
    text = httpx.get(srv.url + "/metrics", timeout=10).text
    found = re.search(r"^ostiary_requests_moved_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _while_locked(s: Setup, call: Callable[[], Any], meanwhile: Callable[[], None] = lambda: None) -> Any:
    """``call`` in a thread of its own while another writer (as SQLite sees it: a connection of its
    own) holds the write lock; once the server says the request moved to a worker thread,
    ``meanwhile`` runs with the lock still held, then the lock is let go. ``call``'s answer."""
    before = _moved(s.srv)
    other = sqlite3.connect(s.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    done: dict[str, Any] = {}

    def run() -> None:
        try:
            done["answer"] = call()
        except Exception as exc:  # reported below
            done["error"] = exc

    caller = threading.Thread(target=run)
    try:
        caller.start()
        deadline = time.monotonic() + 30
        while _moved(s.srv) < before + 1:  # the request found the lock taken and went to a worker thread
            assert time.monotonic() < deadline, "the request was not moved off the event loop"
            assert caller.is_alive(), done
            time.sleep(0.05)
        meanwhile()
        assert caller.is_alive(), done  # it still waits for the lock
    finally:
        other.rollback()
        other.close()
    caller.join(30)
    assert "error" not in done, done
    assert _moved(s.srv) == before + 1  # once
    return done["answer"]


def test_a_write_waiting_for_another_writer_does_not_stall_the_worker(
    server_factory: Any, database_admin_url: str | None
) -> None:
    s = _setup(server_factory, database_admin_url, "alice", {})
    writer = s.srv.client("cognito-idp")

    def meanwhile() -> None:  # the same (only) worker answers other calls while the write waits
        assert s.idp.admin_get_user(UserPoolId=s.pool, Username="alice")["Username"] == "alice"
        assert s.idp.describe_user_pool(UserPoolId=s.pool)["UserPool"]["Id"] == s.pool

    _while_locked(
        s,
        lambda: writer.admin_update_user_attributes(
            UserPoolId=s.pool, Username="alice", UserAttributes=[{"Name": "given_name", "Value": "Moved"}]
        ),
        meanwhile,
    )
    user = s.idp.admin_get_user(UserPoolId=s.pool, Username="alice")
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["given_name"] == "Moved"


def test_a_moved_request_is_counted_by_the_provisioned_limits_once(
    server_factory: Any, database_admin_url: str | None
) -> None:
    # the throttle's count is the request's first write: when it finds the lock taken the request
    # moves before it was counted, and its second run counts it (neither skipped nor counted twice)
    s = _setup(server_factory, database_admin_url, "bob", {"OSTIARY_PROVISIONED_LIMITS": "true"})
    reader = s.srv.client("cognito-idp")
    answer = _while_locked(s, lambda: reader.admin_get_user(UserPoolId=s.pool, Username="bob"))
    assert answer["Username"] == "bob"
    with sqlite3.connect(s.path) as db:
        rows = db.execute("SELECT key, count FROM counters WHERE key LIKE 'rate:%'").fetchall()
    # AdminGetUser is this test's only request of the UserRead category: counted, once
    assert [count for key, count in rows if key.endswith(":UserRead")] == [1], rows
