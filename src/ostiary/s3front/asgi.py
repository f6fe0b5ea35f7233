"""The S3 front's side of the ASGI connection: the request body as a bounded, counted iterator, and
the answers written back (a whole body, an S3 error, an upstream response streamed).

Nothing here decides anything: ``app`` and ``front_calls`` use these to read what the client sends
and to write what S3 would answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import Counter

from ostiary import observability
from ostiary.s3front import errors
from ostiary.s3front.model import Body
from ostiary.s3front.upstream import UpstreamResponse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

UPSTREAM_BYTES = Counter(
    "ostiary_s3front_upstream_bytes_total",
    "Bytes streamed through the S3 front, by direction (up: to the upstream, down: to the client).",
    ["direction"],
    registry=observability.REGISTRY,
)


class ClientDisconnected(Exception):
    """The client went away before its request's body ended."""


# -- the request's body ----------------------------------------------------------------------------


async def receive_body(receive: Receive) -> AsyncIterator[bytes]:
    """The body's chunks as the server receives them; ClientDisconnected if the client leaves first."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def bounded(body: Body, limit: int) -> AsyncIterator[bytes]:
    """``body``, refused with EntityTooLarge once more than ``limit`` bytes have come."""
    total = 0
    async for chunk in body:
        total += len(chunk)
        if total > limit:
            raise errors.EntityTooLarge()
        yield chunk


async def counted(body: Body | None, direction: str) -> AsyncIterator[bytes]:
    """``body`` (nothing when None), its bytes counted in ``ostiary_s3front_upstream_bytes_total``."""
    if body is None:
        return
    async for chunk in body:
        UPSTREAM_BYTES.labels(direction).inc(len(chunk))
        yield chunk


async def read_bounded(body: Body, limit: int, too_large: type[errors.S3Error] | None = None) -> bytes:
    """The whole of ``body``; ``too_large`` (default MaxMessageLengthExceeded) past ``limit`` bytes."""
    data = bytearray()
    async for chunk in body:
        data += chunk
        if len(data) > limit:
            raise (too_large or errors.MaxMessageLengthExceeded)()
    return bytes(data)


async def replay(data: bytes) -> AsyncIterator[bytes]:
    """A body already read, as an iterator again."""
    yield data


# -- the answer --------------------------------------------------------------------------------------


def _encoded(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


async def respond(send: Send, status: int, headers: list[tuple[str, str]], body: bytes, method: str = "GET") -> None:
    """A whole answer; a HEAD's carries the length of the body it does not send."""
    payload = b"" if method == "HEAD" else body
    all_headers = [*headers, ("content-length", str(len(body)))]
    await send({"type": "http.response.start", "status": status, "headers": _encoded(all_headers)})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def send_error(
    send: Send, err: errors.S3Error, method: str, request_id: str, host_id: str, close: bool = False
) -> None:
    """``err`` as S3's XML error; ``close`` asks the server to close the connection after it."""
    status, headers, body = errors.response(err, method=method, request_id=request_id, host_id=host_id)
    if close:
        headers = [*headers, ("connection", "close")]
    await send({"type": "http.response.start", "status": status, "headers": _encoded(headers)})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def stream(response: UpstreamResponse, send: Send, request_id: str, host_id: str, method: str) -> None:
    """The upstream's response passed on as it comes (with the front's request ids); closed after."""
    try:
        headers = [*response.headers, ("x-amz-request-id", request_id), ("x-amz-id-2", host_id)]
        await send({"type": "http.response.start", "status": response.status, "headers": _encoded(headers)})
        if method != "HEAD":
            async for chunk in response.body:
                if chunk:
                    UPSTREAM_BYTES.labels("down").inc(len(chunk))
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        await response.aclose()
