"""`ostiary serve --workers N`: one listening socket per worker (SO_REUSEPORT), so the kernel spreads new
connections over the workers; a dead worker is replaced on its socket; a second server cannot join the port."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ostiary import supervisor

pytestmark = pytest.mark.skipif(not supervisor.reuse_port_available(), reason="SO_REUSEPORT spreads on Linux only")


def _listening_sockets(port: int) -> int:
    """How many sockets listen on 127.0.0.1:``port`` (rows of /proc/net/tcp in state LISTEN)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1] == f"0100007F:{port:04X}" and row.split()[3] == "0A")


def _workers(pid: int) -> set[int]:
    """The worker processes of the supervisor ``pid`` (its children but multiprocessing's tracker)."""
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children |= {int(p) for p in (task / "children").read_text().split()}
    return {p for p in children if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()}


def _answering_pids(url: str, connections: int) -> list[int]:
    """The pid of the worker that answered each of ``connections`` fresh connections (one request each);
    a connection the kernel queued for a worker still starting waits for it."""
    pids = []
    for _ in range(connections):
        with httpx.Client(timeout=90) as client:  # a new connection each time
            answer = client.get(url + "/_ostiary/settings", headers={"Connection": "close"})
            assert answer.status_code == 200, answer.text
            pids.append(int(answer.json()["pid"]))
    return pids


def _wait_for(condition: Any, seconds: float = 90) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_bind_slots_share_one_port_and_refuse_a_taken_one() -> None:
    slots = supervisor.bind_slots("127.0.0.1", 0, 3)
    try:
        ports = {s.getsockname()[1] for s in slots}
        assert len(ports) == 1 and all(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for s in slots)
        for s in slots:
            s.listen(8)
        # a second group on the same port, even of this same user, is refused: nothing can silently take
        # a share of the connections
        with pytest.raises(OSError) as refused:
            supervisor.bind_slots("127.0.0.1", ports.pop(), 2)
        assert refused.value.errno == errno.EADDRINUSE
    finally:
        for s in slots:
            s.close()


def test_every_worker_gets_connections_on_a_socket_of_its_own(server_factory: Any) -> None:
    srv = server_factory(args=("--workers", "2", "--dev"))
    assert srv.proc is not None
    # one per worker (uvicorn alone: one shared by both); a worker listens once it has started
    assert _wait_for(lambda: _listening_sockets(srv.port) == 2)
    workers = _workers(srv.proc.pid)
    assert len(workers) == 2
    pids = _answering_pids(srv.url, 40)
    assert set(pids) == workers  # 40 connections by the kernel's hash: both workers answer
    assert "one listening socket per worker (SO_REUSEPORT)" in (srv.log_path.read_text())


def test_a_dead_worker_is_replaced_on_its_socket(server_factory: Any) -> None:
    srv = server_factory(args=("--workers", "2", "--dev"))
    assert srv.proc is not None
    assert _wait_for(lambda: _listening_sockets(srv.port) == 2)
    before = _workers(srv.proc.pid)
    assert len(before) == 2
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    # connections the kernel hashes to the dead worker's socket wait in its backlog for the replacement:
    # every one is answered, none refused
    pids = _answering_pids(srv.url, 40)
    after = _workers(srv.proc.pid)
    assert victim not in after and len(after) == 2
    assert set(pids) == after
    assert _listening_sockets(srv.port) == 2


def test_a_second_server_on_the_same_port_stops(server_factory: Any, tmp_path: Path) -> None:
    first = server_factory(args=("--workers", "2"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSTIARY_")}
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "ostiary.cli",
            "serve",
            "--port",
            str(first.port),
            "--workers",
            "2",
            "--data-dir",
            str(tmp_path / "second"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert second.returncode != 0
    assert "cannot listen on" in second.stderr and "Address already in use" in second.stderr
    assert _wait_for(lambda: _listening_sockets(first.port) == 2)
    assert httpx.get(first.url + "/health", timeout=30).status_code == 200


def test_ttin_and_ttou_add_and_remove_a_worker_with_its_socket(server_factory: Any) -> None:
    srv = server_factory(args=("--workers", "2", "--dev"))
    assert srv.proc is not None
    assert _wait_for(lambda: _listening_sockets(srv.port) == 2)
    os.kill(srv.proc.pid, signal.SIGTTIN)
    assert _wait_for(lambda: _listening_sockets(srv.port) == 3 and len(_workers(srv.proc.pid)) == 3)
    third = _workers(srv.proc.pid)
    assert set(_answering_pids(srv.url, 60)) == third
    os.kill(srv.proc.pid, signal.SIGTTOU)
    assert _wait_for(lambda: _listening_sockets(srv.port) == 2 and len(_workers(srv.proc.pid)) == 2)
    assert set(_answering_pids(srv.url, 40)) == _workers(srv.proc.pid)
