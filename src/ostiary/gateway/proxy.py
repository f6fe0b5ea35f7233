"""The gateway's request path: route, authorize, forward, stream back (one ASGI app, no framework).

```
request ─ route (routing.match; none → 404 {"message":"Not Found"})
        ─ Content-Length over max_body_bytes → 413 {"message":"Request Entity Too Large"}
        ─ authorizer (if the route has one): 401 / 403 / 500 answered here, never forwarded
        ─ upstream request: the client's headers without hop-by-hop ones, without any X-Authorizer-*
          or request id the client sent (upstream_headers.strip), with the caller's headers
          (upstream_headers.for_decision), X-Forwarded-For/Proto/Host/Port and X-Amzn-RequestId
        ─ body streamed to the upstream as it arrives (counted: past max_body_bytes the upload is
          cut and the client gets 413 if no response began), response streamed back as it arrives
```

One ``httpx.AsyncClient`` per upstream origin keeps a bounded pool of keep-alive connections
(``upstream_max_connections``, ``upstream_keepalive``, ``upstream_keepalive_seconds``). No redirect
is followed, no proxy from the environment is used, nothing is decompressed. An upstream that does
not connect → 502 ``{"message":"Internal Server Error"}``; one that does not answer within
``timeout_seconds`` (between two reads, the route's or the gateway's; API Gateway's 29 s by
default) → 504 ``{"message":"Endpoint request timed out"}``.

X-Forwarded-*: a client's own X-Forwarded-* and Forwarded headers are dropped unless the peer is in
``trusted_proxies``; then its X-Forwarded-For is extended with the peer, its Proto/Host/Port kept,
and the caller's address (``$context.identity.sourceIp``) is the right-most address in
X-Forwarded-For that is not a trusted proxy.

The upstream is the operator's configuration, not a tenant's or a caller's choice, so these
connections are not subject to ``egress``'s address policy (docs/security.md, "The gateway").
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from ostiary.gateway import metrics, routing, upstream_headers
from ostiary.gateway.config import GatewayConfig
from ostiary.gateway.model import AuthRequest, Decision, Outcome, needs_body
from ostiary.gateway.routing import Route
from ostiary.observability import metrics_payload

Scope = dict[str, Any]
Receive = Any
Send = Any

log = logging.getLogger("ostiary.gateway")

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_FORWARDING = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "forwarded"})
# hop-by-hop ones, and those the gateway's own server writes (date) or the gateway sets
_DROPPED_RESPONSE_HEADERS = HOP_BY_HOP | {"date", upstream_headers.CLIENT_REQUEST_ID}
_HTTPX_DEFAULTS = frozenset({"accept", "accept-encoding", "connection", "user-agent"})
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9._-]+)\+?\}")
_REFUSALS: Mapping[Outcome, tuple[int, bytes]] = {
    Outcome.UNAUTHORIZED: (401, b'{"message":"Unauthorized"}'),
    Outcome.FORBIDDEN: (403, b'{"message":"Forbidden"}'),
    Outcome.ERROR: (500, b'{"message":null}'),
}
NOT_FOUND = (404, b'{"message":"Not Found"}')
TOO_LARGE = (413, b'{"message":"Request Entity Too Large"}')
TIMED_OUT = (504, b'{"message":"Endpoint request timed out"}')
BAD_GATEWAY = (502, b'{"message":"Internal Server Error"}')


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


def request_id() -> str:
    """``$context.requestId``: 16 URL-safe random characters."""
    return secrets.token_urlsafe(12)


def upstream_url(route: Route, params: Mapping[str, str], raw_path: str, raw_query: str) -> str:
    """The integration URL, as API Gateway's HTTP proxy integrations build it: an upstream URL with
    a path is the URL requested, its placeholders (``{id}``; ``{proxy}`` for ``{proxy+}``) replaced
    by the path parameters, percent-encoded (a greedy one keeps its slashes); an upstream URL without
    a path (``http://host:port``) gets the request's path as received. The query is passed on."""
    base = route.upstream
    if urlsplit(base).path not in ("", "/"):

        def sub(found: re.Match[str]) -> str:
            value = params.get(found.group(1), "")
            greedy = route.pattern.greedy and route.pattern.segments[-1].text == found.group(1)
            return quote(value, safe="/" if greedy else "")

        url = _PLACEHOLDER.sub(sub, base)
    else:
        url = base.rstrip("/") + raw_path
    return url + ("?" + raw_query if raw_query else "")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _forwarded_for(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(item.strip() for item in value.split(",") if item.strip())
    return out[-64:]


class Gateway:
    """The ASGI app of the gateway's main listener."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.settings = config.gateway
        self._clients: dict[str, httpx.AsyncClient] = {}

    # --- upstream connections ---------------------------------------------------------------

    def _client(self, origin: str) -> httpx.AsyncClient:
        client = self._clients.get(origin)
        if client is None:
            s = self.settings
            client = httpx.AsyncClient(
                limits=httpx.Limits(
                    max_connections=s.upstream_max_connections,
                    max_keepalive_connections=s.upstream_keepalive,
                    keepalive_expiry=s.upstream_keepalive_seconds,
                ),
                timeout=httpx.Timeout(s.timeout_seconds, connect=s.connect_timeout_seconds),
                follow_redirects=False,
                trust_env=False,
            )
            self._clients[origin] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    # --- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        started = time.perf_counter()
        rid = request_id()
        state: dict[str, Any] = {"route": "-", "status": 0}
        try:
            await self._handle(scope, receive, send, rid, state)
        finally:
            metrics.request(state["route"], state["status"], time.perf_counter() - started)
            if self.settings.access_log:
                log.info(
                    "%s %s %s",
                    scope.get("method", ""),
                    scope.get("path", ""),
                    state["status"],
                    extra={
                        "request_id": rid,
                        "route": state["route"],
                        "status": state["status"],
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                        "source_ip": state.get("source_ip", ""),
                        "authorizer": state.get("authorizer", ""),
                        "outcome": state.get("outcome", ""),
                        "reason": state.get("reason", ""),
                    },
                )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _answer(
        self,
        send: Send,
        answer: tuple[int, bytes],
        rid: str,
        state: dict[str, Any],
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        status, body = answer
        state["status"] = status
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (upstream_headers.CLIENT_REQUEST_ID.encode(), rid.encode()),
            *(extra or []),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: Scope, receive: Receive, send: Send, rid: str, state: dict[str, Any]) -> None:
        method = str(scope["method"]).upper()
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        raw_query = scope.get("query_string", b"").decode("latin-1")
        if not raw_path.startswith("/"):  # absolute-form or "*" request targets: no path of this API
            await self._answer(send, (400, b'{"message":"Bad Request"}'), rid, state)
            return
        found = routing.match(self.config, method, raw_path)
        if found is None:
            await self._answer(send, NOT_FOUND, rid, state)
            return
        route = found.route
        state["route"] = route.key
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        length_text = next((v for k, v in headers if k == "content-length"), None)
        chunked = any(k == "transfer-encoding" for k, _ in headers)
        limit = self.settings.max_body_bytes
        if length_text is not None:
            if not length_text.strip().isdigit():
                await self._answer(send, (400, b'{"message":"Bad Request"}'), rid, state)
                return
            if int(length_text) > limit:
                await self._answer(send, TOO_LARGE, rid, state)
                return
        has_body = chunked or (length_text is not None and int(length_text) > 0)

        peer = scope["client"][0] if scope.get("client") else ""
        trusted = bool(peer) and self.settings.trusts(peer)
        source_ip = peer
        forwarded_for = _forwarded_for([v for k, v in headers if k == "x-forwarded-for"]) if trusted else []
        for address in reversed(forwarded_for):
            source_ip = address
            if not self.settings.trusts(address):
                break
        state["source_ip"] = source_ip
        host = next((v for k, v in headers if k == "host"), "")

        body: bytes | None = None
        decision: Decision | None = None
        if route.authorizer is not None:
            if needs_body(route.authorizer):
                try:
                    body = await _read_all(receive, limit) if has_body else b""
                except BodyTooLarge:
                    await self._answer(send, TOO_LARGE, rid, state)
                    return
                except ClientGone:
                    state["status"] = 499
                    return
            request = AuthRequest(
                method=method,
                path=raw_path,
                raw_query=raw_query,
                headers=tuple(headers),
                source_ip=source_ip,
                route_key=route.key,
                path_parameters=found.path_parameters,
                api_id=self.settings.api_id,
                stage=self.settings.stage,
                region=self.settings.region,
                account_id=self.settings.account_id,
                host=host,
                body=body,
                request_id=rid,
            )
            try:
                decision = await route.authorizer.authorize(request, route.authorization_scopes)
            except Exception:
                log.exception("authorizer %s failed", route.authorizer_name, extra={"request_id": rid})
                decision = Decision(Outcome.ERROR, "the authorizer raised")
            state.update(authorizer=route.authorizer_name, outcome=decision.outcome.value, reason=decision.reason)
            metrics.DECISIONS.labels(route.authorizer_name or "-", decision.outcome.value).inc()
            if not decision.allowed:
                status, default = _REFUSALS[decision.outcome]
                text = default if decision.body is None else json.dumps(dict(decision.body)).encode()
                extra = [(b"x-amzn-errortype", decision.error_type.encode("latin-1"))] if decision.error_type else []
                await self._answer(send, (status, text), rid, state, extra)
                return

        # --- the upstream request ---
        out: list[tuple[str, str]] = []
        connection_tokens = {
            t.strip().lower() for k, v in headers if k == "connection" for t in v.split(",") if t.strip()
        }
        for name, value in upstream_headers.strip(headers):
            if name in HOP_BY_HOP or name in connection_tokens or name == "host":
                continue
            if name in _FORWARDING:
                if trusted and name != "x-forwarded-for":
                    out.append((name, value))
                continue
            out.append((name, value))
        server = scope.get("server") or ("", 0)
        out.append(("x-forwarded-for", ", ".join([*forwarded_for, peer]) if peer else ", ".join(forwarded_for)))
        names = {n for n, _ in out}
        if "x-forwarded-proto" not in names:
            out.append(("x-forwarded-proto", str(scope.get("scheme", "http"))))
        if "x-forwarded-host" not in names and host:
            out.append(("x-forwarded-host", host))
        if "x-forwarded-port" not in names and server[1]:
            out.append(("x-forwarded-port", str(server[1])))
        out.append((upstream_headers.REQUEST_ID, rid))
        if decision is not None:
            out.extend(upstream_headers.for_decision(decision, route.authorizer_name))

        content: bytes | AsyncIterator[bytes] | None
        if body is not None:
            content = body
            out = [(k, v) for k, v in out if k != "content-length"]
            if body or has_body:
                out.append(("content-length", str(len(body))))
        elif has_body:
            content = _stream(receive, limit)
        else:
            content = None

        url = upstream_url(route, found.path_parameters, raw_path, raw_query)
        client = self._client(_origin(url))
        timeout = route.timeout_seconds or self.settings.timeout_seconds
        try:
            upstream_request = client.build_request(
                method,
                url,
                headers=out,
                content=content,
                timeout=httpx.Timeout(timeout, connect=min(timeout, self.settings.connect_timeout_seconds)),
            )
            sent = {name for name, _ in out}
            for name in _HTTPX_DEFAULTS - sent:  # httpx's own defaults: the upstream gets the client's
                del upstream_request.headers[name]
            response = await client.send(upstream_request, stream=True)
        except Exception as exc:  # every failure before the response head is answered
            await self._upstream_failed(exc, send, rid, state, route)
            return
        try:
            response_headers = [
                (k, v) for k, v in response.headers.raw if k.lower().decode("latin-1") not in _DROPPED_RESPONSE_HEADERS
            ]
            response_headers.append((upstream_headers.CLIENT_REQUEST_ID.encode(), rid.encode()))
            state["status"] = response.status_code
            await send({"type": "http.response.start", "status": response.status_code, "headers": response_headers})
            try:
                async for chunk in response.aiter_raw():
                    if chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except httpx.HTTPError as exc:
                # the response head is gone: the client sees the connection end early
                metrics.UPSTREAM_ERRORS.labels(route.key, "aborted").inc()
                log.warning("upstream response aborted: %s", type(exc).__name__, extra={"request_id": rid})
                return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    async def _upstream_failed(
        self, exc: BaseException, send: Send, rid: str, state: dict[str, Any], route: Route
    ) -> None:
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, BodyTooLarge):
                await self._answer(send, TOO_LARGE, rid, state)
                return
            if isinstance(cause, ClientGone):
                state["status"] = 499
                return
            cause = cause.__cause__ or cause.__context__
        if isinstance(exc, httpx.TimeoutException):
            kind, answer = "timeout", TIMED_OUT
        elif isinstance(exc, httpx.ConnectError):
            kind, answer = "connect", BAD_GATEWAY
        elif isinstance(exc, httpx.HTTPError):
            kind, answer = "protocol", BAD_GATEWAY
        else:
            log.exception("gateway error", extra={"request_id": rid})
            kind, answer = "internal", (500, b'{"message":"Internal Server Error"}')
        metrics.UPSTREAM_ERRORS.labels(route.key, kind).inc()
        state["reason"] = f"upstream {kind}: {type(exc).__name__}"
        await self._answer(send, answer, rid, state)


async def _stream(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    """The request body as it arrives; BodyTooLarge past ``limit`` bytes, ClientGone on disconnect."""
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _read_all(receive: Receive, limit: int) -> bytes:
    parts = [chunk async for chunk in _stream(receive, limit)]
    return b"".join(parts)


async def admin_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The admin listener: ``GET /health`` and ``GET /metrics``."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    if scope["path"] == "/health":
        status, body, ctype = 200, b'{"status":"ok"}', "application/json"
    elif scope["path"] == "/metrics":
        payload, ctype = metrics_payload()
        status, body = 200, payload
    else:
        status, body, ctype = 404, b'{"message":"Not Found"}', "application/json"
    headers = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
