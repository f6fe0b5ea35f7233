"""Builds the ASGI application from its parts; nothing else lives here."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ostiary import observability
from ostiary.config import Settings, load_settings
from ostiary.crypto.secrets import SecretBox, load_or_create_kek
from ostiary.protocol.context import Runtime
from ostiary.protocol.dispatch import MAX_BODY, Dispatcher, HttpRequest
from ostiary.protocol.registry import load_handlers
from ostiary.store.db import Store

log = logging.getLogger("ostiary")


def build_runtime(settings: Settings, migrate: bool = True) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)
    store = Store(settings.effective_database_url)
    if migrate:
        store.migrate()
    box = SecretBox(load_or_create_kek(settings.kek, settings.data_dir))
    return Runtime(settings=settings, store=store, box=box)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Starlette:
    settings = settings or load_settings()
    runtime = runtime or build_runtime(settings)
    load_handlers()
    dispatcher = Dispatcher(runtime)
    if settings.dev:
        log.warning("DEVELOPMENT MODE IS ON: test-control endpoints under /_ostiary/ are enabled; never expose this server")

    async def aws(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response(b"Request entity too large", status_code=413)
        headers: dict[str, str] = {}
        for k, v in request.headers.items():
            headers[k] = f"{headers[k]},{v}" if k in headers else v
        req = HttpRequest(
            method=request.method,
            path=request.url.path,
            raw_query=request.scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            client_ip=request.client.host if request.client else "",
        )
        resp = await dispatcher.handle(req)
        return Response(resp.body, status_code=resp.status, headers=resp.headers)

    async def health(_: Request) -> Response:
        from anyio import to_thread

        ok = await to_thread.run_sync(runtime.store.ping)
        return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        payload, ctype = observability.metrics_payload()
        return Response(payload, media_type=ctype)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/", aws, methods=["GET", "POST"]),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        runtime.store.dispose()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runtime = runtime
    return app


def create_app_from_env() -> Starlette:
    """Factory used by uvicorn workers: settings come from the OSTIARY_* environment."""
    settings = load_settings()
    observability.setup_logging(settings.log_format, settings.log_level)
    return create_app(settings)
