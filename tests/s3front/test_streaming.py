"""aws-chunked uploads through the S3 front to moto (real processes): the decoded body reaches the
upstream; a body that fails verification on its way (the trailer's checksum, checked last) aborts the
upstream request, so nothing is stored."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from tests.s3front.conftest import Front, Moto


@dataclass
class Captured:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


class _Raw:
    def stream(self, **_: Any) -> Any:
        yield b""


def capture_put(front: Front, key: str, data: bytes) -> Captured:
    """The PutObject boto3 sends over HTTPS (an aws-chunked body with a trailing CRC32 checksum),
    captured before it leaves; sent to the front over plain HTTP by the test (the signature does not
    cover the scheme)."""
    client = boto3.client(
        "s3",
        endpoint_url=f"https://127.0.0.1:{front.port}",
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_supported"),
    )
    seen: list[Captured] = []

    def before_send(request: Any, **_: Any) -> AWSResponse:
        body = request.body
        raw = body.read() if hasattr(body, "read") else (body or b"")
        headers = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()}
        seen.append(Captured(request.method, request.url, headers, bytes(raw)))
        return AWSResponse(request.url, 200, {"ETag": '"0"'}, _Raw())

    client.meta.events.register("before-send.s3.PutObject", before_send)
    try:
        client.put_object(Bucket="photos", Key=key, Body=_Stream(data))  # file-like: streamed, aws-chunked
    finally:
        client.close()
    return seen[0]


class _Stream:
    """A seekable file-like body (botocore streams these with a trailer checksum over HTTPS)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self.data) if n < 0 else min(len(self.data), self.pos + n)
        out, self.pos = self.data[self.pos : end], end
        return out

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = pos if whence == 0 else (self.pos + pos if whence == 1 else len(self.data) + pos)
        return self.pos

    def tell(self) -> int:
        return self.pos


def send(front: Front, c: Captured, body: bytes) -> httpx.Response:
    url = c.url.replace("https://", "http://", 1)
    # as botocore sends it: Transfer-Encoding: chunked (httpx's own framing of an iterator), no Content-Length
    headers = {k: v for k, v in c.headers.items() if k.lower() not in ("expect", "transfer-encoding")}
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    return httpx.put(url, headers=headers, content=iter(pieces), timeout=60)


def test_trailer_upload_reaches_the_upstream_decoded(front: Front, moto_s3: Moto) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    c = capture_put(front, "ops/chunked.bin", data)
    assert c.headers["Content-Encoding"] == "aws-chunked"
    assert c.headers["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    answer = send(front, c, c.body)
    assert answer.status_code == 200, answer.text
    upstream = moto_s3.client()
    got = upstream.get_object(Bucket="photos", Key="ops/chunked.bin")
    assert hashlib.sha256(got["Body"].read()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert got["ContentLength"] == len(data)
    upstream.close()


@pytest.mark.parametrize("where", ["checksum", "data"])
def test_a_body_failing_verification_stores_nothing(front: Front, moto_s3: Moto, where: str) -> None:
    data = os.urandom(4 * 1024 * 1024)
    key = f"ops/tampered-{where}.bin"
    c = capture_put(front, key, data)
    body = bytearray(c.body)
    if where == "checksum":  # the trailer (checked after every byte went by): one character changed
        at = body.rindex(b"x-amz-checksum-crc32:") + len(b"x-amz-checksum-crc32:")
        body[at] = ord("A") if body[at] != ord("A") else ord("B")
    else:  # a byte of the middle of the body: the trailer's checksum no longer matches
        body[len(body) // 2] ^= 0xFF
    answer = send(front, c, bytes(body))
    assert answer.status_code == 400, answer.text
    assert "<Code>BadDigest</Code>" in answer.text or "<Code>InvalidRequest</Code>" in answer.text
    upstream = moto_s3.client()
    with pytest.raises(ClientError) as missing:
        upstream.head_object(Bucket="photos", Key=key)
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    upstream.close()
