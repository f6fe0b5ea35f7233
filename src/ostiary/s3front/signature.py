"""SigV4 for S3, in every form S3 accepts, and the body it vouches for.

``Verifier.authenticate(req, body)`` reads the signature of an ``S3Request`` and returns the ``Caller``
and the request body as a ``Body`` iterator of the decoded, verified bytes:

- no ``Authorization`` header and no ``X-Amz-*`` presigning parameter: an anonymous caller (principal
  None; a bucket policy may still allow it);
- ``Authorization: AWS4-HMAC-SHA256 …`` (header-signed) or ``X-Amz-Algorithm=AWS4-HMAC-SHA256&…``
  (presigned URL, ``X-Amz-Expires`` 1…604800 s): the access key resolved as the AWS front door does it
  (``access.access_keys.CredentialCache``: IAM users' keys, roles' and identity-pool sessions'
  temporary credentials with their ``X-Amz-Security-Token``), the signature recomputed with
  ``protocol.sigv4``'s canonical query and string to sign. S3's canonical URI is the path exactly as
  received: unlike other services it is neither normalized nor encoded a second time
  (``sigv4.canonical_uri`` does both, for STS/IAM/Cognito). Every ``x-amz-*`` header the request
  carries must be signed (S3: "There were headers present in the request which were not signed").
- the payload, by ``x-amz-content-sha256``: a hex SHA-256 (verified while the body streams: a
  mismatch fails the iterator with XAmzContentSHA256Mismatch); ``UNSIGNED-PAYLOAD``; or aws-chunked
  (``Content-Encoding: aws-chunked``, ``x-amz-decoded-content-length``):
  ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` (each chunk's signature chained from the seed signature),
  ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` and ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`` (the
  trailing ``x-amz-checksum-crc32|crc32c|crc64nvme|sha1|sha256`` verified; with the trailer
  signature). The decoded length must equal ``x-amz-decoded-content-length``.

The body is verified as it streams, with memory bounded by the pieces the server reads (a chunk is
hashed piece by piece, never held whole). So that nothing unverified can complete an upload, the
iterator holds back its last piece until every check of the body has passed (the signature of the
final chunk, the trailer's checksum and signature, the whole-body hash): an upstream that was sent
``decoded_length`` bytes less that piece never sees a complete body, and a failure (an S3Error raised
by the iterator) aborts it. When ``decoded_length`` is 0 there is nothing to hold back: read the body
to its end before sending the request upstream.

Key resolution reads the store (cached for 5 s): call ``authenticate`` off the event loop when the
cache may miss. Errors are S3's (``s3front.errors``), with S3's extra elements.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import string
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from ostiary.access.access_keys import AnyKeyResolver, CredentialCache
from ostiary.access.session_tokens import is_self_contained
from ostiary.protocol import sigv4
from ostiary.protocol.errors import ServiceError
from ostiary.s3front import checksums
from ostiary.s3front.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    BadDigest,
    ExpiredToken,
    IncompleteBody,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidRequest,
    InvalidToken,
    MissingContentLength,
    RequestTimeTooSkewed,
    S3Error,
    S3NotImplemented,
    XAmzContentSHA256Mismatch,
    signature_mismatch,
)
from ostiary.s3front.model import Body, Caller, S3Request, SignedWith

ALGORITHM = sigv4.ALGORITHM
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_ECDSA = ("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER")
STREAMING = frozenset({STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER})
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_EXPIRES = 604800  # a week: S3's limit for a presigned URL
MAX_SKEW_MS = 900_000  # S3 refuses a header-signed request more than 15 minutes off the server's clock
MAX_CHUNK_HEADER = 256  # "<hex size>;chunk-signature=<64 hex>"
MAX_TRAILER_LINE = 1024
MAX_TRAILER_LINES = 8
PIECE = 256 * 1024  # the most the decoder takes from its buffer at once
PRESIGN_REQUIRED = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders")
_HEX = frozenset(string.hexdigits)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_sha256_hex(value: str) -> bool:
    return len(value) == 64 and all(c in _HEX for c in value)


@dataclass(frozen=True, slots=True)
class Authenticated:
    caller: Caller
    body: Body  # the decoded, verified body (see the module docstring)
    decoded_length: (
        int | None
    )  # how many bytes ``body`` yields, when the request says (Content-Length / x-amz-decoded-content-length)
    # the headers aws-chunked decoding consumed: the upstream request must not repeat them
    # (content-encoding's aws-chunked, x-amz-decoded-content-length, x-amz-trailer, content-length)
    chunked: bool = False


@dataclass(frozen=True, slots=True)
class ChunkChain:
    """The chained signatures of aws-chunked bodies (S3 API Reference, "Signature calculations for the
    Authorization header: transferring payload in multiple chunks"): each chunk's string to sign
    names the previous signature (the seed signature of the Authorization header first)."""

    key: bytes
    amz_date: str
    scope: str

    def chunk_signature(self, previous: str, data_sha256: str) -> str:
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", self.amz_date, self.scope, previous, EMPTY_SHA256, data_sha256])
        return hmac.new(self.key, sts.encode(), hashlib.sha256).hexdigest()

    def trailer_signature(self, previous: str, trailer: str) -> str:
        digest = hashlib.sha256(trailer.encode()).hexdigest()
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", self.amz_date, self.scope, previous, digest])
        return hmac.new(self.key, sts.encode(), hashlib.sha256).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.lower().encode())


# -- the canonical request ---------------------------------------------------------------------------
def header_map(req: S3Request) -> dict[str, str]:
    """Lower-case names; repeated headers joined with commas, as SigV4 canonicalizes them."""
    out: dict[str, str] = {}
    for name, value in req.headers:
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


def canonical_request(
    req: S3Request,
    query: list[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    payload_hash: str,
    presigned: bool,
) -> str:
    lines = []
    for name in signed_headers:
        value = headers.get(name, "")  # a signed header that is absent: the signature will not match
        lines.append(f"{name}:{' '.join(value.split())}")
    return "\n".join(
        [
            req.method.upper(),
            req.raw_path or "/",  # S3: the URI as sent, not normalized, not encoded twice
            sigv4.canonical_query(query, drop_signature=presigned),
            "\n".join(lines) + "\n",
            ";".join(signed_headers),
            payload_hash,
        ]
    )


# -- the verifier -------------------------------------------------------------------------------------
class Verifier:
    """Checks the SigV4 signatures of one S3 front (``region``: the region it answers for; None
    accepts any scope region)."""

    def __init__(
        self,
        credentials: CredentialCache,
        region: str | None,
        *,
        any_key: AnyKeyResolver | None = None,
        clock_skew_seconds: int = MAX_SKEW_MS // 1000,
    ) -> None:
        self.credentials = credentials
        self.region = region
        self.any_key = any_key
        self.skew = dt.timedelta(seconds=clock_skew_seconds)

    def authenticate(self, req: S3Request, body: Body, now: dt.datetime | None = None) -> Authenticated:
        now = now or dt.datetime.now(dt.UTC)
        headers = header_map(req)
        query = sigv4.parse_query(req.raw_query)
        names = {k for k, _ in query}
        auth = headers.get("authorization")
        presigned = bool(names & {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"})
        if auth is not None and presigned:
            raise InvalidArgument(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
                "string parameter or the Authorization header should be specified",
                ArgumentName="Authorization",
                ArgumentValue=auth[:64],
            )
        if auth is None and not presigned:
            return self._anonymous(req, headers, body)
        signed = self._parse_presigned(query) if presigned else self._parse_header(auth or "", headers)
        self._check_scope(signed)
        self._check_time(signed, now)
        unsigned = sorted(
            name
            for name in headers
            if name.startswith("x-amz-")
            and name not in signed.signed_headers
            and not (signed.presigned and name == "x-amz-content-sha256")
        )
        if unsigned:
            raise AccessDenied(
                "There were headers present in the request which were not signed", HeadersNotSigned=", ".join(unsigned)
            )
        if "host" not in signed.signed_headers:
            raise (AuthorizationQueryParametersError if signed.presigned else AuthorizationHeaderMalformed)(
                "The authorization header is malformed; 'Host' must be a 'SignedHeader' in the AWS Authorization."
            )
        declared = headers.get("x-amz-content-sha256")
        if signed.presigned:
            payload_hash = (
                declared if declared and "x-amz-content-sha256" in signed.signed_headers else UNSIGNED_PAYLOAD
            )
        else:
            if not declared:
                raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")
            payload_hash = declared
        self._check_payload_hash(payload_hash, signed.presigned)

        found = self.credentials.get(signed.access_key_id, signed.security_token)
        if found is None and is_self_contained(signed.security_token):
            raise InvalidToken()  # a role session's token that does not open (or whose role is gone)
        if found is None:
            anyone = (
                self.any_key.resolve(signed.access_key_id, signed.security_token) if self.any_key is not None else None
            )
            if anyone is None:
                raise InvalidAccessKeyId(AWSAccessKeyId=signed.access_key_id[:128])
            caller = Caller(anyone, _signed_with(signed), signed.access_key_id, payload_hash)
            key = b"any-key: signatures are not checked (development mode)"
            return self._with_body(req, headers, body, caller, signed, key, verify_chunks=False)
        key = found.signing_key(signed.date, signed.region, signed.service)
        creq = canonical_request(req, query, headers, signed.signed_headers, payload_hash, signed.presigned)
        sts = sigv4.string_to_sign(signed, creq)
        expected = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if not _same(expected, signed.signature):
            raise signature_mismatch(signed.access_key_id, sts, signed.signature, creq)
        if found.token_hash is not None:  # temporary credentials: the session token must match
            given = hashlib.sha256((signed.security_token or "").encode()).hexdigest()
            if not signed.security_token or not hmac.compare_digest(given, found.token_hash):
                raise InvalidToken()
            if found.session_expires_at is not None and found.session_expires_at <= now:
                raise ExpiredToken()
        self.credentials.record_use(signed.access_key_id, signed.service, signed.region)
        caller = Caller(found.principal, _signed_with(signed), signed.access_key_id, payload_hash)
        return self._with_body(req, headers, body, caller, signed, key, verify_chunks=True)

    # -- parsing --------------------------------------------------------------------------------------
    def _parse_header(self, auth: str, headers: Mapping[str, str]) -> sigv4.SignedRequest:
        algorithm = auth.strip().partition(" ")[0]
        if algorithm != ALGORITHM:
            if algorithm in {"AWS", "AWS4-ECDSA-P256-SHA256"}:
                raise InvalidRequest(
                    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
                )
            raise AuthorizationHeaderMalformed(
                "The authorization header is malformed; the authorization header requires three components: "
                "Credential, SignedHeaders, and Signature."
            )
        if "x-amz-date" not in headers:
            raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
        try:
            parsed = sigv4.find_signature(headers, [])
        except ServiceError as err:
            message = err.message
            if "Credential" in message:
                message = 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
            raise AuthorizationHeaderMalformed(f"The authorization header is malformed; {message}") from None
        if parsed is None:  # cannot happen: the Authorization header is there
            raise AuthorizationHeaderMalformed()
        return parsed

    def _parse_presigned(self, query: list[tuple[str, str]]) -> sigv4.SignedRequest:
        q = dict(query)
        if not all(p in q for p in (*PRESIGN_REQUIRED, "X-Amz-Expires")):
            raise AuthorizationQueryParametersError()
        if q["X-Amz-Algorithm"] != ALGORITHM:
            raise AuthorizationQueryParametersError(
                'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256 and AWS4-ECDSA-P256-SHA256"'
            )
        raw = q["X-Amz-Expires"]
        if not raw.lstrip("-").isdigit() or len(raw) > 12:
            raise AuthorizationQueryParametersError("X-Amz-Expires should be a number")
        if int(raw) < 0:
            raise AuthorizationQueryParametersError("X-Amz-Expires must be non-negative")
        if int(raw) > MAX_EXPIRES:
            raise AuthorizationQueryParametersError(
                f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}"
            )
        if int(raw) == 0:
            raise AuthorizationQueryParametersError("X-Amz-Expires must be greater than 0")
        try:
            sigv4.parse_amz_date(q["X-Amz-Date"])
        except ServiceError:
            raise AuthorizationQueryParametersError(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
            ) from None
        try:
            parsed = sigv4.find_signature({}, query)
        except ServiceError:
            raise AuthorizationQueryParametersError(
                "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "
                '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
            ) from None
        if parsed is None:  # cannot happen: X-Amz-Credential is there
            raise AuthorizationQueryParametersError()
        return parsed

    def _check_scope(self, s: sigv4.SignedRequest) -> None:
        bad = AuthorizationQueryParametersError if s.presigned else AuthorizationHeaderMalformed
        lead = (
            "Error parsing the X-Amz-Credential parameter;" if s.presigned else "The authorization header is malformed;"
        )
        if s.service != "s3":
            raise bad(f'{lead} incorrect service "{s.service[:64]}". This endpoint belongs to "s3".')
        if self.region is not None and s.region != self.region:
            raise bad(f"{lead} the region '{s.region[:64]}' is wrong; expecting '{self.region}'", Region=self.region)
        if s.date != s.amz_date[:8]:
            raise bad(f"{lead} Invalid credential date. Date is not the same as X-Amz-Date.")

    def _check_time(self, s: sigv4.SignedRequest, now: dt.datetime) -> None:
        try:
            signed_at = sigv4.parse_amz_date(s.amz_date)
        except ServiceError:
            raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header") from None
        if s.presigned:
            expires = s.expires or 0
            if now > signed_at + dt.timedelta(seconds=expires):
                raise AccessDenied(
                    "Request has expired",
                    **{
                        "X-Amz-Expires": str(expires),
                        "Expires": _iso(signed_at + dt.timedelta(seconds=expires)),
                        "ServerTime": _iso(now),
                    },
                )
            if signed_at > now + self.skew:
                raise AccessDenied("Request is not valid yet")
            return
        if abs(now - signed_at) > self.skew:
            raise RequestTimeTooSkewed(
                RequestTime=s.amz_date,
                ServerTime=_iso(now),
                MaxAllowedSkewMilliseconds=str(int(self.skew.total_seconds() * 1000)),
            )

    @staticmethod
    def _check_payload_hash(value: str, presigned: bool) -> None:
        if value == UNSIGNED_PAYLOAD or _is_sha256_hex(value):
            return
        if value in STREAMING and not presigned:
            return
        if value in STREAMING_ECDSA:
            raise S3NotImplemented(
                "A header you provided implies functionality that is not implemented", Header="x-amz-content-sha256"
            )
        raise InvalidArgument(
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
            "or a valid sha256 value.",
            ArgumentName="x-amz-content-sha256",
            ArgumentValue=value[:128],
        )

    # -- the body ------------------------------------------------------------------------------------
    def _anonymous(self, req: S3Request, headers: Mapping[str, str], body: Body) -> Authenticated:
        declared = headers.get("x-amz-content-sha256")
        if declared is not None:
            self._check_payload_hash(declared, presigned=False)
            if declared in {STREAMING_SIGNED, STREAMING_SIGNED_TRAILER}:
                raise AccessDenied("Anonymous requests cannot use signed aws-chunked payloads")
        caller = Caller(None, SignedWith.ANONYMOUS, None, declared)
        return self._with_body(req, headers, body, caller, None, b"", verify_chunks=False)

    def _with_body(
        self,
        req: S3Request,
        headers: Mapping[str, str],
        body: Body,
        caller: Caller,
        signed: sigv4.SignedRequest | None,
        key: bytes,
        *,
        verify_chunks: bool,
    ) -> Authenticated:
        mode = caller.content_sha256 or UNSIGNED_PAYLOAD
        if mode in STREAMING:
            decoded = headers.get("x-amz-decoded-content-length")
            if decoded is None or not decoded.isdigit() or len(decoded) > 19:
                raise MissingContentLength("You must provide the Content-Length HTTP header.")
            length = int(decoded)
            trailer = (headers.get("x-amz-trailer") or "").strip().lower() or None
            if trailer is not None:
                algorithm = trailer.removeprefix("x-amz-checksum-")
                if not trailer.startswith("x-amz-checksum-") or algorithm not in checksums.ALGORITHMS:
                    raise InvalidRequest("The value specified in the x-amz-trailer header is not supported")
            elif mode != STREAMING_SIGNED:
                trailer = None  # a trailer-less trailer encoding: only the empty trailer section
            chain: ChunkChain | None = None
            seed = ""
            if mode in {STREAMING_SIGNED, STREAMING_SIGNED_TRAILER} and signed is not None:
                scope = f"{signed.date}/{signed.region}/{signed.service}/aws4_request"
                chain = ChunkChain(key, signed.amz_date, scope)
                seed = signed.signature.lower()
            decoder = aws_chunked(
                body,
                chain=chain if verify_chunks else None,
                signed=mode in {STREAMING_SIGNED, STREAMING_SIGNED_TRAILER},
                seed=seed,
                trailer=trailer,
                trailer_section=mode != STREAMING_SIGNED,
                decoded_length=length,
            )
            return Authenticated(caller, hold_last(decoder), length, chunked=True)
        length_header = headers.get("content-length")
        plain_length = (
            int(length_header) if length_header and length_header.isdigit() and len(length_header) < 20 else None
        )
        if _is_sha256_hex(mode):
            return Authenticated(caller, hold_last(sha256_checked(body, mode.lower())), plain_length)
        return Authenticated(caller, body, plain_length)


def _signed_with(s: sigv4.SignedRequest) -> SignedWith:
    return SignedWith.PRESIGNED if s.presigned else SignedWith.HEADER


# -- body iterators ---------------------------------------------------------------------------------
async def hold_last(inner: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``inner``'s pieces, each one only once the next has arrived, and the last only once ``inner``
    has ended without an error (so its checks at the end of the body have all passed)."""
    pending = b""
    async for piece in inner:
        if not piece:
            continue
        if pending:
            yield pending
        pending = piece
    if pending:
        yield pending


async def sha256_checked(body: Body, declared: str) -> AsyncIterator[bytes]:
    h = hashlib.sha256()
    async for piece in body:
        h.update(piece)
        yield piece
    computed = h.hexdigest()
    if not hmac.compare_digest(computed, declared):
        raise XAmzContentSHA256Mismatch(ClientComputedContentSHA256=declared, S3ComputedContentSHA256=computed)


class _Reader:
    """Bytes from an async iterator of pieces, read by line (bounded) or by count."""

    def __init__(self, source: Body) -> None:
        self._it = source.__aiter__()
        self._buf = b""
        self._pos = 0

    async def _fill(self) -> bool:
        try:
            piece = await self._it.__anext__()
        except StopAsyncIteration:
            return False
        self._buf = self._buf[self._pos :] + piece
        self._pos = 0
        return True

    async def line(self, limit: int) -> bytes:
        while True:
            i = self._buf.find(b"\r\n", self._pos)
            if i >= 0 and i - self._pos <= limit:
                out = self._buf[self._pos : i]
                self._pos = i + 2
                return out
            if len(self._buf) - self._pos > limit + 1:
                raise InvalidRequest("The aws-chunked encoding of the request body is malformed")
            if not await self._fill():
                raise IncompleteBody()

    async def take(self, n: int) -> bytes:
        if self._pos >= len(self._buf) and not await self._fill():
            raise IncompleteBody()
        out = self._buf[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    async def at_end(self) -> bool:
        while self._pos >= len(self._buf):
            if not await self._fill():
                return True
        return False


def _malformed() -> S3Error:
    return InvalidRequest("The aws-chunked encoding of the request body is malformed")


def _chunk_header(line: bytes, signed: bool) -> tuple[int, str | None]:
    size_part, _, ext = line.partition(b";")
    size_text = size_part.strip().decode("ascii", "replace")
    if not size_text or len(size_text) > 16 or not all(c in _HEX for c in size_text):
        raise _malformed()
    size = int(size_text, 16)
    if not signed:
        return size, None
    name, _, value = ext.partition(b"=")
    sig = value.strip().decode("ascii", "replace")
    if name.strip() != b"chunk-signature" or not _is_sha256_hex(sig):
        raise _malformed()
    return size, sig


async def aws_chunked(
    body: Body,
    *,
    chain: ChunkChain | None,
    signed: bool,
    seed: str,
    trailer: str | None,
    trailer_section: bool,
    decoded_length: int,
) -> AsyncIterator[bytes]:
    """Decode an aws-chunked body: ``<hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n`` …, a final
    0-size chunk, then (trailer encodings) ``<name>:<value>\\r\\n`` lines [and
    ``x-amz-trailer-signature:<sig>\\r\\n``] and an empty line. ``chain`` None: signatures are read but
    not checked (development mode's any key)."""
    reader = _Reader(body)
    previous = seed
    total = 0
    running = checksums.new(trailer.removeprefix("x-amz-checksum-")) if trailer else None
    while True:
        size, sig = _chunk_header(await reader.line(MAX_CHUNK_HEADER), signed)
        if total + size > decoded_length:
            raise IncompleteBody("The decoded length of the aws-chunked body exceeds x-amz-decoded-content-length")
        h = hashlib.sha256() if chain is not None else None
        left = size
        while left:
            piece = await reader.take(min(left, PIECE))
            left -= len(piece)
            total += len(piece)
            if h is not None:
                h.update(piece)
            if running is not None:
                running.update(piece)
            yield piece
        if chain is not None and h is not None and sig is not None:
            expected = chain.chunk_signature(previous, h.hexdigest())
            if not _same(expected, sig):
                raise SignatureMismatchInChunk(sig)
            previous = expected
        if size == 0:
            break
        if await reader.line(0) != b"":
            raise _malformed()
    if total != decoded_length:
        raise IncompleteBody()
    if not trailer_section:
        if await reader.line(0) != b"":
            raise _malformed()
    else:
        await _trailers(reader, chain, signed, previous, trailer, running)
    if not await reader.at_end():
        raise _malformed()


async def _trailers(
    reader: _Reader,
    chain: ChunkChain | None,
    signed: bool,
    previous: str,
    trailer: str | None,
    running: checksums.Checksum | None,
) -> None:
    fields: list[tuple[str, str]] = []
    signature: str | None = None
    while True:
        line = (await reader.line(MAX_TRAILER_LINE)).decode("utf-8", "replace")
        if line == "":
            break
        if len(fields) >= MAX_TRAILER_LINES:
            raise _malformed()
        name, sep, value = line.partition(":")
        if not sep:
            raise _malformed()
        name, value = name.strip().lower(), value.strip()
        if name == "x-amz-trailer-signature":
            signature = value
        else:
            fields.append((name, value))
    if signed:
        if signature is None or not _is_sha256_hex(signature):
            raise _malformed()
        if chain is not None:
            text = "".join(f"{n}:{v}\n" for n, v in fields)
            if not _same(chain.trailer_signature(previous, text), signature):
                raise SignatureMismatchInChunk(signature)
    if trailer is not None:
        values = [v for n, v in fields if n == trailer]
        if len(values) != 1 or running is None:
            raise InvalidRequest(f"The {trailer} trailer was declared but not sent")
        computed = checksums.b64(running)
        if not hmac.compare_digest(computed, values[0]):
            algorithm = trailer.removeprefix("x-amz-checksum-").upper()
            raise BadDigest(f"The {algorithm} you specified did not match the calculated checksum.")


class SignatureMismatchInChunk(S3Error):
    """A chunk or trailer signature that does not match: S3 answers SignatureDoesNotMatch."""

    code = "SignatureDoesNotMatch"
    status = 403
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )

    def __init__(self, provided: str) -> None:
        super().__init__(None, SignatureProvided=provided[:128])
