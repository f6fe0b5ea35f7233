"""s3front.signature: SigV4 for S3 in process, against keys of a real server's database.

AWS's published vectors (S3 API Reference, "Signature calculations for the Authorization header:
transferring payload in multiple chunks", with and without a trailer: the 66,560-byte object); requests
made by botocore's own S3 signers (``S3SigV4Auth``, ``S3SigV4QueryAuth``) and by boto3's S3 client (its
aws-chunked trailer with a checksum over https, a signed payload hash over http) accepted, and the same
requests tampered (a byte of a chunk, a chunk signature, the trailer checksum, the key, a header, the
session token, the clock) refused with S3's error.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

from ostiary.access.access_keys import CredentialCache
from ostiary.crypto.secrets import SecretBox, load_or_create_kek
from ostiary.crypto.sigv4_keys import signing_key
from ostiary.protocol import sigv4
from ostiary.s3front import checksums, errors
from ostiary.s3front.model import S3Request, SignedWith
from ostiary.s3front.signature import (
    STREAMING_SIGNED,
    ChunkChain,
    SignatureMismatchInChunk,
    Verifier,
    aws_chunked,
    canonical_request,
    header_map,
    hold_last,
)
from ostiary.store.db import Store
from tests.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, Server

EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EXAMPLE_KEY = signing_key(EXAMPLE_SECRET, "20130524", "us-east-1", "s3")
EXAMPLE_SCOPE = "20130524/us-east-1/s3/aws4_request"
A64K, A1K = b"a" * 65536, b"a" * 1024


@pytest.fixture(scope="module")
def verifier(server: Server) -> Iterator[Verifier]:
    store = Store(server.database_url)
    box = SecretBox(load_or_create_kek("", server.data_dir))
    try:
        yield Verifier(CredentialCache(store, box), REGION)
    finally:
        store.dispose()


def s3_request(method: str, url: str, headers: Any) -> S3Request:
    parts = urlsplit(url)
    path = parts.path or "/"
    segments = path.lstrip("/").split("/", 1)
    return S3Request(
        method=method,
        raw_path=path,
        raw_query=parts.query,
        query=tuple(sigv4.parse_query(parts.query)),
        headers=tuple((k.lower(), str(v)) for k, v in {"host": parts.netloc, **dict(headers.items())}.items()),
        bucket=unquote(segments[0]) or None,
        key=unquote(segments[1]) if len(segments) > 1 and segments[1] else None,
        virtual_host=False,
        source_ip="127.0.0.1",
        secure_transport=url.startswith("https"),
    )


async def _pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def _collect(body: AsyncIterator[bytes]) -> bytes:
    return b"".join([piece async for piece in body])


def authenticate(v: Verifier, req: S3Request, body: bytes = b"", piece: int = 7000) -> tuple[Any, bytes]:
    """The caller and the decoded body (the body read as the app reads it, in pieces)."""
    auth = v.authenticate(req, _pieces(body, piece))
    return auth.caller, asyncio.run(_collect(auth.body))


def signed(
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    creds: Credentials | None = None,
    payload: str | None = None,
) -> S3Request:
    """A request botocore's S3SigV4Auth signs (payload hash: its own, or ``payload`` when given)."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    signer = botocore.auth.S3SigV4Auth if payload is None else _declaring(payload)
    signer(creds or Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "s3", REGION).add_auth(request)
    return s3_request(method, request.url, request.headers)


def _declaring(payload: str) -> type[botocore.auth.S3SigV4Auth]:
    """botocore's S3 signer, declaring ``payload`` as x-amz-content-sha256 (aws-chunked uploads)."""

    class Declaring(botocore.auth.S3SigV4Auth):
        def payload(self, request: Any) -> str:
            return payload

    return Declaring


def presigned(url: str, expires: int = 60, creds: Credentials | None = None, method: str = "GET") -> S3Request:
    request = AWSRequest(method=method, url=url)
    auth = botocore.auth.S3SigV4QueryAuth(
        creds or Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "s3", REGION, expires=expires
    )
    auth.add_auth(request)
    return s3_request(method, request.url, request.headers)


def replace_header(req: S3Request, name: str, value: str) -> S3Request:
    headers = tuple((k, value if k == name else v) for k, v in req.headers)
    return _copy(req, headers=headers)


def _copy(req: S3Request, **changes: Any) -> S3Request:
    fields = {f: getattr(req, f) for f in S3Request.__dataclass_fields__}
    fields.update(changes)
    return S3Request(**fields)


# -- AWS's published vectors -------------------------------------------------------------------------
def test_published_seed_signature() -> None:
    """The seed signature of the chunked PUT example, from our canonical request (S3: no double encoding)."""
    headers = {
        "host": "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": STREAMING_SIGNED,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "content-length": "66824",
    }
    req = s3_request("PUT", "https://s3.amazonaws.com/examplebucket/chunkObject.txt", headers)
    names = tuple(sorted(headers))
    sr = sigv4.SignedRequest(
        "AKIAIOSFODNN7EXAMPLE", "20130524", "us-east-1", "s3", names, "", "20130524T000000Z", None, False
    )
    creq = canonical_request(req, [], header_map(req), names, STREAMING_SIGNED, presigned=False)
    sig = hmac.new(EXAMPLE_KEY, sigv4.string_to_sign(sr, creq).encode(), hashlib.sha256).hexdigest()
    assert sig == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"


def _signed_chunks(seed: str, sigs: list[str], trailer: bytes = b"") -> bytes:
    return (
        f"10000;chunk-signature={sigs[0]}\r\n".encode()
        + A64K
        + f"\r\n400;chunk-signature={sigs[1]}\r\n".encode()
        + A1K
        + f"\r\n0;chunk-signature={sigs[2]}\r\n".encode()
        + (trailer or b"\r\n")
    )


EXAMPLE_SIGS = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]
EXAMPLE_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
TRAILER_SIGS = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
]
TRAILER = b"x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"  # noqa: E501


def test_published_chunk_signatures() -> None:
    chain = ChunkChain(EXAMPLE_KEY, "20130524T000000Z", EXAMPLE_SCOPE)
    s1 = chain.chunk_signature(EXAMPLE_SEED, hashlib.sha256(A64K).hexdigest())
    s2 = chain.chunk_signature(s1, hashlib.sha256(A1K).hexdigest())
    s3 = chain.chunk_signature(s2, hashlib.sha256(b"").hexdigest())
    assert [s1, s2, s3] == EXAMPLE_SIGS
    t3 = chain.chunk_signature(
        chain.chunk_signature(
            chain.chunk_signature(TRAILER_SEED, hashlib.sha256(A64K).hexdigest()), hashlib.sha256(A1K).hexdigest()
        ),
        hashlib.sha256(b"").hexdigest(),
    )
    assert t3 == TRAILER_SIGS[2]
    trailer = chain.trailer_signature(t3, "x-amz-checksum-crc32c:sOO8/Q==\n")
    assert trailer == "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"


def _decode(
    body: bytes, *, seed: str, trailer: str | None, signed: bool = True, length: int = 66560, piece: int = 4096
) -> bytes:
    chain = ChunkChain(EXAMPLE_KEY, "20130524T000000Z", EXAMPLE_SCOPE) if signed else None
    gen = aws_chunked(
        _pieces(body, piece),
        chain=chain,
        signed=signed,
        seed=seed,
        trailer=trailer,
        trailer_section=trailer is not None or not signed,
        decoded_length=length,
    )
    return asyncio.run(_collect(hold_last(gen)))


@pytest.mark.parametrize("piece", [1, 97, 4096, 1 << 20])
def test_published_chunked_bodies_decode(piece: int) -> None:
    assert (
        _decode(_signed_chunks(EXAMPLE_SEED, EXAMPLE_SIGS), seed=EXAMPLE_SEED, trailer=None, piece=piece) == A64K + A1K
    )
    with_trailer = _signed_chunks(TRAILER_SEED, TRAILER_SIGS, TRAILER)
    assert _decode(with_trailer, seed=TRAILER_SEED, trailer="x-amz-checksum-crc32c", piece=piece) == A64K + A1K


def test_published_chunked_bodies_tampered() -> None:
    body = _signed_chunks(EXAMPLE_SEED, EXAMPLE_SIGS)
    i = body.index(b"\r\n") + 2 + 100
    flipped = body[:i] + b"b" + body[i + 1 :]  # one byte of the first chunk
    with pytest.raises(SignatureMismatchInChunk):
        _decode(flipped, seed=EXAMPLE_SEED, trailer=None)
    bad_sig = body.replace(EXAMPLE_SIGS[1].encode(), b"0" * 64)
    with pytest.raises(SignatureMismatchInChunk):
        _decode(bad_sig, seed=EXAMPLE_SEED, trailer=None)
    with pytest.raises(SignatureMismatchInChunk):  # another seed: the chain breaks at the first chunk
        _decode(body, seed=TRAILER_SEED, trailer=None)
    with pytest.raises(errors.IncompleteBody):  # x-amz-decoded-content-length says otherwise
        _decode(body, seed=EXAMPLE_SEED, trailer=None, length=66559)
    with pytest.raises(errors.IncompleteBody):
        _decode(body[:-40], seed=EXAMPLE_SEED, trailer=None)
    trailer_body = _signed_chunks(TRAILER_SEED, TRAILER_SIGS, TRAILER)
    with pytest.raises(SignatureMismatchInChunk):  # the trailer's checksum changed: its signature fails
        _decode(trailer_body.replace(b"sOO8/Q==", b"AAAAAA=="), seed=TRAILER_SEED, trailer="x-amz-checksum-crc32c")
    with pytest.raises(SignatureMismatchInChunk):
        _decode(trailer_body.replace(b"d81f82fc", b"d81f82fd"), seed=TRAILER_SEED, trailer="x-amz-checksum-crc32c")
    with pytest.raises(errors.InvalidRequest):  # bytes after the end
        _decode(body + b"x", seed=EXAMPLE_SEED, trailer=None)


def test_nothing_unverified_completes() -> None:
    """The last piece is held back until the body's last check passed: a failing body never yields it."""
    body = _signed_chunks(EXAMPLE_SEED, [*EXAMPLE_SIGS[:2], "0" * 64])
    got: list[bytes] = []

    async def run() -> None:
        gen = hold_last(
            aws_chunked(
                _pieces(body, 4096),
                chain=ChunkChain(EXAMPLE_KEY, "20130524T000000Z", EXAMPLE_SCOPE),
                signed=True,
                seed=EXAMPLE_SEED,
                trailer=None,
                trailer_section=False,
                decoded_length=66560,
            )
        )
        async for piece in gen:
            got.append(piece)

    with pytest.raises(SignatureMismatchInChunk):
        asyncio.run(run())
    assert 0 < sum(map(len, got)) < 66560


def test_checksum_vectors() -> None:
    assert checksums.of("crc32c", b"123456789") == base64.b64encode(bytes.fromhex("e3069283")).decode()
    assert checksums.of("crc64nvme", b"123456789") == base64.b64encode(bytes.fromhex("ae8b14860a799888")).decode()
    assert checksums.of("crc32c", b"a" * 66560) == "sOO8/Q=="
    assert checksums.of("crc32", b"123456789") == base64.b64encode(bytes.fromhex("cbf43926")).decode()
    assert checksums.of("sha256", b"") == base64.b64encode(hashlib.sha256(b"").digest()).decode()


# -- botocore's signers ------------------------------------------------------------------------------
URL = "http://127.0.0.1:9000/bkt/users/abc/photo%20one.jpg"


def test_header_signed_get_and_put(verifier: Verifier) -> None:
    caller, _ = authenticate(verifier, signed("GET", URL))
    assert caller.signed_with is SignedWith.HEADER
    assert caller.principal is not None and caller.principal.account_id == "123456789012"
    data = b"hello photo" * 1000
    caller, got = authenticate(verifier, signed("PUT", URL, data), data)
    assert got == data
    assert caller.content_sha256 == hashlib.sha256(data).hexdigest()


def test_header_signed_tampered(verifier: Verifier) -> None:
    req = signed("PUT", URL, b"payload", headers={"x-amz-meta-a": "1"})
    with pytest.raises(errors.SignatureDoesNotMatch) as exc:  # another key
        authenticate(verifier, _copy(req, raw_path="/bkt/users/xyz/photo%20one.jpg", key="users/xyz/photo one.jpg"))
    extra = exc.value.extra
    assert extra["AWSAccessKeyId"] == ACCESS_KEY_ID
    assert extra["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert extra["CanonicalRequest"].startswith("PUT\n/bkt/users/xyz/photo%20one.jpg\n")
    assert extra["CanonicalRequestBytes"].startswith("50 55 54 0a")
    with pytest.raises(errors.SignatureDoesNotMatch):  # a signed header changed
        authenticate(verifier, replace_header(req, "x-amz-meta-a", "2"), b"payload")
    with pytest.raises(errors.AccessDenied) as denied:  # an x-amz header added after signing
        authenticate(verifier, _copy(req, headers=(*req.headers, ("x-amz-acl", "public-read"))), b"payload")
    assert denied.value.extra["HeadersNotSigned"] == "x-amz-acl"
    with pytest.raises(errors.XAmzContentSHA256Mismatch) as mismatch:  # another body
        authenticate(verifier, req, b"PAYLOAD")
    assert mismatch.value.extra["S3ComputedContentSHA256"] == hashlib.sha256(b"PAYLOAD").hexdigest()
    with pytest.raises(errors.InvalidAccessKeyId) as unknown:
        authenticate(verifier, signed("GET", URL, creds=Credentials("AKIANOSUCHKEY0000000", "x")))
    assert unknown.value.extra["AWSAccessKeyId"] == "AKIANOSUCHKEY0000000"
    with pytest.raises(errors.SignatureDoesNotMatch):  # the right key id, another secret
        authenticate(verifier, signed("GET", URL, creds=Credentials(ACCESS_KEY_ID, "not-the-secret")))


def test_scope_and_clock(verifier: Verifier) -> None:
    other_region = AWSRequest(method="GET", url=URL)
    botocore.auth.S3SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "s3", "eu-west-1").add_auth(other_region)
    with pytest.raises(errors.AuthorizationHeaderMalformed) as exc:
        authenticate(verifier, s3_request("GET", other_region.url, other_region.headers))
    assert exc.value.extra["Region"] == REGION
    other_service = AWSRequest(method="GET", url=URL)
    botocore.auth.S3SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "sts", REGION).add_auth(other_service)
    with pytest.raises(errors.AuthorizationHeaderMalformed):
        authenticate(verifier, s3_request("GET", other_service.url, other_service.headers))
    req = signed("GET", URL)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)
    with pytest.raises(errors.RequestTimeTooSkewed) as skew:
        verifier.authenticate(req, _pieces(b"", 1), later)
    assert skew.value.extra["MaxAllowedSkewMilliseconds"] == "900000"
    assert "ServerTime" in skew.value.extra and "RequestTime" in skew.value.extra
    with pytest.raises(errors.InvalidRequest):  # header auth needs x-amz-content-sha256
        authenticate(verifier, _copy(req, headers=tuple(h for h in req.headers if h[0] != "x-amz-content-sha256")))
    with pytest.raises(errors.InvalidRequest):  # SigV2
        authenticate(verifier, replace_header(req, "authorization", f"AWS {ACCESS_KEY_ID}:abc="))


def test_presigned(verifier: Verifier) -> None:
    req = presigned(URL, expires=60)
    caller, _ = authenticate(verifier, req)
    assert caller.signed_with is SignedWith.PRESIGNED
    assert caller.principal is not None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    with pytest.raises(errors.AccessDenied) as expired:
        verifier.authenticate(req, _pieces(b"", 1), later)
    assert expired.value.message == "Request has expired"
    assert expired.value.extra["X-Amz-Expires"] == "60"
    assert list(expired.value.extra) == ["X-Amz-Expires", "Expires", "ServerTime"]
    with pytest.raises(errors.AuthorizationQueryParametersError):
        authenticate(verifier, presigned(URL, expires=604801))
    tampered = _copy(req, raw_path="/bkt/users/xyz/photo%20one.jpg")
    with pytest.raises(errors.SignatureDoesNotMatch):
        authenticate(verifier, tampered)
    q = req.raw_query + "&response-content-type=text%2Fhtml"  # a parameter added after signing
    with pytest.raises(errors.SignatureDoesNotMatch):
        authenticate(verifier, _copy(req, raw_query=q, query=tuple(sigv4.parse_query(q))))
    with pytest.raises(errors.AccessDenied):  # an unsigned x-amz header sent along
        authenticate(verifier, _copy(req, headers=(*req.headers, ("x-amz-acl", "public-read"))))
    both = _copy(req, headers=(*req.headers, ("authorization", "AWS4-HMAC-SHA256 Credential=x")))
    with pytest.raises(errors.InvalidArgument):
        authenticate(verifier, both)


def test_anonymous(verifier: Verifier) -> None:
    caller, got = authenticate(verifier, s3_request("PUT", URL, {"host": "127.0.0.1:9000"}), b"abc")
    assert caller.principal is None and caller.signed_with is SignedWith.ANONYMOUS
    assert got == b"abc"


def test_session_credentials(server: Server, verifier: Verifier) -> None:
    sts = server.client("sts")
    c = sts.get_session_token(DurationSeconds=900)["Credentials"]
    creds = Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    caller, _ = authenticate(verifier, signed("GET", URL, creds=creds))
    assert caller.principal is not None and caller.access_key_id == c["AccessKeyId"]
    caller, _ = authenticate(verifier, presigned(URL, creds=creds))
    assert caller.principal is not None
    with pytest.raises(errors.InvalidToken):  # a token of another session, correctly signed
        authenticate(verifier, signed("GET", URL, creds=Credentials(c["AccessKeyId"], c["SecretAccessKey"], "Zm9v")))
    with pytest.raises(errors.InvalidToken):  # no token at all
        authenticate(verifier, signed("GET", URL, creds=Credentials(c["AccessKeyId"], c["SecretAccessKey"])))


# -- boto3's S3 client: chunked with a trailer (https), payload hash (http) --------------------------
@dataclass
class Captured:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


class _Raw:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b""


def capture_put(endpoint: str, checksum: str, data: bytes, creds: Credentials | None = None, **put: Any) -> Captured:
    """The PutObject request boto3's S3 client sends (captured before it leaves: no network)."""
    creds = creds or Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
        config=Config(
            s3={"addressing_style": "path"},
            request_checksum_calculation=checksum,
            retries={"max_attempts": 1},
        ),
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
        client.put_object(Bucket="bkt", Key="users/abc/photo.jpg", Body=data, **put)
    finally:
        client.close()
    return seen[0]


def _from_capture(c: Captured) -> S3Request:
    return s3_request(c.method, c.url, c.headers)


DATA = bytes(range(256)) * 1200  # 300 KiB: several aws-chunked chunks


def test_boto3_chunked_trailer(verifier: Verifier) -> None:
    c = capture_put("https://127.0.0.1:9443", "when_supported", DATA)
    assert c.headers["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert c.headers["X-Amz-Trailer"].startswith("x-amz-checksum-")
    auth = verifier.authenticate(_from_capture(c), _pieces(c.body, 65536))
    assert auth.chunked and auth.decoded_length == len(DATA)
    assert asyncio.run(_collect(auth.body)) == DATA
    # one byte of the data: the trailer checksum no longer matches
    i = c.body.index(b"\r\n") + 2 + 1000
    flipped = c.body[:i] + bytes([c.body[i] ^ 1]) + c.body[i + 1 :]
    with pytest.raises(errors.BadDigest):
        authenticate(verifier, _from_capture(c), flipped)
    # the trailer's checksum itself
    name = c.headers["X-Amz-Trailer"].encode()
    start = c.body.rindex(name + b":") + len(name) + 1
    bad = c.body[:start] + (b"B" if c.body[start : start + 1] != b"B" else b"C") + c.body[start + 1 :]
    with pytest.raises(errors.BadDigest):
        authenticate(verifier, _from_capture(c), bad)


def test_boto3_crc32c_trailer(verifier: Verifier) -> None:
    c = capture_put("https://127.0.0.1:9443", "when_supported", b"z" * 70000, ChecksumAlgorithm="SHA256")
    assert c.headers["X-Amz-Trailer"] == "x-amz-checksum-sha256"
    assert authenticate(verifier, _from_capture(c), c.body)[1] == b"z" * 70000


def test_boto3_over_http_signs_the_payload(verifier: Verifier) -> None:
    c = capture_put("http://127.0.0.1:9000", "when_supported", DATA)
    sha = c.headers["X-Amz-Content-SHA256"]
    assert sha == hashlib.sha256(DATA).hexdigest()
    assert authenticate(verifier, _from_capture(c), c.body)[1] == DATA
    with pytest.raises(errors.XAmzContentSHA256Mismatch):
        authenticate(verifier, _from_capture(c), c.body[:-1] + b"!")
    off = capture_put("https://127.0.0.1:9443", "when_required", DATA)
    assert off.headers["X-Amz-Content-SHA256"] in {"UNSIGNED-PAYLOAD", hashlib.sha256(DATA).hexdigest()}
    assert authenticate(verifier, _from_capture(off), off.body)[1] == DATA


def test_boto3_session_token_trailer(server: Server, verifier: Verifier) -> None:
    c = server.client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    creds = Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    cap = capture_put("https://127.0.0.1:9443", "when_supported", DATA, creds=creds)
    caller, got = authenticate(verifier, _from_capture(cap), cap.body)
    assert got == DATA and caller.access_key_id == c["AccessKeyId"]


# -- signed aws-chunked from a botocore-signed seed ---------------------------------------------------
def _signed_upload(data: bytes, chunk: int, tamper: str | None = None) -> tuple[S3Request, bytes]:
    """A STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload: the seed signed by botocore, chunks chained by us."""
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
    }
    req = signed("PUT", URL, b"", headers=headers, payload=STREAMING_SIGNED)
    h = header_map(req)
    auth = h["authorization"]
    seed = auth.rsplit("Signature=", 1)[1]
    date = h["x-amz-date"]
    chain = ChunkChain(
        signing_key(SECRET_ACCESS_KEY, date[:8], REGION, "s3"), date, f"{date[:8]}/{REGION}/s3/aws4_request"
    )
    out, prev = [], seed
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for n, piece in enumerate(pieces):
        sig = chain.chunk_signature(prev, hashlib.sha256(piece).hexdigest())
        prev = sig
        if tamper == "signature" and n == 1:
            sig = "f" * 64
        if tamper == "data" and n == 1:
            piece = b"X" + piece[1:]
        out.append(f"{len(piece):x};chunk-signature={sig}\r\n".encode() + piece + b"\r\n")
    return req, b"".join(out)


def test_signed_chunks_via_verifier(verifier: Verifier) -> None:
    data = DATA[:150_000]
    req, body = _signed_upload(data, 65536)
    caller, got = authenticate(verifier, req, body, piece=8192)
    assert got == data and caller.content_sha256 == STREAMING_SIGNED
    for tamper in ("signature", "data"):
        req, body = _signed_upload(data, 65536, tamper)
        with pytest.raises(errors.S3Error) as exc:
            authenticate(verifier, req, body)
        assert exc.value.code == "SignatureDoesNotMatch"
    req, body = _signed_upload(data, 65536)
    with pytest.raises(errors.IncompleteBody):  # the decoded length is part of the signed headers
        authenticate(verifier, req, body[: len(body) // 2])


def test_error_xml() -> None:
    err = errors.signature_mismatch("AKIAX", "AWS4-HMAC-SHA256\nabc", "00", "GET\n/")
    status, headers, body = errors.response(err, method="GET", request_id="R1", host_id="H1")
    assert status == 403
    assert ("x-amz-request-id", "R1") in headers and ("x-amz-id-2", "H1") in headers
    text = body.decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code>')
    order = ["Message", "AWSAccessKeyId", "StringToSign", "SignatureProvided", "StringToSignBytes",
             "CanonicalRequest", "CanonicalRequestBytes", "RequestId", "HostId"]  # fmt: skip
    positions = [text.index(f"<{n}>") for n in order]
    assert positions == sorted(positions)
    assert "<CanonicalRequestBytes>47 45 54 0a 2f</CanonicalRequestBytes>" in text
    head = errors.response(errors.AccessDenied(), method="HEAD", request_id="R", host_id="H")
    assert head[0] == 403 and head[2] == b""
    expired = errors.AccessDenied("Request has expired", **{"X-Amz-Expires": "60", "Expires": "e", "ServerTime": "s"})
    assert b"<X-Amz-Expires>60</X-Amz-Expires><Expires>e</Expires><ServerTime>s</ServerTime>" in expired.xml("R", "H")
    assert b"&lt;script&gt;" in errors.InvalidRequest("<script>").xml("R", "H")


@pytest.mark.parametrize(
    ("body", "trailer"),
    [
        (b"1" * 300 + b"\r\n", None),  # a chunk header longer than any real one
        (b"zz\r\nab\r\n0\r\n\r\n", None),  # not a hex size
        (b"2\r\nab\r\n0\r\n" + b"x-amz-meta-a:1\r\n" * 9 + b"\r\n", None),  # too many trailer lines
        (b"2\r\nab\r\n0\r\n\r\n", "x-amz-checksum-crc32"),  # the declared trailer is missing
        (
            b"2\r\nab\r\n0\r\nx-amz-checksum-crc32:" + checksums.of("crc32", b"ab").encode() + b"\r\n",
            "x-amz-checksum-crc32",
        ),
        (b"2\r\nabX\r\n0\r\n\r\n", None),  # data longer than its size
    ],
)
def test_unsigned_trailer_encoding_refusals(body: bytes, trailer: str | None) -> None:
    with pytest.raises((errors.InvalidRequest, errors.IncompleteBody)):
        _decode(body, seed="", trailer=trailer, signed=False, length=2)


def test_unsigned_trailer_minimal() -> None:
    crc = checksums.of("crc32", b"ab").encode()
    body = b"2\r\nab\r\n0\r\nx-amz-checksum-crc32:" + crc + b"\r\n\r\n"
    assert _decode(body, seed="", trailer="x-amz-checksum-crc32", signed=False, length=2, piece=1) == b"ab"


def test_anonymous_signed_chunks_refused(verifier: Verifier) -> None:
    req = s3_request("PUT", URL, {"x-amz-content-sha256": STREAMING_SIGNED, "x-amz-decoded-content-length": "1"})
    with pytest.raises(errors.AccessDenied):
        authenticate(verifier, req, b"")
