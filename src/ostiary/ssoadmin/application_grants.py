"""An application's OAuth grants (sso-admin): Put/Get/Delete/ListApplicationGrants; and, for
CreateTokenWithIAM, ``grant``.

IAM Identity Center API Reference, "Grant": an application accepts, at CreateTokenWithIAM, only the
grant types configured here:

- ``authorization_code`` with the ``RedirectUris`` codes may be sent to;
- ``refresh_token`` (no options): the application's tokens come with refresh tokens;
- ``urn:ietf:params:oauth:grant-type:jwt-bearer`` with ``AuthorizedTokenIssuers``: the trusted token
  issuers (of the application's instance) whose JWTs the application exchanges, each with the
  audiences (``aud``) accepted from it;
- ``urn:ietf:params:oauth:grant-type:token-exchange`` (no options): an Identity Center access token of
  another application, whose access scopes name this one as a target, is exchanged for one of this.

A grant's options must be the member of ``Grant`` its type names; putting a type again replaces it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, insert, select, update

from ostiary.audit import recorder as audit
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import applications, paging
from ostiary.ssoadmin.errors import ResourceNotFoundException, ValidationException
from ostiary.store import tables as t

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
MEMBER = {
    AUTHORIZATION_CODE: "AuthorizationCode",
    REFRESH_TOKEN: "RefreshToken",
    JWT_BEARER: "JwtBearer",
    TOKEN_EXCHANGE: "TokenExchange",
}
MAX_URI = 2048


def _redirect_ok(uri: Any) -> bool:
    if not isinstance(uri, str) or len(uri) > MAX_URI:
        return False
    parts = urlsplit(uri)
    if parts.fragment or not parts.netloc:
        return False
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    return parts.scheme == "https" or (parts.scheme == "http" and loopback)


def _check(conn: Connection, app: Any, grant_type: str, grant: dict[str, Any]) -> dict[str, Any]:
    """The grant's options as stored, checked against its type."""
    member = MEMBER[grant_type]
    if set(grant) != {member}:
        raise ValidationException(f"Grant type {grant_type} takes the {member} grant.")
    options = grant[member] or {}
    if grant_type == AUTHORIZATION_CODE:
        uris = list(options.get("RedirectUris") or [])
        if not uris or not all(_redirect_ok(u) for u in uris):
            raise ValidationException(
                "RedirectUris must be absolute https URIs (http only for a loopback host), without fragments."
            )
        return {member: {"RedirectUris": uris}}
    if grant_type == JWT_BEARER:
        issuers = list(options.get("AuthorizedTokenIssuers") or [])
        arns = [i.get("TrustedTokenIssuerArn") for i in issuers]
        if not issuers or any(not a or not i.get("AuthorizedAudiences") for a, i in zip(arns, issuers, strict=True)):
            raise ValidationException("Each authorized token issuer needs its TrustedTokenIssuerArn and audiences.")
        if len(set(arns)) != len(arns):
            raise ValidationException("AuthorizedTokenIssuers must not repeat an issuer.")
        tti = t.sso_trusted_token_issuers.c
        known = set(
            conn.execute(
                select(tti.issuer_arn).where(tti.issuer_arn.in_(arns), tti.instance_arn == app["instance_arn"])
            ).scalars()
        )
        for arn in arns:
            if arn not in known:
                raise ResourceNotFoundException(f"Trusted token issuer {arn} does not exist.")
        return {
            member: {
                "AuthorizedTokenIssuers": [
                    {
                        "TrustedTokenIssuerArn": i["TrustedTokenIssuerArn"],
                        "AuthorizedAudiences": list(i["AuthorizedAudiences"]),
                    }
                    for i in issuers
                ]
            }
        }
    return {member: {}}


@operation("sso-admin", "PutApplicationGrant", resource=applications.resource)
def put_application_grant(ctx: RequestContext, params: Params) -> Result:
    grant_type = params["GrantType"]
    g = t.sso_application_grants.c
    with ctx.store.tx() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        stored = _check(conn, app, grant_type, dict(params["Grant"]))
        where = (g.application_arn == app["application_arn"], g.grant_type == grant_type)
        if not conn.execute(
            update(t.sso_application_grants).where(*where).values(grant=stored, updated_at=ctx.now)
        ).rowcount:
            conn.execute(
                insert(t.sso_application_grants).values(
                    application_arn=app["application_arn"], grant_type=grant_type, grant=stored, updated_at=ctx.now
                )
            )
        audit.record(conn, ctx, params)
    return {}


def grant(conn: Connection, application_arn: str, grant_type: str) -> dict[str, Any] | None:
    """The options of the application's grant of ``grant_type`` (the Grant member's value), or None
    when the application does not accept that grant."""
    g = t.sso_application_grants.c
    stored = conn.execute(
        select(g.grant).where(g.application_arn == application_arn, g.grant_type == grant_type)
    ).scalar()
    if stored is None or grant_type not in MEMBER:
        return None
    return dict(stored.get(MEMBER[grant_type]) or {})


@operation("sso-admin", "GetApplicationGrant", resource=applications.resource)
def get_application_grant(ctx: RequestContext, params: Params) -> Result:
    g = t.sso_application_grants.c
    with ctx.store.read() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        stored = conn.execute(
            select(g.grant).where(g.application_arn == app["application_arn"], g.grant_type == params["GrantType"])
        ).scalar()
    if stored is None:
        raise ResourceNotFoundException(f"Grant {params['GrantType']} is not configured for the application.")
    return {"Grant": stored}


@operation("sso-admin", "DeleteApplicationGrant", resource=applications.resource)
def delete_application_grant(ctx: RequestContext, params: Params) -> Result:
    g = t.sso_application_grants.c
    with ctx.store.tx() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        gone = conn.execute(
            delete(t.sso_application_grants).where(
                g.application_arn == app["application_arn"], g.grant_type == params["GrantType"]
            )
        ).rowcount
        if not gone:
            raise ResourceNotFoundException(f"Grant {params['GrantType']} is not configured for the application.")
        audit.record(conn, ctx, params)
    return {}


@operation("sso-admin", "ListApplicationGrants", resource=applications.resource)
def list_application_grants(ctx: RequestContext, params: Params) -> Result:
    paging.decode(params.get("NextToken"))  # four grant types at most: one page
    g = t.sso_application_grants.c
    with ctx.store.read() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        rows = conn.execute(
            select(g.grant_type, g.grant).where(g.application_arn == app["application_arn"]).order_by(g.grant_type)
        ).all()
    return {"Grants": [{"GrantType": r.grant_type, "Grant": r.grant} for r in rows]}
