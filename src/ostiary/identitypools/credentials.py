"""Credentials and OpenID tokens for identities (Amazon Cognito Federated Identities API Reference;
Developer Guide, "Identity pools authentication flow" and "Role-based access control"):
GetCredentialsForIdentity (enhanced flow), GetOpenIdToken (basic flow),
GetOpenIdTokenForDeveloperIdentity (developer-authenticated identities).

Role choice (enhanced flow): unauthenticated identities get the pool's ``unauthenticated`` role.
Authenticated ones get, for the first presented login whose provider has a RoleMapping, the role
the mapping picks — Token: CustomRoleArn when it is among ``cognito:roles``, else
``cognito:preferred_role``; Rules: the first matching rule — and otherwise (or when the mapping is
ambiguous and AmbiguousRoleResolution is AuthenticatedRole) the ``authenticated`` role. The role's
trust policy must allow ``sts:AssumeRoleWithWebIdentity`` by the federated principal
``cognito-identity.amazonaws.com`` with the keys ``cognito-identity.amazonaws.com:aud/sub/amr``
(and ``sts:TagSession`` when principal tags are mapped); the credentials are a one-hour role
session named ``CognitoIdentityCredentials``.
"""

from __future__ import annotations

from typing import Any

from ostiary.access import policy
from ostiary.access.aws_managed import GUEST_SESSION_POLICY
from ostiary.federation import cognito_identity
from ostiary.identitypools import identities, openid, pools
from ostiary.identitypools import logins as lg
from ostiary.identitypools.errors import (
    BAD_ROLE_CONFIG,
    LOGINS_MISMATCH,
    InvalidIdentityPoolConfigurationException,
    InvalidParameterException,
    NotAuthorizedException,
)
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.sts import sessions

SESSION_NAME = "CognitoIdentityCredentials"
SESSION_SECONDS = 3600
AMBIGUOUS_DENIED = "The ambiguous role mapping rules denied this request."
MAX_TAG_VALUE = 256


def _claim_values(claims: dict[str, Any], name: str) -> list[str] | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def rule_matches(rule: dict[str, Any], claims: dict[str, Any]) -> bool:
    values = _claim_values(claims, rule["Claim"])
    if values is None:
        return False
    want = str(rule["Value"])
    kind = rule["MatchType"]
    if kind == "Equals":
        return want in values
    if kind == "Contains":
        return any(want in v for v in values)
    if kind == "StartsWith":
        return any(v.startswith(want) for v in values)
    if kind == "NotEqual":
        return want not in values
    return False


def _mapped_role(mapping: dict[str, Any], login: lg.Login, custom_role: str | None) -> str | None:
    """The role a RoleMapping picks for a login, or None when it is ambiguous."""
    if mapping.get("Type") == "Token":
        roles = _claim_values(login.claims, "cognito:roles") or []
        if custom_role:
            if custom_role in roles:
                return custom_role
            raise NotAuthorizedException("The CustomRoleArn is not one of the roles in the token (cognito:roles).")
        preferred = login.claims.get("cognito:preferred_role")
        return str(preferred) if preferred else None
    for rule in (mapping.get("RulesConfiguration") or {}).get("Rules") or []:
        if rule_matches(rule, login.claims):
            return str(rule["RoleARN"])
    return None


def choose_role(pool: pools.IdentityPool, verified: list[lg.Login], custom_role: str | None) -> str:
    if not verified:
        role = pool.roles.get("unauthenticated")
        if not role:
            raise InvalidIdentityPoolConfigurationException(BAD_ROLE_CONFIG)
        return role
    for login in verified:
        mapping = next(
            (pool.role_mappings[k] for k in (login.mapping_key, *login.mapping_aliases) if k in pool.role_mappings),
            None,
        )
        if not mapping and login.provider.startswith("arn:") and login.claims.get("cognito:roles"):
            # SAML: the assertion's Role attribute decides, like a Token mapping
            mapping = {"Type": "Token", "AmbiguousRoleResolution": "AuthenticatedRole"}
        if not mapping:
            continue
        picked = _mapped_role(mapping, login, custom_role)
        if picked:
            return picked
        if mapping.get("AmbiguousRoleResolution") == "Deny":
            raise NotAuthorizedException(AMBIGUOUS_DENIED)
        break
    role = pool.roles.get("authenticated")
    if not role:
        raise InvalidIdentityPoolConfigurationException(BAD_ROLE_CONFIG)
    return role


def principal_tags(pool: pools.IdentityPool, verified: list[lg.Login]) -> dict[str, str]:
    """Session tags from the pool's attribute maps (and from a developer OpenID token's tags)."""
    tags: dict[str, str] = {}
    for login in verified:
        if not login.linkable:
            carried = (login.claims.get(openid.TAGS_CLAIM) or {}).get("principal_tags") or {}
            for key, values in carried.items():
                if isinstance(values, list) and values:
                    tags[str(key)] = str(values[0])
            continue
        mapping = pool.principal_tag_map(login.provider, *login.provider_aliases)
        if not mapping:
            continue
        for key, claim in mapping.items():
            value = login.claims.get(claim)
            if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value):
                tags[key] = str(value)[:MAX_TAG_VALUE]
    return tags


def _trust(document: str, request: policy.RequestContext) -> policy.Outcome:
    """The trust policy's verdict (parsed once per process: sts.sessions.parsed_trust)."""
    try:
        parsed = sessions.parsed_trust(document)
    except policy.MalformedPolicy:
        return policy.Outcome.NOT_APPLICABLE
    return policy.evaluate_policy(parsed, request, resource_policy=True)


def is_guest(verified: list[lg.Login]) -> bool:
    """No logins, or only an OpenID token of an unauthenticated identity."""
    return all(not x.linkable and "unauthenticated" in (x.claims.get("amr") or []) for x in verified)


@operation("cognito-identity", "GetCredentialsForIdentity", offload=lg.needs_offload)
def get_credentials_for_identity(ctx: RequestContext, params: Params) -> Result:
    identity_id = params["IdentityId"]
    with ctx.store.read() as conn:
        identity, pool = identities.identity_and_pool(conn, identity_id)
        verified = lg.verify(conn, ctx, pool, params.get("Logins") or {})
        identities.usable(identity)
        if not verified and identity.authenticated:
            raise NotAuthorizedException(LOGINS_MISMATCH)
        guest = is_guest(verified)
        if guest and not pool.allow_unauthenticated:
            raise NotAuthorizedException(identities.UNAUTHENTICATED_OFF)
        if verified:
            identity_id = identities.resolve(ctx, pool, verified, identity)
        authenticated = [] if guest else verified
        role_arn = choose_role(pool, authenticated, params.get("CustomRoleArn"))
        role = sessions.find_role(conn, role_arn)
    amr = lg.amr(authenticated)
    tags = principal_tags(pool, authenticated)
    if role is None or role.account_id != pool.account_id:
        raise InvalidIdentityPoolConfigurationException(BAD_ROLE_CONFIG)
    keys = {
        "cognito-identity.amazonaws.com:aud": [pool.id],
        "cognito-identity.amazonaws.com:amr": amr,
        "cognito-identity.amazonaws.com:sub": [identity_id],
    }
    actions = ["sts:AssumeRoleWithWebIdentity"] + (["sts:TagSession"] if tags else [])
    for action in actions:
        request = policy.RequestContext(
            action=action,
            resource=role_arn,
            principal_arn=cognito_identity.PROVIDER,
            principal_type="Federated",
            keys={**keys, **{f"aws:RequestTag/{k}": [v] for k, v in tags.items()}, "aws:TagKeys": list(tags)},
        )
        if _trust(role.trust_policy, request) is not policy.Outcome.ALLOW:
            raise InvalidIdentityPoolConfigurationException(BAD_ROLE_CONFIG)
    issued = sessions.issue(
        ctx,
        sessions.Grant(
            role=role,
            session_name=SESSION_NAME,
            duration=SESSION_SECONDS,
            tags=tags,
            federation={"provider": cognito_identity.PROVIDER, "sub": identity_id, "aud": pool.id, "amr": amr},
            # guests of the enhanced flow get Cognito's scope-down policy as a session policy
            policy_arns=[GUEST_SESSION_POLICY] if not authenticated else [],
        ),
    )
    return {
        "IdentityId": identity_id,
        "Credentials": {
            "AccessKeyId": issued.access_key_id,
            "SecretKey": issued.secret_access_key,
            "SessionToken": issued.session_token,
            "Expiration": issued.expiration,
        },
    }


def _token(
    ctx: RequestContext,
    pool: pools.IdentityPool,
    identity_id: str,
    verified: list[lg.Login],
    seconds: int,
    tags: dict[str, str],
) -> str:
    return openid.mint(
        ctx.keys,
        ctx.settings,
        identity_id=identity_id,
        pool_id=pool.id,
        pool_arn=pool.arn,
        amr=lg.amr(verified),
        issued_at=int(ctx.now.timestamp()),
        seconds=seconds,
        principal_tags=tags,
    )


@operation("cognito-identity", "GetOpenIdToken", offload=lg.needs_offload)
def get_open_id_token(ctx: RequestContext, params: Params) -> Result:
    """GetOpenIdToken (unsigned, basic flow): needs AllowClassicFlow; valid 10 minutes."""
    identity_id = params["IdentityId"]
    with ctx.store.read() as conn:
        identity, pool = identities.identity_and_pool(conn, identity_id)
        if not pool.allow_classic_flow:
            raise InvalidParameterException("Basic (classic) flow is not enabled, please use enhanced flow.")
        verified = lg.verify(conn, ctx, pool, params.get("Logins") or {})
    identities.usable(identity)
    if not verified and identity.authenticated:
        raise NotAuthorizedException(LOGINS_MISMATCH)
    guest = is_guest(verified)
    if guest and not pool.allow_unauthenticated:
        raise NotAuthorizedException(identities.UNAUTHENTICATED_OFF)
    if verified:
        identity_id = identities.resolve(ctx, pool, verified, identity)
    authenticated = [] if guest else verified
    tags = principal_tags(pool, authenticated)
    return {
        "IdentityId": identity_id,
        "Token": _token(ctx, pool, identity_id, authenticated, openid.DEFAULT_SECONDS, tags),
    }


@operation("cognito-identity", "GetOpenIdTokenForDeveloperIdentity", offload=lg.needs_offload)
def get_open_id_token_for_developer_identity(ctx: RequestContext, params: Params) -> Result:
    """GetOpenIdTokenForDeveloperIdentity (signed): registers or finds the developer user's identity
    (linking any other given logins) and returns its token; TokenDuration default 15 minutes."""
    with ctx.store.read() as conn:
        pool = pools.for_caller(conn, ctx, params["IdentityPoolId"])
        if not pool.developer_provider:
            raise InvalidParameterException("This identity pool has no DeveloperProviderName.")
        if pool.developer_provider not in params["Logins"]:
            raise NotAuthorizedException(f"Logins must include the developer provider {pool.developer_provider}.")
        verified = lg.verify(conn, ctx, pool, params["Logins"], developer=True)
    identity_id = identities.link_developer(ctx, pool, verified, params.get("IdentityId"))
    tags = dict(params.get("PrincipalTags") or {})
    tags = {**principal_tags(pool, [x for x in verified if not x.developer]), **tags}
    seconds = int(params.get("TokenDuration") or openid.DEVELOPER_DEFAULT_SECONDS)
    return {"IdentityId": identity_id, "Token": _token(ctx, pool, identity_id, verified, seconds, tags)}
