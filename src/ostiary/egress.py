"""Every HTTP request Ostiary sends out goes through here: one place that decides where the server
may connect to on a tenant's or caller's behalf (server-side request forgery, issue 10).

A URL that a tenant or caller chose (a SAML ``MetadataURL``, an OIDC issuer and the endpoints of
its discovery document, an IAM OpenID Connect provider's URL, …) is fetched only when:

- its scheme is https — or http when the operator allow-lists the host or the network it is on;
- every address its host name resolves to (resolved here, with ``getaddrinfo``; never judged by
  the name's text) is a public unicast address, or lies in a network the operator allow-lists
  (setting ``egress_allow``). Refused: loopback, private (RFC 1918, fc00::/7), link-local
  (169.254/16 with the cloud metadata address, fe80::/10), shared address space (100.64/10),
  multicast, unspecified, broadcast, documentation/benchmark/reserved ranges, and IPv6 forms that
  carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible, 6to4, NAT64, Teredo)
  whose IPv4 address is refused. Numeric oddities (``2130706433``, ``0177.0.0.1``, ``127.1``) are
  resolved like any name, so they are judged by the address they stand for;
- the connection goes to one of the very addresses that were checked (the transport connects to
  them itself, so there is no second resolution and DNS rebinding cannot switch the address),
  while the Host header, TLS SNI and certificate verification still use the host name;
- no redirect is followed (a 3xx answer is a failure); the body is read as a stream and the fetch
  aborts past ``egress_max_bytes``; the whole exchange (connect, TLS, request, body) must finish
  within ``egress_timeout_seconds``; no proxy from the environment is used; the response is asked
  for without compression (a compressed answer is refused, so the size cap is the real size).

Destinations the operator configured (``sms_webhook_url``, http targets of ``lambda_functions``,
the issuers of ``federation_issuers`` and the endpoints their discovery documents name, AWS's fixed
social endpoints) are fetched with ``trusted=True``: the address policy and the https rule do not
apply to them, the caps and the no-redirect rule do.

Failures are typed: :class:`EgressRefused` (the policy refused the destination; nothing was sent)
and :class:`EgressFailed` (resolution, connection, TLS, timeout, redirect, size or encoding).
Their messages never contain what the destination answered; callers turn them into their
operation's own error with a message of their own.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import json
import os
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpcore
import httpx

from ostiary.config import Settings
from ostiary.store import movable

DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_TIMEOUT = 5.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host, port) → the addresses the host name stands for, as text
Resolver = Callable[[str, int], Sequence[str]]


class EgressError(Exception):
    """A fetch that did not happen or did not complete; the message names no response content."""


class EgressRefused(EgressError):
    """The destination is not one Ostiary may fetch from (address policy, scheme); nothing was sent."""


class EgressFailed(EgressError):
    """The fetch was allowed but failed: resolution, connection, TLS, time or size cap, redirect."""


class EgressTimeout(EgressFailed):
    """The fetch did not finish within its time cap."""


# --- the address classifier -----------------------------------------------------------------------

_V4_REFUSED: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "unspecified"),  # "this network", incl. 0.0.0.0
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared address space (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),  # incl. the cloud metadata address 169.254.169.254
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # incl. the broadcast address 255.255.255.255
    )
)
_V6_REFUSED: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), why)
    for net, why in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible"),  # deprecated (RFC 4291 §2.5.5.1)
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/23", "IETF protocol assignments"),  # incl. Teredo 2001::/32
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment routing"),
        ("fc00::/7", "private (unique local)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped, NAT64 64:ff9b::/96, 6to4), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address (None: it is)."""
    inner = embedded_ipv4(address)
    if inner is not None:
        why = refusal(inner)
        return f"{why} (in IPv6 form)" if why else None
    if isinstance(address, ipaddress.IPv4Address):
        for net4, why in _V4_REFUSED:
            if address in net4:
                return why
        return None
    plain = ipaddress.IPv6Address(int(address))  # without a zone (scope) id
    for net6, why in _V6_REFUSED:
        if plain in net6:
            return why
    if plain not in _V6_GLOBAL_UNICAST:
        return "reserved"
    return None


def parse_address(text: str) -> IPAddress:
    return ipaddress.ip_address(text.split("%", 1)[0])


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the OS resolver, as a connection would use it)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# --- the policy --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """A URL that passed the policy, with the addresses a connection may use."""

    url: httpx.URL
    host: str
    port: int
    addresses: tuple[str, ...]


def parse_allow(value: str | Iterable[str]) -> tuple[tuple[IPNetwork, ...], frozenset[str]]:
    """``egress_allow``: networks (CIDR or single addresses) and host names, comma-separated."""
    items = value.split(",") if isinstance(value, str) else list(value)
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for raw in items:
        item = str(raw).strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        name = item.lower().rstrip(".")
        if "/" in name or ":" in name or not name.replace("-", "").replace(".", "").replace("_", "").isalnum():
            raise ValueError(f"setting egress_allow: {item!r} is neither a network (CIDR) nor a host name")
        hosts.add(name)
    return tuple(networks), frozenset(hosts)


@dataclass(frozen=True)
class Policy:
    """Where fetches may go, and their caps."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = DEFAULT_TIMEOUT
    resolver: Resolver = field(default=system_resolver, compare=False)
    ca_bundle: str = ""  # a PEM file of CAs trusted besides the public ones (setting egress_ca_bundle)

    def allowed_address(self, address: IPAddress) -> bool:
        """The operator allow-lists the address (or the IPv4 address it carries)."""
        inner = embedded_ipv4(address)
        plain = address if isinstance(address, ipaddress.IPv4Address) else ipaddress.IPv6Address(int(address))
        return any(plain in net or (inner is not None and inner in net) for net in self.networks)

    def check(self, url: str, *, trusted: bool = False) -> Destination:
        """The destination of ``url`` if the policy lets Ostiary fetch it; resolves the host once.
        Raises EgressRefused or EgressFailed (the name does not resolve)."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError):
            raise EgressRefused("not a valid URL") from None
        if parsed.scheme not in ("http", "https") or not parsed.raw_host:
            raise EgressRefused("only http and https URLs are fetched")
        if parsed.userinfo and not trusted:
            raise EgressRefused("URLs with credentials are not fetched")
        host = parsed.raw_host.decode("ascii").lower()
        if "%" in host:
            raise EgressRefused("IPv6 zone identifiers are not fetched")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        named = host.rstrip(".") in self.hosts
        literal: IPAddress | None
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        # https unless the operator allow-lists the destination: a literal address must be in an
        # allowed network; a name must resolve into allowed networks only (checked below)
        plain_http = parsed.scheme == "http" and not (trusted or named)
        if plain_http and literal is not None and not self.allowed_address(literal):
            raise EgressRefused("only https URLs are fetched")
        try:
            found = list(self.resolver(host, port))
        except (OSError, UnicodeError, ValueError):
            raise EgressFailed("the host name does not resolve") from None
        addresses: list[IPAddress] = []
        for text in found:
            try:
                addresses.append(parse_address(text))
            except ValueError:
                raise EgressFailed("the host name resolves to something that is not an address") from None
        if not addresses:
            raise EgressFailed("the host name does not resolve")
        if not (trusted or named):
            for address in addresses:
                if self.allowed_address(address):
                    continue
                if parsed.scheme == "http":
                    raise EgressRefused("only https URLs are fetched")
                why = refusal(address)
                if why is not None:
                    raise EgressRefused(f"the host resolves to a {why} address")
        return Destination(parsed, host, port, tuple(str(a) for a in addresses))

    def require_https(self, url: str, *, trusted: bool = False) -> None:
        """The URL's form as a setting to keep for later fetches: https with a host, or http to a
        destination the operator allow-lists (which resolves the name). Raises EgressRefused."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError):
            raise EgressRefused("not a valid URL") from None
        if parsed.scheme == "https" and parsed.raw_host:
            return
        if parsed.scheme != "http" or not parsed.raw_host:
            raise EgressRefused("only https URLs are fetched")
        if trusted:
            return
        try:
            self.check(url)
        except EgressError:
            raise EgressRefused("only https URLs are fetched") from None

    def fetch(
        self,
        method: str,
        url: str,
        *,
        trusted: bool = False,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: Any = None,
        basic_auth: tuple[str, str] | None = None,
        max_bytes: int | None = None,
        timeout: float | None = None,
    ) -> Fetched:
        """One request to ``url`` under the policy; the response whatever its status, except 3xx."""
        movable.pin()  # an outbound call is not made twice by a request run again (store/movable.py)
        destination = self.check(url, trusted=trusted)
        limit = self.max_bytes if max_bytes is None else max_bytes
        seconds = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + seconds
        sent: dict[str, str] = {"Accept-Encoding": "identity", **(headers or {})}
        content: bytes | None = None
        if data is not None:
            content = urlencode(dict(data)).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif json_body is not None:
            content = json.dumps(json_body, separators=(",", ":")).encode()
            sent.setdefault("Content-Type", "application/json")
        if basic_auth is not None:
            pair = f"{basic_auth[0]}:{basic_auth[1]}".encode()
            sent["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        transport = _PinnedTransport(destination, deadline, self.ca_bundle)
        try:
            with (
                httpx.Client(transport=transport, trust_env=False, follow_redirects=False, timeout=seconds) as client,
                client.stream(method, destination.url, headers=sent, content=content) as response,
            ):
                if 300 <= response.status_code < 400:
                    raise EgressFailed("the destination answered with a redirect, which is not followed")
                encoding = response.headers.get("content-encoding", "identity").strip().lower()
                if encoding not in ("", "identity"):
                    raise EgressFailed("the destination answered with a compressed body")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise EgressFailed(f"the response is larger than {limit} bytes")
                body = bytearray()
                for chunk in response.iter_raw():
                    body.extend(chunk)
                    if len(body) > limit:
                        raise EgressFailed(f"the response is larger than {limit} bytes")
                    if time.monotonic() > deadline:
                        raise EgressTimeout(f"the response took longer than {seconds:g} seconds")
                return Fetched(response.status_code, response.headers, bytes(body))
        except (httpx.TimeoutException, httpcore.TimeoutException):
            raise EgressTimeout(f"the destination did not answer within {seconds:g} seconds") from None
        except (httpx.HTTPError, httpcore.ConnectError, httpcore.NetworkError, httpcore.ProtocolError, OSError):
            raise EgressFailed("the destination could not be reached") from None


@dataclass(frozen=True)
class Fetched:
    """A response read in full (within the caps)."""

    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def media_type(self) -> str:
        return str(self.headers.get("content-type", "")).split(";", 1)[0].strip().lower()

    @property
    def is_json(self) -> bool:
        media = self.media_type
        return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))

    def json(self) -> Any:
        """The body as JSON (ValueError if it is not)."""
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError("the body is not JSON") from None


# --- connecting to the checked address only -----------------------------------------------------


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the fetch's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("deadline")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, self._left(timeout)), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to the checked addresses of the destination, never to anything resolved later."""

    def __init__(self, destination: Destination, deadline: float) -> None:
        self._destination = destination
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if host.lower() != self._destination.host or port != self._destination.port:
            raise httpcore.ConnectError("not the checked destination")
        last: Exception = httpcore.ConnectError("no address")
        for address in self._destination.addresses:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise httpcore.ConnectTimeout("deadline")
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=left if timeout is None else min(timeout, left),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                last = err
                continue
            return _DeadlineStream(stream, self._deadline)
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _PinnedTransport(httpx.BaseTransport):
    """httpx's transport over an httpcore pool whose network backend is pinned to the destination."""

    def __init__(self, destination: Destination, deadline: float, ca_bundle: str = "") -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(ca_bundle),
            max_connections=1,
            network_backend=_PinnedBackend(destination, deadline),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        response = self._pool.handle_request(core)
        stream = response.stream
        assert isinstance(stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Any:
        yield from self._stream

    def close(self) -> None:
        closer = getattr(self._stream, "close", None)
        if callable(closer):
            closer()


def _ssl_context(ca_bundle: str) -> ssl.SSLContext:
    """httpx's default context (the public CAs, or those SSL_CERT_FILE / SSL_CERT_DIR name), with the
    operator's own CAs added when configured; built once per combination (loading the CA store costs
    milliseconds), so a change of SSL_CERT_FILE is seen by the next fetch."""
    return _ssl_context_for(ca_bundle, os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))


@functools.lru_cache(maxsize=8)
def _ssl_context_for(ca_bundle: str, _cert_file: str, _cert_dir: str) -> ssl.SSLContext:
    context = httpx.create_ssl_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


# --- from the settings ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _policy(allow: str, max_bytes: int, timeout: float, ca_bundle: str = "") -> Policy:
    networks, hosts = parse_allow(allow)
    return Policy(networks=networks, hosts=hosts, max_bytes=max_bytes, timeout=timeout, ca_bundle=ca_bundle)


def policy(settings: Settings) -> Policy:
    """The operator's policy: settings ``egress_allow``, ``egress_max_bytes``, ``egress_timeout_seconds``."""
    return _policy(
        settings.egress_allow,
        settings.egress_max_bytes,
        float(settings.egress_timeout_seconds),
        settings.egress_ca_bundle,
    )
