"""What every part of the gateway shares: the request an authorizer judges, its decision, and the
authorizer interface. Authorizers know nothing of the proxy or of Starlette; the proxy and the
forward-auth endpoints build an :class:`AuthRequest` and act on the :class:`Decision`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ostiary.config import Settings
from ostiary.store.db import Store


class Outcome(enum.Enum):
    ALLOW = "allow"
    UNAUTHORIZED = "unauthorized"  # 401 {"message":"Unauthorized"}: no or invalid credentials
    FORBIDDEN = "forbidden"  # 403: valid credentials, access denied (scopes, policy, Deny)
    ERROR = "error"  # 500 {"message": null}: the authorizer itself failed (API Gateway's AuthorizerFailure)


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """One incoming request as an authorizer sees it (API Gateway's ``$request`` and ``$context``)."""

    method: str  # upper case
    path: str  # the raw path as received, percent-encoded, without the query
    raw_query: str  # the raw query string, without '?'
    headers: tuple[tuple[str, str], ...]  # lower-cased names, in order, repeated names kept
    source_ip: str
    route_key: str  # the matched route, e.g. "GET /pets/{id}" or "$default"
    path_parameters: Mapping[str, str]
    api_id: str
    stage: str
    region: str
    account_id: str
    host: str
    body: bytes | None = None  # only for authorizers that must see it (IAM: the payload hash), bounded
    request_id: str = ""  # $context.requestId (also sent upstream and to the client as apigw-requestid)

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), or None."""
        lname = name.lower()
        for key, value in self.headers:
            if key == lname:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    # why, for logs and the gateway's metrics only: never sent to the client
    reason: str = ""
    principal_id: str | None = None
    # JWT / Cognito authorizers: the token's claims ($context.authorizer.claims / .jwt.claims)
    claims: Mapping[str, Any] = field(default_factory=dict)
    # JWT authorizer: the token's scopes ($context.authorizer.jwt.scopes)
    scopes: tuple[str, ...] = ()
    # Lambda-style authorizers: the context the handler returned ($context.authorizer.<key>)
    context: Mapping[str, Any] = field(default_factory=dict)
    # IAM authorization: the caller ($context.identity: accountId, caller, user, userArn, accessKey,
    # cognitoIdentityId, cognitoIdentityPoolId, cognitoAuthenticationType, ...)
    identity: Mapping[str, str] = field(default_factory=dict)
    # seconds the decision may be cached for this identity source (Lambda-style authorizers)
    ttl_seconds: int = 0
    # a refusal's JSON body when it is not the outcome's default (IAM authorization's messages, e.g.
    # {"message": "Missing Authentication Token"} or {"Message": "User: ... is not authorized ..."};
    # a Lambda-style Deny's {"Message": "User is not authorized to access this resource with an
    # explicit deny"}); None for ALLOW and for the defaults (401 {"message":"Unauthorized"}, 403
    # {"message":"Forbidden"}, 500 {"message":null})
    body: Mapping[str, Any] | None = None
    # the refusal's x-amzn-ErrorType header (API Gateway's, e.g. "IncompleteSignatureException"), or ""
    error_type: str = ""

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW


class Authorizer(Protocol):
    """One configured authorizer (a ``[authorizers.<name>]`` section of the configuration).

    ``scopes`` are the route's required scopes (``authorization_scopes``); an authorizer that has no
    notion of scopes ignores them. ``authorize`` never raises for a bad request: it answers a
    Decision. It runs on the event loop: blocking work (database, a handler) goes to a thread.
    """

    name: str

    # An authorizer that must see the request body (IAM authorization: the SigV4 payload hash) has a
    # class attribute ``needs_body = True``: the proxy then reads the body (bounded by the gateway's
    # max_body_bytes) into ``AuthRequest.body`` before it asks, and sends those bytes upstream. Read
    # it with :func:`needs_body` (authorizers without the attribute never see the body).

    async def authorize(self, request: AuthRequest, scopes: tuple[str, ...]) -> Decision: ...


def needs_body(authorizer: Authorizer) -> bool:
    """Whether ``authorizer`` must see the request body (``AuthRequest.body``) to decide."""
    return bool(getattr(authorizer, "needs_body", False))


@dataclass(frozen=True, slots=True)
class GatewayEnv:
    """What authorizers may use besides their own section: Ostiary's settings and database (IAM
    authorization resolves access keys and policies there; Lambda-style authorizers run through the
    triggers' handler runtime) and Ostiary's public URL (the issuer of its user pools)."""

    settings: Settings
    store: Store | None
    public_url: str
