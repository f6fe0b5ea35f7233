"""Fixtures for the gateway's tests: the echo upstream (``upstream_app.py``) and ``ostiary gateway``
started as real processes, and a way to start a gateway from a TOML text."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.processes import stop, wait_http

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Upstream:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """The echo upstream, one process for the session."""
    port = free_port()
    log = tmp_path_factory.mktemp("upstream") / "upstream.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.gateway.upstream_app", str(port)], cwd=ROOT, stdout=out, stderr=out
        )
    wait_http(f"http://127.0.0.1:{port}/health", proc, log, "the upstream")
    yield Upstream(port, proc)
    stop(proc)


@dataclass
class GatewayProcess:
    port: int
    admin_port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        stop(self.proc)


def start_gateway(directory: Path, gateway_keys: str, rest: str, env: dict[str, str] | None = None) -> GatewayProcess:
    """``ostiary gateway`` with ``[gateway]`` = listen and admin_listen (free ports chosen here) +
    ``gateway_keys`` (TOML lines), followed by ``rest`` (authorizers, routes)."""
    port, admin = free_port(), free_port()
    text = f'[gateway]\nlisten = "127.0.0.1:{port}"\nadmin_listen = "127.0.0.1:{admin}"\n{gateway_keys}\n\n{rest}'
    path = directory / f"gateway-{port}.toml"
    path.write_text(text)
    log = directory / f"gateway-{port}.log"
    full_env = {**os.environ, "OSTIARY_LOG_FORMAT": "json", **(env or {})}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ostiary.cli", "gateway", "--config", str(path)],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=out,
        )
    gateway = GatewayProcess(port, admin, proc, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the gateway exited early:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(gateway.admin_url + "/health", timeout=1).status_code == 200:
                httpx.get(gateway.url + "/", timeout=1)  # the main listener answers too (any status)
                return gateway
        except httpx.HTTPError:
            time.sleep(0.05)
    gateway.stop()
    raise RuntimeError(f"the gateway did not start:\n{log.read_text()[-4000:]}")
