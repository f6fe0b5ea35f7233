"""Forward-auth endpoints: the gateway's routes and authorizers for proxies people already run.

The proxy asks before it forwards a request; the answer is the route's authorizer's decision:
200 with the claim headers (``upstream_headers.for_decision``: ``X-Authorizer-*``, as the gateway's
own proxy sends them upstream) when allowed, the authorizer's 401/403/500 and body otherwise, 404
``{"message":"Not Found"}`` when no route matches. A route without an authorizer answers 200.

- **nginx** ``auth_request``: ``GET /_gateway/auth/nginx``; the original method and URI come from
  ``X-Original-Method`` and ``X-Original-URI`` (set by the operator with ``proxy_set_header``), the
  host from ``X-Original-Host`` (else ``Host``), the client's address from ``X-Real-IP``.
- **Traefik** ``ForwardAuth``: ``/_gateway/auth/traefik``; ``X-Forwarded-Method``,
  ``X-Forwarded-Proto``, ``X-Forwarded-Host``, ``X-Forwarded-Uri``, ``X-Forwarded-For`` (Traefik sets
  them all).
- **Envoy** ``ext_authz`` (HTTP service): ``/_gateway/auth/envoy<original path>``; Envoy sends the
  original method, appends the original path (and query) to the service's ``path_prefix`` and
  forwards the headers it is told to (``allowed_headers``); the client's address from
  ``X-Envoy-External-Address`` or the last ``X-Forwarded-For`` entry.

Who may call them: these headers name the request to judge, so whoever can reach the endpoints could
ask about any request (and learn the claims of a token it holds — nothing more than the gateway's
proxy would pass upstream). They are therefore served only on a listener of their own
(``[forward_auth] listen``, never the gateway's public listener), answer only peers in
``allowed_peers`` (default loopback: the proxy on the same host; 403 to others), and a
``shared_secret`` may be required in ``X-Ostiary-Forward-Auth-Secret`` (compared in constant time).

The request body is not part of a forward-auth check (none of these proxies sends it by default): an
IAM-authorized route behind forward-auth verifies signatures over an empty payload, so only bodiless
requests (GET, HEAD, DELETE…) pass it; sign bodies through the gateway's own proxy instead.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ostiary.gateway import routing, upstream_headers
from ostiary.gateway.config import GatewayConfig, Listen, parse_listen
from ostiary.gateway.model import AuthRequest, Decision, Outcome
from ostiary.gateway.proxy import request_id
from ostiary.gateway.sections import ConfigError, Section

log = logging.getLogger("ostiary.gateway.forward_auth")

PREFIX = "/_gateway/auth/"
SECRET_HEADER = "x-ostiary-forward-auth-secret"
MAX_URI = 8192
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_REFUSALS: Mapping[Outcome, tuple[int, bytes]] = {
    Outcome.UNAUTHORIZED: (401, b'{"message":"Unauthorized"}'),
    Outcome.FORBIDDEN: (403, b'{"message":"Forbidden"}'),
    Outcome.ERROR: (500, b'{"message":null}'),
}
_NOT_FOUND = (404, b'{"message":"Not Found"}')
_BAD_REQUEST = (400, b'{"message":"Bad Request"}')
_NOT_ALLOWED = (403, b'{"message":"Forbidden"}')
# the headers that describe the original request to these endpoints: never part of it
_CONTROL = frozenset(
    {
        "x-original-method",
        "x-original-uri",
        "x-original-host",
        "x-forwarded-method",
        "x-forwarded-uri",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-for",
        "x-forwarded-port",
        "x-real-ip",
        "x-envoy-external-address",
        SECRET_HEADER,
        "content-length",
        "transfer-encoding",
    }
)
_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@dataclass(frozen=True)
class ForwardAuthSettings:
    """The ``[forward_auth]`` table."""

    listen: Listen
    allowed_peers: tuple[IpNetwork, ...] = _LOOPBACK
    shared_secret: str = ""

    def allows(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in net for net in self.allowed_peers)


def parse(section: Mapping[str, Any]) -> ForwardAuthSettings:
    """``[forward_auth]``: ``listen`` (required: a listener of its own), ``allowed_peers`` (addresses or
    networks; default loopback), ``shared_secret`` (optional, at least 16 characters)."""
    s = Section("forward_auth", section)
    listen = parse_listen(s.string("listen"), s.key("listen"))
    peers: list[IpNetwork] = []
    for item in s.strings("allowed_peers", ("127.0.0.0/8", "::1/128")):
        try:
            peers.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{s.key('allowed_peers')}: not an address or network: {item!r}") from None
    secret = s.string("shared_secret", "", max_length=1024)
    if secret and len(secret) < 16:
        raise ConfigError(f"{s.key('shared_secret')}: at least 16 characters")
    s.reject_unknown()
    return ForwardAuthSettings(listen, tuple(peers), secret)


@dataclass(frozen=True)
class Original:
    """The request the proxy asks about."""

    method: str
    path: str
    raw_query: str
    host: str
    source_ip: str


def _first(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k == name), None)


def _split_uri(uri: str) -> tuple[str, str] | None:
    if not uri.startswith("/") or len(uri) > MAX_URI or any(c in uri for c in "\r\n\x00 #"):
        return None
    path, _, query = uri.partition("?")
    return path, query


def original(
    kind: str, method: str, rest: str, query: str, headers: list[tuple[str, str]], peer: str
) -> Original | None:
    """What ``kind`` of proxy says the original request was; None when the headers do not say."""
    if kind == "nginx":
        o_method, uri = _first(headers, "x-original-method"), _first(headers, "x-original-uri")
        if not o_method or not uri:
            return None
        parts = _split_uri(uri)
        host = _first(headers, "x-original-host") or _first(headers, "host") or ""
        source = _first(headers, "x-real-ip") or peer
    elif kind == "traefik":
        o_method, uri = _first(headers, "x-forwarded-method"), _first(headers, "x-forwarded-uri")
        if not o_method or not uri:
            return None
        parts = _split_uri(uri)
        host = _first(headers, "x-forwarded-host") or _first(headers, "host") or ""
        forwarded = [a.strip() for v in (v for k, v in headers if k == "x-forwarded-for") for a in v.split(",")]
        source = forwarded[-1] if forwarded and forwarded[-1] else peer
    elif kind == "envoy":
        o_method = method
        parts = _split_uri("/" + rest + (f"?{query}" if query else ""))
        host = _first(headers, "host") or ""
        forwarded = [a.strip() for v in (v for k, v in headers if k == "x-forwarded-for") for a in v.split(",")]
        source = _first(headers, "x-envoy-external-address") or (forwarded[-1] if forwarded else "") or peer
    else:
        return None
    if parts is None or not o_method.isalpha() or len(o_method) > 16:
        return None
    try:
        ipaddress.ip_address(source)
    except ValueError:
        source = peer
    return Original(o_method.upper(), parts[0], parts[1], host[:256], source)


class ForwardAuthApp:
    """The ASGI app of the forward-auth listener."""

    def __init__(self, config: GatewayConfig, settings: ForwardAuthSettings) -> None:
        self.config = config
        self.settings = settings
        self._secret = settings.shared_secret.encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
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
        rid = request_id()
        status, body, extra, decision, route_key = await self._decide(scope, rid)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (upstream_headers.CLIENT_REQUEST_ID.encode(), rid.encode()),
            *((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        log.info(
            "forward-auth %s %s",
            route_key,
            status,
            extra={
                "request_id": rid,
                "route": route_key,
                "status": status,
                "outcome": decision.outcome.value if decision else "",
                "reason": decision.reason if decision else "",
            },
        )

    async def _decide(self, scope: Any, rid: str) -> tuple[int, bytes, list[tuple[str, str]], Decision | None, str]:
        peer = scope["client"][0] if scope.get("client") else ""
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        if not self.settings.allows(peer):
            return (*_NOT_ALLOWED, [], None, "-")
        if self._secret:
            given = (_first(headers, SECRET_HEADER) or "").encode("latin-1")
            if not hmac.compare_digest(given, self._secret):
                return (*_NOT_ALLOWED, [], None, "-")
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        if not raw_path.startswith(PREFIX):
            return (*_NOT_FOUND, [], None, "-")
        kind, _, rest = raw_path[len(PREFIX) :].partition("/")
        query = scope.get("query_string", b"").decode("latin-1")
        found_original = original(kind, str(scope["method"]), rest, query, headers, peer)
        if found_original is None:
            return (*(_BAD_REQUEST if kind in ("nginx", "traefik", "envoy") else _NOT_FOUND), [], None, "-")
        o = found_original
        found = routing.match(self.config, o.method, o.path)
        if found is None:
            return (*_NOT_FOUND, [], None, "-")
        route = found.route
        extra = [(upstream_headers.REQUEST_ID, rid)]
        if route.authorizer is None:
            return 200, b"{}", extra, None, route.key
        # the original request's own headers: the control headers out, its host in
        own = [(k, v) for k, v in headers if k not in _CONTROL and k != "host"]
        if o.host:
            own.append(("host", o.host))
        gateway = self.config.gateway
        request = AuthRequest(
            method=o.method,
            path=o.path,
            raw_query=o.raw_query,
            headers=tuple(own),
            source_ip=o.source_ip,
            route_key=route.key,
            path_parameters=found.path_parameters,
            api_id=gateway.api_id,
            stage=gateway.stage,
            region=gateway.region,
            account_id=gateway.account_id,
            host=o.host,
            body=None,
            request_id=rid,
        )
        try:
            decision = await route.authorizer.authorize(request, route.authorization_scopes)
        except Exception:
            log.exception("authorizer %s failed", route.authorizer_name, extra={"request_id": rid})
            decision = Decision(Outcome.ERROR, "the authorizer raised")
        if decision.allowed:
            extra += upstream_headers.for_decision(decision, route.authorizer_name)
            return 200, b"{}", extra, decision, route.key
        status, default = _REFUSALS[decision.outcome]
        body = default if decision.body is None else json.dumps(dict(decision.body)).encode()
        if decision.error_type:
            extra.append(("x-amzn-errortype", decision.error_type))
        return status, body, extra, decision, route.key


def build_app(config: GatewayConfig, section: Mapping[str, Any]) -> tuple[ForwardAuthApp, Listen]:
    """The forward-auth listener's app and address from the ``[forward_auth]`` table."""
    settings = parse(section)
    return ForwardAuthApp(config, settings), settings.listen
