"""CreateTokenWithIAM (``POST /token?aws_iam=t``, SigV4, IAM action ``sso-oauth:CreateTokenWithIAM`` on
the application): an application's tokens for a directory user, obtained by an IAM principal
(trusted identity propagation; IAM Identity Center OIDC API Reference and User Guide).

Who may call: the caller's own policies must allow the action on the application (the dispatcher's
check), and so must the application's ActorPolicy (its IAM authentication method: a resource-based
policy, evaluated here by the policy engine with the caller as principal). An application without an
IAM authentication method gives no one its tokens.

The grants, each only when the application has it (``ssoadmin.application_grants``):

- ``urn:ietf:params:oauth:grant-type:jwt-bearer`` (RFC 7523): ``assertion`` is a JWT of one of the
  grant's trusted token issuers (its ``iss`` the issuer URL), verified against the issuer's keys
  (OpenID discovery, fetched through ``egress`` by ``federation/oidc.py``), with an audience among
  the ones authorized for that issuer; the claim at the issuer's ``ClaimAttributePath`` names the
  directory user whose attribute at ``IdentityStoreAttributePath`` equals it (exactly one user).
- ``refresh_token``: a refresh token of this application, rotated (a reused one revokes its session).
- ``urn:ietf:params:oauth:grant-type:token-exchange`` (RFC 8693): ``subjectToken`` is an access token
  of another application of the same instance; its scopes whose authorized targets name this
  application are the ones exchanged.
- ``authorization_code``: Ostiary's portal does not issue authorization codes for applications
  (its ``/authorize`` serves the CLI's sso-oidc clients), so the grant is answered
  UnsupportedGrantTypeException rather than pretended.

The user must be enabled and allowed to use the application (assigned, when assignment is required).
Scopes: the requested ones must be the application's (or the defaults ``openid``, ``aws``,
``sts:identity_context``); none requested grants them all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from ostiary import egress
from ostiary.access import authz, policy
from ostiary.access.principals import Principal, PrincipalKind
from ostiary.audit import recorder as audit
from ostiary.federation import oidc
from ostiary.identitystore import directory
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import application_config, application_grants, applications, trusted_token_issuers
from ostiary.ssooidc import app_tokens
from ostiary.ssooidc.errors import (
    AccessDeniedException,
    InvalidClientException,
    InvalidGrantException,
    InvalidRequestException,
    InvalidScopeException,
    OidcError,
    UnauthorizedClientException,
    UnsupportedGrantTypeException,
)
from ostiary.store import tables as t

ACTION = "sso-oauth:CreateTokenWithIAM"
DEFAULT_SCOPES = ("openid", "aws", "sts:identity_context")
MAX_ASSERTION = 16 * 1024
MAX_SCOPES = 25


def _resource(ctx: RequestContext, params: Params) -> str:
    return str(params.get("clientId") or "*")


def _actor_allows(ctx: RequestContext, principal: Principal, actor: policy.Policy, application_arn: str) -> bool:
    """The ActorPolicy's decision for the caller, by the policy engine (an explicit deny wins; a
    statement must name the caller, its role, or its account)."""
    kinds = (PrincipalKind.USER, PrincipalKind.ASSUMED_ROLE, PrincipalKind.FEDERATED_USER)
    found = authz.caller_policies(ctx.store, principal) if principal.kind in kinds else None
    keys = authz.request_keys(principal, found, source_ip=ctx.source_ip, now=ctx.now, secure=False, region=ctx.region)
    request = authz.request_context(principal, ACTION, application_arn, keys, found)
    outcome, _ = policy.resource_policy_outcome(actor, request)
    return outcome is policy.Outcome.ALLOW


def _scopes(params: Params, offered: list[str]) -> list[str]:
    """The scopes granted: the requested ones (each must be offered), or all offered."""
    requested = params.get("scope")
    if requested is None:
        return offered
    if len(requested) > MAX_SCOPES or any(not isinstance(s, str) or s not in offered for s in requested):
        raise InvalidScopeException("Invalid scopes")
    return [s for s in offered if s in requested]


def _claim(claims: dict[str, Any], path: str) -> str | None:
    """The claim at ``path``: the name as is, else dotted members of nested objects."""
    value: Any = claims.get(path)
    if value is None and "." in path:
        value = claims
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 1024 else None


def _user_by(conn: Connection, identity_store_id: str, path: str, value: str) -> str | None:
    """The one directory user whose attribute at ``path`` is ``value`` (None: none, or several)."""
    users = t.identitystore_users.c
    if path == "userName":
        query = select(users.user_id).where(
            users.identity_store_id == identity_store_id, users.user_name_key == value.casefold()
        )
    elif path == "emails.value":
        query = select(users.user_id).where(
            users.identity_store_id == identity_store_id, users.email_key == value.casefold()
        )
    else:  # externalIds.id
        x = t.identitystore_external_ids.c
        query = select(x.user_id).where(
            x.identity_store_id == identity_store_id, x.resource_type == "USER", x.external_id == value
        )
    found = conn.execute(query.limit(2)).scalars().all()
    return str(found[0]) if len(found) == 1 else None


def _jwt_bearer(ctx: RequestContext, conn: Connection, app: Any, params: Params) -> tuple[str, str]:
    """The user a trusted token issuer's JWT names, and the issuer's ARN."""
    assertion = params.get("assertion")
    if not assertion:
        raise InvalidRequestException("Missing assertion")
    if len(assertion) > MAX_ASSERTION:
        raise InvalidGrantException("Invalid assertion")
    options = application_grants.grant(conn, app["application_arn"], application_grants.JWT_BEARER) or {}
    try:
        issuer_claim = str(oidc.unverified_claims(assertion).get("iss") or "")
    except oidc.OidcError:
        raise InvalidGrantException("Invalid assertion") from None
    chosen: tuple[trusted_token_issuers.Issuer, list[str]] | None = None
    for authorized in options.get("AuthorizedTokenIssuers") or []:
        found = trusted_token_issuers.issuer(conn, authorized["TrustedTokenIssuerArn"])
        if found is None or found.instance_arn != app["instance_arn"]:
            continue
        if found.issuer_url.rstrip("/") == issuer_claim.rstrip("/"):
            chosen = found, list(authorized["AuthorizedAudiences"])
            break
    if chosen is None:
        raise InvalidGrantException("The assertion's issuer is not trusted by the application")
    issuer, audiences = chosen
    try:
        claims = oidc.verify(assertion, issuer.issuer_url, egress.policy(ctx.settings))
    except oidc.OidcError as err:
        raise InvalidGrantException(f"Invalid assertion: {err}") from None
    except egress.EgressError:
        raise InvalidGrantException("The trusted token issuer's keys could not be retrieved") from None
    if not set(oidc.audiences(claims)) & set(audiences):
        raise InvalidGrantException("The assertion's audience is not authorized for the application")
    value = _claim(claims, issuer.claim_attribute_path)
    if value is None:
        raise InvalidGrantException(f"The assertion has no {issuer.claim_attribute_path} claim")
    store = _store_of(conn, app["instance_arn"])
    user_id = _user_by(conn, store, issuer.identity_store_attribute_path, value)
    if user_id is None:
        raise InvalidGrantException("The assertion names no user of the identity store")
    return user_id, issuer.arn


def _store_of(conn: Connection, instance_arn: str) -> str:
    return str(
        conn.execute(
            select(t.sso_instances.c.identity_store_id).where(t.sso_instances.c.instance_arn == instance_arn)
        ).scalar_one()
    )


def _user(conn: Connection, app: Any, user_id: str) -> app_tokens.User:
    """The token's user, once the directory says it may use the application."""
    store = _store_of(conn, app["instance_arn"])
    row = directory.user(conn, store, user_id)
    if row is None or not directory.enabled(row):
        raise InvalidGrantException("The user is not an enabled user of the identity store")
    if not applications.user_may_use(conn, app["application_arn"], user_id):
        raise AccessDeniedException("The user is not assigned to the application")
    return app_tokens.User(app["application_arn"], app["instance_arn"], app["account_id"], store, user_id)


def _exchange(
    conn: Connection, ctx: RequestContext, app: Any, params: Params, offered: list[str]
) -> tuple[str, list[str]]:
    """Token exchange: the subject token's user, and the scopes its application authorizes this one for."""
    if params.get("subjectTokenType") != app_tokens.ACCESS_TYPE:
        raise InvalidRequestException("subjectTokenType must be urn:ietf:params:oauth:token-type:access_token")
    if params.get("requestedTokenType") not in (None, app_tokens.ACCESS_TYPE, app_tokens.REFRESH_TYPE):
        raise InvalidRequestException("Unsupported requestedTokenType")
    subject = app_tokens.session_of(conn, params.get("subjectToken") or "", ctx.now)
    if subject is None or subject.application_arn == app["application_arn"]:
        raise InvalidGrantException("Invalid subject token")
    source = applications.application(conn, subject.application_arn)
    if source is None or source["instance_arn"] != app["instance_arn"]:
        raise InvalidGrantException("Invalid subject token")
    targeted = application_config.scopes(conn, subject.application_arn)
    authorized = [s for s in subject.scopes if app["application_arn"] in targeted.get(s, [])]
    if not authorized:
        raise InvalidGrantException("The subject token is not authorized for this application")
    allowed = [s for s in offered if s in authorized or s in DEFAULT_SCOPES]
    return subject.user_id, allowed


def _record(conn: Connection, ctx: RequestContext, app: Any, grant: str, user_id: str) -> None:
    audit.record(
        conn,
        ctx,
        event=audit.Event.CREATE_TOKEN_WITH_IAM,
        resource=("AWS::SSO::Application", app["application_arn"]),
        details={"clientId": app["application_arn"], "grantType": grant, "userId": user_id},
    )


@operation("sso-oidc", "CreateTokenWithIAM", resource=_resource, action=ACTION)
def create_token_with_iam(ctx: RequestContext, params: Params) -> Result:
    principal = ctx.principal
    if principal is None:
        raise AccessDeniedException("CreateTokenWithIAM needs a signed request")
    grant = params["grantType"]
    if grant not in application_grants.MEMBER:
        raise UnsupportedGrantTypeException("Unsupported grant type")
    with ctx.store.read() as conn:
        app = applications.application(conn, params["clientId"])
        if app is None or app["status"] != "ENABLED":
            raise InvalidClientException("Invalid client")
        actor = application_config.actor_policy(conn, app["application_arn"])
    if actor is None or not _actor_allows(ctx, principal, actor, app["application_arn"]):
        raise AccessDeniedException("The caller is not allowed by the application's authentication method")
    app_tokens.ensure_keys(ctx, app["instance_arn"])
    error: OidcError | None = None
    out: dict[str, Any] | None = None
    with ctx.store.tx() as conn:
        if application_grants.grant(conn, app["application_arn"], grant) is None:
            raise UnauthorizedClientException("Client is not authorized to use this grant type")
        offered = list(application_config.scopes(conn, app["application_arn"]))
        offered += [s for s in DEFAULT_SCOPES if s not in offered]
        may_refresh = (
            application_grants.grant(conn, app["application_arn"], application_grants.REFRESH_TOKEN) is not None
        )
        if grant == application_grants.JWT_BEARER:
            user_id, issuer_arn = _jwt_bearer(ctx, conn, app, params)
            scopes = _scopes(params, offered)
            out = app_tokens.issue(ctx, conn, _user(conn, app, user_id), scopes, may_refresh, issuer_arn)
            _record(conn, ctx, app, grant, user_id)
        elif grant == application_grants.TOKEN_EXCHANGE:
            user_id, allowed = _exchange(conn, ctx, app, params, offered)
            scopes = _scopes(params, allowed)
            refresh = may_refresh and params.get("requestedTokenType") == app_tokens.REFRESH_TYPE
            out = app_tokens.issue(ctx, conn, _user(conn, app, user_id), scopes, refresh, None)
            _record(conn, ctx, app, grant, user_id)
        elif grant == application_grants.REFRESH_TOKEN:
            token = params.get("refreshToken") or ""
            if not token:
                raise InvalidRequestException("Missing refresh token")
            held = app_tokens.session_scopes(conn, token)
            if held is not None and params.get("scope") is not None:
                _scopes(params, held)  # a refresh narrows, never widens
            users: list[str] = []

            def user_of(store: str, user_id: str) -> app_tokens.User:
                users.append(user_id)
                return _user(conn, app, user_id)

            refreshed = app_tokens.refresh(ctx, conn, user_of, app["application_arn"], token, params.get("scope"))
            if isinstance(refreshed, app_tokens.Refreshed):
                error = InvalidGrantException("Invalid refresh token provided")
            else:
                out = refreshed
                _record(conn, ctx, app, grant, users[0])
        else:
            raise UnsupportedGrantTypeException(
                "Ostiary does not issue authorization codes for applications: use the JWT bearer or token exchange"
                " grant"
            )
    if error is not None:
        raise error
    return out
