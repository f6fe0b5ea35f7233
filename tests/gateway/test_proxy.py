"""The gateway's proxy with real processes: the echo upstream and ``ostiary gateway``: headers sent
upstream (X-Forwarded-*, request id, hop-by-hop removed, forged caller headers stripped), route
precedence, 404, 413, 502, 504, and 200 MB streamed both ways with flat memory."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.gateway.conftest import GatewayProcess, Upstream, start_gateway

MB = 1024 * 1024


@pytest.fixture(scope="module")
def gateway(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    dead = free_port()  # nothing listens there
    routes = f"""
[[routes]]
route = "ANY /echo/{{proxy+}}"
upstream = "{upstream.url}"

[[routes]]
route = "POST /upload"
upstream = "{upstream.url}"

[[routes]]
route = "GET /files/{{size}}"
upstream = "{upstream.url}/download/{{size}}"

[[routes]]
route = "GET /slow/{{seconds}}"
upstream = "{upstream.url}"
timeout_seconds = 0.5

[[routes]]
route = "GET /refused"
upstream = "http://127.0.0.1:{dead}"

[[routes]]
route = "GET /pets/dog/1"
upstream = "{upstream.url}/exact"

[[routes]]
route = "GET /pets/dog/{{id}}"
upstream = "{upstream.url}/param/{{id}}"

[[routes]]
route = "GET /pets/{{proxy+}}"
upstream = "{upstream.url}/greedy/{{proxy}}"
"""
    gw = start_gateway(tmp_path_factory.mktemp("gw-proxy"), "max_body_bytes = 268435456", routes)
    yield gw
    gw.stop()


def _headers(answer: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in answer.json()["headers"]}


def test_forwarded_headers_and_request_id(gateway: GatewayProcess) -> None:
    answer = httpx.get(
        gateway.url + "/echo/a/b%20c?x=1&y=2",
        headers={
            "X-Forwarded-For": "6.6.6.6",  # the peer is not a trusted proxy: replaced
            "X-Forwarded-Host": "evil.example",
            "Forwarded": "for=6.6.6.6",
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "dropped",
            "Keep-Alive": "timeout=5",
            "X-Custom": "kept",
        },
    )
    assert answer.status_code == 200
    doc = answer.json()
    assert (doc["method"], doc["raw_path"], doc["query"]) == ("GET", "/echo/a/b%20c", "x=1&y=2")
    seen = _headers(answer)
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-host"] == f"127.0.0.1:{gateway.port}"
    assert seen["x-forwarded-proto"] == "http" and seen["x-forwarded-port"] == str(gateway.port)
    assert "forwarded" not in seen and "x-hop" not in seen and "keep-alive" not in seen
    assert seen["x-custom"] == "kept"
    assert seen["x-amzn-requestid"] == answer.headers["apigw-requestid"]
    assert len(answer.headers.get_list("date")) == 1


def test_forged_caller_headers_are_stripped(gateway: GatewayProcess) -> None:
    answer = httpx.post(
        gateway.url + "/echo/x",
        headers={
            "X-Authorizer-Claims": '{"sub":"admin"}',
            "X-Authorizer-Claim-Sub": "admin",
            "X-Authorizer-Principal-Id": "admin",
            "x-authorizer-anything": "1",
            "X-Amzn-RequestId": "forged",
        },
        content=b"hello",
    )
    seen = _headers(answer)
    assert not [k for k in seen if k.startswith("x-authorizer-")]
    assert seen["x-amzn-requestid"] != "forged"
    assert answer.json()["body"] == "hello"


def test_route_precedence(gateway: GatewayProcess) -> None:
    assert httpx.get(gateway.url + "/pets/dog/1").json()["path"] == "/exact"
    assert httpx.get(gateway.url + "/pets/dog/2").json()["path"] == "/param/2"
    assert httpx.get(gateway.url + "/pets/cat/1").json()["path"] == "/greedy/cat/1"


def test_api_gateway_errors(gateway: GatewayProcess) -> None:
    missing = httpx.get(gateway.url + "/nothing/here")
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    assert httpx.delete(gateway.url + "/pets/dog/1").status_code == 404  # no route for the method
    refused = httpx.get(gateway.url + "/refused")
    assert (refused.status_code, refused.json()) == (502, {"message": "Internal Server Error"})
    slow = httpx.get(gateway.url + "/slow/5", timeout=10)
    assert (slow.status_code, slow.json()) == (504, {"message": "Endpoint request timed out"})
    metrics = httpx.get(gateway.admin_url + "/metrics").text
    assert 'ostiary_gateway_requests_total{route="GET /refused",status="502"}' in metrics
    assert 'ostiary_gateway_upstream_errors_total{kind="timeout",route="GET /slow/{seconds}"}' in metrics


def test_body_limit(upstream: Upstream, tmp_path: Path) -> None:
    routes = f'[[routes]]\nroute = "ANY /{{proxy+}}"\nupstream = "{upstream.url}"\n'
    gw = start_gateway(tmp_path, "max_body_bytes = 1024", routes)
    try:
        ok = httpx.post(gw.url + "/upload", content=b"a" * 1024)
        assert ok.status_code == 200 and ok.json()["length"] == 1024
        declared = httpx.post(gw.url + "/upload", content=b"a" * 1025)
        assert (declared.status_code, declared.json()) == (413, {"message": "Request Entity Too Large"})

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(10):
                yield b"b" * 512

        streamed = httpx.post(gw.url + "/upload", content=chunks())
        assert (streamed.status_code, streamed.json()) == (413, {"message": "Request Entity Too Large"})
    finally:
        gw.stop()


def test_streams_200_mb_both_ways_with_flat_memory(gateway: GatewayProcess) -> None:
    size = 200 * MB
    block = b"z" * MB
    httpx.get(gateway.url + "/files/1024")  # the upstream pool and code paths are warm
    before = gateway.rss_kib()

    def body() -> Iterator[bytes]:
        for _ in range(size // MB):
            yield block

    up = httpx.post(gateway.url + "/upload", content=body(), timeout=120)
    assert up.status_code == 200
    assert up.json()["length"] == size
    assert up.json()["sha256"] == hashlib.sha256(block * (size // MB)).hexdigest()
    after_upload = gateway.rss_kib()

    received = 0
    with httpx.stream("GET", gateway.url + f"/files/{size}", timeout=120) as down:
        assert down.status_code == 200
        for chunk in down.iter_raw():
            received += len(chunk)
    assert received == size
    after_download = gateway.rss_kib()
    assert after_upload - before < 50 * 1024, (before, after_upload)
    assert after_download - before < 50 * 1024, (before, after_download)


def test_absolute_form_request_target_keeps_the_upstream(gateway: GatewayProcess) -> None:
    with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
        sock.sendall(b"GET http://evil.example/echo/x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    # only the path of an absolute-form target counts: the request still goes to the configured upstream
    assert reply.startswith(b"HTTP/1.1 200"), reply[:100]
    assert b'"raw_path": "/echo/x"' in reply and b'["host", "127.0.0.1:' in reply


def test_trusted_proxy_extends_x_forwarded_for(upstream: Upstream, tmp_path: Path) -> None:
    routes = f'[[routes]]\nroute = "ANY /{{proxy+}}"\nupstream = "{upstream.url}"\n'
    gw = start_gateway(tmp_path, 'trusted_proxies = ["127.0.0.1/32"]\nlog_format = "json"', routes)
    try:
        answer = httpx.get(
            gw.url + "/x",
            headers={
                "X-Forwarded-For": "203.0.113.9, 127.0.0.1",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "api.example.com",
            },
        )
        seen = _headers(answer)
        assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1, 127.0.0.1"
        assert (seen["x-forwarded-proto"], seen["x-forwarded-host"]) == ("https", "api.example.com")
        # the caller is the right-most address that is not a trusted proxy
        deadline = time.monotonic() + 10  # the access-log line is written once the answer is sent
        lines: list[dict[str, str]] = []
        while not lines and time.monotonic() < deadline:
            lines = [json.loads(x) for x in gw.log.read_text().splitlines() if '"route": "ANY /{proxy+}"' in x]
            time.sleep(0.02)
        assert lines[-1]["source_ip"] == "203.0.113.9"
    finally:
        gw.stop()
