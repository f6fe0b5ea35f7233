"""Verification of a ``Logins`` map (Cognito Developer Guide, "Identity pools third-party identity
providers"; GetId API Reference): each key names a provider, each value is its token.

- ``cognito-idp.<region>.amazonaws.com/<userPoolId>``: an Ostiary user pool **ID token** — signature
  with the pool's keys, ``iss``, expiry, ``token_use = id``, ``aud`` among the ClientIds the identity
  pool lists for that provider, and, with ServerSideTokenCheck, not signed out or revoked;
- ``cognito-identity.amazonaws.com``: a token of Ostiary's own OpenID issuer for this pool (the
  developer-authenticated enhanced flow): it names the identity itself;
- the pool's DeveloperProviderName: a developer user identifier, accepted only from signed
  GetOpenIdTokenForDeveloperIdentity calls;
- ``accounts.google.com`` / ``appleid.apple.com`` / ``graph.facebook.com`` (Limited Login): OIDC ID
  tokens of the social issuer (discovery + JWKS, federation/oidc.py; the operator can point each
  elsewhere with ``federation_issuers``), ``aud`` among the SupportedLoginProviders client ids;
  opaque OAuth access tokens (classic Facebook login, Login with Amazon, Twitter) cannot be
  verified by Ostiary and are refused;
- an IAM OIDC provider's host/path: its ID token, ``aud`` in the provider's ClientIDList;
- a SAML provider ARN: a base64 SAML response signed by the provider's metadata certificates; the
  assertion's Role attribute gives ``cognito:roles`` (for Token mappings and CustomRoleArn).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from ostiary import egress, jsonlimits
from ostiary.caching import TtlCache
from ostiary.crypto import jwt
from ostiary.federation import cognito_identity, oidc, saml
from ostiary.iam.providers import find_oidc_provider, find_saml_provider
from ostiary.identitypools.errors import NotAuthorizedException
from ostiary.identitypools.pools import IdentityPool, canonical_user_pool_provider, issuer_names, user_pool_of
from ostiary.protocol.context import RequestContext
from ostiary.userpools.tokens import issuer as user_pool_issuer
from ostiary.userpools.tokens import lineage_revoked

UNSUPPORTED = "Invalid login token. Token is not from a supported provider of this identity pool."


@dataclass(frozen=True)
class Login:
    """One verified login."""

    provider: str  # the Logins key
    subject: str  # what identities are linked by (user-pool sub, developer user identifier, …)
    amr: str  # the provider-specific ``amr`` entry: "<provider>:<ids>"
    mapping_key: str  # the RoleMappings / PrincipalTagAttributeMap key
    claims: dict[str, Any] = field(default_factory=dict)
    # False for the cognito-identity OpenID token: it names an identity rather than being linked to one
    linkable: bool = True
    developer: bool = False
    # other names the provider may be configured under (a user pool: its issuer as served), and the
    # RoleMappings keys they make
    provider_aliases: tuple[str, ...] = ()
    mapping_aliases: tuple[str, ...] = ()

    @property
    def identity_id(self) -> str | None:
        return None if self.linkable else str(self.claims.get("sub"))


# User pools' ID tokens presented as logins whose signature this process has checked, by user pool and
# exact text (as userpools.tokens keeps access tokens, on the same setting): a token presented again
# skips the RSA verification and JSON parsing, and nothing else. Expiry and nbf, issuer, token use,
# audience and (ServerSideTokenCheck) revocation are checked on every use, and an entry counts only
# while its key is still one of the pool's keys (the same object the key ring holds: a rotated or
# retired key is a new object, and the token is verified again).
_VERIFIED: TtlCache[tuple[str, str], tuple[str, Any, dict[str, Any]]] = TtlCache(
    "verified_tokens", ttl=None, maxsize=4096
)


def _id_token_claims(ctx: RequestContext, user_pool_id: str, token: str) -> dict[str, Any]:
    """The claims of ``token`` signed by a key of the user pool and within its times; jwt.TokenError
    otherwise, KeyError when the pool has no keys."""
    now = ctx.now.timestamp()
    hit = _VERIFIED.get((user_pool_id, token))
    if hit is not None:
        kid, key, claims = hit
        if ctx.keys.public_keys(user_pool_id).get(kid) is key:
            jwt.check_times(claims, now)
            return claims
    kid = str(jwt.unverified_header(token).get("kid"))
    public = ctx.keys.public_keys(user_pool_id, kid)
    claims = jwt.verify(token, public, now)
    key = public.get(kid)
    if key is not None and isinstance(claims.get("exp"), (int, float)):
        _VERIFIED.set((user_pool_id, token), (kid, key, claims))
    return claims


def _user_pool_login(
    conn: Connection, ctx: RequestContext, pool: IdentityPool, given: str, user_pool_id: str, token: str
) -> Login:
    """A user pool's ID token, the provider named ``cognito-idp.<region>.amazonaws.com/<poolId>`` or
    by the pool's issuer without its scheme (Amplify); the login is known by the first name."""
    clients = pool.user_pool_clients(user_pool_id)
    if not clients:
        raise NotAuthorizedException(UNSUPPORTED)
    provider = canonical_user_pool_provider(user_pool_id)
    try:
        claims = _id_token_claims(ctx, user_pool_id, token)
    except KeyError:  # the user pool has no keys: it does not exist (any more)
        raise NotAuthorizedException("Invalid login token. Issuer doesn't match providerName") from None
    except jwt.TokenError as err:
        if err.problem is jwt.TokenProblem.EXPIRED:
            raise NotAuthorizedException(f"Invalid login token. Token expired: {int(ctx.now.timestamp())}") from None
        raise NotAuthorizedException("Invalid login token. Not a valid OpenId Connect identity token.") from None
    if claims.get("iss") != user_pool_issuer(ctx.settings, user_pool_id):
        raise NotAuthorizedException("Invalid login token. Issuer doesn't match providerName")
    if claims.get("token_use") != "id":
        raise NotAuthorizedException("Invalid login token. Not a valid OpenId Connect identity token.")
    aud = str(claims.get("aud"))
    if aud not in clients:
        raise NotAuthorizedException("Invalid login token. Incorrect token audience.")
    if clients[aud]:  # ServerSideTokenCheck: signed out, revoked, disabled or deleted users are refused
        origin = claims.get("origin_jti")
        if not origin or lineage_revoked(conn, str(origin)):
            raise NotAuthorizedException("Invalid login token. Token has been revoked.")
    sub = str(claims.get("sub"))
    aliases = tuple(sorted((issuer_names(ctx.settings, user_pool_id) | {given}) - {provider}))
    return Login(
        provider=provider,
        subject=sub,
        amr=f"{provider}:CognitoSignIn:{sub}",
        mapping_key=f"{provider}:{aud}",
        claims=claims,
        provider_aliases=aliases,
        mapping_aliases=tuple(f"{name}:{aud}" for name in aliases),
    )


def _openid_login(ctx: RequestContext, pool: IdentityPool, token: str) -> Login:
    try:
        claims = cognito_identity.verify(ctx.keys, ctx.settings, token, ctx.now.timestamp())
    except jwt.TokenError as err:
        if err.problem is jwt.TokenProblem.EXPIRED:
            raise NotAuthorizedException(f"Invalid login token. Token expired: {int(ctx.now.timestamp())}") from None
        raise NotAuthorizedException("Invalid login token. Not a valid OpenId Connect identity token.") from None
    if claims.get("aud") != pool.id:
        raise NotAuthorizedException("Invalid login token. Incorrect token audience.")
    amr = [str(a) for a in claims.get("amr") or []]
    return Login(
        provider=cognito_identity.PROVIDER,
        subject=str(claims.get("sub")),
        amr=amr[-1] if len(amr) > 2 else cognito_identity.PROVIDER,
        mapping_key=cognito_identity.PROVIDER,
        claims=claims,
        linkable=False,
    )


def developer_login(pool: IdentityPool, user_identifier: str) -> Login:
    provider = pool.developer_provider or ""
    guid = pool.id.split(":", 1)[-1]
    return Login(
        provider=provider,
        subject=user_identifier,
        amr=f"{provider}:{pool.region}:{guid}:{user_identifier}",
        mapping_key=provider,
        developer=True,
    )


def verify(
    conn: Connection,
    ctx: RequestContext,
    pool: IdentityPool,
    logins: dict[str, str],
    *,
    developer: bool = False,
) -> list[Login]:
    """Every login of the map, verified (in the map's order); NotAuthorizedException otherwise."""
    out: list[Login] = []
    for provider, token in logins.items():
        user_pool_id = user_pool_of(ctx.settings, provider)
        if provider == pool.developer_provider:
            if not developer:
                raise NotAuthorizedException(
                    "Developer provider logins are accepted only by GetOpenIdTokenForDeveloperIdentity."
                )
            login = developer_login(pool, token)
        elif provider == cognito_identity.PROVIDER:
            login = _openid_login(ctx, pool, token)
        elif provider.startswith("cognito-idp.") or (user_pool_id and pool.user_pool_clients(user_pool_id)):
            # a user pool, by its cognito-idp name or its issuer's (an IAM OIDC provider of the same
            # name is used only when the identity pool does not name that user pool)
            if user_pool_id is None:
                raise NotAuthorizedException(UNSUPPORTED)
            login = _user_pool_login(conn, ctx, pool, provider, user_pool_id, token)
        else:
            login = _external_login(conn, ctx, pool, provider, token)
        if not any(x.linkable and (x.provider, x.subject) == (login.provider, login.subject) for x in out):
            out.append(login)  # one user pool login under both of its names counts once
    return out


def _external_login(conn: Connection, ctx: RequestContext, pool: IdentityPool, provider: str, token: str) -> Login:
    """IAM OIDC providers (key: the issuer's host/path), social OIDC providers (accounts.google.com,
    appleid.apple.com) and SAML providers (key: the provider ARN); OAuth access-token providers
    (classic Facebook login, Login with Amazon, Twitter) cannot be verified by Ostiary and are refused."""
    cfg = pool.config
    social = cfg.get("SupportedLoginProviders") or {}
    if provider in social:
        issuers = oidc.social_issuers(ctx.settings.federation_issuers)
        if provider not in issuers or token.count(".") != 2:  # an opaque OAuth access token
            raise NotAuthorizedException(
                f"Invalid login token. Ostiary cannot verify {provider} access tokens (only OpenID Connect ID tokens)."
            )
        clients = [c.strip() for c in str(social[provider]).split(",") if c.strip()]
        # the social issuers are the operator's (federation_issuers): trusted by the egress policy
        return _oidc_login(ctx, provider, issuers[provider], clients, token, trusted=True)
    for arn in cfg.get("OpenIdConnectProviderARNs") or []:
        if arn.split(":oidc-provider/", 1)[-1] == provider:
            row = find_oidc_provider(conn, pool.account_id, provider)
            if row is None:
                raise NotAuthorizedException(UNSUPPORTED)
            return _oidc_login(ctx, provider, row.url, list(row.client_ids), token, trusted=False)
    if provider in (cfg.get("SamlProviderARNs") or []):
        return _saml_login(conn, ctx, provider, token)
    raise NotAuthorizedException(UNSUPPORTED)


def _oidc_login(
    ctx: RequestContext, provider: str, issuer_url: str, clients: list[str], token: str, *, trusted: bool
) -> Login:
    try:
        claims = oidc.verify(token, issuer_url, egress.policy(ctx.settings), trusted=trusted)
    except oidc.OidcError as err:
        raise NotAuthorizedException(f"Invalid login token. {err}") from None
    audiences = oidc.audiences(claims)
    if not set(audiences) & set(clients):
        raise NotAuthorizedException("Invalid login token. Incorrect token audience.")
    sub = str(claims.get("sub") or "")
    if not sub:
        raise NotAuthorizedException("Invalid login token. The token has no sub claim.")
    return Login(
        provider=provider, subject=sub, amr=f"{provider}:{audiences[0]}:{sub}", mapping_key=provider, claims=claims
    )


def _saml_login(conn: Connection, ctx: RequestContext, provider_arn: str, response: str) -> Login:
    row = find_saml_provider(conn, provider_arn)
    if row is None:
        raise NotAuthorizedException(UNSUPPORTED)
    try:
        meta = saml.parse_metadata(row.metadata_document)
        assertion = saml.verify_response(response, meta.certificates, ctx.now)
    except saml.SamlError as err:
        raise NotAuthorizedException(f"Invalid login token. {err}") from None
    if meta.valid_until is not None and meta.valid_until <= ctx.now:
        raise NotAuthorizedException("Invalid login token. The SAML provider's metadata has expired.")
    if assertion.issuer and assertion.issuer != meta.entity_id:
        raise NotAuthorizedException("Invalid login token. Issuer doesn't match the SAML provider.")
    allowed = {*saml.AWS_AUDIENCES, ctx.settings.effective_public_url + "/saml"}
    if not set(assertion.audiences) & allowed:
        raise NotAuthorizedException("Invalid login token. Audience of the assertion is not valid.")
    claims: dict[str, Any] = {name: values for name, values in assertion.attributes.items()}
    claims["sub"] = assertion.subject
    roles = [
        part.strip()
        for value in assertion.attributes.get(saml.ROLE_ATTRIBUTE, [])
        for part in value.split(",")
        if ":role/" in part
    ]
    if roles:
        claims["cognito:roles"] = roles
        if len(roles) == 1:
            claims["cognito:preferred_role"] = roles[0]
    return Login(
        provider=provider_arn,
        subject=assertion.subject,
        amr=f"{provider_arn}:{assertion.subject}",
        mapping_key=provider_arn,
        claims=claims,
    )


def needs_offload(body: bytes) -> bool:
    """Logins from external providers may fetch the issuer's keys over HTTP: run those requests
    in the worker pool, never on the event loop (the issuer may be this very server)."""
    if b'"Logins"' not in body:
        return False
    try:
        logins = jsonlimits.loads(body).get("Logins") or {}
    except (ValueError, AttributeError):
        return False
    return isinstance(logins, dict) and any(
        not str(k).startswith(("cognito-idp.", cognito_identity.PROVIDER)) for k in logins
    )


def amr(logins: list[Login]) -> list[str]:
    """The ``amr`` of an authenticated identity: "authenticated", then each provider and its ids."""
    if not logins:
        return ["unauthenticated"]
    out = ["authenticated"]
    for login in logins:
        if not login.linkable:
            out += [str(a) for a in login.claims.get("amr") or [] if a != "authenticated"]
            continue
        out += [login.provider, login.amr]
    return out


def now_ts(now: dt.datetime) -> int:
    return int(now.timestamp())
