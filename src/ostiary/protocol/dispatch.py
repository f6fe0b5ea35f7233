"""The front door for AWS protocols: which protocol → parse → authenticate → validate → authorize → call.

    protocol (X-Amz-Target / Action= / a rest-json request URI) → parse (json11 | query | restjson)
    → authenticate (sigv4, with the key access.access_keys resolves) → validate (models)
    → authorize (access.authz.Authorizer → access.policy) → call (registry)
    → serialize (json11 | query | restjson, errors from protocol.errors)

One code path for every service; the protocol modules only translate between bytes and Python values.
Access decisions live below this package, in ostiary.access (which imports nothing of protocol/).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from botocore.model import OperationModel
from prometheus_client import Counter

from ostiary import observability
from ostiary.access import policy
from ostiary.access.access_keys import AnyKeyResolver, CredentialCache
from ostiary.access.authz import Authorizer, denied_message
from ostiary.access.principals import Principal
from ostiary.protocol import json11, query, restjson, sigv4
from ostiary.protocol.context import RequestContext, Runtime
from ostiary.protocol.errors import (
    AccessDenied,
    InternalFailure,
    NotImplementedOperation,
    ServiceError,
    UnknownOperation,
    ValidationFailed,
)
from ostiary.protocol.models import ServiceSpec, all_specs, validate
from ostiary.protocol.registry import Operation, implemented, lookup
from ostiary.store import movable

log = logging.getLogger("ostiary.request")

MOVED = Counter(
    "ostiary_requests_moved_total",
    "Requests begun on the event loop whose SQLite write would have waited for another writer, run again "
    "on a worker thread (store/movable.py).",
    registry=observability.REGISTRY,
)


def _known(spec: ServiceSpec | None, opname: str) -> str:
    """``opname`` when ``spec``'s model has it, else "unknown": metric labels and logs never carry a
    name a client invented (each would be a new time series for as long as the process lives)."""
    return opname if spec is not None and spec.operation(opname) is not None else "unknown"


@dataclass
class HttpRequest:
    method: str
    path: str
    raw_query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    client_ip: str
    # the rest-json operation the request's method and URI name (app.FrontDoor asks the dispatcher's
    # rest router before it reads the body); None for awsJson and query requests on ``/``
    route: restjson.Match | None = field(default=None)


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


FailureHook = Callable[[RequestContext, dict[str, Any], ServiceError], None]
# runs before an operation (after its input is validated and its caller authenticated); raises a
# ServiceError to refuse it: the provisioned request-rate limits (userpools/provisioned_limits.enforce),
# passed in by app.py only when they are enabled, so a server without them pays nothing
BeforeHook = Callable[[RequestContext, dict[str, Any]], None]
# an AWS endpoint's host names its Region (``cognito-idp.eu-west-1.amazonaws.com``, or any domain the
# operator gives the same form): an unsigned call's Region, which a replicated user pool reads
_ENDPOINT_HOST = re.compile(r"^[a-z0-9-]+\.([a-z]{2}(?:-[a-z]+)+-\d{1,2})\.")


def host_region(headers: dict[str, str]) -> str | None:
    """The Region an AWS-style endpoint host names (``<service>.<region>.…``), else None."""
    found = _ENDPOINT_HOST.match(headers.get("host", ""))
    return found.group(1) if found else None


class Dispatcher:
    def __init__(
        self,
        runtime: Runtime,
        on_failure: FailureHook | None = None,
        before_invoke: BeforeHook | None = None,
        guard: BeforeHook | None = None,
    ) -> None:
        self.runtime = runtime
        self.before_invoke = before_invoke
        # after authorization: a resource's state refuses the call (a user pool under recovery, a
        # secondary Region: userpools/pool_gate.guard, passed in by app.py)
        self.guard = guard
        # called with every ServiceError an operation (or its authorization) raises: the audit
        # recorder's record_failure, passed in by app.py (the protocol layer does not import audit)
        self.on_failure = on_failure
        self.specs = all_specs()
        self.by_target = {s.target_prefix: s for s in self.specs.values() if s.protocol == "json"}
        self.query_by_version = {s.api_version: s for s in self.specs.values() if s.protocol == "query"}
        self.query_by_signing = {s.signing_name: s for s in self.specs.values() if s.protocol == "query"}
        self.rest = restjson.Router(self.specs.values())
        self.credentials = CredentialCache(runtime.store, runtime.box)
        self.authorizer = Authorizer(runtime.store)
        settings = runtime.settings
        # dev_accept_any_key (only with --dev): unknown key ids act as their account's root, unverified
        self.any_key = AnyKeyResolver(runtime.store) if settings.dev and settings.dev_accept_any_key else None
        # query-protocol actions that run off the event loop (the Action names are unique across
        # STS and IAM); a GET with the action in the URL query is decided the same way
        self.query_offload = frozenset(
            name.encode()
            for svc, spec in self.specs.items()
            if spec.protocol == "query"
            for name, op in implemented(svc).items()
            if op.offload
        )
        # CPU-bound work gains nothing from more threads than cores, and each Argon2id hash holds its
        # memory cost (19 MiB by default) while it runs: keep the pool small.
        # Its threads live as long as the process and keep a read connection each (store.db).
        self.executor = ThreadPoolExecutor(
            max_workers=(os.cpu_count() or 2) + 2,
            thread_name_prefix="ostiary-cpu",
            initializer=runtime.store.keep_reads_on_this_thread,
        )

    # -- entry ---------------------------------------------------------------------------------
    async def handle(self, req: HttpRequest) -> HttpResponse:
        """Answer one request.

        Handlers and the store are synchronous. Most operations are short (a few index lookups), so
        they run inline: a thread hop would cost more than the work. Operations registered with
        ``offload=True`` (password hashing, SRP arithmetic) run in the worker pool so that they
        never stall the event loop.
        """
        try:
            offloaded = self._offloaded(req)
        except (ValueError, RecursionError):  # unparseable: the request's own parse answers the error
            offloaded = False
        if offloaded:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.executor, self.handle_sync, req)
        try:
            with movable.movable():
                return self.handle_sync(req)
        except movable.WriterBusy:
            # its SQLite write would have waited for another writer: run the whole request again where
            # waiting stalls nobody else (store/movable.py); nothing of its first run stayed done
            MOVED.inc()
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.executor, self.handle_sync, req)

    def _offloaded(self, req: HttpRequest) -> bool:
        if req.route is not None:
            if req.route.operation is None:
                return False
            rest_impl = lookup(req.route.spec.name, req.route.operation)
            if rest_impl is None:
                return False
            return rest_impl.offload(req.body) if callable(rest_impl.offload) else rest_impl.offload
        target = req.headers.get("x-amz-target")
        if target is not None:
            prefix, _, opname = target.rpartition(".")
            spec = self.by_target.get(prefix)
            impl = lookup(spec.name, opname) if spec is not None else None
            if impl is None:
                return False
            return impl.offload(req.body) if callable(impl.offload) else impl.offload
        if not self.query_offload:
            return False
        for source in (req.body, req.raw_query.encode()):
            start = source.find(b"Action=")
            if start >= 0 and (start == 0 or source[start - 1 : start] == b"&"):
                end = source.find(b"&", start)
                return source[start + 7 : end if end >= 0 else len(source)] in self.query_offload
        return False

    def refuse(self, headers: dict[str, str], err: ServiceError, route: restjson.Match | None = None) -> HttpResponse:
        """An error answered before the request was read (its body too large), in the protocol of
        the service it was meant for: rest-json when its URI names a rest-json operation, JSON when it
        names an X-Amz-Target, query otherwise."""
        request_id = str(uuid.uuid4())
        target = headers.get("x-amz-target")
        if route is not None:
            status, out, body = restjson.serialize_error(route.spec, err)
        elif target is not None:
            spec = self.by_target.get(target.rpartition(".")[0])
            if spec is not None:
                status, out, body = json11.serialize_error(spec, err)
            else:
                code, status = err.wire_code("json")
                out = {"content-type": json11.CONTENT_TYPE, "x-amzn-ErrorType": code}
                body = json.dumps({"__type": code, "message": err.message}).encode()
        else:
            bare = HttpRequest(method="POST", path="/", raw_query="", headers=headers, body=b"", client_ip="")
            status, out, body = query.serialize_error(self._query_spec({}, bare), err, request_id)
        out["x-amzn-RequestId"] = request_id
        return HttpResponse(status, out, body)

    def handle_sync(self, req: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        target = req.headers.get("x-amz-target")
        if req.route is not None:
            resp, service, opname = self._rest(req, req.route, request_id)
        elif target is not None:
            resp, service, opname = self._json(req, target, request_id)
        else:
            resp, service, opname = self._query(req, request_id)
        resp.headers["x-amzn-RequestId"] = request_id
        elapsed = time.perf_counter() - started
        observability.record(service, opname, resp.status, elapsed)
        if self.runtime.settings.access_log:
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "service": service,
                    "operation": opname,
                    "status": resp.status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client_ip": req.client_ip,
                },
            )
        return resp

    # -- awsJson 1.1 ---------------------------------------------------------------------------
    def _json(self, req: HttpRequest, target: str, request_id: str) -> tuple[HttpResponse, str, str]:
        prefix, _, opname = target.rpartition(".")
        spec = self.by_target.get(prefix)
        if spec is None:
            body = b'{"__type":"com.amazon.coral.service#UnknownOperationException","message":null}'
            headers = {"content-type": json11.CONTENT_TYPE, "x-amzn-ErrorType": "UnknownOperationException"}
            return HttpResponse(400, headers, body), "unknown", "unknown"
        try:
            op = spec.operation(opname)
            if op is None:
                raise UnknownOperation("")
            principal, region = self._authenticate(spec, op, req)
            params = json11.parse_input(op, req.body)
            result = self._invoke(spec, op, params, principal, region, req, request_id)
            body = json11.serialize_output(op, result)
            return HttpResponse(200, {"content-type": json11.CONTENT_TYPE}, body), spec.name, opname
        except ServiceError as err:
            status, headers, body = json11.serialize_error(spec, err)
            return HttpResponse(status, headers, body), spec.name, _known(spec, opname)
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id, "operation": opname})
            status, headers, body = json11.serialize_error(spec, InternalFailure("Internal server error"))
            return HttpResponse(status, headers, body), spec.name, opname

    # -- rest-json -------------------------------------------------------------------------------
    def _rest(self, req: HttpRequest, match: restjson.Match, request_id: str) -> tuple[HttpResponse, str, str]:
        spec = match.spec
        opname = match.operation or "unknown"
        limit = self.runtime.settings.max_form_fields
        try:
            op = spec.operation(match.operation) if match.operation is not None else None
            if op is None or match.route is None:
                raise UnknownOperation(f"No operation of {spec.name} matches {req.method} {req.path}.")
            principal, region = self._authenticate(spec, op, req)
            try:
                pairs = parse_qsl(req.raw_query, keep_blank_values=True, max_num_fields=limit)
            except ValueError:  # more fields than allowed
                raise ValidationFailed(f"The request has more than {limit} parameters.") from None
            template_query = [k for k, _ in match.route.query]
            params = restjson.parse_input(op, match.labels, pairs, req.headers, req.body, template_query)
            result = self._invoke(spec, op, params, principal, region, req, request_id)
            status, headers, body = restjson.serialize_output(op, result)
            return HttpResponse(status, headers, body), spec.name, opname
        except ServiceError as err:
            status, headers, body = restjson.serialize_error(spec, err)
            return HttpResponse(status, headers, body), spec.name, opname
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id, "operation": opname})
            status, headers, body = restjson.serialize_error(spec, InternalFailure("Internal server error"))
            return HttpResponse(status, headers, body), spec.name, opname

    # -- query -----------------------------------------------------------------------------------
    def _query(self, req: HttpRequest, request_id: str) -> tuple[HttpResponse, str, str]:
        limit = self.runtime.settings.max_form_fields
        try:
            pairs = parse_qsl(req.raw_query, keep_blank_values=True, max_num_fields=limit)
            ctype = req.headers.get("content-type", "")
            if req.method == "POST" and (not ctype or ctype.startswith("application/x-www-form-urlencoded")):
                with contextlib.suppress(UnicodeDecodeError):
                    pairs += parse_qsl(req.body.decode("utf-8"), keep_blank_values=True, max_num_fields=limit)
            if len(pairs) > limit:
                raise ValueError(limit)
        except ValueError:  # more fields than allowed
            err = ValidationFailed(f"The request has more than {limit} parameters.")
            status, headers, body = query.serialize_error(self._query_spec({}, req), err, request_id)
            return HttpResponse(status, headers, body), "unknown", "unknown"
        fields = dict(pairs)
        spec = self._query_spec(fields, req)
        opname = fields.get("Action", "")
        try:
            if spec is None or not opname:
                raise UnknownOperation(
                    "Could not find operation " + (opname or "<none>") + f" for version {fields.get('Version', '')}"
                )
            op = spec.operation(opname)
            if op is None:
                raise UnknownOperation(f"Could not find operation {opname} for version {spec.api_version}")
            principal, region = self._authenticate(spec, op, req)
            params = query.parse_input(op, pairs)
            result = self._invoke(spec, op, params, principal, region, req, request_id)
            body = query.serialize_output(spec, op, result, request_id)
            return HttpResponse(200, {"content-type": query.CONTENT_TYPE}, body), spec.name, opname
        except ServiceError as err:
            status, headers, body = query.serialize_error(spec, err, request_id)
            return HttpResponse(status, headers, body), spec.name if spec else "unknown", _known(spec, opname)
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id, "operation": opname})
            status, headers, body = query.serialize_error(spec, InternalFailure("Internal server error"), request_id)
            return HttpResponse(status, headers, body), spec.name if spec else "unknown", _known(spec, opname)

    def _query_spec(self, fields: dict[str, str], req: HttpRequest) -> ServiceSpec | None:
        version = fields.get("Version")
        if version and version in self.query_by_version:
            return self.query_by_version[version]
        auth = req.headers.get("authorization", "")
        for name, spec in self.query_by_signing.items():
            if f"/{name}/aws4_request" in auth:
                return spec
        host = req.headers.get("host", "")
        for name, spec in self.query_by_signing.items():
            if host.startswith(name + "."):
                return spec
        action = fields.get("Action")
        for spec in self.query_by_version.values():
            if action and action in spec.model.operation_names:
                return spec
        return None

    # -- authentication --------------------------------------------------------------------------
    def _authenticate(self, spec: ServiceSpec, op: OperationModel, req: HttpRequest) -> tuple[Principal | None, str]:
        """Verify SigV4 for signed operations; anonymous ones ignore any signature (as AWS does)."""
        if op.name in spec.anonymous_operations:
            return None, host_region(req.headers) or self.runtime.settings.region
        query_pairs = sigv4.parse_query(req.raw_query)
        signed = sigv4.find_signature(req.headers, query_pairs)
        if signed is None:
            raise sigv4.missing(spec.protocol == "query")
        return sigv4.authenticate(
            signed,
            service=spec.signing_name,
            credentials=self.credentials,
            any_key=self.any_key,
            method=req.method,
            raw_path=req.path,
            query=query_pairs,
            headers=req.headers,
            body=req.body,
            now=dt.datetime.now(dt.UTC),
            skew_seconds=self.runtime.settings.clock_skew_seconds,
        )

    def forget(self) -> None:
        """Drop this process's cached keys and policies (the development reset: deleted keys stop
        working here at once; other processes' caches expire within 5 s)."""
        self.credentials.clear()
        self.authorizer.clear()
        if self.any_key is not None:
            self.any_key.clear()

    # -- invoke ----------------------------------------------------------------------------------
    def _invoke(
        self,
        spec: ServiceSpec,
        op: OperationModel,
        params: dict[str, Any],
        principal: Principal | None,
        region: str,
        req: HttpRequest,
        request_id: str,
    ) -> dict[str, Any] | None:
        problem = validate(op.input_shape, params)
        if problem:
            raise ValidationFailed(problem)
        impl = lookup(spec.name, op.name)
        if impl is None:
            raise NotImplementedOperation(f"Ostiary does not implement {spec.name} {op.name} yet.")
        ctx = RequestContext(
            runtime=self.runtime,
            request_id=request_id,
            service=spec.name,
            operation=op.name,
            region=region,
            principal=principal,
            source_ip=req.client_ip,
            user_agent=req.headers.get("user-agent"),
        )
        if self.before_invoke is not None:  # throttled before any work, and not audited
            # (its count commits, which pins the request: a request run again was not counted)
            self.before_invoke(ctx, params)
        try:
            if principal is not None and impl.authorize:
                self._authorize(impl, ctx, params, principal)
            if self.guard is not None:
                self.guard(ctx, params)
            return impl.func(ctx, params)
        except ServiceError as err:  # an audited operation's failure is recorded (ostiary.audit)
            if self.on_failure is not None:
                self.on_failure(ctx, params, err)
            raise

    def _authorize(self, impl: Operation, ctx: RequestContext, params: dict[str, Any], principal: Principal) -> None:
        """The policy engine decides, with the request context of access/authz.request_keys (the
        caller's, the request's and the target resource's keys); a denial names the kind of policy
        that denied, as AWS's messages do."""
        resource = impl.resource(ctx, params) if impl.resource else default_resource(ctx, params)
        evaluation = self.authorizer.evaluate(
            principal,
            impl.action,
            resource,
            ctx.source_ip,
            ctx.now,
            secure=False,
            extra=request_tag_keys(params),
            region=ctx.region,
        )
        if evaluation.decision is policy.Decision.ALLOW:
            return
        raise AccessDenied(denied_message(principal.arn, impl.action, resource, evaluation))


def request_tag_keys(params: dict[str, Any]) -> dict[str, list[str]]:
    """``aws:RequestTag/<key>`` and ``aws:TagKeys`` of a request that tags (IAM/STS ``Tags`` lists,
    Cognito ``Tags``/``IdentityPoolTags``/``UserPoolTags`` maps, ``TagKeys`` of untag requests)."""
    tags: dict[str, str] = {}
    for name in ("Tags", "IdentityPoolTags", "UserPoolTags"):
        value = params.get(name)
        if isinstance(value, dict):
            tags.update({str(k): str(v) for k, v in value.items()})
        elif isinstance(value, list):
            tags.update({str(t["Key"]): str(t.get("Value", "")) for t in value if isinstance(t, dict) and "Key" in t})
    out = {f"aws:RequestTag/{k}": [v] for k, v in tags.items()}
    keys = list(tags) + [str(k) for k in params.get("TagKeys") or [] if isinstance(k, str)]
    if keys:
        out["aws:TagKeys"] = keys
    return out


def default_resource(ctx: RequestContext, params: dict[str, Any]) -> str:
    """The ARN an operation acts on, by the service's conventions (``*`` when it names none)."""
    if ctx.principal is None:
        return "*"
    account = ctx.principal.account_id
    if "ResourceArn" in params:
        return str(params["ResourceArn"])
    if ctx.service == "cognito-idp":
        pool = params.get("UserPoolId")
        if isinstance(pool, str):
            region = pool.split("_", 1)[0]
            return f"arn:aws:cognito-idp:{region}:{account}:userpool/{pool}"
        return f"arn:aws:cognito-idp:{ctx.region}:{account}:userpool/*"
    if ctx.service == "cognito-identity":
        pool = params.get("IdentityPoolId")
        if isinstance(pool, str):
            return f"arn:aws:cognito-identity:{ctx.region}:{account}:identitypool/{pool}"
        return f"arn:aws:cognito-identity:{ctx.region}:{account}:identitypool/*"
    return "*"
