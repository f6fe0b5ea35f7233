"""The HTTP/1.1 protocol Ostiary serves with (ostiary/httpserver.py): a response's head goes out with
its body's first piece, in one write, and nothing a client waits for is held back."""

from __future__ import annotations

import socket

from ostiary.httpserver import _HeadWithBody
from tests.conftest import Server


class _Recorder:
    """What uvicorn's transport would have sent, write by write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


class _Cycle:
    def __init__(self) -> None:
        self.response_started = False
        self.completed = 0

    def on_response(self) -> None:
        self.completed += 1


def test_head_and_body_leave_in_one_write() -> None:
    transport, cycle = _Recorder(), _Cycle()
    wrapped = _HeadWithBody(transport, cycle)
    cycle.response_started = True
    wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert transport.writes == []
    wrapped.write(b"{}")
    wrapped.write(b"more")  # a streamed body's later pieces go out as they come
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", b"more"]
    assert not wrapped.is_closing()  # everything else is the transport's own


def test_a_body_of_another_bytes_like_type_joins_the_head() -> None:
    transport, cycle = _Recorder(), _Cycle()
    wrapped = _HeadWithBody(transport, cycle)
    cycle.response_started = True
    wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    wrapped.write(memoryview(b"{}"))
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


def test_a_100_continue_is_not_held() -> None:
    transport, cycle = _Recorder(), _Cycle()
    wrapped = _HeadWithBody(transport, cycle)
    wrapped.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # written before the response starts
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]


def test_a_head_response_goes_out_when_the_response_completes() -> None:
    transport, cycle = _Recorder(), _Cycle()
    wrapped = _HeadWithBody(transport, cycle)
    cycle.response_started = True
    wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\n")  # uvicorn writes no body for HEAD
    wrapped.response_complete()
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\n"] and cycle.completed == 1


def test_a_head_without_a_body_still_goes_out_on_close() -> None:
    transport, cycle = _Recorder(), _Cycle()
    wrapped = _HeadWithBody(transport, cycle)
    cycle.response_started = True
    wrapped.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    wrapped.close()  # the application failed after starting its response
    assert transport.writes == [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"] and transport.closed


def _read_response(sock: socket.socket, buffered: bytearray) -> tuple[bytes, bytes]:
    while b"\r\n\r\n" not in buffered:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a response head"
        buffered += chunk
    head, _, rest = bytes(buffered).partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk
        rest += chunk
    buffered[:] = rest[length:]
    return head, rest[:length]


def test_pipelined_keep_alive_requests_and_expect_continue_over_a_real_socket(server: Server) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        request = f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        sock.sendall(request * 3)  # three requests in one segment: answered in order, on one connection
        buffered = bytearray()
        for _ in range(3):
            head, body = _read_response(sock, buffered)
            assert head.startswith(b"HTTP/1.1 200") and body
        # a client that waits for 100 Continue before its body gets it at once
        body = b'{"MaxResults": 1}'
        sock.sendall(
            f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\n"
            f"X-Amz-Target: AWSCognitoIdentityProviderService.ListUserPools\r\n"
            f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        buffered = bytearray(first[len(b"HTTP/1.1 100 Continue\r\n\r\n") :])
        sock.sendall(body)
        head, answer = _read_response(sock, buffered)
        assert head.startswith(b"HTTP/1.1 "), head  # unsigned: an AWS error, whole, with its length
        assert b"__type" in answer or b"message" in answer.lower()
        sock.sendall(f"HEAD /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        sock.sendall(request)  # the HEAD's answer has no body: the next response follows its head
        data = b""
        while data.count(b"\r\n\r\n") < 2 or not data.endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk
            data += chunk
        assert data.startswith(b"HTTP/1.1 200") and data.count(b"HTTP/1.1 200") == 2
