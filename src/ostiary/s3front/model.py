"""The shapes the S3 front's request side hands its decision and upstream side."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

from ostiary.access.principals import Principal


class SignedWith(enum.Enum):
    ANONYMOUS = "anonymous"  # no Authorization header and no X-Amz-Signature
    HEADER = "header"  # Authorization: AWS4-HMAC-SHA256 …
    PRESIGNED = "presigned"  # X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=… in the query


@dataclass(frozen=True, slots=True)
class S3Request:
    """One request as received, with the bucket and key already found (path style or virtual host)."""

    method: str
    raw_path: str  # as received, percent-encoded (what SigV4's canonical URI is built from)
    raw_query: str
    query: tuple[tuple[str, str], ...]  # decoded pairs, in order
    headers: tuple[tuple[str, str], ...]  # lower-cased names
    bucket: str | None  # None: ListBuckets (GET /)
    key: str | None  # decoded object key, None for bucket-level requests
    virtual_host: bool
    source_ip: str
    secure_transport: bool
    tls_version: str | None = None  # "TLSv1.3" when the listener terminates TLS and knows it (s3:TlsVersion)

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for k, v in self.headers:
            if k == lname:
                return v
        return None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who signed the request. ``principal`` is None for an anonymous request."""

    principal: Principal | None
    signed_with: SignedWith
    access_key_id: str | None = None
    # the payload hash the signature covers: a hex digest, UNSIGNED-PAYLOAD,
    # STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, ...
    content_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Access:
    """One authorization the request needs: an action on a resource with its condition keys."""

    action: str  # e.g. "s3:GetObject"
    resource: str  # e.g. "arn:aws:s3:::bucket/key" or "arn:aws:s3:::bucket" ("*" for ListBuckets)
    condition_keys: Mapping[str, list[str]] = field(default_factory=dict)  # s3:prefix, s3:x-amz-acl, ...


@dataclass(frozen=True, slots=True)
class S3Operation:
    """What the request is: its S3 API operation and every access it needs (CopyObject needs
    s3:GetObject on its source as well as s3:PutObject on its target)."""

    name: str  # e.g. "GetObject", "ListObjectsV2", "CreateMultipartUpload"
    accesses: tuple[Access, ...]
    bucket_policy_call: bool = False  # Put/Get/DeleteBucketPolicy: answered by the front, not upstream
    # accesses named in the body (DeleteObjects' keys): the decision side reads the (verified) body,
    # at most ``body_limit`` bytes (more: MalformedXML / MaxMessageLengthExceeded), calls this with
    # it, decides ``accesses`` + what it returns, and only then forwards the buffered body upstream.
    # It raises an S3Error (MalformedXML) for a body it cannot read.
    body_accesses: Callable[[bytes], tuple[Access, ...]] | None = None
    body_limit: int = 0


# the request body as the decision/upstream side reads it: already de-chunked and verified
# (aws-chunked chunk signatures, trailer checksums) by the request side, or the raw body
Body = AsyncIterator[bytes]
