"""s3front.operations: every operation of botocore's s3 model classified from the request botocore
itself serializes for it; actions, resources and condition keys of the common operations; the
DeleteObjects body; refusals (unknown sub-resources, hostile XML)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import botocore.session
import pytest
from botocore.model import Shape
from botocore.serialize import create_serializer

from ostiary.s3front import operations
from ostiary.s3front.errors import InvalidArgument, MalformedXML, MethodNotAllowed, S3NotImplemented
from ostiary.s3front.model import Access, S3Request

MODEL = botocore.session.get_session().get_service_model("s3")
# Operations whose wire form is identical to another's: a request for the first is taken for the second
TWINS = {
    "GetBucketLifecycle": "GetBucketLifecycleConfiguration",
    "PutBucketLifecycle": "PutBucketLifecycleConfiguration",
    "GetBucketNotification": "GetBucketNotificationConfiguration",
    "PutBucketNotification": "PutBucketNotificationConfiguration",
    "ListDirectoryBuckets": "ListBuckets",  # without parameters; with max-directory-buckets: itself
}


def _value(shape: Shape, depth: int = 0) -> Any:
    t = shape.type_name
    if t == "structure" and getattr(shape, "is_tagged_union", False):
        first = next(iter(shape.members))
        return {first: _value(shape.members[first], depth + 1)}
    if t == "structure":
        return {m: _value(shape.members[m], depth + 1) for m in getattr(shape, "required_members", []) if depth < 6}
    if t == "list":
        return [_value(shape.member, depth + 1)] if depth < 6 else []
    if t == "map":
        return {}
    if t in {"integer", "long"}:
        return 1
    if t == "boolean":
        return True
    if t == "blob":
        return b""
    if t == "timestamp":
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    if shape.enum:
        return shape.enum[0]
    return "x" * max(1, int(shape.metadata.get("min", 1)))


def request(
    method: str,
    path: str,
    query: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> S3Request:
    """A path-style S3Request (``/bucket/key``) as the front's app hands it over."""
    parts = path.lstrip("/").split("/", 1)
    bucket = unquote(parts[0]) or None
    key = unquote(parts[1]) if len(parts) > 1 and parts[1] else None
    q = query or []
    return S3Request(
        method=method,
        raw_path=path,
        raw_query="&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in q),
        query=tuple(q),
        headers=tuple((k.lower(), v) for k, v in (headers or {}).items()),
        bucket=bucket,
        key=key,
        virtual_host=False,
        source_ip="127.0.0.1",
        secure_transport=False,
    )


def serialized(name: str, **params: Any) -> S3Request:
    op = MODEL.operation_model(name)
    values: dict[str, Any] = _value(op.input_shape) if op.input_shape is not None else {}
    if op.input_shape is not None and "Bucket" in op.input_shape.members:
        values["Bucket"] = "bkt"
    if op.input_shape is not None and "Key" in op.input_shape.members:
        values["Key"] = "some/key.txt"
    if name in {"CopyObject", "UploadPartCopy"}:
        values["CopySource"] = "src/a%20b.txt"
    values.update(params)
    wire = create_serializer("rest-xml").serialize_to_request(values, op)
    url = urlsplit(wire["url_path"])
    query = [(k, str(v)) for k, v in wire["query_string"].items()] if isinstance(wire["query_string"], dict) else []
    for part in url.query.split("&"):
        if part:
            k, _, v = part.partition("=")
            query.append((unquote(k), unquote(v)))
    return request(wire["method"], url.path, query, {k: str(v) for k, v in wire["headers"].items()})


@pytest.mark.parametrize("name", MODEL.operation_names)
def test_every_model_operation_classifies(name: str) -> None:
    op = operations.classify(serialized(name))
    assert op.name == TWINS.get(name, name)
    assert name in operations.RULES
    accesses = op.accesses
    if op.body_accesses is not None:
        assert name == "DeleteObjects"
        accesses = op.body_accesses(b"<Delete><Object><Key>k</Key></Object></Delete>")
    assert accesses
    for a in accesses:
        assert a.action.split(":")[0] in {"s3", "s3express", "s3-object-lambda"}
        assert (
            a.resource == "*" or a.resource.startswith("arn:aws:s3:::bkt") or a.resource.startswith("arn:aws:s3:::src")
        )


def test_every_rule_names_a_model_operation() -> None:
    assert set(operations.RULES) == set(MODEL.operation_names)


def _only(req: S3Request) -> Access:
    op = operations.classify(req)
    assert len(op.accesses) == 1, op.accesses
    return op.accesses[0]


def test_object_reads() -> None:
    a = _only(request("GET", "/bkt/users/abc/photo.jpg"))
    assert (a.action, a.resource) == ("s3:GetObject", "arn:aws:s3:::bkt/users/abc/photo.jpg")
    assert _only(request("HEAD", "/bkt/k")).action == "s3:GetObject"
    v = _only(request("GET", "/bkt/k", [("versionId", "v1")]))
    assert v.action == "s3:GetObjectVersion"
    assert v.condition_keys["s3:VersionId"] == ["v1"]
    assert operations.classify(request("HEAD", "/bkt/k", [("versionId", "v1")])).name == "HeadObject"
    # response-* overrides are GetObject members; partNumber too
    got = operations.classify(request("GET", "/bkt/k", [("response-content-type", "text/plain"), ("partNumber", "2")]))
    assert got.name == "GetObject"


def test_listing_and_prefix_keys() -> None:
    op = operations.classify(
        request("GET", "/bkt", [("list-type", "2"), ("prefix", "users/abc/"), ("delimiter", "/"), ("max-keys", "10")])
    )
    assert op.name == "ListObjectsV2"
    a = op.accesses[0]
    assert (a.action, a.resource) == ("s3:ListBucket", "arn:aws:s3:::bkt")
    assert a.condition_keys["s3:prefix"] == ["users/abc/"]
    assert a.condition_keys["s3:delimiter"] == ["/"]
    assert a.condition_keys["s3:max-keys"] == ["10"]
    root = _only(request("GET", "/bkt", [("list-type", "2")]))
    assert "s3:prefix" not in root.condition_keys  # absent: a StringLike on s3:prefix does not match
    assert operations.classify(request("GET", "/bkt")).name == "ListObjects"
    assert _only(request("HEAD", "/bkt")).action == "s3:ListBucket"
    assert _only(request("GET", "/bkt", [("versions", "")])).action == "s3:ListBucketVersions"
    assert _only(request("GET", "/bkt", [("uploads", "")])).action == "s3:ListBucketMultipartUploads"
    lb = _only(request("GET", "/"))
    assert (lb.action, lb.resource) == ("s3:ListAllMyBuckets", "*")
    assert operations.classify(request("GET", "/", [("max-buckets", "5")])).name == "ListBuckets"
    dirs = operations.classify(request("GET", "/", [("max-directory-buckets", "5")]))
    assert (dirs.name, dirs.accesses[0].action) == ("ListDirectoryBuckets", "s3express:ListAllMyDirectoryBuckets")


def test_multipart() -> None:
    assert operations.classify(request("POST", "/bkt/k", [("uploads", "")])).name == "CreateMultipartUpload"
    part = operations.classify(request("PUT", "/bkt/k", [("partNumber", "1"), ("uploadId", "u")]))
    assert part.name == "UploadPart"
    assert part.accesses[0].action == "s3:PutObject"
    assert operations.classify(request("POST", "/bkt/k", [("uploadId", "u")])).name == "CompleteMultipartUpload"
    lp = operations.classify(request("GET", "/bkt/k", [("uploadId", "u")]))
    assert (lp.name, lp.accesses[0].action) == ("ListParts", "s3:ListMultipartUploadParts")
    ab = operations.classify(request("DELETE", "/bkt/k", [("uploadId", "u")]))
    assert (ab.name, ab.accesses[0].action) == ("AbortMultipartUpload", "s3:AbortMultipartUpload")


def test_copy_needs_both_sides() -> None:
    op = operations.classify(
        request(
            "PUT",
            "/bkt/dst",
            headers={"x-amz-copy-source": "/other/a%20b.txt?versionId=v9", "x-amz-metadata-directive": "REPLACE"},
        )
    )
    assert op.name == "CopyObject"
    put, get = op.accesses
    assert (put.action, put.resource) == ("s3:PutObject", "arn:aws:s3:::bkt/dst")
    assert put.condition_keys["s3:x-amz-metadata-directive"] == ["REPLACE"]
    assert put.condition_keys["s3:x-amz-copy-source"] == ["/other/a%20b.txt?versionId=v9"]
    assert (get.action, get.resource) == ("s3:GetObjectVersion", "arn:aws:s3:::other/a b.txt")
    upc = operations.classify(
        request("PUT", "/bkt/dst", [("partNumber", "1"), ("uploadId", "u")], {"x-amz-copy-source": "other/k"})
    )
    assert upc.name == "UploadPartCopy"
    assert [a.action for a in upc.accesses] == ["s3:PutObject", "s3:GetObject"]
    with pytest.raises(InvalidArgument):
        operations.classify(request("PUT", "/bkt/dst", headers={"x-amz-copy-source": "nobucketnokey"}))


def test_put_object_keys_and_extra_actions() -> None:
    op = operations.classify(
        request(
            "PUT",
            "/bkt/k",
            headers={
                "x-amz-acl": "public-read",
                "x-amz-server-side-encryption": "AES256",
                "x-amz-storage-class": "STANDARD_IA",
                "x-amz-tagging": "team=blue&tier=1",
                "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
            },
        )
    )
    put = op.accesses[0]
    assert put.action == "s3:PutObject"
    ck = put.condition_keys
    assert ck["s3:x-amz-acl"] == ["public-read"]
    assert ck["s3:x-amz-server-side-encryption"] == ["AES256"]
    assert ck["s3:x-amz-storage-class"] == ["STANDARD_IA"]
    assert ck["s3:RequestObjectTag/team"] == ["blue"]
    assert ck["s3:RequestObjectTagKeys"] == ["team", "tier"]
    assert ck["s3:x-amz-content-sha256"] == ["UNSIGNED-PAYLOAD"]
    assert [a.action for a in op.accesses[1:]] == ["s3:PutObjectAcl", "s3:PutObjectTagging"]


def test_signature_keys() -> None:
    now = dt.datetime(2026, 1, 1, 0, 0, 30, tzinfo=dt.UTC)
    hdr = _only(
        request("GET", "/bkt/k", headers={"authorization": "AWS4-HMAC-SHA256 …", "x-amz-date": "20260101T000000Z"})
    )
    assert hdr.condition_keys["s3:authType"] == ["REST-HEADER"]
    assert hdr.condition_keys["s3:signatureversion"] == ["AWS4-HMAC-SHA256"]
    op = operations.classify(
        request("GET", "/bkt/k", [("X-Amz-Signature", "ab"), ("X-Amz-Date", "20260101T000000Z")]), now
    )
    ck = op.accesses[0].condition_keys
    assert ck["s3:authType"] == ["REST-QUERY-STRING"]
    assert ck["s3:signatureAge"] == ["30000"]
    anon = _only(request("GET", "/bkt/k"))
    assert "s3:authType" not in anon.condition_keys


def test_bucket_policy_calls_are_marked() -> None:
    for method, name in (("PUT", "PutBucketPolicy"), ("GET", "GetBucketPolicy"), ("DELETE", "DeleteBucketPolicy")):
        op = operations.classify(request(method, "/bkt", [("policy", "")]))
        assert (op.name, op.bucket_policy_call) == (name, True)
        assert op.accesses[0].action == "s3:" + name
    assert not operations.classify(request("GET", "/bkt", [("acl", "")])).bucket_policy_call


def test_unknown_subresource_refused() -> None:
    # MinIO's ListenBucketNotification, a ListObjects look-alike: never authorized as s3:ListBucket
    with pytest.raises(S3NotImplemented):
        operations.classify(request("GET", "/bkt", [("events", "s3:ObjectCreated:*")]))
    with pytest.raises(S3NotImplemented):
        operations.classify(request("GET", "/bkt", [("list-type", "3")]))
    with pytest.raises(S3NotImplemented):
        operations.classify(request("POST", "/bkt/k"))  # neither ?uploads nor ?uploadId
    with pytest.raises(MethodNotAllowed):
        operations.classify(request("PATCH", "/bkt/k"))
    # presigning parameters, x-id and hoisted x-amz-* headers are not sub-resources
    ok = request("GET", "/bkt/k", [("x-id", "GetObject"), ("X-Amz-Expires", "60"), ("x-amz-checksum-mode", "ENABLED")])
    assert operations.classify(ok).name == "GetObject"


DELETE_BODY = b"""<?xml version="1.0" encoding="UTF-8"?>
<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Object><Key>users/a/1.txt</Key></Object>
  <Object><Key>users/b/2.txt</Key><VersionId>v2</VersionId></Object>
  <Quiet>true</Quiet>
</Delete>"""


def test_delete_objects_accesses_per_key() -> None:
    op = operations.classify(request("POST", "/bkt", [("delete", "")]))
    assert op.name == "DeleteObjects"
    assert op.accesses == ()
    assert op.body_accesses is not None
    assert op.body_limit == operations.DELETE_OBJECTS_MAX_BODY
    got = op.body_accesses(DELETE_BODY)
    assert [(a.action, a.resource) for a in got] == [
        ("s3:DeleteObject", "arn:aws:s3:::bkt/users/a/1.txt"),
        ("s3:DeleteObjectVersion", "arn:aws:s3:::bkt/users/b/2.txt"),
    ]
    assert got[1].condition_keys["s3:VersionId"] == ["v2"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<Delete></Delete>",
        b"<Other><Object><Key>k</Key></Object></Other>",
        b"<Delete><Object><VersionId>v</VersionId></Object></Delete>",
        # an entity expansion and an external entity: never resolved
        b'<!DOCTYPE d [<!ENTITY e "k">]><Delete><Object><Key>&e;</Key></Object></Delete>',
        b'<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&e;</Key></Object></Delete>',
        b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>",
    ],
)
def test_delete_objects_bad_bodies(body: bytes) -> None:
    op = operations.classify(request("POST", "/bkt", [("delete", "")]))
    assert op.body_accesses is not None
    with pytest.raises(MalformedXML):
        op.body_accesses(body)


def test_headers_hoisted_into_a_presigned_query() -> None:
    """S3 reads a presigned URL's x-amz-* query parameters as headers: a PUT with ?x-amz-copy-source is
    a CopyObject and needs s3:GetObject on its source."""
    presign = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Date", "20260101T000000Z"), ("X-Amz-Signature", "ab")]
    op = operations.classify(request("PUT", "/bkt/mine/k", [*presign, ("x-amz-copy-source", "victim/secret.txt")]))
    assert op.name == "CopyObject"
    assert ("s3:GetObject", "arn:aws:s3:::victim/secret.txt") in [(a.action, a.resource) for a in op.accesses]
    acl = operations.classify(request("PUT", "/bkt/k", [*presign, ("x-amz-acl", "public-read")]))
    assert [a.action for a in acl.accesses] == ["s3:PutObject", "s3:PutObjectAcl"]
    assert acl.accesses[0].condition_keys["s3:x-amz-acl"] == ["public-read"]
    # the presigning parameters themselves are not headers (X-Amz-Date in the query and as a header)
    dated = request("GET", "/bkt/k", presign, {"x-amz-date": "20260101T000000Z"})
    assert operations.classify(dated).name == "GetObject"


def test_repeated_security_headers_refused() -> None:
    twice = S3Request(
        method="PUT",
        raw_path="/bkt/k",
        raw_query="",
        query=(),
        headers=(("x-amz-copy-source", "a/b"), ("x-amz-copy-source", "victim/c")),
        bucket="bkt",
        key="k",
        virtual_host=False,
        source_ip="127.0.0.1",
        secure_transport=False,
    )
    with pytest.raises(InvalidArgument):
        operations.classify(twice)
    with pytest.raises(InvalidArgument):  # in the query and as a header
        operations.classify(request("PUT", "/bkt/k", [("x-amz-acl", "private")], {"x-amz-acl": "public-read"}))
    meta = request("PUT", "/bkt/k", [("x-amz-meta-a", "1")], {"x-amz-meta-a": "2"})
    assert operations.classify(meta).name == "PutObject"
