"""From an ``S3Request`` to its ``S3Operation``: which S3 API operation, and every IAM access it needs.

The operation is found from botocore's ``s3`` model (rest-xml): each operation's ``http.method`` and
``requestUri`` (root ``/``, ``/{Bucket}`` or ``/{Bucket}/{Key+}``, with literal query markers such as
``?uploads``, ``?acl``, ``?list-type=2``), then its input members that the request must carry (required
query members such as ``uploadId``/``partNumber``, required headers such as ``x-amz-copy-source``).
The candidate that matches the most markers and required members wins: ``PUT /b/k`` is PutObject, with
``x-amz-copy-source`` CopyObject, with ``partNumber&uploadId`` UploadPart, with both UploadPartCopy.
Where two model operations share one wire form exactly (GetBucketLifecycle and
GetBucketLifecycleConfiguration, ListBuckets and ListDirectoryBuckets) the current one is taken.

A query parameter the chosen operation does not know (not one of its markers or query members, nor a
SigV4 presigning parameter, ``x-id`` or an ``x-amz-*`` header hoisted into a presigned URL) is refused
with NotImplemented: the front would otherwise authorize one operation and forward a request the
upstream store may read as another (MinIO and Ceph have their own sub-resources).

Actions, resources and condition keys follow the Service Authorization Reference for Amazon S3 and
each operation's "Permissions" section in the S3 API Reference: HeadObject needs s3:GetObject,
ListObjects(V2)/HeadBucket s3:ListBucket, a request naming a ``versionId`` the ``…Version…`` action,
multipart parts s3:PutObject, CopyObject/UploadPartCopy s3:PutObject on the target AND s3:GetObject on
the ``x-amz-copy-source``, PutObject with ``x-amz-acl``/grants also s3:PutObjectAcl and with
``x-amz-tagging`` s3:PutObjectTagging. DeleteObjects names its keys in its XML body:
``S3Operation.body_accesses`` parses it (bounded, with lxml, no DTD or entities) into one
s3:DeleteObject (or s3:DeleteObjectVersion) per key, which the decision side evaluates after reading
at most ``body_limit`` bytes and before anything goes upstream.

Not derivable here: ``s3:ExistingObjectTag/<key>`` (the tags of the stored object: only the upstream
knows them) and the tags of a PutObjectTagging body; policies conditioned on them do not match.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

import botocore.session
from lxml import etree

from ostiary.s3front.errors import InvalidArgument, MalformedXML, MethodNotAllowed, S3NotImplemented
from ostiary.s3front.model import Access, S3Operation, S3Request

PRESIGN_PARAMS = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
    }
)
# Wire twins: the same method, URI and members; the first named is the one a request is taken for.
PREFERRED = ("ListBuckets",)

DELETE_OBJECTS_MAX_KEYS = 1000  # S3: "The request can contain a list of up to 1,000 keys"
# 1,000 keys of up to 1,024 bytes each, XML-escaped, with their <Object><Key>… wrapping and VersionIds
DELETE_OBJECTS_MAX_BODY = 8 * 1024 * 1024

ACL_HEADERS = (
    "x-amz-acl",
    "x-amz-grant-full-control",
    "x-amz-grant-read",
    "x-amz-grant-read-acp",
    "x-amz-grant-write",
    "x-amz-grant-write-acp",
)
OBJECT_WRITE_HEADERS = (
    *ACL_HEADERS,
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-storage-class",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
    "x-amz-website-redirect-location",
)
# S3's condition key names for headers whose key is not "s3:" + the header name
HEADER_KEYS = {
    "x-amz-object-lock-mode": "s3:object-lock-mode",
    "x-amz-object-lock-retain-until-date": "s3:object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold": "s3:object-lock-legal-hold",
    "x-amz-website-redirect-location": "s3:x-amz-website-redirect-location",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """How one operation authorizes: ``action`` (``versioned`` when the request names a versionId) on
    the bucket, the object or ``*``."""

    action: str
    resource: str  # "bucket" | "object" | "*"
    versioned: str | None = None


def _b(action: str) -> Rule:
    return Rule(action, "bucket")


def _o(action: str, versioned: str | None = None) -> Rule:
    return Rule(action, "object", versioned)


RULES: dict[str, Rule] = {
    "AbortMultipartUpload": _o("s3:AbortMultipartUpload"),
    "CompleteMultipartUpload": _o("s3:PutObject"),
    "CopyObject": _o("s3:PutObject"),
    "CreateBucket": _b("s3:CreateBucket"),
    "CreateBucketMetadataConfiguration": _b("s3:CreateBucketMetadataTableConfiguration"),
    "CreateBucketMetadataTableConfiguration": _b("s3:CreateBucketMetadataTableConfiguration"),
    "CreateMultipartUpload": _o("s3:PutObject"),
    "CreateSession": _b("s3express:CreateSession"),
    "DeleteBucket": _b("s3:DeleteBucket"),
    "DeleteBucketAnalyticsConfiguration": _b("s3:PutAnalyticsConfiguration"),
    "DeleteBucketCors": _b("s3:PutBucketCORS"),
    "DeleteBucketEncryption": _b("s3:PutEncryptionConfiguration"),
    "DeleteBucketIntelligentTieringConfiguration": _b("s3:PutIntelligentTieringConfiguration"),
    "DeleteBucketInventoryConfiguration": _b("s3:PutInventoryConfiguration"),
    "DeleteBucketLifecycle": _b("s3:PutLifecycleConfiguration"),
    "DeleteBucketMetadataConfiguration": _b("s3:DeleteBucketMetadataTableConfiguration"),
    "DeleteBucketMetadataTableConfiguration": _b("s3:DeleteBucketMetadataTableConfiguration"),
    "DeleteBucketMetricsConfiguration": _b("s3:PutMetricsConfiguration"),
    "DeleteBucketOwnershipControls": _b("s3:PutBucketOwnershipControls"),
    "DeleteBucketPolicy": _b("s3:DeleteBucketPolicy"),
    "DeleteBucketReplication": _b("s3:PutReplicationConfiguration"),
    "DeleteBucketTagging": _b("s3:PutBucketTagging"),
    "DeleteBucketWebsite": _b("s3:DeleteBucketWebsite"),
    "DeleteObject": _o("s3:DeleteObject", "s3:DeleteObjectVersion"),
    "DeleteObjectAnnotation": _o("s3:DeleteObjectAnnotation"),
    "DeleteObjectTagging": _o("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
    "DeleteObjects": _b("s3:DeleteObject"),  # per key, from the body (body_accesses)
    "DeletePublicAccessBlock": _b("s3:PutBucketPublicAccessBlock"),
    "GetBucketAbac": _b("s3:GetBucketAbac"),
    "GetBucketAccelerateConfiguration": _b("s3:GetAccelerateConfiguration"),
    "GetBucketAcl": _b("s3:GetBucketAcl"),
    "GetBucketAnalyticsConfiguration": _b("s3:GetAnalyticsConfiguration"),
    "GetBucketCors": _b("s3:GetBucketCORS"),
    "GetBucketEncryption": _b("s3:GetEncryptionConfiguration"),
    "GetBucketIntelligentTieringConfiguration": _b("s3:GetIntelligentTieringConfiguration"),
    "GetBucketInventoryConfiguration": _b("s3:GetInventoryConfiguration"),
    "GetBucketLifecycle": _b("s3:GetLifecycleConfiguration"),
    "GetBucketLifecycleConfiguration": _b("s3:GetLifecycleConfiguration"),
    "GetBucketLocation": _b("s3:GetBucketLocation"),
    "GetBucketLogging": _b("s3:GetBucketLogging"),
    "GetBucketMetadataConfiguration": _b("s3:GetBucketMetadataTableConfiguration"),
    "GetBucketMetadataTableConfiguration": _b("s3:GetBucketMetadataTableConfiguration"),
    "GetBucketMetricsConfiguration": _b("s3:GetMetricsConfiguration"),
    "GetBucketNotification": _b("s3:GetBucketNotification"),
    "GetBucketNotificationConfiguration": _b("s3:GetBucketNotification"),
    "GetBucketOwnershipControls": _b("s3:GetBucketOwnershipControls"),
    "GetBucketPolicy": _b("s3:GetBucketPolicy"),
    "GetBucketPolicyStatus": _b("s3:GetBucketPolicyStatus"),
    "GetBucketReplication": _b("s3:GetReplicationConfiguration"),
    "GetBucketRequestPayment": _b("s3:GetBucketRequestPayment"),
    "GetBucketTagging": _b("s3:GetBucketTagging"),
    "GetBucketVersioning": _b("s3:GetBucketVersioning"),
    "GetBucketWebsite": _b("s3:GetBucketWebsite"),
    "GetObject": _o("s3:GetObject", "s3:GetObjectVersion"),
    "GetObjectAcl": _o("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
    "GetObjectAnnotation": _o("s3:GetObjectAnnotation"),
    "GetObjectAttributes": _o("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
    "GetObjectLegalHold": _o("s3:GetObjectLegalHold"),
    "GetObjectLockConfiguration": _b("s3:GetBucketObjectLockConfiguration"),
    "GetObjectRetention": _o("s3:GetObjectRetention"),
    "GetObjectTagging": _o("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
    "GetObjectTorrent": _o("s3:GetObjectTorrent", "s3:GetObjectVersionTorrent"),
    "GetPublicAccessBlock": _b("s3:GetBucketPublicAccessBlock"),
    "HeadBucket": _b("s3:ListBucket"),
    "HeadObject": _o("s3:GetObject", "s3:GetObjectVersion"),
    "ListBucketAnalyticsConfigurations": _b("s3:GetAnalyticsConfiguration"),
    "ListBucketIntelligentTieringConfigurations": _b("s3:GetIntelligentTieringConfiguration"),
    "ListBucketInventoryConfigurations": _b("s3:GetInventoryConfiguration"),
    "ListBucketMetricsConfigurations": _b("s3:GetMetricsConfiguration"),
    "ListBuckets": Rule("s3:ListAllMyBuckets", "*"),
    "ListDirectoryBuckets": Rule("s3express:ListAllMyDirectoryBuckets", "*"),
    "ListMultipartUploads": _b("s3:ListBucketMultipartUploads"),
    "ListObjectAnnotations": _o("s3:ListObjectAnnotations"),
    "ListObjectVersions": _b("s3:ListBucketVersions"),
    "ListObjects": _b("s3:ListBucket"),
    "ListObjectsV2": _b("s3:ListBucket"),
    "ListParts": _o("s3:ListMultipartUploadParts"),
    "PutBucketAbac": _b("s3:PutBucketAbac"),
    "PutBucketAccelerateConfiguration": _b("s3:PutAccelerateConfiguration"),
    "PutBucketAcl": _b("s3:PutBucketAcl"),
    "PutBucketAnalyticsConfiguration": _b("s3:PutAnalyticsConfiguration"),
    "PutBucketCors": _b("s3:PutBucketCORS"),
    "PutBucketEncryption": _b("s3:PutEncryptionConfiguration"),
    "PutBucketIntelligentTieringConfiguration": _b("s3:PutIntelligentTieringConfiguration"),
    "PutBucketInventoryConfiguration": _b("s3:PutInventoryConfiguration"),
    "PutBucketLifecycle": _b("s3:PutLifecycleConfiguration"),
    "PutBucketLifecycleConfiguration": _b("s3:PutLifecycleConfiguration"),
    "PutBucketLogging": _b("s3:PutBucketLogging"),
    "PutBucketMetricsConfiguration": _b("s3:PutMetricsConfiguration"),
    "PutBucketNotification": _b("s3:PutBucketNotification"),
    "PutBucketNotificationConfiguration": _b("s3:PutBucketNotification"),
    "PutBucketOwnershipControls": _b("s3:PutBucketOwnershipControls"),
    "PutBucketPolicy": _b("s3:PutBucketPolicy"),
    "PutBucketReplication": _b("s3:PutReplicationConfiguration"),
    "PutBucketRequestPayment": _b("s3:PutBucketRequestPayment"),
    "PutBucketTagging": _b("s3:PutBucketTagging"),
    "PutBucketVersioning": _b("s3:PutBucketVersioning"),
    "PutBucketWebsite": _b("s3:PutBucketWebsite"),
    "PutObject": _o("s3:PutObject"),
    "PutObjectAcl": _o("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
    "PutObjectAnnotation": _o("s3:PutObjectAnnotation"),
    "PutObjectLegalHold": _o("s3:PutObjectLegalHold"),
    "PutObjectLockConfiguration": _b("s3:PutBucketObjectLockConfiguration"),
    "PutObjectRetention": _o("s3:PutObjectRetention"),
    "PutObjectTagging": _o("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
    "PutPublicAccessBlock": _b("s3:PutBucketPublicAccessBlock"),
    "RenameObject": _o("s3express:CreateSession"),  # directory buckets only: session-authorized
    "RestoreObject": _o("s3:RestoreObject"),
    "SelectObjectContent": _o("s3:GetObject"),
    "UpdateBucketMetadataAnnotationTableConfiguration": _b("s3:UpdateBucketMetadataAnnotationTableConfiguration"),
    "UpdateBucketMetadataInventoryTableConfiguration": _b("s3:UpdateBucketMetadataInventoryTableConfiguration"),
    "UpdateBucketMetadataJournalTableConfiguration": _b("s3:UpdateBucketMetadataJournalTableConfiguration"),
    "UpdateObjectEncryption": _o("s3:UpdateObjectEncryption"),
    "UploadPart": _o("s3:PutObject"),
    "UploadPartCopy": _o("s3:PutObject"),
    "WriteGetObjectResponse": Rule("s3-object-lambda:WriteGetObjectResponse", "*"),
}
BUCKET_POLICY_CALLS = frozenset({"PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy"})
LIST_KEYS_ACTIONS = frozenset({"s3:ListBucket", "s3:ListBucketVersions"})
OBJECT_WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload"})
COPIES = frozenset({"CopyObject", "UploadPartCopy"})


# -- the model's wire forms ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WireForm:
    name: str
    method: str
    path: str  # "root" | "bucket" | "object" | a literal path such as "/WriteGetObjectResponse"
    markers: tuple[tuple[str, str | None], ...]  # literal query names (and values) of the requestUri
    query_members: frozenset[str]  # every querystring member's wire name
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]  # lower-case

    def matches(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> int | None:
        """The match's strength (markers + required members present), or None when it does not match."""
        if method != self.method or path != self.path:
            return None
        for name, value in self.markers:
            if name not in query or (value is not None and query[name] != value):
                return None
        if not all(q in query for q in self.required_query) or not all(h in headers for h in self.required_headers):
            return None
        return len(self.markers) * 100 + len(self.required_query) + len(self.required_headers)


def _path_kind(uri_path: str) -> str:
    if uri_path == "/":
        return "root"
    if uri_path == "/{Bucket}":
        return "bucket"
    if uri_path == "/{Bucket}/{Key+}":
        return "object"
    return uri_path


@functools.cache
def wire_forms() -> tuple[WireForm, ...]:
    """Every operation of botocore's s3 model, as the request form it takes."""
    model = botocore.session.get_session().get_service_model("s3")
    forms = []
    for name in model.operation_names:
        op = model.operation_model(name)
        uri_path, _, uri_query = op.http["requestUri"].partition("?")
        markers = tuple(
            (k, v if sep else None) for k, sep, v in (part.partition("=") for part in uri_query.split("&") if part)
        )
        shape = op.input_shape
        query_members: set[str] = set()
        required_query: list[str] = []
        required_headers: list[str] = []
        if shape is not None:
            required = set(shape.required_members)
            for member, mshape in shape.members.items():
                location = mshape.serialization.get("location")
                wire = mshape.serialization.get("name", member)
                if location == "querystring":
                    query_members.add(wire)
                    if member in required:
                        required_query.append(wire)
                elif location == "header" and member in required:
                    required_headers.append(wire.lower())
        forms.append(
            WireForm(
                name=name,
                method=op.http["method"],
                path=_path_kind(uri_path),
                markers=markers,
                query_members=frozenset(query_members),
                required_query=tuple(required_query),
                required_headers=tuple(required_headers),
            )
        )
    return tuple(forms)


def find_operation(req: S3Request) -> WireForm:
    """The model operation ``req`` is; refused when none matches or a query parameter is unknown to it."""
    if req.bucket is None:
        path = "root"
    elif req.bucket == "WriteGetObjectResponse" and req.key is None:  # not a valid bucket name
        path = "/WriteGetObjectResponse"
    else:
        path = "bucket" if req.key is None else "object"
    query = dict(req.query)
    headers = effective_headers(req)
    method = req.method.upper()
    scored = [
        (score, form) for form in wire_forms() if (score := form.matches(method, path, query, headers)) is not None
    ]
    if not scored:
        if method not in {"GET", "HEAD", "PUT", "POST", "DELETE"}:
            raise MethodNotAllowed(Method=method[:16], ResourceType="OBJECT" if req.key is not None else "BUCKET")
        raise S3NotImplemented("A header you provided implies functionality that is not implemented", Header=method)
    # a query parameter the operation does not know rules it out (ListDirectoryBuckets'
    # max-directory-buckets is not ListBuckets'; MinIO's ?events is no ListObjects)
    fitting = [(score, form) for score, form in scored if _unknown_param(form, req.query) is None]
    if not fitting:
        unknown = _unknown_param(max(scored, key=lambda sf: sf[0])[1], req.query) or ""
        raise S3NotImplemented(
            "A parameter you provided implies functionality that is not implemented", Parameter=unknown[:256]
        )
    top = max(score for score, _ in fitting)
    best = min((form for score, form in fitting if score == top), key=_rank)
    return best


def _unknown_param(form: WireForm, query: tuple[tuple[str, str], ...]) -> str | None:
    known = form.query_members
    for name, _ in query:
        if name in known or name in PRESIGN_PARAMS or name == "x-id" or name.lower().startswith("x-amz-"):
            continue
        if any(name == marker for marker, _ in form.markers):
            continue
        return name
    return None


# Operations the model keeps for older clients, with the same wire form as their successors
_DEPRECATED = frozenset({"GetBucketLifecycle", "GetBucketNotification", "PutBucketLifecycle", "PutBucketNotification"})


def _rank(form: WireForm) -> tuple[int, str]:
    """Between equally strong matches (wire twins): the preferred, then the current, then by name."""
    return (0 if form.name in PREFERRED else 2 if form.name in _DEPRECATED else 1, form.name)


# -- accesses --------------------------------------------------------------------------------------
def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def effective_headers(req: S3Request) -> dict[str, str]:
    """The request's headers with the ``x-amz-*`` headers a presigned URL carries in its query (S3 reads
    them as headers: a presigned PUT with ``?x-amz-copy-source=…`` is a CopyObject). A security-relevant
    ``x-amz-*`` header given twice (or both in the query and as a header) is refused: the front must
    not decide on one value while the upstream reads another."""
    out: dict[str, str] = {}
    hoisted = [(k.lower(), v) for k, v in req.query if k.lower().startswith("x-amz-") and k not in PRESIGN_PARAMS]
    for name, value in (*req.headers, *hoisted):
        if name in out and name.startswith("x-amz-") and not name.startswith("x-amz-meta-"):
            raise InvalidArgument(
                f"The {name} header was given more than once", ArgumentName=name[:128], ArgumentValue=value[:256]
            )
        out[name] = value
    return out


def _header(req: S3Request, name: str) -> str | None:
    """A request header, or for a presigned URL the same ``x-amz-*`` header hoisted into the query."""
    value = req.header(name)
    if value is None and name.startswith("x-amz-"):
        for k, v in req.query:
            if k.lower() == name and k not in PRESIGN_PARAMS:
                return v
    return value


def request_keys(req: S3Request, now: dt.datetime | None = None) -> dict[str, list[str]]:
    """The condition keys every S3 action supports: s3:authType, s3:signatureversion,
    s3:signatureAge (milliseconds since the signature's X-Amz-Date), s3:x-amz-content-sha256,
    s3:TlsVersion when the listener knows it."""
    keys: dict[str, list[str]] = {}
    query = dict(req.query)
    amz_date: str | None = None
    if req.header("authorization") is not None:
        keys["s3:authType"] = ["REST-HEADER"]
        keys["s3:signatureversion"] = ["AWS4-HMAC-SHA256"]
        amz_date = _header(req, "x-amz-date")
    elif "X-Amz-Signature" in query or "X-Amz-Credential" in query:
        keys["s3:authType"] = ["REST-QUERY-STRING"]
        keys["s3:signatureversion"] = ["AWS4-HMAC-SHA256"]
        amz_date = query.get("X-Amz-Date")
    if amz_date:
        try:
            signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            signed_at = None
        if signed_at is not None:
            age = (now or dt.datetime.now(dt.UTC)) - signed_at
            keys["s3:signatureAge"] = [str(max(0, int(age.total_seconds() * 1000)))]
    sha = _header(req, "x-amz-content-sha256")
    if sha:
        keys["s3:x-amz-content-sha256"] = [sha]
    if req.tls_version:
        keys["s3:TlsVersion"] = [req.tls_version]
    return keys


def _header_keys(req: S3Request, names: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in names:
        value = _header(req, name)
        if value is not None:
            out[HEADER_KEYS.get(name, "s3:" + name)] = [value]
    return out


def _tag_keys(tagging: str) -> dict[str, list[str]]:
    """s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys from ``x-amz-tagging`` (a URL query)."""
    pairs = parse_qsl(tagging, keep_blank_values=True, max_num_fields=50)
    out: dict[str, list[str]] = {f"s3:RequestObjectTag/{k}": [v] for k, v in pairs}
    if pairs:
        out["s3:RequestObjectTagKeys"] = [k for k, _ in pairs]
    return out


def copy_source(value: str) -> tuple[str, str, str | None]:
    """``x-amz-copy-source`` (``[/]bucket/key[?versionId=…]``, URL-encoded) as (bucket, key, versionId)."""
    path, _, q = value.partition("?")
    decoded = unquote(path).lstrip("/")
    bucket, _, key = decoded.partition("/")
    if decoded.startswith("arn:") or not bucket or not key:
        raise InvalidArgument(
            "Invalid copy source object key", ArgumentName="x-amz-copy-source", ArgumentValue=value[:1024]
        )
    version = dict(parse_qsl(q)).get("versionId") if q else None
    return bucket, key, version


def classify(req: S3Request, now: dt.datetime | None = None) -> S3Operation:
    """The operation ``req`` is and every access it needs (see the module docstring)."""
    form = find_operation(req)
    name = form.name
    rule = RULES[name]
    query = dict(req.query)
    version = query.get("versionId")
    common = request_keys(req, now)
    keys = dict(common)
    action = rule.versioned if rule.versioned is not None and version is not None else rule.action
    if version is not None and rule.resource == "object":
        keys["s3:VersionId"] = [version]
    if rule.resource == "*":
        resource = "*"
    elif rule.resource == "bucket" or req.key is None:
        resource = bucket_arn(req.bucket or "")
    else:
        resource = object_arn(req.bucket or "", req.key)
    if action in LIST_KEYS_ACTIONS:
        for param in ("prefix", "delimiter", "max-keys"):
            if param in query:
                keys["s3:" + param] = [query[param]]
    extra: list[Access] = []
    if name in OBJECT_WRITES or name in COPIES:
        keys.update(_header_keys(req, OBJECT_WRITE_HEADERS))
        tagging = _header(req, "x-amz-tagging")
        if tagging is not None and name != "UploadPartCopy":
            keys.update(_tag_keys(tagging))
        for cond in ("if-match", "if-none-match"):
            value = _header(req, cond)
            if value is not None and name != "UploadPartCopy":
                keys["s3:" + cond] = [value]
        if name in OBJECT_WRITES:
            if any(_header(req, h) is not None for h in ACL_HEADERS):
                extra.append(Access("s3:PutObjectAcl", resource, dict(keys)))
            if tagging is not None:
                extra.append(Access("s3:PutObjectTagging", resource, dict(keys)))
            if _header(req, "x-amz-object-lock-mode") or _header(req, "x-amz-object-lock-retain-until-date"):
                extra.append(Access("s3:PutObjectRetention", resource, dict(keys)))
            if _header(req, "x-amz-object-lock-legal-hold"):
                extra.append(Access("s3:PutObjectLegalHold", resource, dict(keys)))
    if name in COPIES:
        src_bucket, src_key, src_version = copy_source(_header(req, "x-amz-copy-source") or "")
        src_keys = dict(common)
        src_keys["s3:x-amz-copy-source"] = [_header(req, "x-amz-copy-source") or ""]
        if src_version is not None:
            src_keys["s3:VersionId"] = [src_version]
        extra.append(
            Access(
                "s3:GetObjectVersion" if src_version is not None else "s3:GetObject",
                object_arn(src_bucket, src_key),
                src_keys,
            )
        )
    if name in {"PutObjectAcl", "PutBucketAcl", "CreateBucket"}:
        keys.update(_header_keys(req, ACL_HEADERS))
    if name == "CreateBucket":
        ownership = _header(req, "x-amz-object-ownership")
        if ownership is not None:
            keys["s3:x-amz-object-ownership"] = [ownership]
            extra.append(Access("s3:PutBucketOwnershipControls", resource, dict(common)))
        if any(_header(req, h) is not None for h in ACL_HEADERS):
            extra.append(Access("s3:PutBucketAcl", resource, dict(keys)))
        if (_header(req, "x-amz-bucket-object-lock-enabled") or "").lower() == "true":
            extra.append(Access("s3:PutBucketObjectLockConfiguration", resource, dict(common)))
            extra.append(Access("s3:PutBucketVersioning", resource, dict(common)))
    if name in {"PutObjectRetention", "DeleteObject"} and (
        (_header(req, "x-amz-bypass-governance-retention") or "").lower() == "true"
    ):
        extra.append(Access("s3:BypassGovernanceRetention", resource, dict(common)))
    if name == "DeleteObjects":
        bypass = (_header(req, "x-amz-bypass-governance-retention") or "").lower() == "true"
        return S3Operation(
            name=name,
            accesses=(),
            body_accesses=functools.partial(delete_objects_accesses, req.bucket or "", common, bypass),
            body_limit=DELETE_OBJECTS_MAX_BODY,
        )
    return S3Operation(
        name=name,
        accesses=(Access(action, resource, keys), *extra),
        bucket_policy_call=name in BUCKET_POLICY_CALLS,
    )


# -- DeleteObjects' body ---------------------------------------------------------------------------
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)


def delete_objects_accesses(
    bucket: str, common: Mapping[str, list[str]], bypass_governance: bool, body: bytes
) -> tuple[Access, ...]:
    """One s3:DeleteObject (s3:DeleteObjectVersion with a VersionId) per ``<Object>`` of the body, and
    s3:BypassGovernanceRetention on each when the request asks to bypass governance retention."""
    if len(body) > DELETE_OBJECTS_MAX_BODY:
        raise MalformedXML()
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError:
        raise MalformedXML() from None
    if root is None or root.getroottree().docinfo.doctype or etree.QName(root).localname != "Delete":
        raise MalformedXML()
    accesses: list[Access] = []
    count = 0
    for obj in root:
        if not isinstance(obj.tag, str) or etree.QName(obj).localname != "Object":
            continue
        key: str | None = None
        version: str | None = None
        for child in obj:
            if not isinstance(child.tag, str):
                continue
            local = etree.QName(child).localname
            if local == "Key":
                key = child.text or ""
            elif local == "VersionId":
                version = child.text or ""
        if key is None or key == "":
            raise MalformedXML()
        keys = dict(common)
        if version is not None:
            keys["s3:VersionId"] = [version]
        count += 1
        if count > DELETE_OBJECTS_MAX_KEYS:
            raise MalformedXML()
        arn = object_arn(bucket, key)
        accesses.append(Access("s3:DeleteObjectVersion" if version is not None else "s3:DeleteObject", arn, keys))
        if bypass_governance:
            accesses.append(Access("s3:BypassGovernanceRetention", arn, keys))
    if not accesses:
        raise MalformedXML()
    return tuple(accesses)
