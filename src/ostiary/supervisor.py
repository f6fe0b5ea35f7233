"""`ostiary serve --workers N`: uvicorn's supervisor, with one listening socket per worker.

uvicorn binds one socket and hands it to every worker; each worker's event loop accepts every
connection pending when it wakes up, so a burst of new keep-alive connections lands on whichever worker
woke first, and that worker serves them for as long as they live (in 6 of 30 two-worker runs one worker
did 95 % or more of the work). Here, on Linux, each worker slot has a socket of its own bound to the same
address with ``SO_REUSEPORT``: the kernel hands every new connection to one of the sockets by a hash of
the connection's addresses, so the workers get an even share whoever is awake.

The supervisor binds the sockets and keeps them open for as long as it runs; a worker gets its slot's
socket when it starts (as uvicorn hands its one socket over) and makes it listen once the application
is loaded, so no connection goes to a worker still starting. A socket that listens keeps listening
while the supervisor holds it: a worker that dies is replaced on the same socket, and connections the
kernel queued on it wait in its backlog for the replacement instead of being refused. Everything else
is uvicorn's ``Multiprocess``: the health checks of the workers (after a start grace, below), their
replacement, graceful shutdown on SIGINT/SIGTERM, SIGHUP (restart every worker), SIGTTIN/SIGTTOU (one
worker more or less, with its socket). Where ``SO_REUSEPORT`` is not available (not Linux, or the kernel
refuses it), the supervisor says so in the log and the workers share one socket, as uvicorn does.

Only processes of the same user can join a ``SO_REUSEPORT`` group on Linux (the kernel checks the
effective uid), so no other user's process can bind the port and take a share of the connections.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import time

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

log = logging.getLogger("ostiary.supervisor")

# a worker is only checked for being alive (not pinged) this long after it was started
STARTUP_GRACE_SECONDS = 60.0


def reuse_port_available() -> bool:
    """Whether the kernel spreads connections over sockets sharing a port (Linux's ``SO_REUSEPORT``;
    BSD's and macOS's hand every connection to one socket of the group, so they do not count)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


class ReusePortRefused(OSError):
    """The kernel (or a sandbox) refused the ``SO_REUSEPORT`` option itself."""


def _socket(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def bind_reuse_port(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``(host, port)`` with ``SO_REUSEPORT``, inheritable (the worker listens)."""
    sock = _socket(host)
    try:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        except OSError as exc:
            raise ReusePortRefused(exc.errno, exc.strerror) from exc
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bind_slots(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets in one ``SO_REUSEPORT`` group on ``(host, port)``; port 0 picks one free port
    for all of them. Raises OSError (after closing what it bound) when one cannot be bound.

    The address is first bound without ``SO_REUSEPORT`` and released at once: that bind fails when
    anything listens there already, so a second ``ostiary serve`` started on the same port by mistake
    stops with "address in use" (as with one shared socket) instead of silently joining the group and
    taking a share of the first one's connections."""
    with _socket(host) as probe:
        probe.bind((host, port))
        actual = int(probe.getsockname()[1])
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(bind_reuse_port(host, actual))
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Supervisor(Multiprocess):
    """uvicorn's ``Multiprocess`` where worker slot ``i`` always runs on socket ``i`` (or, ``shared``,
    every worker on the one socket of ``slots``), with a grace period for a worker's start."""

    def __init__(self, config: Config, slots: list[socket.socket], shared: bool = False) -> None:
        super().__init__(config, sockets=[])
        self.slots = slots
        self.shared = shared
        self.started_at: dict[int, float] = {}  # id(Process) -> when it was started

    def _process(self, idx: int) -> Process:
        return Process(self.config, [self.slots[0 if self.shared else idx]])

    def _start(self, idx: int) -> Process:
        process = self._process(idx)
        process.start()
        self.started_at[id(process)] = time.monotonic()
        return process

    def _healthy(self, process: Process) -> bool:
        """uvicorn's health check (the worker answers a ping within ``timeout_worker_healthcheck``),
        once the worker is past its start: a spawned worker imports the application before it can
        answer, which takes longer than the check's 5 s on a loaded machine, and uvicorn would kill it
        and start another, forever."""
        started = self.started_at.get(id(process), 0.0)
        if time.monotonic() - started < STARTUP_GRACE_SECONDS:
            return process.process.is_alive()
        return process.is_alive(timeout=self.config.timeout_worker_healthcheck)

    def init_processes(self) -> None:
        for idx in range(self.processes_num):
            self.processes.append(self._start(idx))

    def restart_all(self) -> None:
        """SIGHUP: each worker's replacement starts on the same socket before the old one is retired."""
        for idx, old_process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new_process = self._start(idx)
            wait = max(self.config.timeout_worker_healthcheck, STARTUP_GRACE_SECONDS)
            if not new_process.wait_until_ready(wait, self.should_exit):
                new_process.kill()
                new_process.join()
                if not self.should_exit.is_set():
                    log.error("new worker %s was not ready in time; keeping %s", new_process.pid, old_process.pid)
                return
            old_process.terminate()
            old_process.join()
            self.started_at.pop(id(old_process), None)
            self.processes[idx] = new_process

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self.processes):
            if self._healthy(process):
                continue
            process.kill()  # hung: gone
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                # it failed before serving: the app or the socket is broken and a restart fails the same way
                log.error("worker %s failed to start, stopping", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            log.info("worker %s died; starting its replacement on the same socket", process.pid)
            self.started_at.pop(id(process), None)
            self.processes[idx] = self._start(idx)

    def handle_ttin(self) -> None:
        if self.shared:
            log.info("Received SIGTTIN, one worker more.")
            self.processes_num += 1
            self.processes.append(self._start(len(self.processes)))
            return
        try:
            sock = bind_reuse_port(self.config.host, self.slots[0].getsockname()[1])
        except OSError as exc:
            log.error("SIGTTIN: no socket for one more worker (%s)", exc)
            return
        log.info("Received SIGTTIN, one worker more.")
        self.slots.append(sock)
        self.processes_num += 1
        self.processes.append(self._start(len(self.processes)))

    def handle_ttou(self) -> None:
        if self.processes_num <= 1:
            log.info("Received SIGTTOU, but one worker is the least.")
            return
        log.info("Received SIGTTOU, one worker less.")
        self.processes_num -= 1
        process = self.processes.pop()
        process.terminate()
        process.join()
        self.started_at.pop(id(process), None)
        if not self.shared:
            self.slots.pop().close()  # connections still queued on it are reset, as on any closing socket


def run(config: Config) -> None:
    """Serve ``config`` (``workers`` > 1, ``host`` and ``port``) with one socket per worker where the
    kernel can spread connections over them, else with uvicorn's one shared socket."""
    slots: list[socket.socket] = []
    if reuse_port_available():
        try:
            slots = bind_slots(config.host, config.port, config.workers)
        except ReusePortRefused as exc:
            log.warning("SO_REUSEPORT refused (%s): the workers share one listening socket", exc)
        except OSError as exc:  # the address itself (in use, not ours…): stop, as uvicorn does
            log.error("cannot listen on %s:%s: %s", config.host, config.port, exc)
            sys.exit(STARTUP_FAILURE)
    else:
        log.warning("SO_REUSEPORT spreads connections on Linux only: the workers share one listening socket")
    try:
        if slots:
            log.info("one listening socket per worker (SO_REUSEPORT) on %s:%s", config.host, slots[0].getsockname()[1])
            Supervisor(config, slots).run()
        else:
            slots.append(config.bind_socket())
            Supervisor(config, slots, shared=True).run()
    finally:
        for sock in slots:
            with contextlib.suppress(OSError):
                sock.close()
