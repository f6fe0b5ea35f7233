"""Shared fixtures: a real `ostiary serve` on loopback, real boto3 clients, SQLite or PostgreSQL.

Set OSTIARY_TEST_DATABASE_URL=postgresql+psycopg://user@host/postgres to run the suite against
PostgreSQL: each server started here then gets a database of its own on that server.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

ACCOUNT_ID = "123456789012"
ACCESS_KEY_ID = "AKIAOSTIARYTESTROOT1"
SECRET_ACCESS_KEY = "ostiary/test/secret/access/key/0123456789"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_database(admin_url: str) -> tuple[str, str]:
    """Create a fresh database on the PostgreSQL server of ``admin_url``; (url, name)."""
    import sqlalchemy as sa

    name = "ostiary_t_" + uuid.uuid4().hex[:12]
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, name


def _pg_drop(admin_url: str, name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@contextlib.contextmanager
def migrated_store(kind: str, tmp_path: Path, admin_url: str | None) -> Iterator[Any]:
    """An in-process ``Store`` on a new, migrated database: ``kind`` "sqlite" (a file in ``tmp_path``)
    or "postgresql" (skipped without OSTIARY_TEST_DATABASE_URL), dropped afterwards. For tests
    parametrized over both stores (``@pytest.fixture(params=["sqlite", "postgresql"])``)."""
    from ostiary.store.db import Store

    name = None
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        if not admin_url:
            pytest.skip("OSTIARY_TEST_DATABASE_URL not set")
        url, name = _pg_database(admin_url)
    store = Store(url)
    try:
        store.migrate()
        yield store
    finally:
        store.dispose()
        if name is not None and admin_url:
            _pg_drop(admin_url, name)


@dataclass
class Server:
    """A running `ostiary serve` process."""

    data_dir: Path
    database_url: str
    port: int = field(default_factory=free_port)
    env_extra: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            {
                "OSTIARY_ROOT_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "OSTIARY_ROOT_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                "OSTIARY_ROOT_ACCOUNT_ID": ACCOUNT_ID,
                "OSTIARY_LOG_FORMAT": "json",
                "OSTIARY_ARGON2_TIME_COST": "1",
                "OSTIARY_ARGON2_MEMORY_KIB": "1024",
                # the local IdPs of the tests live on loopback; tests of the egress policy override it
                "OSTIARY_EGRESS_ALLOW": "127.0.0.0/8,::1/128",
            }
        )
        env.update(self.env_extra)
        self.log_path = self.data_dir / "server.log"
        cmd = [
            sys.executable,
            "-m",
            "ostiary.cli",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--database-url",
            self.database_url,
            *self.args,
        ]
        # the child keeps its own descriptor of the log; ours is closed at once (no ResourceWarning)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-4000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not become healthy:\n{self.log_path.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.port = free_port()
        self.start()

    def client(self, service: str, **kwargs: Any) -> Any:
        return make_client(self.url, service, **kwargs)


def make_client(url: str, service: str, **kwargs: Any) -> Any:
    params: dict[str, Any] = {
        "endpoint_url": url,
        "region_name": REGION,
        "aws_access_key_id": ACCESS_KEY_ID,
        "aws_secret_access_key": SECRET_ACCESS_KEY,
        "config": Config(retries={"max_attempts": 1}),
    }
    params.update(kwargs)
    return boto3.client(service, **params)


def every_item(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item of a listing through its paginator: the shared test server holds other suites' rows,
    so one page (60 pools, 100 roles) need not hold the one a test looks for."""
    return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]]


def create_account(server: Server, name: str, account_id: str | None = None) -> dict[str, str]:
    """A new account on ``server`` made with `ostiary accounts create`: its root's key as client kwargs."""
    args = ["--account-id", account_id] if account_id else []
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "ostiary.cli",
            "accounts",
            "create",
            "--name",
            name,
            *args,
            "--data-dir",
            str(server.data_dir),
            "--database-url",
            server.database_url,
        ],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    akid = created.stderr.split("Access key id", 1)[1].split()[0]
    secret = created.stderr.split("Secret access key", 1)[1].split()[0]
    return {"aws_access_key_id": akid, "aws_secret_access_key": secret}


@pytest.fixture(scope="session")
def database_admin_url() -> str | None:
    return os.environ.get("OSTIARY_TEST_DATABASE_URL") or None


@pytest.fixture(scope="session")
def server_factory(tmp_path_factory: pytest.TempPathFactory, database_admin_url: str | None) -> Iterator[Any]:
    """Start extra servers (each with its own data dir and database)."""
    started: list[Server] = []
    databases: list[str] = []

    def make(
        env: dict[str, str] | None = None,
        start: bool = True,
        share_with: Server | None = None,
        args: tuple[str, ...] = (),
    ) -> Server:
        data_dir = tmp_path_factory.mktemp("ostiary-" + secrets.token_hex(3))
        if share_with is not None:
            url = share_with.database_url
            # the KEK must be shared too, or the other process cannot open the sealed secrets
            (data_dir / "kek").write_bytes((share_with.data_dir / "kek").read_bytes())
        elif database_admin_url:
            url, name = _pg_database(database_admin_url)
            databases.append(name)
        else:
            url = f"sqlite:///{data_dir / 'ostiary.db'}"
        srv = Server(data_dir=data_dir, database_url=url, env_extra=env or {}, args=args)
        started.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    for srv in started:
        srv.stop()
    if database_admin_url:
        for name in databases:
            _pg_drop(database_admin_url, name)


@pytest.fixture(scope="session")
def server(server_factory: Any) -> Server:
    """One shared server for the whole session."""
    srv: Server = server_factory()
    return srv


@pytest.fixture(scope="session")
def dev_server(server_factory: Any) -> Server:
    """A server in development mode (outbox over HTTP, reset and cache-flush endpoints)."""
    srv: Server = server_factory(args=("--dev",))
    return srv


def flush_caches(server: Server) -> None:
    """Empty the per-process caches of a ``--dev`` server (``POST /_ostiary/caches/flush``): what a
    test changed shows at once, instead of after the caches' lifetimes (access keys, policies: 5 s)."""
    answer = httpx.post(server.url + "/_ostiary/caches/flush", timeout=30)
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="session")
def idp(server: Server) -> Any:
    return server.client("cognito-idp")


@pytest.fixture(scope="session")
def sts(server: Server) -> Any:
    return server.client("sts")


@pytest.fixture
def pool(idp: Any) -> Iterator[dict[str, Any]]:
    """A fresh user pool, deleted afterwards."""
    created = idp.create_user_pool(PoolName="pool-" + secrets.token_hex(4))["UserPool"]
    yield created
    with contextlib.suppress(Exception):  # already deleted by the test
        idp.delete_user_pool(UserPoolId=created["Id"])
