"""Builds the ASGI application from its parts; nothing else lives here."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import AsyncIterator

from anyio import to_thread
from sqlalchemy import Connection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ostiary import caching, httpserver, memory, observability
from ostiary.access.accounts import reset_iam
from ostiary.accessportal import routes as access_portal
from ostiary.audit import recorder as audit
from ostiary.audit import spool as audit_spool
from ostiary.config import Settings, check_dev_options, describe, load_settings
from ostiary.crypto.keys import KeyRing
from ostiary.crypto.passwords import PasswordHasher
from ostiary.crypto.secrets import SecretBox, load_or_create_kek
from ostiary.gateway import config as gateway_config
from ostiary.gateway import server as gateway_server
from ostiary.notify import delivery
from ostiary.oauth import wellknown
from ostiary.oauth.domain_routing import PATH_PREFIX as DOMAIN_PATH
from ostiary.oauth.domain_routing import DomainResolver, token_endpoint_domain
from ostiary.oauth.endpoints import TokenEndpoint
from ostiary.oauth.hosted import HostedUI
from ostiary.protocol.context import Runtime
from ostiary.protocol.dispatch import Dispatcher, HttpRequest, HttpResponse
from ostiary.protocol.errors import RequestEntityTooLarge
from ostiary.protocol.registry import load_handlers
from ostiary.protocol.restjson import Match
from ostiary.samlidp import web as samlidp_web
from ostiary.store import statistics
from ostiary.store.db import Store, reset_data
from ostiary.userpools import pool_gate, provisioned_limits, triggers, user_import
from ostiary.userpools.messages import outbox_rows
from ostiary.web import identity_issuer, import_upload, managed_login_assets, risk_feedback, scim, ui_logo

log = logging.getLogger("ostiary")


def build_runtime(settings: Settings, migrate: bool = True) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)
    store = Store(settings.effective_database_url)
    if migrate:
        store.migrate()
    with store.engine.begin() as conn:
        statistics.refresh_if_stale(conn)  # planner statistics (SQLite has no autovacuum to keep them)
    box = SecretBox(load_or_create_kek(settings.kek, settings.data_dir))
    hasher = PasswordHasher(
        settings.argon2_time_cost,
        settings.argon2_memory_kib,
        settings.argon2_parallelism,
        generated_key=box.mac_key("generated-temporary-password"),  # temporary passwords Ostiary draws
    )
    return Runtime(settings=settings, store=store, box=box, keys=KeyRing(store, box), passwords=hasher)


# The AWS API endpoints answer browsers from any origin (requests carry no cookies; signed calls carry
# their own credentials), as Cognito's endpoints do.
CORS_RESPONSE = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", b"x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date"),
]
CORS_PREFLIGHT = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET,POST,PUT,DELETE,OPTIONS"),
    (
        b"access-control-allow-headers",
        b"authorization,content-type,x-amz-date,x-amz-target,x-amz-user-agent,x-amz-security-token,"
        b"x-amz-content-sha256,x-amz-api-version,amz-sdk-invocation-id,amz-sdk-request,cache-control,"
        b"x-amz-sso_bearer_token",  # the sso portal API's bearer token (JS SDK's SSO client)
    ),
    (b"access-control-max-age", b"86400"),
]

# The OAuth 2.0 / OpenID Connect endpoints that browser apps call with fetch() from their own origin
# (oidc-client-ts, Amplify's signInWithRedirect): discovery and JWKS, and the domain's token,
# revocation, userInfo and JWKS endpoints. Any origin, never credentials (nothing there reads a
# cookie: the client authenticates itself in the request, userInfo with a bearer token). The hosted
# pages (/oauth2/authorize, /login, /logout…) are navigations and get none of this.
OAUTH_CORS_RESPONSE = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", b"WWW-Authenticate,Cache-Control,Pragma"),
]
OAUTH_CORS_HEADERS = b"authorization,content-type,dpop,x-amz-user-agent,x-requested-with,cache-control,pragma"
_GET = b"GET,OPTIONS"
_DOMAIN_CORS = {
    "oauth2/token": b"POST,OPTIONS",
    "oauth2/revoke": b"POST,OPTIONS",
    "oauth2/userInfo": b"GET,POST,OPTIONS",
    ".well-known/jwks.json": _GET,
}
_WELL_KNOWN_CORS = frozenset({".well-known/openid-configuration", ".well-known/jwks.json", ".well-known/jwks_uri"})


def oauth_cors_methods(path: str) -> bytes | None:
    """The methods a cross-origin caller may use on ``path`` (None: not a CORS endpoint)."""
    if path.startswith(DOMAIN_PATH):
        _, sep, rest = path[len(DOMAIN_PATH) :].partition("/")
        return _DOMAIN_CORS.get(rest) if sep else None
    _, sep, rest = path[1:].partition("/")
    return _GET if sep and rest in _WELL_KNOWN_CORS else None


def _with_cors(send: Send) -> Send:
    async def cors_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control-")]
            message = {**message, "headers": [*headers, *OAUTH_CORS_RESPONSE]}
        await send(message)

    return cors_send


class FrontDoor:
    """Raw ASGI entry: AWS API calls on ``/`` go straight to the dispatcher (no router, no middleware
    on the hot path), and so do rest-json calls (sso-oidc, sso, cognito-sync), recognized by their
    method and request URI (the dispatcher's ``rest`` router: the signature's credential scope names
    the service, or the URI of an unsigned operation does); ``POST /_domain/<domain>/oauth2/token``
    goes to the token endpoint (its only entrance); everything else (health, metrics, other OAuth
    endpoints, pages) goes to Starlette.

    Every request's body is read here, and only here, within its limit (``max_body_bytes``; the
    user-import upload ``max_upload_bytes``): a ``Content-Length`` over the limit is refused before
    anything is read, a streamed body as soon as the count passes it, so no more than the limit is
    ever buffered. Form-encoded bodies and query strings are limited to ``max_form_fields`` fields.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        web: Starlette,
        domains: DomainResolver,
        token_endpoint: TokenEndpoint,
        settings: Settings,
    ) -> None:
        self.dispatcher = dispatcher
        self.web = web
        self.domains = domains
        self.token_endpoint = token_endpoint
        self.max_body = settings.max_body_bytes
        self.max_upload = settings.max_upload_bytes
        self.max_fields = settings.max_form_fields

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.web(scope, receive, send)
            return
        api = scope["path"] == "/" and scope["method"] in ("GET", "POST", "OPTIONS")
        if api and scope["method"] == "OPTIONS":
            # CORS preflight: browser apps (Amplify, amazon-cognito-identity-js) call the API directly
            await _respond(send, 200, [*CORS_PREFLIGHT, (b"content-length", b"0")], b"")
            return
        route: Match | None = None
        if not api:
            scope = await self._domain_host(scope)
            if not scope.get("ostiary.domain_host"):  # a user pool domain's pages are never rest-json
                raw_path = _raw_path(scope)
                if scope["method"] == "OPTIONS":
                    requested = _header(scope, b"access-control-request-method")
                    if requested and self.dispatcher.rest.preflight(raw_path, requested.upper()):
                        await _respond(send, 200, [*CORS_PREFLIGHT, (b"content-length", b"0")], b"")
                        return
                else:
                    query = scope.get("query_string", b"").decode("latin-1")
                    route = self.dispatcher.rest.match(
                        scope["method"], raw_path, query, _header(scope, b"authorization")
                    )
                    api = route is not None
        path = scope["path"]
        cors = None if api else oauth_cors_methods(path)
        if cors is not None:
            if scope["method"] == "OPTIONS":
                await _respond(send, 200, _oauth_preflight(cors), b"")
                return
            send = _with_cors(send)
        limit = self.max_upload if not api and path.startswith(user_import.UPLOAD_PATH) else self.max_body
        if api and _header(scope, b"x-amz-target") in BRANDING_TARGETS:
            limit = max(limit, BRANDING_REQUEST_BYTES)
        declared = _content_length(scope)
        try:
            if declared is not None and declared > limit:
                raise _TooLarge
            body = await _read_body(receive, limit)
        except _TooLarge:
            await self._too_large(api, scope, send, route)
            return
        if body is None:  # the client went away
            return
        if api:
            await self._api(scope, body, send, route)
            return
        if _too_many_fields(scope, body, self.max_fields):
            await _web_error(send, path, 400, "Too many form fields or query parameters")
            return
        receive = _replay(body, receive)
        if token_endpoint_domain(path) is not None:  # the token endpoint's one entrance (no router)
            await self.token_endpoint(scope, receive, send)
            return
        await self.web(scope, receive, send)

    async def _api(self, scope: Scope, body: bytes, send: Send, route: Match | None = None) -> None:
        headers = _headers(scope)
        client = scope.get("client")
        req = HttpRequest(
            method=scope["method"],
            path=_raw_path(scope),
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            client_ip=client[0] if client else "",
            route=route,
        )
        resp = await self.dispatcher.handle(req)
        await _send_api(send, resp)

    async def _too_large(self, api: bool, scope: Scope, send: Send, route: Match | None = None) -> None:
        if api:
            resp = self.dispatcher.refuse(_headers(scope), RequestEntityTooLarge("Request entity too large"), route)
            await _send_api(send, resp)
        elif scope["path"].startswith(user_import.UPLOAD_PATH):  # S3's words for a pre-signed upload
            await _web_error(send, scope["path"], 413, "Your proposed upload exceeds the maximum allowed size")
        else:
            await _web_error(send, scope["path"], 413, "Request entity too large")

    async def _domain_host(self, scope: Scope) -> Scope:
        """A request to a user pool domain by its host name (``myapp.auth.<region>.<base>`` or a
        custom domain) is served as ``/_domain/<domain><path>``."""
        host = ""
        for raw_k, raw_v in scope["headers"]:
            if raw_k == b"host":
                host = raw_v.decode("latin-1")
                break
        if not host or host.split(":", 1)[0].replace(".", "").isdigit() or host.startswith(("localhost", "[")):
            return scope
        if scope["path"].startswith("/_ostiary/"):  # Ostiary's own resources (logos) on any host
            return scope
        domain = await to_thread.run_sync(self.domains.from_host, host)
        if domain is None:
            return scope
        path = f"{DOMAIN_PATH}{domain}{scope['path']}"
        return {**scope, "path": path, "raw_path": path.encode(), "ostiary.domain_host": True}


def _oauth_preflight(methods: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", b"*"),
        (b"access-control-allow-methods", methods),
        (b"access-control-allow-headers", OAUTH_CORS_HEADERS),
        (b"access-control-max-age", b"86400"),
        (b"content-length", b"0"),
    ]


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    """A request body over its limit."""


def _content_length(scope: Scope) -> int | None:
    for raw_k, raw_v in scope["headers"]:
        if raw_k == b"content-length":
            try:
                return int(raw_v)
            except ValueError:
                return None
    return None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, never buffering more than ``limit`` bytes (_TooLarge past it); None when the
    client disconnected."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that hands the already-read body over once, then waits on the client."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _too_many_fields(scope: Scope, body: bytes, limit: int) -> bool:
    if scope.get("query_string", b"").count(b"&") >= limit:
        return True
    if not body:
        return False
    for raw_k, raw_v in scope["headers"]:
        if raw_k == b"content-type" and raw_v.lower().startswith(b"application/x-www-form-urlencoded"):
            return body.count(b"&") >= limit
    return False


def _raw_path(scope: Scope) -> str:
    """The path as the client sent it (percent-encoded: rest-json labels are decoded one by one)."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    return raw.decode("latin-1").split("?", 1)[0]


# Create/UpdateManagedLoginBranding carry image assets: AWS documents a 2 MB request limit for them
BRANDING_REQUEST_BYTES = 2 * 1024 * 1024
BRANDING_TARGETS = frozenset(
    f"AWSCognitoIdentityProviderService.{name}ManagedLoginBranding" for name in ("Create", "Update")
)


def _header(scope: Scope, name: bytes) -> str | None:
    for raw_k, raw_v in scope["headers"]:
        if raw_k == name:
            return str(raw_v.decode("latin-1"))
    return None


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_k, raw_v in scope["headers"]:
        k = raw_k.decode("latin-1").lower()
        v = raw_v.decode("latin-1")
        headers[k] = f"{headers[k]},{v}" if k in headers else v
    return headers


async def _send_api(send: Send, resp: HttpResponse) -> None:
    out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in resp.headers.items()]
    out.append((b"content-length", str(len(resp.body)).encode()))
    out.extend(CORS_RESPONSE)
    await _respond(send, resp.status, out, resp.body)


async def _web_error(send: Send, path: str, status: int, message: str) -> None:
    """A refusal outside the AWS API: an OAuth error document on the OAuth endpoints, text elsewhere."""
    if "/oauth2/" in path:
        body = json.dumps({"error": "invalid_request", "error_description": message}).encode()
        ctype = b"application/json"
    else:
        body, ctype = message.encode(), b"text/plain; charset=utf-8"
    await _respond(send, status, [(b"content-type", ctype), (b"content-length", str(len(body)).encode())], body)


def set_switch_interval(microseconds: int) -> None:
    """The event loop's thread waits for the interpreter lock while a worker thread (a listing, a
    sign-in's Python around its C calls) holds it; the holder is asked to let go after the switch
    interval. 0 keeps Python's 5 ms: interleaved A/B runs (docs/performance.md, "2026-12-06 (second
    session)") found no difference in GetUser's p99 under mixed load between 5 and 1 ms, and 1 ms cost
    offloaded sign-ins and refreshes 5-8 % more CPU when the worker is saturated."""
    if microseconds == 0:
        return
    if not 100 <= microseconds <= 100_000:
        raise ValueError(f"setting switch_interval_us: {microseconds} is not 0 or between 100 and 100000")
    sys.setswitchinterval(microseconds / 1_000_000)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> ASGIApp:
    settings = settings or load_settings()
    caching.configure(settings)  # every per-process cache's lifetime and bound
    memory.start_trimmer()  # freed memory goes back to the kernel when the process is idle
    set_switch_interval(settings.switch_interval_us)
    httpserver.configure(settings.max_header_bytes)  # this process's HTTP protocol (workers included)
    runtime = runtime or build_runtime(settings)
    load_handlers()
    triggers.prepare(settings)  # Lambda trigger workers start now; trigger-firing operations leave the event loop
    dispatcher = Dispatcher(
        runtime,
        on_failure=audit.record_failure,  # audited operations' failures
        before_invoke=provisioned_limits.enforce if settings.provisioned_limits else None,  # rate limits
        guard=pool_gate.guard,  # recoveries in progress and secondary Regions (userpools/pool_gate.py)
    )
    check_dev_options(settings)
    if settings.dev:
        log.warning(
            "DEVELOPMENT MODE IS ON: test-control endpoints under /_ostiary/ are enabled; never expose this server"
        )
    if settings.dev_accept_any_key:
        log.warning(
            "DEVELOPMENT MODE: ANY ACCESS KEY IS ACCEPTED (dev_accept_any_key): an unknown key id acts as the "
            "root of the account it names (12 digits) or of the first account, and its signature is NOT checked"
        )

    async def health(_: Request) -> Response:
        ok = await to_thread.run_sync(runtime.store.ping)
        return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        payload, ctype = observability.metrics_payload()
        return Response(payload, media_type=ctype)

    async def dev_settings(_: Request) -> Response:
        # pid: which worker process answered (tests check that every worker gets connections)
        return JSONResponse({"dev": True, "pid": os.getpid(), "settings": describe(settings)})

    async def dev_outbox(request: Request) -> Response:
        destination = request.query_params.get("destination")
        try:
            limit = min(int(request.query_params.get("limit", "100")), 1000)
        except ValueError:
            return JSONResponse({"message": "limit must be a number"}, status_code=400)

        def read() -> list[dict[str, object]]:
            with runtime.store.read() as conn:
                return outbox_rows(conn, settings, destination, limit)

        return JSONResponse({"messages": await to_thread.run_sync(read)})

    async def dev_reset(request: Request) -> Response:
        """``POST /_ostiary/reset``: user pools and identity pools go; with ``?iam=true`` or the JSON body
        ``{"iam": true}`` also IAM and STS (every account but the first; the first keeps its root and
        the root key it started with). One transaction; this process's caches are cleared."""
        iam = await _reset_iam_flag(request)
        if iam is None:
            return JSONResponse({"message": 'iam must be true or false (?iam=true or {"iam": true})'}, status_code=400)

        def clear_iam(conn: Connection) -> None:
            reset_iam(conn, runtime.box, settings.root_access_key_id, settings.root_secret_access_key)

        await to_thread.run_sync(audit_spool.flush_all, runtime.store)  # events from before the reset go with it
        await to_thread.run_sync(lambda: reset_data(runtime.store, clear_iam if iam else None))
        caching.flush_all()
        dispatcher.forget()
        return JSONResponse({"reset": True, "iam": True} if iam else {"reset": True})

    async def dev_flush_caches(_: Request) -> Response:
        """``POST /_ostiary/caches/flush``: empty every per-process cache of this process (pools,
        clients, domains, keys, policies…), so the next request reads the database; answers the
        names of the caches flushed. Tests call it instead of waiting a cache's lifetime out."""
        flushed = caching.flush_all()
        dispatcher.forget()
        return JSONResponse({"flushed": flushed})

    routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    # the cognito-identity issuer's discovery and JWKS first: /{pool}/.well-known/… would catch them
    routes += identity_issuer.routes(runtime)
    domains = DomainResolver(runtime)
    routes += HostedUI(runtime, domains).routes()
    routes += ui_logo.routes(runtime)
    routes += managed_login_assets.routes(runtime)
    routes += risk_feedback.routes(runtime)  # /_feedback/auth-event (adaptive authentication's e-mail links)
    routes += scim.routes(runtime)  # /scim/<identity store id>/v2/… (identity store provisioning)
    routes += samlidp_web.routes(runtime)  # /start/<store>/saml/… (SAML IdP), POST /saml (AWS's SAML sign-in)
    routes += import_upload.routes(runtime)
    routes += wellknown.routes(runtime, domains)
    routes += access_portal.routes(runtime)  # /start/<store>…, /start/device, /authorize (the AWS access portal)
    if settings.dev:
        routes.append(Route("/_ostiary/settings", dev_settings, methods=["GET"]))
        routes.append(Route("/_ostiary/outbox", dev_outbox, methods=["GET"]))
        routes.append(Route("/_ostiary/reset", dev_reset, methods=["POST"]))
        routes.append(Route("/_ostiary/caches/flush", dev_flush_caches, methods=["POST"]))

    # the gateway (docs/gateway.md) in this process: its file is read now, a mistake stops the start
    gateway = (
        gateway_config.load(settings.gateway_config, settings=settings, store=runtime.store)
        if (settings.gateway_config)
        else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        listeners = gateway_server.start_in_loop(gateway, settings.max_header_bytes) if gateway else None
        yield
        if listeners is not None:
            listeners.stop()
            await listeners.wait()
        await asyncio.to_thread(delivery.drain, 5.0)  # messages still queued for their server
        await asyncio.to_thread(audit_spool.close_all, runtime.store)  # audit events still pending
        runtime.store.dispose()

    web = Starlette(routes=routes, lifespan=lifespan)
    web.state.runtime = runtime
    return FrontDoor(dispatcher, web, domains, TokenEndpoint(runtime, domains), settings)


async def _reset_iam_flag(request: Request) -> bool | None:
    """The reset's ``iam`` parameter, from the query string or a JSON body: False when absent, None
    when malformed."""
    raw: object = request.query_params.get("iam")
    body = await request.body()
    if raw is None and body.strip():
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        if not isinstance(doc, dict):
            return None
        raw = doc.get("iam")
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    return None


def create_app_from_env() -> ASGIApp:
    """Factory used by uvicorn workers: settings come from the OSTIARY_* environment."""
    settings = load_settings()
    observability.setup_logging(settings.log_format, settings.log_level)
    return create_app(settings)
