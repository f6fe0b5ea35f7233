"""The S3 operations the front answers itself, or reshapes, instead of streaming them through:

- **Put/Get/DeleteBucketPolicy** (``FrontCalls.bucket_policy``): the policies live in Ostiary's
  database (``bucket_policies``), so the policy engine can use them; changes (and refused changes)
  are audit events;
- **ListBuckets** (``FrontCalls.list_buckets``): s3:ListAllMyBuckets, then the upstream's list reduced
  to the served buckets the caller's account owns (the operator's other buckets stay invisible);
- **DeleteObjects** (``FrontCalls.delete_objects``): each key decided on its own; the allowed ones
  deleted upstream, the refused ones reported as ``<Error>`` entries of the 200 answer, as S3 does.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import hashlib
import logging
from typing import Any

from lxml import etree

from ostiary.audit import recorder
from ostiary.protocol.context import RequestContext, Runtime
from ostiary.protocol.errors import ServiceError
from ostiary.s3front import bucket_policies, errors, operations
from ostiary.s3front.asgi import Send, read_bounded, replay, respond, stream
from ostiary.s3front.config import S3FrontConfig
from ostiary.s3front.decide import Decider, PolicyCall, count
from ostiary.s3front.model import Access, Body, Caller, S3Operation, S3Request
from ostiary.s3front.upstream import UpstreamClient
from ostiary.store.db import Store

log = logging.getLogger("ostiary.s3front")

LIST_BUCKETS_MAX = 4 * 1024 * 1024  # the upstream's ListBuckets answer read at most (10,000 buckets fit)
DELETE_RESULT_MAX = 16 * 1024 * 1024  # the upstream's DeleteResult of 1,000 keys, read at most
_S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class _Refused(ServiceError):
    """An S3 error as the audit recorder takes one (its code and message)."""

    def __init__(self, err: errors.S3Error) -> None:
        super().__init__(err.message)
        self._wire = (err.code, err.status)

    def wire_code(self, protocol: str) -> tuple[str, int]:
        return self._wire


@dataclasses.dataclass(frozen=True)
class FrontCalls:
    """The front's parts these operations use (``app.S3Front`` builds it)."""

    config: S3FrontConfig
    store: Store
    runtime: Runtime
    decider: Decider
    upstream: UpstreamClient

    # -- DeleteObjects: decided key by key ---------------------------------------------------------

    async def delete_objects(
        self,
        request: S3Request,
        caller: Caller,
        data: bytes,
        accesses: tuple[Access, ...],
        owner: str,
        bucket_policy: Any,
        now: dt.datetime,
        send: Send,
        request_id: str,
        host_id: str,
    ) -> int:
        """DeleteObjects as S3 answers it: each key decided on its own; the allowed ones are deleted
        upstream (the body rewritten without the others, its Content-MD5 recomputed) and the refused
        ones reported as ``<Error>`` entries (AccessDenied) of the 200 answer."""
        denied: set[tuple[str, str | None]] = set()
        prefix = operations.object_arn(request.bucket or "", "")
        for access in accesses:
            verdict = await asyncio.to_thread(
                self.decider.decide_extra, (access,), caller, request, owner, bucket_policy, now, self.config.region
            )
            count(verdict, caller)
            if not verdict.allowed and access.resource.startswith(prefix):
                version = access.condition_keys.get("s3:VersionId")
                denied.add((access.resource[len(prefix) :], version[0] if version else None))
        kept, refused = _split_delete(data, denied)
        ids = [("x-amz-request-id", request_id), ("x-amz-id-2", host_id)]
        if kept is None:  # nothing left to delete: the answer is the refusals alone
            body = _delete_result(b"", refused)
            await respond(send, 200, [*ids, ("content-type", "application/xml")], body)
            return 200
        if not refused:
            forwarded, headers = data, request.headers
        else:
            forwarded = kept
            md5 = base64.b64encode(hashlib.md5(kept, usedforsecurity=False).digest()).decode()
            headers = (
                *(
                    (k, v)
                    for k, v in request.headers
                    if k not in ("content-md5", "content-length", "x-amz-sdk-checksum-algorithm")
                    and not k.startswith("x-amz-checksum-")
                ),
                ("content-md5", md5),
            )
        upstream_request = dataclasses.replace(request, headers=tuple(headers))
        response = await self.upstream.send(upstream_request, replay(forwarded), None, len(forwarded))
        if response.status != 200 or not refused:
            await stream(response, send, request_id, host_id, request.method)
            return response.status
        try:
            answer = await read_bounded(response.body, DELETE_RESULT_MAX, too_large=errors.InternalError)
        finally:
            await response.aclose()
        body = _delete_result(answer, refused)
        await respond(send, 200, [*ids, ("content-type", "application/xml")], body)
        return 200

    # -- Put/Get/DeleteBucketPolicy ----------------------------------------------------------------

    async def bucket_policy(
        self,
        request: S3Request,
        operation: S3Operation,
        caller: Caller,
        body: Body,
        owner: str,
        found: tuple[str, Any] | None,
        send: Send,
        request_id: str,
        host_id: str,
        now: dt.datetime,
    ) -> int:
        bucket = request.bucket or ""
        outcome, verdict = await asyncio.to_thread(
            self.decider.decide_policy_call,
            operation,
            caller,
            request,
            owner,
            found[1] if found is not None else None,
            now,
            self.config.region,
        )
        count(verdict, caller)
        ids = [("x-amz-request-id", request_id), ("x-amz-id-2", host_id)]
        if operation.name == "GetBucketPolicy":
            if outcome is PolicyCall.NOT_OWNER:
                raise errors.MethodNotAllowed(Method=request.method, ResourceType="BUCKETPOLICY")
            if outcome is PolicyCall.DENY:
                raise errors.AccessDenied(verdict.message)
            if found is None:
                raise errors.NoSuchBucketPolicy(BucketName=bucket)
            stored = str(found[0]).encode()
            await respond(send, 200, [*ids, ("content-type", "application/json")], stored, request.method)
            return 200
        ctx = RequestContext(
            runtime=self.runtime,
            request_id=request_id,
            service="s3",
            operation=operation.name,
            region=self.config.region,
            principal=caller.principal,
            source_ip=request.source_ip,
            now=now,
            user_agent=request.header("user-agent"),
        )
        event = recorder.Event(operation.name)  # PutBucketPolicy | DeleteBucketPolicy
        try:
            if outcome is PolicyCall.NOT_OWNER:
                raise errors.MethodNotAllowed(Method=request.method, ResourceType="BUCKETPOLICY")
            if outcome is PolicyCall.DENY:
                raise errors.AccessDenied(verdict.message)
            if operation.name == "PutBucketPolicy":
                raw = await read_bounded(body, bucket_policies.MAX_POLICY_BYTES, too_large=errors.MalformedPolicy)
                try:
                    document: str = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise errors.MalformedPolicy() from None
                bucket_policies.validate(document, bucket)
                await asyncio.to_thread(self._put_policy, ctx, bucket, owner, document)
            else:  # DeleteBucketPolicy
                await asyncio.to_thread(self._delete_policy, ctx, bucket, owner)
        except errors.S3Error as err:
            # a refused change of a bucket policy is an audit event too (as the API's audited operations)
            await asyncio.to_thread(self._audit_failure, ctx, event, bucket, owner, err)
            raise
        await respond(send, 204, ids, b"")
        return 204

    def _audit_failure(
        self, ctx: RequestContext, event: recorder.Event, bucket: str, owner: str, err: errors.S3Error
    ) -> None:
        try:
            with self.store.tx() as conn:
                recorder.record(
                    conn,
                    ctx,
                    event=event,
                    error=_Refused(err),
                    account_id=owner,
                    resource=("AWS::S3::Bucket", bucket),
                    details={"requestParameters": {"bucketName": bucket}},
                )
        except Exception:  # the request answers its own error, not the recorder's
            log.exception("audit event not recorded", extra={"request_id": ctx.request_id})

    def _put_policy(self, ctx: RequestContext, bucket: str, owner: str, document: str) -> None:
        with self.store.tx() as conn:
            bucket_policies.put(conn, bucket, owner, document, ctx.principal.arn if ctx.principal else "", ctx.now)
            recorder.record(
                conn,
                ctx,
                event=recorder.Event.PUT_BUCKET_POLICY,
                account_id=owner,
                resource=("AWS::S3::Bucket", bucket),
                details={"requestParameters": {"bucketName": bucket, "bucketPolicy": document}},
            )
        bucket_policies.forget(bucket)

    def _delete_policy(self, ctx: RequestContext, bucket: str, owner: str) -> None:
        with self.store.tx() as conn:
            bucket_policies.remove(conn, bucket)
            recorder.record(
                conn,
                ctx,
                event=recorder.Event.DELETE_BUCKET_POLICY,
                account_id=owner,
                resource=("AWS::S3::Bucket", bucket),
                details={"requestParameters": {"bucketName": bucket}},
            )
        bucket_policies.forget(bucket)

    # -- ListBuckets -----------------------------------------------------------------------------

    async def list_buckets(
        self, request: S3Request, caller: Caller, send: Send, request_id: str, host_id: str, now: dt.datetime
    ) -> int:
        """ListBuckets: s3:ListAllMyBuckets, then the upstream's list reduced to the served buckets
        the caller's account owns (S3 lists the buckets of the caller's account)."""
        principal = caller.principal
        if principal is None:
            raise errors.AccessDenied()
        account = principal.account_id
        operation = S3Operation("ListBuckets", (Access("s3:ListAllMyBuckets", "*"),))
        verdict = await asyncio.to_thread(
            self.decider.decide, operation, caller, request, account, None, now, self.config.region
        )
        count(verdict, caller)
        if not verdict.allowed:
            raise errors.AccessDenied(verdict.message)
        plain = S3Request(
            method="GET",
            raw_path="/",
            raw_query="",
            query=(),
            headers=(),
            bucket=None,
            key=None,
            virtual_host=False,
            source_ip=request.source_ip,
            secure_transport=request.secure_transport,
        )
        response = await self.upstream.send(plain, None, None, None)
        try:
            data = b""
            async for chunk in response.body:
                data += chunk
                if len(data) > LIST_BUCKETS_MAX:
                    raise errors.InternalError()
        finally:
            await response.aclose()
        if response.status != 200:
            raise errors.InternalError()
        mine = {name for name, owner in self.config.buckets.items() if owner == account}
        body = _filter_buckets(data, mine, account)
        ids = [("x-amz-request-id", request_id), ("x-amz-id-2", host_id)]
        await respond(send, 200, [*ids, ("content-type", "application/xml")], body, request.method)
        return 200


# -- the XML ---------------------------------------------------------------------------------------


def _split_delete(
    data: bytes, denied: set[tuple[str, str | None]]
) -> tuple[bytes | None, list[tuple[str, str | None]]]:
    """DeleteObjects' body without the refused objects (None when none is left) and the refused
    (key, version) pairs in the body's order."""
    root = etree.fromstring(data, _SAFE_XML)  # operations.delete_objects_accesses has parsed it already
    refused: list[tuple[str, str | None]] = []
    kept = 0
    for element in list(root):
        if not isinstance(element.tag, str) or etree.QName(element).localname != "Object":
            continue
        key = element.findtext("{*}Key") or ""
        version = element.findtext("{*}VersionId")
        if (key, version) in denied or (key, None) in denied:
            refused.append((key, version))
            root.remove(element)
        else:
            kept += 1
    if not kept:
        return None, refused
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8")), refused


def _delete_result(upstream: bytes, refused: list[tuple[str, str | None]]) -> bytes:
    """The upstream's DeleteResult with an AccessDenied ``<Error>`` for each refused key (S3 reports
    errors in Quiet mode too)."""
    if upstream:
        try:
            root = etree.fromstring(upstream, _SAFE_XML)
        except etree.XMLSyntaxError:
            raise errors.InternalError() from None
    else:
        root = etree.Element("DeleteResult", nsmap={None: _S3_NS})
    namespace = etree.QName(root).namespace
    tag = (lambda name: f"{{{namespace}}}{name}") if namespace else (lambda name: name)
    for key, version in refused:
        error = etree.SubElement(root, tag("Error"))
        etree.SubElement(error, tag("Key")).text = key
        if version is not None:
            etree.SubElement(error, tag("VersionId")).text = version
        etree.SubElement(error, tag("Code")).text = "AccessDenied"
        etree.SubElement(error, tag("Message")).text = "Access Denied"
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(etree.tostring(root))


def _filter_buckets(xml: bytes, keep: set[str], account: str) -> bytes:
    """The upstream's ListAllMyBucketsResult with only the ``keep`` buckets (and the caller's account
    as the owner); S3's shape."""
    try:
        root = etree.fromstring(xml, _SAFE_XML)
    except etree.XMLSyntaxError:
        raise errors.InternalError() from None
    out = etree.Element("ListAllMyBucketsResult", nsmap={None: _S3_NS})
    owner = etree.SubElement(out, "Owner")
    etree.SubElement(owner, "ID").text = account
    etree.SubElement(owner, "DisplayName").text = account
    buckets = etree.SubElement(out, "Buckets")
    for bucket in root.iter("{*}Bucket"):
        name = bucket.findtext("{*}Name")
        if name in keep:
            entry = etree.SubElement(buckets, "Bucket")
            etree.SubElement(entry, "Name").text = name
            created = bucket.findtext("{*}CreationDate")
            if created:
                etree.SubElement(entry, "CreationDate").text = created
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(etree.tostring(out))
