"""Running the gateway: its listeners in one event loop.

- the main listener (``gateway.listen``): :class:`proxy.Gateway`;
- the admin listener (``gateway.admin_listen``, optional): ``/health`` and ``/metrics``;
- the S3 front (an ``[s3]`` table; ``ostiary.s3front``), on its own ``listen`` address.

``ostiary gateway --config FILE`` runs :func:`run`; ``ostiary serve`` with the setting
``gateway_config`` starts the same listeners inside its own event loop (:func:`start_in_loop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from ostiary import httpserver
from ostiary.gateway import forward_auth
from ostiary.gateway.config import GatewayConfig, Listen
from ostiary.gateway.proxy import Gateway, admin_app
from ostiary.s3front.app import build_app as build_s3_front

log = logging.getLogger("ostiary.gateway")

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class _QuietServer(uvicorn.Server):
    """A server that leaves signals to its owner (several share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


def _server(app: ASGIApp, listen: Listen, max_header_bytes: int, quiet: bool) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=listen.host,
        port=listen.port,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        # no proxy trust in uvicorn: X-Forwarded-* are judged by the gateway (its trusted_proxies)
        **httpserver.uvicorn_options(max_header_bytes),
    )
    return _QuietServer(config) if quiet else uvicorn.Server(config)


@dataclass
class Listeners:
    """The gateway's running servers."""

    config: GatewayConfig
    servers: list[uvicorn.Server] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True

    async def wait(self) -> None:
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _apps(config: GatewayConfig) -> list[tuple[ASGIApp, Listen]]:
    apps: list[tuple[ASGIApp, Listen]] = []
    if config.routes.routes:
        apps.append((Gateway(config), config.gateway.listen))
    if config.gateway.admin_listen is not None:
        apps.append((admin_app, config.gateway.admin_listen))
    if config.forward_auth is not None:  # nginx / Traefik / Envoy: a listener of its own (forward_auth.py)
        apps.append(forward_auth.build_app(config, config.forward_auth))
    if config.s3 is not None:  # the S3 front (ostiary.s3front) on [s3] listen
        apps.append((build_s3_front(config.s3, config.env), Listen(config.s3.host, config.s3.port)))
    return apps


def start_in_loop(config: GatewayConfig, max_header_bytes: int = 65536) -> Listeners:
    """Start every listener of ``config`` as tasks of the running loop (inside ``ostiary serve``)."""
    quiet_clients()
    listeners = Listeners(config)
    for app, listen in _apps(config):
        server = _server(app, listen, max_header_bytes, quiet=True)
        listeners.servers.append(server)
        listeners.tasks.append(asyncio.get_running_loop().create_task(server.serve()))
    return listeners


async def _run(config: GatewayConfig, max_header_bytes: int) -> None:
    apps = _apps(config)
    main = _server(apps[0][0], apps[0][1], max_header_bytes, quiet=False)
    others = [_server(app, listen, max_header_bytes, quiet=True) for app, listen in apps[1:]]
    tasks = [asyncio.create_task(s.serve()) for s in others]
    try:
        await main.serve()
    finally:
        for server in others:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)


def quiet_clients() -> None:
    """httpx logs every request with its URL (a query may hold a token): not in the gateway's logs."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run(config: GatewayConfig, max_header_bytes: int = 65536) -> None:
    """Serve ``config`` until SIGINT/SIGTERM (``ostiary gateway``)."""
    quiet_clients()
    for app, listen in _apps(config):
        log.info("gateway listening on http://%s (%s)", listen, "admin" if app is admin_app else "routes")
    try:
        asyncio.run(_run(config, max_header_bytes))
    finally:
        config.close()
