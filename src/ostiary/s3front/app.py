"""The S3 front's ASGI application: ``build_app(config, env)``.

One request, end to end:

1. the bucket and key: virtual-host style when the Host is ``<bucket>.<base_domain>``, else path style
   (``/<bucket>/<key>``); the key decoded once from the raw path;
2. the signature (``signature``: header, presigned URL, aws-chunked with or without trailer, or none)
   → the ``Caller`` and the verified body iterator;
3. a bucket the front does not serve → NoSuchBucket; ``x-amz-expected-bucket-owner`` naming another
   account → AccessDenied (as S3);
4. the operation and its accesses (``operations.classify``), the bucket's policy, the decision
   (``decide``); for DeleteObjects the keys of its body too (read bounded first, then decided);
5. Put/Get/DeleteBucketPolicy answered here (``bucket_policies``, audited); ListBuckets answered
   with the served buckets the caller's account owns (the upstream's list, filtered: the operator's
   other buckets stay invisible); everything else re-signed and streamed upstream (``upstream``).

Health: ``GET /_ostiary/health`` (an underscore is never in a bucket name, so it shadows no bucket).
``GET /health`` answers the same only when no bucket named ``health`` is served: path style, it
would be that bucket's ListObjects, and then it is. Metrics: ``/_ostiary/metrics`` (Ostiary's
Prometheus registry: ``ostiary_requests_total{service="s3"}`` by operation and status, and the front's
``ostiary_s3front_*`` counters).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import hashlib
import ipaddress
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

from lxml import etree
from prometheus_client import Counter

from ostiary import caching, observability
from ostiary.access.access_keys import AnyKeyResolver, CredentialCache
from ostiary.audit import recorder
from ostiary.config import Settings
from ostiary.crypto.keys import KeyRing
from ostiary.crypto.passwords import PasswordHasher
from ostiary.crypto.secrets import SecretBox, load_or_create_kek
from ostiary.protocol.context import RequestContext, Runtime
from ostiary.protocol.errors import ServiceError
from ostiary.s3front import bucket_policies, errors, operations, signature
from ostiary.s3front.config import S3FrontConfig
from ostiary.s3front.decide import Decider, PolicyCall, Verdict
from ostiary.s3front.model import Access, Body, Caller, S3Operation, S3Request
from ostiary.s3front.upstream import UpstreamClient, UpstreamResponse
from ostiary.store.db import Store

log = logging.getLogger("ostiary.s3front")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DECISIONS = Counter(
    "ostiary_s3front_decisions_total",
    "S3 front decisions, by outcome (allow, deny) and how the caller signed (header, presigned, anonymous).",
    ["outcome", "signed_with"],
    registry=observability.REGISTRY,
)
UPSTREAM_BYTES = Counter(
    "ostiary_s3front_upstream_bytes_total",
    "Bytes streamed through the S3 front, by direction (up: to the upstream, down: to the client).",
    ["direction"],
    registry=observability.REGISTRY,
)
LIST_BUCKETS_MAX = 4 * 1024 * 1024  # the upstream's ListBuckets answer read at most (10,000 buckets fit)
DELETE_RESULT_MAX = 16 * 1024 * 1024  # the upstream's DeleteResult of 1,000 keys, read at most
HEALTH_PATHS = ("/_ostiary/health",)
MISSING_KEY_HIDDEN = frozenset({"GetObject", "HeadObject"})
METRICS_PATH = "/_ostiary/metrics"
MAX_FORWARDED = 32  # X-Forwarded-For entries looked at, from the right
_S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


class FrontEnv(Protocol):
    """What the front needs of its host (``gateway.model.GatewayEnv`` has it): Ostiary's settings (the
    KEK that unseals access keys, cache lifetimes, audit retention) and its database."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store | None: ...


class ClientDisconnected(Exception):
    pass


class _Refused(ServiceError):
    """An S3 error as the audit recorder takes one (its code and message)."""

    def __init__(self, err: errors.S3Error) -> None:
        super().__init__(err.message)
        self._wire = (err.code, err.status)

    def wire_code(self, protocol: str) -> tuple[str, int]:
        return self._wire


class _Tracked:
    """``send``, remembering whether the response has started (an error after that cannot be answered)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


def _runtime(settings: Settings, store: Store) -> Runtime:
    box = SecretBox(load_or_create_kek(settings.kek, settings.data_dir))
    hasher = PasswordHasher(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism)
    return Runtime(settings=settings, store=store, box=box, keys=KeyRing(store, box), passwords=hasher)


class S3Front:
    """The ASGI application (see the module's docstring)."""

    def __init__(self, config: S3FrontConfig, env: FrontEnv) -> None:
        if env.store is None:
            raise ValueError("the S3 front needs Ostiary's database (access keys, policies, bucket policies)")
        self.config = config
        self.store: Store = env.store
        caching.configure(env.settings)  # the caches' lifetimes from the settings (as create_app does)
        self.runtime = _runtime(env.settings, env.store)
        self.decider = Decider(env.store)
        settings = env.settings
        self.credentials = CredentialCache(env.store, self.runtime.box)
        any_key = AnyKeyResolver(env.store) if settings.dev and settings.dev_accept_any_key else None
        self.verifier = signature.Verifier(self.credentials, config.region, any_key=any_key)
        self.upstream = UpstreamClient(config)
        self.access_log = settings.access_log

    async def aclose(self) -> None:
        await self.upstream.aclose()

    # -- ASGI ------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        request_id, host_id = errors.new_request_ids()
        method = str(scope["method"]).upper()
        operation = "Unknown"
        status = 500
        state: dict[str, str] = {}
        send = _Tracked(send)
        try:
            path = scope.get("raw_path") or scope["path"].encode()
            raw_path = path.decode("latin-1") if isinstance(path, bytes) else str(path)
            if method in ("GET", "HEAD") and self._health_path(raw_path, scope):
                status = await self._health(scope, send, raw_path)
                return
            request = self._request(scope, raw_path)
            state["bucket"] = request.bucket or ""
            state["source_ip"] = request.source_ip
            status, operation = await self._handle(request, receive, send, request_id, host_id, state)
        except errors.S3Error as err:
            status = err.status
            if send.started:  # failed mid-answer: the connection is dropped, the client sees a short body
                log.warning("s3front answer cut short: %s", err.code, extra={"request_id": request_id})
                return
            # a refused request's body may be unread (or never sent: Expect: 100-continue), so the
            # connection cannot carry another request: it is closed after the answer
            await _send_error(send, err, method, request_id, host_id, close=_has_body(scope))
        except ClientDisconnected:
            status = 499
        except Exception as exc:
            if send.started:
                log.warning("s3front answer cut short: %s", type(exc).__name__, extra={"request_id": request_id})
                return
            log.exception("s3front request failed", extra={"request_id": request_id})
            status = 500
            await _send_error(send, errors.InternalError(), method, request_id, host_id, close=_has_body(scope))
        finally:
            seconds = time.perf_counter() - started
            operation = state.get("operation", operation)
            observability.record("s3", operation, status, seconds)
            if self.access_log:
                log.info(
                    "%s %s %s",
                    method,
                    operation,
                    status,
                    extra={
                        "request_id": request_id,
                        "operation": operation,
                        "status": status,
                        "ms": round(seconds * 1000, 2),
                        "source_ip": state.get("source_ip", ""),
                        "bucket": state.get("bucket", ""),
                        "principal": state.get("principal", ""),
                        "decision": state.get("decision", ""),
                    },
                )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _health_path(self, raw_path: str, scope: Scope) -> bool:
        if raw_path in HEALTH_PATHS or raw_path == METRICS_PATH:
            return self._bucket_host(_host(scope)) is None
        return raw_path == "/health" and self._bucket_host(_host(scope)) is None and self.config.owner("health") is None

    async def _health(self, scope: Scope, send: Send, raw_path: str) -> int:
        if raw_path == METRICS_PATH:
            body, content_type = observability.metrics_payload()
        else:
            body, content_type = b'{"status":"ok"}', "application/json"
        await _respond(send, 200, [("content-type", content_type)], body if scope["method"] != "HEAD" else b"")
        return 200

    # -- the request -----------------------------------------------------------------------------

    def _bucket_host(self, host: str) -> str | None:
        """The bucket of a virtual-host-style Host (``<bucket>.<base_domain>``), else None."""
        domain = self.config.base_domain
        if domain and host.endswith("." + domain):
            return host[: -len(domain) - 1]
        return None

    def _request(self, scope: Scope, raw_path: str) -> S3Request:
        raw_query = scope.get("query_string", b"").decode("latin-1")
        headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", ()))
        host = _host(scope)
        bucket_host = self._bucket_host(host)
        path = unquote(raw_path.split("?", 1)[0])
        bucket: str | None
        key: str | None
        if bucket_host is not None:
            bucket, key = bucket_host, path[1:] or None
        else:
            name, _, rest = path[1:].partition("/")
            bucket = name or None
            key = rest or None if bucket is not None else None
            if bucket is not None and path[1:] == f"{name}/" and not rest:
                key = None
        source_ip, secure = self._origin(scope, headers)
        return S3Request(
            method=str(scope["method"]).upper(),
            raw_path=raw_path.split("?", 1)[0],
            raw_query=raw_query,
            query=tuple(parse_qsl(raw_query, keep_blank_values=True)),
            headers=headers,
            bucket=bucket,
            key=key,
            virtual_host=bucket_host is not None,
            source_ip=source_ip,
            secure_transport=secure,
        )

    def _origin(self, scope: Scope, headers: tuple[tuple[str, str], ...]) -> tuple[str, bool]:
        """The caller's address (``aws:SourceIp``) and whether it came over TLS
        (``aws:SecureTransport``): the connection's, unless its peer is a trusted proxy; then the
        right-most X-Forwarded-For address that is not a trusted proxy, and X-Forwarded-Proto."""
        client = scope.get("client") or ("", 0)
        peer = str(client[0] or "")
        secure = scope.get("scheme") == "https"
        if not self.config.trusted_proxies or not self.config.trusts(peer):
            return peer, secure
        chain = [a.strip() for k, v in headers if k == "x-forwarded-for" for a in v.split(",") if a.strip()]
        source = peer
        for address in reversed(chain[-MAX_FORWARDED:]):
            if not _is_address(address):
                source = peer  # not what a trusted proxy writes: nothing from the header is believed
                break
            source = address
            if not self.config.trusts(address):
                break
        protos = [v.split(",")[-1].strip().lower() for k, v in headers if k == "x-forwarded-proto"]
        if protos:
            secure = protos[-1] == "https"
        return source[:64], secure

    async def _handle(
        self, request: S3Request, receive: Receive, send: Send, request_id: str, host_id: str, state: dict[str, str]
    ) -> tuple[int, str]:
        now = dt.datetime.now(dt.UTC)
        # key resolution may read the store (a 5 s cache): off the event loop
        authenticated = await asyncio.to_thread(self.verifier.authenticate, request, _receive_body(receive), now)
        caller, length = authenticated.caller, authenticated.decoded_length
        state["principal"] = caller.principal.arn if caller.principal is not None else "anonymous"
        body = _bounded(authenticated.body, self.config.max_object_bytes)
        if _preflight(request) and request.bucket is not None and self.config.owner(request.bucket) is not None:
            # a CORS preflight: S3 answers it unauthenticated from the bucket's CORS configuration,
            # which the upstream holds; it reads nothing and changes nothing
            response = await self.upstream.send(request, None, None, None)
            await self._stream(response, send, request_id, host_id, request.method)
            return response.status, "PreflightRequest"
        if request.bucket is None:
            return await self._list_buckets(request, caller, send, request_id, host_id, now), "ListBuckets"
        owner = self.config.owner(request.bucket)
        if owner is None:
            raise errors.NoSuchBucket(BucketName=request.bucket)
        expected = request.header("x-amz-expected-bucket-owner")
        if expected is not None and expected != owner:
            raise errors.AccessDenied()
        if length is not None and length > self.config.max_object_bytes:
            raise errors.EntityTooLarge(ProposedSize=length, MaxSizeAllowed=self.config.max_object_bytes)
        operation = operations.classify(request, now)
        state["operation"] = operation.name
        found = await asyncio.to_thread(bucket_policies.get, self.store, request.bucket)
        bucket_policy = found[1] if found is not None else None
        if operation.bucket_policy_call:
            status = await self._policy_call(
                request, operation, caller, body, owner, found, send, request_id, host_id, now
            )
            return status, operation.name
        verdict = await asyncio.to_thread(
            self.decider.decide, operation, caller, request, owner, bucket_policy, now, self.config.region
        )
        self._count(verdict, caller)
        state["decision"] = "allow" if verdict.allowed else "deny"
        if not verdict.allowed:
            raise errors.AccessDenied(verdict.message)
        forwarded: Body | None = body
        if operation.body_accesses is not None and operation.name == "DeleteObjects":
            data = await _read_bounded(body, operation.body_limit)
            status = await self._delete_objects(
                request,
                caller,
                data,
                operation.body_accesses(data),
                owner,
                bucket_policy,
                now,
                send,
                request_id,
                host_id,
            )
            return status, operation.name
        if operation.body_accesses is not None:
            data = await _read_bounded(body, operation.body_limit)
            accesses = operation.body_accesses(data)
            verdict = await asyncio.to_thread(
                self.decider.decide_extra, accesses, caller, request, owner, bucket_policy, now, self.config.region
            )
            self._count(verdict, caller)
            if not verdict.allowed:
                raise errors.AccessDenied(verdict.message)
            forwarded, length = _replay(data), len(data)
        elif length == 0 and request.method in ("PUT", "POST"):
            # an empty body is checked whole before anything goes upstream (signature.py: nothing to hold back)
            await _read_bounded(body, 0)
            forwarded = _replay(b"")
        response = await self.upstream.send(request, _counted(forwarded, "up"), caller.content_sha256, length)
        if response.status == 404 and operation.name in MISSING_KEY_HIDDEN:
            # S3: "If you don't have the s3:ListBucket permission, Amazon S3 returns … 403 Access Denied"
            # for a key that does not exist (whether a key exists is itself listing information)
            listing = S3Operation("ListBucket", (Access("s3:ListBucket", operations.bucket_arn(request.bucket)),))
            may_list = await asyncio.to_thread(
                self.decider.decide, listing, caller, request, owner, bucket_policy, now, self.config.region
            )
            if not may_list.allowed:
                await response.aclose()
                raise errors.AccessDenied()
        await self._stream(response, send, request_id, host_id, request.method)
        return response.status, operation.name

    def _count(self, verdict: Verdict, caller: Caller) -> None:
        DECISIONS.labels("allow" if verdict.allowed else "deny", caller.signed_with.value).inc()

    async def _stream(self, response: UpstreamResponse, send: Send, request_id: str, host_id: str, method: str) -> None:
        try:
            headers = [*response.headers, ("x-amz-request-id", request_id), ("x-amz-id-2", host_id)]
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
                }
            )
            if method != "HEAD":
                async for chunk in response.body:
                    if chunk:
                        UPSTREAM_BYTES.labels("down").inc(len(chunk))
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    # -- DeleteObjects: decided key by key ---------------------------------------------------------

    async def _delete_objects(
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
            self._count(verdict, caller)
            if not verdict.allowed and access.resource.startswith(prefix):
                version = access.condition_keys.get("s3:VersionId")
                denied.add((access.resource[len(prefix) :], version[0] if version else None))
        kept, refused = _split_delete(data, denied)
        ids = [("x-amz-request-id", request_id), ("x-amz-id-2", host_id)]
        if kept is None:  # nothing left to delete: the answer is the refusals alone
            body = _delete_result(b"", refused)
            await _respond(send, 200, [*ids, ("content-type", "application/xml")], body)
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
        response = await self.upstream.send(upstream_request, _replay(forwarded), None, len(forwarded))
        if response.status != 200 or not refused:
            await self._stream(response, send, request_id, host_id, request.method)
            return response.status
        try:
            answer = await _read_bounded(response.body, DELETE_RESULT_MAX, too_large=errors.InternalError)
        finally:
            await response.aclose()
        body = _delete_result(answer, refused)
        await _respond(send, 200, [*ids, ("content-type", "application/xml")], body)
        return 200

    # -- answered by the front -------------------------------------------------------------------

    async def _policy_call(
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
        self._count(verdict, caller)
        ids = [("x-amz-request-id", request_id), ("x-amz-id-2", host_id)]
        if operation.name == "GetBucketPolicy":
            if outcome is PolicyCall.NOT_OWNER:
                raise errors.MethodNotAllowed(Method=request.method, ResourceType="BUCKETPOLICY")
            if outcome is PolicyCall.DENY:
                raise errors.AccessDenied(verdict.message)
            if found is None:
                raise errors.NoSuchBucketPolicy(BucketName=bucket)
            stored = str(found[0]).encode()
            await _respond(send, 200, [*ids, ("content-type", "application/json")], stored, request.method)
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
                raw = await _read_bounded(body, bucket_policies.MAX_POLICY_BYTES, too_large=errors.MalformedPolicy)
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
        await _respond(send, 204, ids, b"")
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

    async def _list_buckets(
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
        self._count(verdict, caller)
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
        await _respond(send, 200, [*ids, ("content-type", "application/xml")], body, request.method)
        return 200


# -- helpers -------------------------------------------------------------------------------------


def build_app(config: S3FrontConfig, env: FrontEnv) -> S3Front:
    """The S3 front for ``config`` (an ``[s3]`` section, ``config.parse``), served by its host (the
    gateway) on ``config.listen``; its ASGI lifespan closes the upstream connection pool."""
    return S3Front(config, env)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _preflight(request: S3Request) -> bool:
    return (
        request.method == "OPTIONS"
        and request.header("origin") is not None
        and request.header("access-control-request-method") is not None
    )


def _has_body(scope: Scope) -> bool:
    for k, v in scope.get("headers", ()):
        name = k.lower()
        if name == b"transfer-encoding" or (name == b"content-length" and v.strip() not in (b"", b"0")):
            return True
    return False


def _host(scope: Scope) -> str:
    for k, v in scope.get("headers", ()):
        if k.lower() == b"host":
            host = str(v.decode("latin-1")).lower()
            if host.startswith("["):
                return host.split("]", 1)[0] + "]"
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return ""


async def _receive_body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _bounded(body: Body, limit: int) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in body:
        total += len(chunk)
        if total > limit:
            raise errors.EntityTooLarge()
        yield chunk


async def _counted(body: Body | None, direction: str) -> AsyncIterator[bytes]:
    if body is None:
        return
    async for chunk in body:
        UPSTREAM_BYTES.labels(direction).inc(len(chunk))
        yield chunk


async def _read_bounded(body: Body, limit: int, too_large: type[errors.S3Error] | None = None) -> bytes:
    data = bytearray()
    async for chunk in body:
        data += chunk
        if len(data) > limit:
            raise (too_large or errors.MaxMessageLengthExceeded)()
    return bytes(data)


async def _replay(data: bytes) -> AsyncIterator[bytes]:
    yield data


_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


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
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(xml, parser)
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


async def _respond(send: Send, status: int, headers: list[tuple[str, str]], body: bytes, method: str = "GET") -> None:
    payload = b"" if method == "HEAD" else body
    all_headers = [*headers, ("content-length", str(len(body)))]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in all_headers],
        }
    )
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def _send_error(
    send: Send,
    err: errors.S3Error,
    method: str,
    request_id: str,
    host_id: str,
    close: bool = False,
) -> None:
    status, headers, body = errors.response(err, method=method, request_id=request_id, host_id=host_id)
    if close:
        headers = [*headers, ("connection", "close")]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
