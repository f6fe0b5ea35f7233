"""The ``[s3]`` section (in process): what it accepts, what it refuses (each error naming its key), and
the upstream secret kept out of the file and out of ``repr``; the upstream's failures as S3's errors
(a real connection to a closed port)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from ostiary.s3front import errors
from ostiary.s3front.config import S3ConfigError, parse
from ostiary.s3front.model import S3Request
from ostiary.s3front.upstream import UpstreamClient, key_path, upstream_headers, upstream_query

SECRET = "upstream/secret/value/0123456789"


def section(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "listen": "127.0.0.1:9000",
        "upstream": {"endpoint": "http://127.0.0.1:9100", "access_key_id": "AKIAOP", "secret_access_key_env": "S"},
        "buckets": {"photos": "123456789012", "shared": {"account": "210987654321"}},
    }
    data.update(changes)
    return data


def test_parsed() -> None:
    config = parse(section(base_domain="S3.Example.Test."), env={"S": SECRET})
    assert (config.host, config.port, config.region) == ("127.0.0.1", 9000, "us-east-1")
    assert config.base_domain == "s3.example.test"
    assert config.owner("photos") == "123456789012" and config.owner("shared") == "210987654321"
    assert config.owner("other") is None
    assert config.upstream.secret_access_key == SECRET
    assert SECRET not in repr(config)
    behind = parse(section(trusted_proxies=["10.0.0.0/8", "::1"]), env={"S": SECRET})
    assert behind.trusts("10.1.2.3") and behind.trusts("::1") and not behind.trusts("192.0.2.1")
    assert not behind.trusts("not an address")


def test_secret_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text(SECRET + "\n")
    upstream = {"endpoint": "https://s3.internal", "access_key_id": "AKIAOP", "secret_access_key_file": str(path)}
    assert parse(section(upstream=upstream), env={}).upstream.secret_access_key == SECRET


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"listen": "nowhere"}, "s3.listen: expected host:port"),
        ({"typo": 1}, "s3: unknown key typo"),
        ({"buckets": {}}, "s3.buckets: required (a table of bucket = account)"),
        ({"buckets": {"Bad_Name": "123456789012"}}, "s3.buckets.Bad_Name: not a valid S3 bucket name"),
        ({"buckets": {"photos": "12"}}, "s3.buckets.photos: expected the owner's 12-digit account id"),
        ({"upstream": None}, "s3.upstream: required (a table)"),
        (
            {"upstream": {"endpoint": "ftp://x", "access_key_id": "A", "secret_access_key_env": "S"}},
            "s3.upstream.endpoint: expected http(s)://host[:port] without a path",
        ),
        (
            {"upstream": {"endpoint": "http://x", "access_key_id": "A", "secret_access_key": "inline"}},
            "s3.upstream.secret_access_key: never in the file; use secret_access_key_env or _file",
        ),
        (
            {"upstream": {"endpoint": "http://x", "access_key_id": "A", "secret_access_key_env": "MISSING"}},
            "s3.upstream.secret_access_key_env: the environment variable MISSING is not set",
        ),
        ({"max_object_bytes": 10 * 1024**3}, "s3.max_object_bytes: must be between 1 and 5.36871e+09"),
        ({"trusted_proxies": ["nope"]}, "s3.trusted_proxies: not an address or network: 'nope'"),
        ({"trusted_proxies": "10.0.0.0/8"}, "s3.trusted_proxies: expected a list of addresses or networks"),
    ],
)
def test_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(S3ConfigError) as refused:
        parse(section(**changes), env={"S": SECRET})
    assert str(refused.value) == message
    assert SECRET not in str(refused.value)


def _request(**fields: Any) -> S3Request:
    base: dict[str, Any] = {
        "method": "GET",
        "raw_path": "/photos/a",
        "raw_query": "",
        "query": (),
        "headers": (),
        "bucket": "photos",
        "key": "a",
        "virtual_host": False,
        "source_ip": "127.0.0.1",
        "secure_transport": False,
    }
    base.update(fields)
    return S3Request(**base)


def test_what_goes_upstream() -> None:
    assert key_path("users/a b/../ü?.jpg") == "users/a%20b/%2E%2E/%C3%BC%3F.jpg"
    query = (("X-Amz-Signature", "s"), ("X-Amz-Credential", "c"), ("versionId", "v 1"), ("uploads", ""))
    assert upstream_query(_request(query=query)) == "versionId=v%201&uploads="
    headers = (
        ("authorization", "AWS4-HMAC-SHA256 ..."),
        ("x-amz-security-token", "t"),
        ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ("x-amz-decoded-content-length", "5"),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
        ("content-encoding", "aws-chunked,gzip"),
        ("x-amz-expected-bucket-owner", "123456789012"),
        ("connection", "keep-alive"),
        ("x-amz-meta-a", "1"),
        ("content-type", "image/jpeg"),
        ("cookie", "session=1"),
    )
    assert upstream_headers(_request(headers=headers)) == [
        ("content-encoding", "gzip"),
        ("x-amz-meta-a", "1"),
        ("content-type", "image/jpeg"),
    ]


def test_an_unreachable_upstream_is_service_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    upstream = {"endpoint": f"http://127.0.0.1:{port}", "access_key_id": "AKIAOP", "secret_access_key_env": "S"}
    config = parse(section(upstream=upstream, connect_timeout=2), env={"S": SECRET})

    async def call() -> None:
        client = UpstreamClient(config)
        try:
            await client.send(_request(), None, None, None)
        finally:
            await client.aclose()

    with pytest.raises(errors.ServiceUnavailable):
        asyncio.run(call())


def test_no_upstream_cookie_travels_between_callers() -> None:
    """One upstream client serves every caller: a Set-Cookie of the upstream is never sent back."""
    import http.server
    import threading

    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Cookie"))
            self.send_response(200)
            self.send_header("Set-Cookie", "session=caller-one; Path=/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    upstream = {
        "endpoint": f"http://127.0.0.1:{httpd.server_address[1]}",
        "access_key_id": "AKIAOP",
        "secret_access_key_env": "S",
    }
    config = parse(section(upstream=upstream), env={"S": SECRET})

    async def twice() -> None:
        client = UpstreamClient(config)
        try:
            for _ in range(2):
                answer = await client.send(_request(), None, None, None)
                await answer.aclose()
        finally:
            await client.aclose()

    try:
        asyncio.run(twice())
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
    assert seen == [None, None]
