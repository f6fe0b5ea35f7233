"""The upstream side of the S3 front: an allowed request re-signed with the operator's credentials and
streamed to the S3-compatible store, its answer streamed back.

- The upstream is always addressed path style (``<endpoint>/<bucket>/<key>``), whatever style the
  client used; the key is percent-encoded as S3's canonical URI wants it (every byte but the unreserved
  characters and ``/``), so what botocore signs is what httpx sends.
- The client's own authentication is removed (Authorization, X-Amz-Date, X-Amz-Security-Token,
  X-Amz-Content-SHA256, the presigned URL's X-Amz-* query parameters), as are hop-by-hop headers and
  the aws-chunked framing (``Content-Encoding: aws-chunked``, ``x-amz-decoded-content-length``,
  ``x-amz-trailer``): the body forwarded is the decoded one, its length the decoded length. The
  headers S3 honours (Content-Type, Content-MD5, Cache-Control, conditional headers, Range,
  ``x-amz-meta-*``, ``x-amz-acl``, ``x-amz-server-side-encryption*``, ``x-amz-checksum-*``,
  ``x-amz-copy-source*``, ``x-amz-tagging``, ``x-amz-storage-class``…) are forwarded; the bucket-owner
  checks (``x-amz-expected-bucket-owner``) are the front's own (the upstream bucket belongs to the
  operator), so they are not.
- Signed with botocore's ``S3SigV4Auth``: the payload hash is the client's when it signed one (a hex
  digest the request side verifies as the body streams, and the upstream verifies again), else
  ``UNSIGNED-PAYLOAD`` (streamed bodies: chunk signatures and trailer checksums were verified by the
  request side).
- httpx's connection pool keeps upstream connections alive. A body iterator that fails (a chunk
  signature, a checksum, a digest that does not match) aborts the upstream request mid-body: the
  upstream sees a short body and commits nothing, and the client gets the request side's error.
- Failures of the upstream itself map to S3's retryable errors: unreachable → 503 ServiceUnavailable,
  pool exhausted → 503 SlowDown, a broken or timed-out exchange → 500 InternalError; an upstream that
  refuses the operator's own credentials is a misconfiguration, answered 500 InternalError and logged.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import quote

import httpx
from botocore.auth import EMPTY_SHA256_HASH, UNSIGNED_PAYLOAD, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ostiary.s3front.config import S3FrontConfig
from ostiary.s3front.errors import InternalError, S3Error, ServiceUnavailable, SlowDown
from ostiary.s3front.model import Body, S3Request

log = logging.getLogger("ostiary.s3front")

# the presigned URL's own parameters (S3 API Reference, "Authenticating Requests: Using Query Parameters")
_AUTH_QUERY = frozenset(
    {"x-amz-algorithm", "x-amz-credential", "x-amz-signature", "x-amz-date", "x-amz-signedheaders",
     "x-amz-expires", "x-amz-security-token"}
)  # fmt: skip
_FORWARDED = frozenset(
    {"content-type", "content-md5", "cache-control", "content-disposition", "content-encoding", "content-language",
     "expires", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "range",
     # CORS: the upstream answers by the bucket's CORS configuration (preflights and actual requests)
     "origin", "access-control-request-method", "access-control-request-headers"}
)  # fmt: skip
# x-amz-* headers the front consumes itself or that describe the client's framing, not the object
_NOT_FORWARDED_AMZ = frozenset(
    {"x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "x-amz-decoded-content-length", "x-amz-trailer",
     "x-amz-sdk-checksum-algorithm", "x-amz-expected-bucket-owner", "x-amz-source-expected-bucket-owner",
     "x-amz-user-agent"}
)  # fmt: skip
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
     "transfer-encoding", "upgrade"}
)  # fmt: skip
# what the upstream answers when it refuses the operator's credentials (a misconfigured front)
_CREDENTIAL_ERRORS = (
    b"<Code>InvalidAccessKeyId</Code>",
    b"<Code>SignatureDoesNotMatch</Code>",
    b"<Code>ExpiredToken</Code>",
    b"<Code>InvalidToken</Code>",
    b"<Code>RequestTimeTooSkewed</Code>",
)
_ERROR_PEEK = 64 * 1024
WRITE_BYTES = 256 * 1024  # upstream writes gathered to this size (memory: one such buffer per request)


class _Signer(S3SigV4Auth):  # type: ignore[misc]  # botocore is untyped
    """botocore's S3 signer with the payload hash given (never read from the body: it streams)."""

    def __init__(self, credentials: Credentials, region: str, payload_hash: str) -> None:
        super().__init__(credentials, "s3", region)
        self._payload_hash = payload_hash

    def payload(self, request: Any) -> str:
        return self._payload_hash


def key_path(key: str) -> str:
    """A key as S3's canonical URI (every byte but unreserved characters and ``/`` percent-encoded);
    the segments ``.`` and ``..`` encoded too, so that no HTTP client removes them as dot segments."""
    segments = []
    for segment in key.split("/"):
        if segment in (".", ".."):
            segments.append(segment.replace(".", "%2E"))
        else:
            segments.append(quote(segment, safe="-_.~"))
    return "/".join(segments)


def upstream_query(request: S3Request) -> str:
    """The client's query without the presigned URL's authentication parameters."""
    parts = []
    for name, value in request.query:
        if name.lower() in _AUTH_QUERY:
            continue
        parts.append(f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}")
    return "&".join(parts)


def upstream_headers(request: S3Request) -> list[tuple[str, str]]:
    """The client's headers that S3 honours, as forwarded (see the module's docstring)."""
    out = []
    for name, value in request.headers:
        if name in _HOP_BY_HOP:
            continue
        if name == "content-encoding":
            codings = [c.strip() for c in value.split(",") if c.strip() and c.strip().lower() != "aws-chunked"]
            if codings:
                out.append((name, ", ".join(codings)))
            continue
        if name in _FORWARDED or (name.startswith("x-amz-") and name not in _NOT_FORWARDED_AMZ):
            out.append((name, value))
    return out


def decoded_length(request: S3Request) -> int | None:
    """The length of the body the upstream gets: ``x-amz-decoded-content-length`` of an aws-chunked
    body, else Content-Length; None when the client sent neither."""
    for name in ("x-amz-decoded-content-length", "content-length"):
        value = request.header(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return None


@dataclass
class UpstreamResponse:
    status: int
    headers: list[tuple[str, str]]
    body: AsyncIterator[bytes]
    response: httpx.Response

    async def aclose(self) -> None:
        await self.response.aclose()


class UpstreamClient:
    """One per front: the operator's credentials and a keep-alive connection pool."""

    def __init__(self, config: S3FrontConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.credentials = Credentials(config.upstream.access_key_id, config.upstream.secret_access_key)
        limits = httpx.Limits(max_connections=config.max_connections, max_keepalive_connections=config.max_connections)
        timeout = httpx.Timeout(
            connect=config.connect_timeout,
            read=config.read_timeout,
            write=config.read_timeout,
            pool=config.connect_timeout,
        )
        # no redirect followed, no proxy taken from the environment (as egress.py: docs/security.md), and
        # no cookie kept: one client serves every caller, so an upstream's Set-Cookie must not travel on
        self.client = httpx.AsyncClient(
            limits=limits,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def build(
        self, request: S3Request, payload_hash: str, content_length: int | None, has_body: bool
    ) -> tuple[str, list[tuple[str, str]]]:
        """The upstream URL and the signed headers of ``request``."""
        path = "/"
        if request.bucket is not None:
            path += request.bucket
            if request.key is not None:
                path += "/" + key_path(request.key)
        query = upstream_query(request)
        url = self.config.upstream.endpoint + path + (f"?{query}" if query else "")
        headers = upstream_headers(request)
        if has_body and content_length is not None:
            headers.append(("content-length", str(content_length)))
        aws = AWSRequest(method=request.method, url=url, headers=dict(headers))
        _Signer(self.credentials, self.config.upstream.region, payload_hash).add_auth(aws)
        # botocore's headers (Host is added by httpx from the URL, as botocore computed it)
        signed = [(k.lower(), v.decode() if isinstance(v, bytes) else str(v)) for k, v in aws.headers.items()]
        return url, signed

    async def send(
        self, request: S3Request, body: Body | None, client_sha256: str | None, content_length: int | None
    ) -> UpstreamResponse:
        """Forward ``request`` (``body`` already decoded and verified as it streams, ``content_length``
        bytes long) and return the upstream's answer, its body still streaming. Raises S3Error: the body
        iterator's own (the upstream request is then abandoned) or the mapping of an upstream failure."""
        if content_length is None and body is not None and request.method in ("PUT", "POST"):
            content_length = decoded_length(request)
        has_body = body is not None and request.method in ("PUT", "POST")
        if client_sha256 and len(client_sha256) == 64 and all(c in "0123456789abcdef" for c in client_sha256):
            payload_hash = client_sha256
        elif not has_body or content_length == 0:
            payload_hash = EMPTY_SHA256_HASH
        else:
            payload_hash = UNSIGNED_PAYLOAD
        url, headers = self.build(request, payload_hash, content_length if has_body else None, has_body)
        content: AsyncIterator[bytes] | None = _guarded(body) if has_body and body is not None else None
        upstream_request = self.client.build_request(request.method, url, headers=headers, content=content)
        try:
            response = await self.client.send(upstream_request, stream=True)
        except _BodyFailed as failed:
            raise failed.error from None
        except httpx.PoolTimeout:
            log.warning("s3front upstream pool exhausted", extra={"upstream": self.config.upstream.endpoint})
            raise SlowDown() from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            log.warning("s3front upstream unreachable: %s", type(exc).__name__)
            raise ServiceUnavailable() from None
        except httpx.HTTPError as exc:
            cause = exc.__context__ or exc.__cause__
            if isinstance(cause, _BodyFailed):
                raise cause.error from None
            log.warning("s3front upstream exchange failed: %s", type(exc).__name__)
            raise InternalError() from None
        if response.status_code in (400, 403):
            return await self._checked_error(response)
        return UpstreamResponse(response.status_code, _response_headers(response), response.aiter_raw(), response)

    async def _checked_error(self, response: httpx.Response) -> UpstreamResponse:
        """An upstream 400/403: passed on, unless it refuses the operator's own credentials."""
        body = b""
        try:
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > _ERROR_PEEK:
                    break
        except httpx.HTTPError:
            await response.aclose()
            raise InternalError() from None
        if any(code in body for code in _CREDENTIAL_ERRORS):
            await response.aclose()
            log.error("s3front: the upstream refused the operator's credentials (check [s3.upstream])")
            raise InternalError()
        headers = [(k, v) for k, v in _response_headers(response) if k != "content-length"]
        headers.append(("content-length", str(len(body))))
        return UpstreamResponse(response.status_code, headers, _once(body, response), response)


class _BodyFailed(Exception):
    """The client's body failed verification while it streamed upstream (carries the S3 error)."""

    def __init__(self, error: S3Error) -> None:
        super().__init__(error.code)
        self.error = error


async def _guarded(body: Body) -> AsyncIterator[bytes]:
    """The body, its pieces gathered into writes of about ``WRITE_BYTES`` (a server hands them over
    in pieces of a few KiB: one upstream write each costs both ends far more), a verification failure
    turned into _BodyFailed."""
    pending: list[bytes] = []
    size = 0
    try:
        async for chunk in body:
            pending.append(chunk)
            size += len(chunk)
            if size >= WRITE_BYTES:
                yield b"".join(pending)
                pending, size = [], 0
    except S3Error as error:
        raise _BodyFailed(error) from None
    if pending:
        yield b"".join(pending)


async def _once(body: bytes, response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        yield body
    finally:
        await response.aclose()


def _response_headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [
        (k.decode("latin-1").lower(), v.decode("latin-1"))
        for k, v in response.headers.raw
        if k.decode("latin-1").lower() not in _HOP_BY_HOP
        and k.decode("latin-1").lower() not in ("x-amz-request-id", "x-amz-id-2", "server", "date")
    ]
