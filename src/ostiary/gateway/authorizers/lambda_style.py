"""Lambda-style authorizers (API Gateway's Lambda authorizers, "custom authorizers"): a function
decides, run through the same runtime as user pool triggers (``userpools.triggers.call_function``:
the ``lambda_functions`` setting names what each function is — a Python handler in a worker
process, a webhook, or the real AWS Lambda function).

Kinds (API Gateway Developer Guide, "Use API Gateway Lambda authorizers" and, for HTTP APIs,
"Working with AWS Lambda authorizers for HTTP APIs"):

- ``type = "token"``: REST ``TOKEN``; the event is ``{"type": "TOKEN", "authorizationToken",
  "methodArn"}``, the token from one identity source (default the ``Authorization`` header),
  checked against ``identity_validation_expression`` first (a mismatch is 401 without a call);
- ``type = "request"``: REST ``REQUEST`` (headers, multi-value headers, query string, path
  parameters, stage variables, requestContext), or with ``payload_format_version`` an HTTP API's
  Lambda authorizer: ``"1.0"`` (REST's shape plus ``version``, ``identitySource``,
  ``authorizationToken``) or ``"2.0"`` (``version``, ``type``, ``routeArn``, ``identitySource``,
  ``routeKey``, ``rawPath``, ``rawQueryString``, ``cookies``, ``headers``, ``queryStringParameters``,
  ``requestContext``, ``pathParameters``, ``stageVariables``).

Responses: the IAM-policy format (``principalId``, ``policyDocument``, ``context``) — the policy is
evaluated by the policy engine against the method (route) ARN, never searched as text — and, for
HTTP APIs with ``enable_simple_responses`` (payload 2.0), the simple format (``isAuthorized``,
``context``). The handler raising ``Unauthorized`` → 401 ``{"message":"Unauthorized"}``; a missing
identity source → 401 without a call; a denying policy → 403 (REST: ``{"Message":"User is not
authorized to access this resource[ with an explicit deny]"}``; HTTP APIs: ``{"message":"Forbidden"}``);
a handler error, a timeout or an answer that is not a valid response → 500 (REST:
``{"message": null}``, ``AuthorizerConfigurationException``; HTTP APIs:
``{"message":"Internal Server Error"}``).

Results are cached per authorizer by the values of the identity sources for ``result_ttl_seconds``
(REST default 300 when it has identity sources, HTTP APIs 0; at most 3600; 0 turns caching off;
an authorizer without identity sources caches nothing) in a bounded ``caching.TtlCache``
(``lambda_authorizer_results``: the development reset flushes it). A cached IAM policy is evaluated
again for each method ARN, as API Gateway does, so one cached Allow of ``GET /pets`` does not open
``DELETE /pets``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from ostiary import egress
from ostiary.access import policy
from ostiary.caching import TtlCache
from ostiary.config import Settings
from ostiary.gateway import identity_sources
from ostiary.gateway.authorizers.iam import execute_api_arn
from ostiary.gateway.identity_sources import IdentitySource
from ostiary.gateway.model import AuthRequest, Decision, GatewayEnv, Outcome
from ostiary.gateway.sections import ConfigError, Section
from ostiary.userpools import triggers

log = logging.getLogger("ostiary.gateway.lambda")

ACTION = "execute-api:Invoke"
MAX_TTL = 3600
MAX_CONTEXT_KEYS = 100
MAX_POLICY_CHARS = 65536  # a handler's answer is bounded by the worker's pipe; a policy beyond this is refused

REST, HTTP_V1, HTTP_V2 = "rest", "1.0", "2.0"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a handler answered, kept (and cached) until a method ARN is judged against it."""

    principal_id: str | None
    context: Mapping[str, Any] = field(default_factory=dict)
    document: policy.Policy | None = None  # the IAM-policy format
    authorized: bool | None = None  # the simple format


class InvalidResponse(ValueError):
    """The handler's answer is not a response API Gateway accepts (500)."""


def _time(now: dt.datetime) -> tuple[str, int]:
    return now.strftime("%d/%b/%Y:%H:%M:%S +0000"), int(now.timestamp() * 1000)


def _resource(route_key: str) -> str:
    """``/pets/{id}`` of the route key ``GET /pets/{id}`` (``$default`` stays itself)."""
    return route_key.split(" ", 1)[1] if " " in route_key else route_key


class LambdaAuthorizer:
    """One ``type = "token"`` or ``type = "request"`` section."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        function: str,
        kind: str,
        payload: str,
        sources: tuple[IdentitySource, ...],
        validation: re.Pattern[str] | None,
        ttl: int,
        simple: bool,
        max_entries: int,
    ) -> None:
        self.name = name
        self.settings = settings
        self.function = function
        self.kind = kind  # TOKEN | REQUEST
        self.payload = payload  # rest | 1.0 | 2.0
        self.sources = sources
        self.validation = validation
        self.ttl = ttl
        self.simple = simple
        self._cache: TtlCache[tuple[str, ...], Verdict] | None = (
            TtlCache("lambda_authorizer_results", ttl=float(ttl), maxsize=max_entries) if ttl > 0 else None
        )

    # -- deciding ----------------------------------------------------------------------------------
    async def authorize(self, request: AuthRequest, scopes: tuple[str, ...]) -> Decision:
        values = [source.value(request, request.request_id) for source in self.sources]
        if any(v is None for v in values):
            return self._unauthorized("identity source missing")
        identity = tuple(v for v in values if v is not None)
        if self.kind == "TOKEN" and self.validation is not None and not self.validation.fullmatch(identity[0]):
            return self._unauthorized("token does not match identity_validation_expression")
        arn = execute_api_arn(request)
        key = identity if identity and self._cache is not None else None
        verdict = self._cache.get(key) if self._cache is not None and key is not None else None
        if verdict is None:
            event = self.event(request, identity, arn, dt.datetime.now(dt.UTC))
            try:
                answer = await asyncio.to_thread(triggers.call_function, self.settings, self.function, event)
            except triggers.HandlerError as err:
                if str(err).strip() == "Unauthorized":
                    return self._unauthorized("the handler answered Unauthorized")
                return self._error(f"the handler failed: {str(err)[:200]}")
            except (TimeoutError, egress.EgressTimeout):
                return self._error("the handler timed out")
            except (LookupError, ConnectionError, egress.EgressError, OSError) as err:
                return self._error(f"the handler could not be called: {err}")
            try:
                verdict = self.verdict(answer)
            except InvalidResponse as err:
                return self._error(f"invalid authorizer response: {err}")
            if self._cache is not None and key is not None:
                self._cache.set(key, verdict)
        return self.judge(verdict, arn)

    def judge(self, verdict: Verdict, arn: str) -> Decision:
        """Allow or deny ``arn`` by a handler's answer (cached or fresh)."""
        if verdict.document is not None:
            outcome = policy.evaluate_policy(verdict.document, policy.RequestContext(action=ACTION, resource=arn))
            allowed = outcome is policy.Outcome.ALLOW
            explicit = outcome is policy.Outcome.EXPLICIT_DENY
        else:
            allowed, explicit = bool(verdict.authorized), False
        if allowed:
            return Decision(
                Outcome.ALLOW,
                reason="lambda",
                principal_id=verdict.principal_id,
                context=dict(verdict.context),
                ttl_seconds=self.ttl,
            )
        if self.payload != REST:
            return Decision(Outcome.FORBIDDEN, reason="lambda deny", body={"message": "Forbidden"})
        text = "User is not authorized to access this resource" + (" with an explicit deny" if explicit else "")
        return Decision(
            Outcome.FORBIDDEN, reason="lambda deny", body={"Message": text}, error_type="AccessDeniedException"
        )

    def _unauthorized(self, reason: str) -> Decision:
        return Decision(
            Outcome.UNAUTHORIZED, reason=reason, body={"message": "Unauthorized"}, error_type="UnauthorizedException"
        )

    def _error(self, reason: str) -> Decision:
        log.warning("authorizer %s: %s", self.name, reason)
        if self.payload != REST:
            return Decision(Outcome.ERROR, reason=reason, body={"message": "Internal Server Error"})
        return Decision(
            Outcome.ERROR, reason=reason, body={"message": None}, error_type="AuthorizerConfigurationException"
        )

    # -- the handler's answer -------------------------------------------------------------------
    def verdict(self, answer: Any) -> Verdict:
        if not isinstance(answer, Mapping):
            raise InvalidResponse("not an object")
        context = answer.get("context") or {}
        if not isinstance(context, Mapping) or len(context) > MAX_CONTEXT_KEYS:
            raise InvalidResponse("context is not an object of at most 100 keys")
        if self.payload != HTTP_V2 and not all(
            isinstance(v, str | int | float | bool) or v is None for v in context.values()
        ):
            raise InvalidResponse("context values must be strings, numbers or booleans")
        context = {str(k): v for k, v in context.items()}
        if self.simple:
            authorized = answer.get("isAuthorized")
            if not isinstance(authorized, bool):
                raise InvalidResponse("isAuthorized is not a boolean")
            return Verdict(None, context, authorized=authorized)
        principal = answer.get("principalId")
        document = answer.get("policyDocument")
        if self.payload == REST and (principal is None or not isinstance(principal, str | int | float)):
            raise InvalidResponse("principalId missing")
        if not isinstance(document, Mapping):
            raise InvalidResponse("policyDocument missing")
        if len(str(document)) > MAX_POLICY_CHARS:
            raise InvalidResponse("policyDocument too large")
        try:
            parsed = policy.parse(document)
        except policy.MalformedPolicy as err:
            raise InvalidResponse(f"policyDocument: {err}") from None
        return Verdict(None if principal is None else str(principal), context, document=parsed)

    # -- the event ------------------------------------------------------------------------------
    def event(self, request: AuthRequest, identity: tuple[str, ...], arn: str, now: dt.datetime) -> dict[str, Any]:
        """The event API Gateway would send for ``request``."""
        if self.kind == "TOKEN":
            return {"type": "TOKEN", "authorizationToken": identity[0], "methodArn": arn}
        if self.payload == HTTP_V2:
            return self._event_v2(request, identity, arn, now)
        return self._event_v1(request, identity, arn, now)

    def _event_v1(self, request: AuthRequest, identity: tuple[str, ...], arn: str, now: dt.datetime) -> dict[str, Any]:
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers:
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
            query[name] = value
            multi_query.setdefault(name, []).append(value)
        resource = _resource(request.route_key)
        path = unquote(request.path)
        when, epoch = _time(now)
        out: dict[str, Any] = {}
        if self.payload == HTTP_V1:
            joined = ",".join(identity)
            out.update(version="1.0", type="REQUEST", methodArn=arn, identitySource=joined, authorizationToken=joined)
        else:
            out.update(type="REQUEST", methodArn=arn)
        out.update(
            resource=resource,
            path=path,
            httpMethod=request.method,
            headers=headers,
            multiValueHeaders=multi_headers,
            queryStringParameters=query or None,
            multiValueQueryStringParameters=multi_query or None,
            pathParameters=dict(request.path_parameters) or None,
            stageVariables=None,
            requestContext={
                "accountId": request.account_id,
                "apiId": request.api_id,
                "domainName": request.host,
                "domainPrefix": request.host.split(".", 1)[0],
                "extendedRequestId": request.request_id,
                "httpMethod": request.method,
                "identity": {
                    "sourceIp": request.source_ip,
                    "userAgent": request.header("user-agent") or "",
                },
                "path": path if request.stage == "$default" else f"/{request.stage}{path}",
                "protocol": "HTTP/1.1",
                "requestId": request.request_id,
                "requestTime": when,
                "requestTimeEpoch": epoch,
                "resourceId": request.route_key,
                "resourcePath": resource,
                "stage": request.stage,
            },
        )
        return out

    def _event_v2(self, request: AuthRequest, identity: tuple[str, ...], arn: str, now: dt.datetime) -> dict[str, Any]:
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in request.headers:
            if name == "cookie":
                cookies += [c.strip() for c in value.split(";") if c.strip()]
                continue
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        query: dict[str, str] = {}
        for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        when, epoch = _time(now)
        out: dict[str, Any] = {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": arn,
            "identitySource": list(identity),
            "routeKey": request.route_key,
            "rawPath": request.path,
            "rawQueryString": request.raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": request.account_id,
                "apiId": request.api_id,
                "domainName": request.host,
                "domainPrefix": request.host.split(".", 1)[0],
                "http": {
                    "method": request.method,
                    "path": unquote(request.path),
                    "protocol": "HTTP/1.1",
                    "sourceIp": request.source_ip,
                    "userAgent": request.header("user-agent") or "",
                },
                "requestId": request.request_id,
                "routeKey": request.route_key,
                "stage": request.stage,
                "time": when,
                "timeEpoch": epoch,
            },
        }
        if cookies:
            out["cookies"] = cookies
        if query:
            out["queryStringParameters"] = query
        if request.path_parameters:
            out["pathParameters"] = dict(request.path_parameters)
        return out


def build(name: str, section: Mapping[str, Any], env: GatewayEnv) -> LambdaAuthorizer:
    """``[authorizers.<name>]`` with ``type = "token"`` or ``type = "request"`` (docs/gateway.md,
    "Lambda-style authorizers")."""
    s = Section(f"authorizers.{name}", section)
    kind = "TOKEN" if s.string("type") == "token" else "REQUEST"
    function = s.string("function", max_length=512)
    if triggers.target_of(env.settings, function) is None:
        raise ConfigError(
            f"{s.key('function')}: Ostiary has no function configured for {function!r} "
            "(the lambda_functions setting names what each function is)"
        )
    payload = s.optional_string("payload_format_version")
    if payload is None:
        payload = REST
    elif payload not in (HTTP_V1, HTTP_V2):
        raise ConfigError(f"{s.key('payload_format_version')}: 1.0 or 2.0 (HTTP APIs), or absent (REST)")
    elif kind == "TOKEN":
        raise ConfigError(f"{s.key('payload_format_version')}: TOKEN authorizers are REST's (no payload format)")
    default_source = ("method.request.header.Authorization",) if kind == "TOKEN" else ()
    sources = identity_sources.parse_list(
        s.strings("identity_source", default_source, max_items=5), s.key("identity_source")
    )
    if kind == "TOKEN" and len(sources) != 1:
        raise ConfigError(f"{s.key('identity_source')}: a TOKEN authorizer reads exactly one header")
    if kind == "TOKEN" and sources[0].kind != "header":
        raise ConfigError(f"{s.key('identity_source')}: a TOKEN authorizer's token comes from a header")
    validation: re.Pattern[str] | None = None
    expression = s.optional_string("identity_validation_expression")
    if expression is not None:
        if kind != "TOKEN":
            raise ConfigError(f"{s.key('identity_validation_expression')}: TOKEN authorizers only")
        try:
            validation = re.compile(expression)
        except re.error as err:
            raise ConfigError(f"{s.key('identity_validation_expression')}: {err}") from None
    # REST caches for 300 s by default, HTTP APIs not at all; without identity sources nothing is cached
    ttl = s.integer("result_ttl_seconds", 300 if payload == REST and sources else 0, minimum=0, maximum=MAX_TTL)
    if ttl and not sources:
        raise ConfigError(f"{s.key('result_ttl_seconds')}: caching needs identity sources (their values are the key)")
    simple = s.boolean("enable_simple_responses", False)
    if simple and payload != HTTP_V2:
        raise ConfigError(f"{s.key('enable_simple_responses')}: payload format 2.0 only")
    max_entries = s.integer("cache_max_entries", env.settings.cache_max_entries, minimum=1, maximum=1_000_000)
    s.reject_unknown()
    return LambdaAuthorizer(
        name,
        env.settings,
        function=function,
        kind=kind,
        payload=payload,
        sources=sources,
        validation=validation,
        ttl=ttl,
        simple=simple,
        max_entries=max_entries,
    )
