"""IAM authorization (API Gateway's ``AWS_IAM``): a SigV4-signed request by Ostiary credentials,
allowed when the policy engine allows ``execute-api:Invoke`` on the method's ARN.

API Gateway Developer Guide, "Control access to a REST API with IAM permissions" and "Signing
requests": the caller signs with service ``execute-api`` (Authorization header or presigned query,
``X-Amz-Security-Token`` for temporary credentials: role sessions, identity-pool sessions); the
signature is verified exactly as Ostiary's own APIs verify theirs (``protocol.sigv4.authenticate``
with the access keys ``access.access_keys`` resolves: one implementation), the payload hash over the
body the gateway received (``needs_body``). Then ``execute-api:Invoke`` on
``arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>`` is decided by
``access.authz`` (identity policies, permissions boundaries, session policies, SCPs) together with
the API's optional resource policy (``resource_policy``: API Gateway's resource policies; a caller
of another account needs it to allow).

Refusals answer as API Gateway does (all 403, with ``x-amzn-ErrorType``):
no signature ``{"message":"Missing Authentication Token"}``; a bad or expired signature, an unknown
key, an expired session: the signature error's message; denied ``{"Message":"User: <arn> is not
authorized to perform: execute-api:Invoke on resource: <arn>"}`` (the account in the resource ARN
masked as API Gateway masks it, ``********1234``; `` with an explicit deny`` when a Deny decided).

The caller becomes ``$context.identity`` (``Decision.identity``): accountId, caller, user, userArn,
accessKey, and for identity-pool sessions cognitoIdentityId, cognitoIdentityPoolId,
cognitoAuthenticationType, cognitoAuthenticationProvider.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from ostiary.access import policy
from ostiary.access.access_keys import CredentialCache
from ostiary.access.authz import Authorizer as PolicyAuthorizer
from ostiary.access.authz import CallerPolicies
from ostiary.access.principals import Principal, PrincipalKind
from ostiary.caching import TtlCache
from ostiary.crypto.secrets import SecretBox, load_or_create_kek
from ostiary.gateway.model import AuthRequest, Decision, GatewayEnv, Outcome
from ostiary.gateway.sections import ConfigError, Section
from ostiary.protocol import sigv4
from ostiary.protocol.errors import ServiceError

ACTION = "execute-api:Invoke"
MAX_POLICY_CHARS = 20480  # API Gateway's limit on a resource policy's size
_COGNITO_IDENTITY = "cognito-identity.amazonaws.com"
_ERROR_TYPES = {
    "IncompleteSignature": "IncompleteSignatureException",
    "InvalidSignature": "InvalidSignatureException",
    "UnrecognizedClient": "UnrecognizedClientException",
    "ExpiredToken": "ExpiredTokenException",
    "MissingAuthenticationToken": "MissingAuthenticationTokenException",
}


def execute_api_arn(request: AuthRequest) -> str:
    """The method ARN of a request: ``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>``
    (the path percent-decoded, without its leading slash, as API Gateway writes it)."""
    path = unquote(request.path).lstrip("/")
    api = f"arn:aws:execute-api:{request.region}:{request.account_id}:{request.api_id}"
    return f"{api}/{request.stage}/{request.method}/{path}"


def masked(arn: str) -> str:
    """An ARN with its account masked as API Gateway masks it in messages (``********1234``)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and len(parts[4]) == 12:
        parts[4] = "********" + parts[4][-4:]
    return ":".join(parts)


def _refusal(message: str, error_type: str, key: str = "message") -> Decision:
    return Decision(Outcome.FORBIDDEN, reason=message[:200], body={key: message}, error_type=error_type)


def _signature_refusal(err: ServiceError) -> Decision:
    name = type(err).__name__
    return _refusal(err.message, _ERROR_TYPES.get(name, "IncompleteSignatureException"))


def identity_of(principal: Principal, found: CallerPolicies | None) -> dict[str, str]:
    """``$context.identity`` of a signed caller (API Gateway's fields; absent ones left out)."""
    out = {
        "accountId": principal.account_id,
        "caller": principal.user_id,
        "user": principal.user_id,
        "userArn": principal.arn,
        "accessKey": principal.access_key_id,
    }
    if principal.kind is PrincipalKind.ROOT:
        out["caller"] = out["user"] = principal.account_id
    keys = found.keys if found is not None else {}
    subject = keys.get(f"{_COGNITO_IDENTITY}:sub")
    if subject:
        out["cognitoIdentityId"] = subject[0]
        pool = keys.get(f"{_COGNITO_IDENTITY}:aud")
        if pool:
            out["cognitoIdentityPoolId"] = pool[0]
        amr = keys.get(f"{_COGNITO_IDENTITY}:amr") or []
        out["cognitoAuthenticationType"] = "authenticated" if "authenticated" in amr else "unauthenticated"
        providers = [a for a in amr if a not in ("authenticated", "unauthenticated")]
        if providers:
            out["cognitoAuthenticationProvider"] = ",".join(providers)
    return out


class IamAuthorizer:
    """One ``type = "iam"`` section. Blocking work (keys, policies: the database) runs in a thread."""

    needs_body = True

    def __init__(
        self,
        name: str,
        credentials: CredentialCache,
        engine: PolicyAuthorizer,
        *,
        resource_policy: Mapping[str, Any] | None,
        skew_seconds: int,
    ) -> None:
        self.name = name
        self.credentials = credentials
        self.engine = engine
        self.skew_seconds = skew_seconds
        self._policy_document = resource_policy
        # the resource policy parsed once per (region, account, api): its execute-api:/… shorthands
        # name the API's own ARN, known from the requests
        self._parsed: TtlCache[tuple[str, str, str], tuple[policy.Policy, ...]] = TtlCache(
            "gateway_resource_policies", ttl=None, maxsize=64
        )

    async def authorize(self, request: AuthRequest, scopes: tuple[str, ...]) -> Decision:
        return await asyncio.to_thread(self.decide, request, dt.datetime.now(dt.UTC))

    def decide(self, request: AuthRequest, now: dt.datetime) -> Decision:
        """The decision for one request at ``now`` (synchronous: reads keys and policies)."""
        headers: dict[str, str] = {}
        for key, value in request.headers:
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        query = sigv4.parse_query(request.raw_query)
        try:
            signed = sigv4.find_signature(headers, query)
            if signed is None:
                return _refusal("Missing Authentication Token", "MissingAuthenticationTokenException")
            principal, _region = sigv4.authenticate(
                signed,
                service="execute-api",
                credentials=self.credentials,
                any_key=None,
                method=request.method,
                raw_path=request.path,
                query=query,
                headers=headers,
                body=request.body or b"",
                now=now,
                skew_seconds=self.skew_seconds,
            )
        except ServiceError as err:
            return _signature_refusal(err)
        resource = execute_api_arn(request)
        evaluation = self.engine.evaluate(
            principal,
            ACTION,
            resource,
            request.source_ip,
            now,
            secure=request.header("x-forwarded-proto") == "https",
            region=request.region,
            resource_policies=self._resource_policies(request),
        )
        found = self.engine.caller(principal) if principal.kind is not PrincipalKind.ROOT else None
        if evaluation.decision is not policy.Decision.ALLOW:
            text = f"User: {principal.arn} is not authorized to perform: {ACTION} on resource: {masked(resource)}"
            if evaluation.decision is policy.Decision.EXPLICIT_DENY:
                text += " with an explicit deny"
            return _refusal(text, "AccessDeniedException", key="Message")
        return Decision(
            Outcome.ALLOW,
            reason="iam",
            principal_id=principal.arn,
            identity=identity_of(principal, found),
        )

    def _resource_policies(self, request: AuthRequest) -> tuple[policy.Policy, ...]:
        document = self._policy_document
        if document is None:
            return ()
        key = (request.region, request.account_id, request.api_id)
        return self._parsed.get_or_load(key, lambda: (policy.parse(expand(document, *key), resource_policy=True),))


def expand(document: Mapping[str, Any], region: str, account: str, api_id: str) -> dict[str, Any]:
    """A resource policy with API Gateway's shorthand ``execute-api:/<stage>/<METHOD>/<path>`` written
    out as the API's ARN (the console does the same when it saves a policy)."""
    prefix = f"arn:aws:execute-api:{region}:{account}:{api_id}/"

    def one(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("execute-api:/"):
            return prefix + value.removeprefix("execute-api:/")
        return value

    statements = document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    out: list[Any] = []
    for stmt in statements if isinstance(statements, list) else []:
        if isinstance(stmt, Mapping):
            stmt = dict(stmt)
            for name in ("Resource", "NotResource"):
                if isinstance(stmt.get(name), list):
                    stmt[name] = [one(v) for v in stmt[name]]
                elif name in stmt:
                    stmt[name] = one(stmt[name])
        out.append(stmt)
    return {**document, "Statement": out}


def _document(section: Section) -> dict[str, Any] | None:
    """``resource_policy``: a JSON string or a TOML table, checked by the policy engine's parser."""
    raw = section.raw("resource_policy")
    if raw is None:
        return None
    where = section.key("resource_policy")
    if isinstance(raw, str):
        if len(raw) > MAX_POLICY_CHARS:
            raise ConfigError(f"{where}: longer than {MAX_POLICY_CHARS} characters")
        try:
            raw = json.loads(raw)
        except ValueError as err:
            raise ConfigError(f"{where}: not JSON ({err})") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a policy document (a JSON string or a table)")
    document = dict(raw)
    try:
        policy.parse(expand(document, "us-east-1", "000000000000", "api"), resource_policy=True)
    except policy.MalformedPolicy as err:
        raise ConfigError(f"{where}: {err}") from None
    return document


def build(name: str, section: Mapping[str, Any], env: GatewayEnv) -> IamAuthorizer:
    """``[authorizers.<name>]`` with ``type = "iam"``: ``resource_policy`` (optional),
    ``clock_skew_seconds`` (default 300: API Gateway's five minutes)."""
    s = Section(f"authorizers.{name}", section)
    s.raw("type")
    document = _document(s)
    skew = s.integer("clock_skew_seconds", 300, minimum=1, maximum=3600)
    s.reject_unknown()
    if env.store is None:
        raise ConfigError(f"authorizers.{name}: IAM authorization needs Ostiary's database (gateway.database_url)")
    settings = env.settings
    if not settings.kek and not (settings.data_dir / "kek").exists():
        # never a new key: the access keys' secrets are sealed under Ostiary's own
        raise ConfigError(
            f"authorizers.{name}: IAM authorization needs Ostiary's key-encryption key "
            "(OSTIARY_KEK, or OSTIARY_DATA_DIR naming the directory that holds its kek file)"
        )
    box = SecretBox(load_or_create_kek(settings.kek, settings.data_dir))
    return IamAuthorizer(
        name,
        CredentialCache(env.store, box, ttl=float(env.settings.cache_access_key_seconds)),
        PolicyAuthorizer(env.store),
        resource_policy=document,
        skew_seconds=skew,
    )
