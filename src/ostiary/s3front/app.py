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
5. Put/Get/DeleteBucketPolicy, ListBuckets and DeleteObjects' refusals answered by the front
   (``front_calls``); everything else re-signed and streamed upstream (``upstream``), the body
   read and the answer written through ``asgi``.

Health: ``GET /_ostiary/health`` (an underscore is never in a bucket name, so it shadows no bucket).
``GET /health`` answers the same only when no bucket named ``health`` is served: path style, it
would be that bucket's ListObjects, and then it is. Metrics: ``/_ostiary/metrics`` (Ostiary's
Prometheus registry: ``ostiary_requests_total{service="s3"}`` by operation and status, and the front's
``ostiary_s3front_*`` counters).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import time
from typing import Protocol
from urllib.parse import parse_qsl, unquote

from ostiary import caching, observability
from ostiary.access.access_keys import AnyKeyResolver, CredentialCache
from ostiary.config import Settings
from ostiary.crypto.keys import KeyRing
from ostiary.crypto.passwords import PasswordHasher
from ostiary.crypto.secrets import SecretBox, load_or_create_kek
from ostiary.protocol.context import Runtime
from ostiary.s3front import bucket_policies, errors, operations, signature
from ostiary.s3front.asgi import (
    ClientDisconnected,
    Message,
    Receive,
    Scope,
    Send,
    bounded,
    counted,
    read_bounded,
    receive_body,
    replay,
    respond,
    send_error,
    stream,
)
from ostiary.s3front.config import S3FrontConfig
from ostiary.s3front.decide import Decider, count
from ostiary.s3front.front_calls import FrontCalls
from ostiary.s3front.model import Access, Body, S3Operation, S3Request
from ostiary.s3front.upstream import UpstreamClient
from ostiary.store.db import Store

log = logging.getLogger("ostiary.s3front")

HEALTH_PATHS = ("/_ostiary/health",)
MISSING_KEY_HIDDEN = frozenset({"GetObject", "HeadObject"})
METRICS_PATH = "/_ostiary/metrics"
MAX_FORWARDED = 32  # X-Forwarded-For entries looked at, from the right


class FrontEnv(Protocol):
    """What the front needs of its host (``gateway.model.GatewayEnv`` has it): Ostiary's settings (the
    KEK that unseals access keys, cache lifetimes, audit retention) and its database."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store | None: ...


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
        self.calls = FrontCalls(config, env.store, self.runtime, self.decider, self.upstream)
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
            await send_error(send, err, method, request_id, host_id, close=_has_body(scope))
        except ClientDisconnected:
            status = 499
        except Exception as exc:
            if send.started:
                log.warning("s3front answer cut short: %s", type(exc).__name__, extra={"request_id": request_id})
                return
            log.exception("s3front request failed", extra={"request_id": request_id})
            status = 500
            await send_error(send, errors.InternalError(), method, request_id, host_id, close=_has_body(scope))
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
        await respond(send, 200, [("content-type", content_type)], body if scope["method"] != "HEAD" else b"")
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
        authenticated = await asyncio.to_thread(self.verifier.authenticate, request, receive_body(receive), now)
        caller, length = authenticated.caller, authenticated.decoded_length
        state["principal"] = caller.principal.arn if caller.principal is not None else "anonymous"
        body = bounded(authenticated.body, self.config.max_object_bytes)
        if _preflight(request) and request.bucket is not None and self.config.owner(request.bucket) is not None:
            # a CORS preflight: S3 answers it unauthenticated from the bucket's CORS configuration,
            # which the upstream holds; it reads nothing and changes nothing
            response = await self.upstream.send(request, None, None, None)
            await stream(response, send, request_id, host_id, request.method)
            return response.status, "PreflightRequest"
        if request.bucket is None:
            return await self.calls.list_buckets(request, caller, send, request_id, host_id, now), "ListBuckets"
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
            status = await self.calls.bucket_policy(
                request, operation, caller, body, owner, found, send, request_id, host_id, now
            )
            return status, operation.name
        verdict = await asyncio.to_thread(
            self.decider.decide, operation, caller, request, owner, bucket_policy, now, self.config.region
        )
        count(verdict, caller)
        state["decision"] = "allow" if verdict.allowed else "deny"
        if not verdict.allowed:
            raise errors.AccessDenied(verdict.message)
        forwarded: Body | None = body
        if operation.body_accesses is not None and operation.name == "DeleteObjects":
            data = await read_bounded(body, operation.body_limit)
            status = await self.calls.delete_objects(
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
            data = await read_bounded(body, operation.body_limit)
            accesses = operation.body_accesses(data)
            verdict = await asyncio.to_thread(
                self.decider.decide_extra, accesses, caller, request, owner, bucket_policy, now, self.config.region
            )
            count(verdict, caller)
            if not verdict.allowed:
                raise errors.AccessDenied(verdict.message)
            forwarded, length = replay(data), len(data)
        elif length == 0 and request.method in ("PUT", "POST"):
            # an empty body is checked whole before anything goes upstream (signature.py: nothing to hold back)
            await read_bounded(body, 0)
            forwarded = replay(b"")
        response = await self.upstream.send(request, counted(forwarded, "up"), caller.content_sha256, length)
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
        await stream(response, send, request_id, host_id, request.method)
        return response.status, operation.name


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
