"""OAuth 2.0 Token Exchange (RFC 8693): GetDerivedToken (Cognito API Reference) and the token
endpoint's ``urn:ietf:params:oauth:grant-type:token-exchange`` grant share ``exchange``.

A party holding a token of the pool (the *subject token*: an access or ID token of one of its
users, or a machine-to-machine access token) gets a new token for a downstream service. What AWS
documents, and how Ostiary decides where it documents nothing:

- The requesting app client needs ``ALLOW_TOKEN_EXCHANGE_IMPERSONATION`` in its ExplicitAuthFlows
  (no actor token: the new token reads as if the subject acted directly) or
  ``ALLOW_TOKEN_EXCHANGE_DELEGATION`` (an actor token: the new token carries RFC 8693 §4.1's ``act``
  claim, ``{"sub": <actor>, "client_id": <actor's client, for access tokens>}``, with the subject
  token's own ``act`` nested inside it, so a chain of delegation stays visible).
- Subject and actor tokens are Cognito tokens of the requesting client's pool: signature, issuer,
  ``token_use``, expiry and revocation (their sign-in lineage) are checked, and a user's account
  must still exist and be enabled. SAML 2.0 assertions and other providers' tokens
  (``SubjectTokenProviderName``) are refused with InvalidParameterException: Ostiary does not
  verify them for token exchange.
- Scopes: the intersection of the requested scopes, the subject token's scopes and the client's
  allowed scopes (AllowedOAuthScopes; ``aws.cognito.signin.user.admin`` counts as allowed, as every
  API sign-in grants it); without ``Scopes``, the subject token's scopes. A token bound to an
  audience or resource never carries ``aws.cognito.signin.user.admin`` (it is not for Cognito's own
  API), and one for a resource server carries only that server's scopes.
- ``Audiences`` (any name) or ``Resources`` (a resource server identifier of the pool, else
  ResourceNotFoundException), never both: the issued token's ``aud``.
- Lifetime: the requesting client's token validity, never past the subject token's expiry; the
  new token keeps the subject's ``origin_jti``, so revoking the subject's refresh token revokes it.
- ``RequestedTokenType`` ``ID_TOKEN`` (users only): an ID token of the user for the requesting
  client (its ReadAttributes), ``aud`` the audience when one is named.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from ostiary.crypto import jwt
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import ServiceError
from ostiary.protocol.registry import Params, Result, operation
from ostiary.userpools import claims as c
from ostiary.userpools import directory, tokens
from ostiary.userpools.client_tokens import secret_matches
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import (
    InvalidParameterException,
    NotAuthorizedException,
    ResourceNotFoundException,
    UserNotFoundException,
)
from ostiary.userpools.lookup import ClientView, client_and_pool, client_by_id
from ostiary.userpools.resource_servers import custom_scopes

IMPERSONATION = "ALLOW_TOKEN_EXCHANGE_IMPERSONATION"
DELEGATION = "ALLOW_TOKEN_EXCHANGE_DELEGATION"
# RFC 8693 §3 token type identifiers <-> the API's TokenTypeIdentifierType
URN_TYPES = {
    "urn:ietf:params:oauth:token-type:access_token": "ACCESS_TOKEN",
    "urn:ietf:params:oauth:token-type:id_token": "ID_TOKEN",
    "urn:ietf:params:oauth:token-type:saml2": "SAML2",
}
TYPE_URNS = {v: k for k, v in URN_TYPES.items()}
_TOKEN_USE = {"ACCESS_TOKEN": "access", "ID_TOKEN": "id"}


class ExchangeError(Exception):
    """A refusal of the token endpoint's grant: the RFC 6749 §5.2 / RFC 8693 §2.2.2 error code and the
    API's exception for the same refusal."""

    def __init__(self, oauth_error: str, error: ServiceError) -> None:
        super().__init__(error.message)
        self.oauth_error, self.error = oauth_error, error


def _refuse(oauth_error: str, error: ServiceError) -> ExchangeError:
    return ExchangeError(oauth_error, error)


@dataclass(frozen=True)
class Exchange:
    subject_token: str
    subject_type: str
    actor_token: str | None = None
    actor_type: str | None = None
    subject_provider: str | None = None
    actor_provider: str | None = None
    scopes: tuple[str, ...] | None = None
    audience: str | None = None
    resource: str | None = None
    requested_type: str = "ACCESS_TOKEN"


@dataclass(frozen=True)
class Issued:
    token: str
    token_type: str  # ACCESS_TOKEN or ID_TOKEN
    expires_in: int
    scopes: list[str]


@dataclass(frozen=True)
class _Presented:
    claims: dict[str, Any]
    user: User | None  # None: a machine-to-machine token (its sub is a client)


def _verify(conn: Connection, ctx: RequestContext, pool: PoolView, token: str, kind: str, what: str) -> _Presented:
    """A Cognito access or ID token of ``pool``, still valid, and its user (if a user's)."""
    invalid = _refuse("invalid_grant", NotAuthorizedException(f"Invalid {what}."))
    try:
        if tokens.pool_id_of(token) != pool.id:
            raise invalid
        kid = str(jwt.unverified_header(token).get("kid"))
        body = jwt.verify(token, ctx.keys.public_keys(pool.id, kid), ctx.now.timestamp())
    except jwt.TokenError as err:
        if err.problem is jwt.TokenProblem.EXPIRED:
            raise _refuse("invalid_grant", NotAuthorizedException(f"The {what} has expired.")) from None
        raise invalid from None
    except (ServiceError, ValueError, KeyError, IndexError):
        raise invalid from None
    if body.get("iss") != tokens.issuer(ctx.settings, pool.id) or body.get("token_use") != _TOKEN_USE[kind]:
        raise invalid
    origin = body.get("origin_jti")
    if origin and tokens.lineage_revoked(conn, str(origin)):
        raise _refuse("invalid_grant", NotAuthorizedException(f"The {what} has been revoked."))
    sub = str(body.get("sub", ""))
    if kind == "ACCESS_TOKEN" and sub == body.get("client_id") and "username" not in body:
        return _Presented(body, None)  # a client's own token (client credentials)
    user = directory.get_in_pool(conn, pool.id, sub)
    if user is None:
        raise _refuse("invalid_grant", UserNotFoundException("User does not exist."))
    if not user.enabled:
        raise _refuse("invalid_grant", NotAuthorizedException("User is disabled."))
    user.groups = directory.groups_of(conn, pool.id, user.id)
    return _Presented(body, user)


def _check_type(kind: str | None, provider: str | None, what: str) -> str:
    if kind is None:
        raise _refuse("invalid_request", InvalidParameterException(f"The {what} type is required."))
    if kind == "SAML2" or provider:
        raise _refuse(
            "invalid_request",
            InvalidParameterException(
                f"Ostiary exchanges only Amazon Cognito access and ID tokens of the pool; the {what} is not one."
            ),
        )
    if kind not in _TOKEN_USE:
        raise _refuse("invalid_request", InvalidParameterException(f"Unsupported {what} type {kind}."))
    return kind


def _act(actor: _Presented, subject: _Presented) -> dict[str, Any]:
    act: dict[str, Any] = {"sub": str(actor.claims.get("sub"))}
    if actor.claims.get("client_id"):
        act["client_id"] = str(actor.claims["client_id"])
    prior = subject.claims.get("act")
    if isinstance(prior, dict):
        act["act"] = prior
    return act


def exchange(ctx: RequestContext, pool: PoolView, client: ClientView, request: Exchange) -> Issued:
    """The token RFC 8693 issues for ``request`` to the (already authenticated) ``client``."""
    subject_type = _check_type(request.subject_type, request.subject_provider, "subject token")
    flow = IMPERSONATION if request.actor_token is None else DELEGATION
    if flow not in client.flows():
        raise _refuse(
            "unauthorized_client",
            NotAuthorizedException(f"{flow} is not enabled for client {client.id}."),
        )
    if request.audience and request.resource:
        raise _refuse("invalid_request", InvalidParameterException("You can't request both Audiences and Resources."))
    if request.requested_type not in _TOKEN_USE:
        raise _refuse(
            "invalid_request",
            InvalidParameterException(f"Amazon Cognito can't issue a token of type {request.requested_type}."),
        )
    with ctx.store.read() as conn:
        subject = _verify(conn, ctx, pool, request.subject_token, subject_type, "subject token")
        actor = None
        if request.actor_token is not None:
            actor_type = _check_type(request.actor_type, request.actor_provider, "actor token")
            actor = _verify(conn, ctx, pool, request.actor_token, actor_type, "actor token")
        existing = set(custom_scopes(conn, pool.id))
    if request.resource is not None and not any(s.startswith(request.resource + "/") for s in existing):
        raise _refuse(
            "invalid_target", ResourceNotFoundException(f"Resource server {request.resource} does not exist.")
        )
    scopes = _scopes(client, subject, request)
    now = int(ctx.now.timestamp())
    kind = "AccessToken" if request.requested_type == "ACCESS_TOKEN" else "IdToken"
    exp = min(now + c.validity_seconds(client.as_token_config(), kind), int(subject.claims.get("exp", now)))
    if exp <= now:
        raise _refuse("invalid_grant", NotAuthorizedException("The subject token has expired."))
    iss = tokens.issuer(ctx.settings, pool.id)
    body: dict[str, Any]
    if request.requested_type == "ID_TOKEN":
        if subject.user is None:
            raise _refuse(
                "invalid_request", InvalidParameterException("An ID token can only be issued for a user's token.")
            )
        readable = set(client.config["ReadAttributes"]) if client.config.get("ReadAttributes") else None
        body = c.id_token_claims(
            issuer=iss,
            sub=subject.user.id,
            username=subject.user.username,
            client_id=client.id,
            attributes=subject.user.attributes,
            readable=readable,
            groups=subject.user.groups,
            event=_event(subject.claims, now),
            issued_at=now,
            validity_seconds=exp - now,
        )
        if request.audience:
            body["aud"] = request.audience
        purpose = "id"
    else:
        body = {"sub": str(subject.claims.get("sub"))}
        if subject.user is not None:
            body.update(c.group_claims(subject.user.groups, include_roles=False))
        body.update(
            {
                "iss": iss,
                "client_id": client.id,
                "token_use": "access",
                "scope": " ".join(scopes),
                "auth_time": subject.claims.get("auth_time", now),
                "exp": exp,
                "iat": now,
                "jti": str(uuid.uuid4()),
                "version": 2,
            }
        )
        for claim in ("origin_jti", "event_id"):
            if subject.claims.get(claim):
                body[claim] = subject.claims[claim]
        if subject.user is not None:
            body["username"] = subject.user.username
        target = request.audience or request.resource
        if target:
            body["aud"] = target
        purpose = "access"
    if actor is not None:
        body["act"] = _act(actor, subject)
    key = ctx.keys.signing_key(pool.id, purpose)
    return Issued(jwt.sign(body, key.kid, key.private), request.requested_type, exp - now, scopes)


def _event(subject: dict[str, Any], now: int) -> c.SignInEvent:
    return c.SignInEvent(
        origin_jti=str(subject.get("origin_jti") or uuid.uuid4()),
        auth_time=int(subject.get("auth_time") or now),
        event_id=str(subject.get("event_id") or uuid.uuid4()),
    )


def _scopes(client: ClientView, subject: _Presented, request: Exchange) -> list[str]:
    held = str(subject.claims.get("scope", "")).split()
    if request.requested_type == "ID_TOKEN":
        return []
    allowed = set(client.config.get("AllowedOAuthScopes") or []) | {c.USER_ADMIN_SCOPE}
    if request.scopes:
        scopes = [s for s in dict.fromkeys(request.scopes) if s in held and s in allowed]
        if not scopes:
            raise _refuse(
                "invalid_scope",
                InvalidParameterException("None of the requested scopes is held by the subject token and allowed."),
            )
    else:
        scopes = held
    if request.audience or request.resource:
        scopes = [s for s in scopes if s != c.USER_ADMIN_SCOPE]
    if request.resource:
        scopes = [s for s in scopes if s.startswith(request.resource + "/")]
    return scopes


def _pool_arn(ctx: RequestContext, params: Params) -> str:
    """The IAM resource of GetDerivedToken: the user pool of the requesting client."""
    account = ctx.principal.account_id if ctx.principal is not None else ctx.account_id
    with ctx.store.read() as conn:
        client = client_by_id(conn, ctx.box, str(params.get("ClientId", "")))
    pool = client.pool_id if client is not None else "*"
    region = pool.split("_", 1)[0] if client is not None else ctx.region
    return f"arn:aws:cognito-idp:{region}:{account}:userpool/{pool}"


@operation("cognito-idp", "GetDerivedToken", resource=_pool_arn)
def get_derived_token(ctx: RequestContext, params: Params) -> Result:
    """Signed and IAM-authorized (the model signs it): the caller's IAM permission on the client's pool
    stands for the client's authentication; a ClientSecret sent must still be one of its secrets."""
    with ctx.store.read() as conn:
        client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
    if pool.account_id != ctx.account_id:
        raise ResourceNotFoundException(f"User pool client {client.id} does not exist.")
    given = params.get("ClientSecret")
    if given is not None and not secret_matches(client, given):
        raise NotAuthorizedException(f"Unable to verify secret for client {client.id}")
    request = Exchange(
        subject_token=params["SubjectToken"],
        subject_type=params["SubjectTokenType"],
        subject_provider=params.get("SubjectTokenProviderName"),
        actor_token=params.get("ActorToken"),
        actor_type=params.get("ActorTokenType"),
        actor_provider=params.get("ActorTokenProviderName"),
        scopes=tuple(params["Scopes"]) if params.get("Scopes") else None,
        audience=(params.get("Audiences") or [None])[0],
        resource=(params.get("Resources") or [None])[0],
        requested_type=params.get("RequestedTokenType") or "ACCESS_TOKEN",
    )
    try:
        issued = exchange(ctx, pool, client, request)
    except ExchangeError as err:
        raise err.error from None
    out: dict[str, Any] = {
        "IssuedToken": issued.token,
        "IssuedTokenType": issued.token_type,
        "TokenType": "Bearer" if issued.token_type == "ACCESS_TOKEN" else "N_A",
        "ExpiresIn": issued.expires_in,
    }
    if issued.token_type == "ACCESS_TOKEN":
        out["Scopes"] = issued.scopes
    return out
