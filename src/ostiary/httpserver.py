"""The HTTP/1.1 protocol Ostiary serves with: uvicorn's httptools protocol with a bound on the
request head (request line, query string and headers).

httptools (llhttp) accepts a head of any size and uvicorn keeps every byte of it until the head is
complete, so a client could make the server buffer gigabytes of headers. Here the bytes received
while a head is still incomplete are counted; past ``max_header_bytes`` the client gets 431
(RFC 6585) and the connection is closed. Without httptools, uvicorn's h11 protocol is used with
``h11_max_incomplete_event_size`` set to the same limit.
"""

from __future__ import annotations

import ipaddress
from typing import Any

# set from Settings.max_header_bytes by the CLI and by create_app (each worker process)
MAX_HEAD_BYTES = 65536

_REFUSAL = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 31\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"Request header fields too large"
)


def configure(max_head_bytes: int) -> None:
    global MAX_HEAD_BYTES
    MAX_HEAD_BYTES = max_head_bytes


class _HeadWithBody:
    """A request cycle's transport that writes the response head together with the body's first
    piece: uvicorn writes them with two calls, and on a socket with TCP_NODELAY each is a send(2) of
    its own and a TCP segment of its own. Nothing is held past the body's first piece, the response's
    end (a HEAD response has no body) or the connection's close; a 100 Continue, written before the
    response starts, goes out at once."""

    __slots__ = ("_cycle", "_done", "_head", "_state", "_transport")

    def __init__(self, transport: Any, cycle: Any) -> None:
        self._transport = transport
        self._cycle = cycle
        self._done = cycle.on_response
        self._head: bytes | None = None
        self._state = 0  # 0: no head yet, 1: head held, 2: head written

    def write(self, data: bytes) -> None:
        if self._state == 1:
            self._state = 2
            head, self._head = self._head or b"", None
            self._transport.write(b"".join((head, data)))  # data may be any bytes-like object
        elif self._state == 0 and self._cycle.response_started:
            self._state = 1
            self._head = bytes(data)
        else:
            self._transport.write(data)

    def _flush(self) -> None:
        if self._head is not None:
            self._state = 2
            self._transport.write(self._head)
            self._head = None

    def response_complete(self) -> None:
        """The cycle's ``on_response``: the head still held (a HEAD response) goes out first."""
        self._flush()
        self._done()

    def close(self) -> None:
        self._flush()  # a response that ended before its body (the application failed)
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools not installed: h11 with its own limit
    BoundedHttpToolsProtocol: Any = None
else:

    class _Bounded(HttpToolsProtocol):
        """HttpToolsProtocol counting the bytes of each request head."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._in_head = True
            self._head_bytes = 0
            self._heads = 0  # heads completed on this connection

        def on_message_begin(self) -> None:
            self._in_head = True
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._head_bytes = 0
            self._heads += 1
            super().on_headers_complete()

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            transport = _HeadWithBody(cycle.transport, cycle)
            cycle.transport, cycle.on_response = transport, transport.response_complete
            super()._start_asgi_task(cycle, app)

        def data_received(self, data: bytes) -> None:
            if self.transport.is_closing():
                return
            heads, whole = self._heads, self._in_head
            super().data_received(data)
            # count a chunk that was all head (it began and ended within one); a chunk that ended
            # a body and began the next head (pipelining) is at most one read, and counted from its
            # next chunk on
            if whole and self._in_head and self._heads == heads and not self.transport.is_closing():
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD_BYTES:
                    self.transport.write(_REFUSAL)
                    self.transport.close()

    BoundedHttpToolsProtocol = _Bounded


def trusted_proxies(value: str) -> tuple[str, ...]:
    """Setting ``trusted_proxies``: networks (CIDR, or single addresses), comma-separated."""
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item.strip("[]"), strict=False)))
        except ValueError:
            raise ValueError(f"setting trusted_proxies: {item!r} is not a network (CIDR) or an address") from None
    return tuple(networks)


def uvicorn_options(max_head_bytes: int, proxies: str = "") -> dict[str, Any]:
    """The ``http``, size and proxy options to hand ``uvicorn.run``. A request's address is its TCP
    peer's; X-Forwarded-For and X-Forwarded-Proto are read only from the ``proxies`` (setting
    ``trusted_proxies``), taking the right-most address that is not one of them. uvicorn's own default
    (believe any loopback peer) would let a local client choose the address that aws:SourceIp, the
    per-address lockout and the risk engine see."""
    configure(max_head_bytes)
    networks = trusted_proxies(proxies)
    trust: dict[str, Any] = {"proxy_headers": bool(networks), "forwarded_allow_ips": list(networks) or None}
    if BoundedHttpToolsProtocol is not None:
        return {"http": BoundedHttpToolsProtocol, "h11_max_incomplete_event_size": max_head_bytes, **trust}
    return {"http": "h11", "h11_max_incomplete_event_size": max_head_bytes, **trust}
