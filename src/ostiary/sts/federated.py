"""STS federation (STS API Reference): AssumeRoleWithWebIdentity and AssumeRoleWithSAML.

Both are unsigned: the token or assertion is the credential. The role's trust policy must allow the
provider (``Principal: {"Federated": …}``) for the action, with the provider's claims as condition
keys (``<provider>:sub``, ``:aud``, ``:amr``; ``SAML:aud``, ``SAML:sub`` …). Session tags passed by
the provider (``https://aws.amazon.com/tags`` claim, ``PrincipalTag:`` SAML attributes) also need
``sts:TagSession``.

Web identity tokens come from an IAM OIDC provider of the role's account (keys found by discovery),
from Ostiary's own cognito-identity issuer (identity pools' basic flow), or from a social OIDC
provider (accounts.google.com, appleid.apple.com). SAML assertions are checked against the
certificates in the SAML provider's metadata (federation/saml.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import time
from typing import Any

from ostiary import egress
from ostiary.access import policy, service_control
from ostiary.crypto import jwt
from ostiary.federation import cognito_identity, oidc, saml
from ostiary.iam.providers import find_oidc_provider, find_saml_provider, issuer_path
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import AccessDenied, ValidationFailed
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import markers
from ostiary.sts import sessions
from ostiary.sts.errors import (
    ExpiredWebIdentityToken,
    IDPCommunicationError,
    IDPRejectedClaim,
    InvalidIdentityToken,
)

TAGS_CLAIM = "https://aws.amazon.com/tags"
COGNITO_IDENTITY = "cognito-identity.amazonaws.com"


def _session_tags(principal_tags: dict[str, Any], transitive: list[str]) -> tuple[dict[str, str], list[str]]:
    tags: dict[str, str] = {}
    for key, value in principal_tags.items():
        if isinstance(value, list):
            value = value[0] if value else ""
        tags[str(key)] = str(value)
    if len(tags) > 50:
        raise ValidationFailed("A session can have at most 50 tags.")
    lowered = {k.lower() for k in tags}
    if any(k.lower() not in lowered for k in transitive):
        raise ValidationFailed("TransitiveTagKeys must be keys of the session tags.")
    return tags, transitive


def _assume(
    ctx: RequestContext,
    params: Params,
    *,
    action: str,
    federated: str,
    keys: dict[str, list[str]],
    tags: dict[str, str],
    transitive: list[str],
    federation: dict[str, Any],
    source_identity: str | None,
    duration: int,
) -> tuple[sessions.Issued, int]:
    role_arn = params["RoleArn"]
    sessions.check_role_arn(role_arn)  # an ARN that names no role is denied like a missing role
    policy_arns = [p["arn"] for p in params.get("PolicyArns") or []]
    packed = sessions.check_session_policy(params.get("Policy"), policy_arns, tags)
    with ctx.store.read() as conn:
        role = sessions.find_role(conn, role_arn)
    denied = AccessDenied(f"Not authorized to perform {action}")
    if role is None:
        raise denied
    keys = dict(keys)
    keys["aws:FederatedProvider"] = [federated]
    keys["sts:RoleSessionName"] = [params["RoleSessionName"]]
    keys["aws:CurrentTime"] = [ctx.now.strftime("%Y-%m-%dT%H:%M:%SZ")]
    keys["aws:EpochTime"] = [str(int(ctx.now.timestamp()))]
    if ctx.source_ip:
        keys["aws:SourceIp"] = [ctx.source_ip]
    if source_identity:
        keys["sts:SourceIdentity"] = [source_identity]
    request = policy.RequestContext(
        action=action, resource=role_arn, principal_arn=federated, principal_type="Federated", keys=keys
    )
    rcps = service_control.rcps_of_account(ctx.store, role.account_id)
    if sessions.trust_outcome(role, request, rcps) is not policy.Outcome.ALLOW:
        raise denied
    if tags:
        tagging = sessions.tag_session_request(request, tags)
        if sessions.trust_outcome(role, tagging, rcps) is not policy.Outcome.ALLOW:
            raise AccessDenied("Not authorized to perform sts:TagSession")
    sessions.check_duration(role, duration)
    issued = sessions.issue(
        ctx,
        sessions.Grant(
            role=role,
            session_name=params["RoleSessionName"],
            duration=duration,
            session_policy=params.get("Policy"),
            policy_arns=policy_arns,
            tags=tags,
            transitive_tag_keys=transitive,
            source_identity=source_identity,
            federation=federation,
        ),
    )
    return issued, packed


# --- web identity -------------------------------------------------------------------------------


def _web_identity_claims(ctx: RequestContext, token: str, role_account: str) -> tuple[dict[str, Any], str, str]:
    """(claims, provider name for condition keys, Federated principal) of a verified token."""
    try:
        unverified = oidc.unverified_claims(token)
    except oidc.OidcError:
        raise InvalidIdentityToken(
            "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
        ) from None
    iss = str(unverified.get("iss") or "")
    if cognito_identity.provider_of(ctx.settings, iss) is not None:
        try:
            claims = cognito_identity.verify(ctx.keys, ctx.settings, token, time.time())
        except jwt.TokenError as err:
            if err.problem is jwt.TokenProblem.EXPIRED:
                raise ExpiredWebIdentityToken(
                    "Token expired: current date/time must be before the expiration date/time."
                ) from None
            raise InvalidIdentityToken("Couldn't verify the token's signature.") from None
        return claims, COGNITO_IDENTITY, COGNITO_IDENTITY
    social = {url.rstrip("/"): name for name, url in oidc.social_issuers(ctx.settings.federation_issuers).items()}
    name = social.get(iss.rstrip("/"))
    federated: str
    client_ids: list[str] | None
    if name is not None:
        issuer_url, provider, federated, client_ids = iss, name, name, None
    else:
        try:
            with ctx.store.read() as conn:
                row = find_oidc_provider(conn, role_account, iss)
        except ValueError:  # an iss that is no URL at all (urlsplit refuses it): no provider has it
            row = None
        if row is None:
            raise InvalidIdentityToken(f"No OpenIDConnect provider found in your account for {iss}")
        issuer_url, provider, federated, client_ids = row.url, issuer_path(row.url), row.arn, list(row.client_ids)
    try:
        # a social issuer is the operator's (federation_issuers); an IAM provider's URL is the tenant's
        claims = oidc.verify(token, issuer_url, egress.policy(ctx.settings), trusted=name is not None)
    except oidc.OidcError as err:
        text = str(err)
        if "expired" in text:
            raise ExpiredWebIdentityToken(
                "Token expired: current date/time must be before the expiration date/time."
            ) from None
        if "retrieve" in text:
            raise IDPCommunicationError(text) from None
        raise InvalidIdentityToken(text) from None
    if client_ids is not None and not set(oidc.audiences(claims)) & set(client_ids):
        raise InvalidIdentityToken("Incorrect token audience")
    return claims, provider, federated


@operation("sts", "AssumeRoleWithWebIdentity", authorize=False, offload=True)
def assume_role_with_web_identity(ctx: RequestContext, params: Params) -> Result:
    if params.get("ProviderId"):
        raise InvalidIdentityToken(
            f"Ostiary does not accept OAuth 2.0 access tokens ({params['ProviderId']}); use an OpenID Connect ID token."
        )
    sessions.check_role_arn(params["RoleArn"])
    parsed = sessions.role_from_arn(params["RoleArn"])
    if parsed is None:  # an ARN, but not a role's: no account whose identity provider could be asked
        raise ValidationFailed(f"{params['RoleArn']} is not a valid role ARN")
    claims, provider, federated = _web_identity_claims(ctx, params["WebIdentityToken"], parsed[0])
    sub = str(claims.get("sub") or "")
    if not sub:
        raise IDPRejectedClaim("The token has no sub claim.")
    aud = oidc.audiences(claims)
    keys: dict[str, list[str]] = {f"{provider}:sub": [sub], f"{provider}:aud": aud[:1]}
    if claims.get("azp"):
        keys[f"{provider}:azp"] = [str(claims["azp"])]
        keys[f"{provider}:oaud"] = aud[:1]
    if isinstance(claims.get("amr"), list):
        keys[f"{provider}:amr"] = [str(a) for a in claims["amr"]]
    tag_claim = claims.get(TAGS_CLAIM) if isinstance(claims.get(TAGS_CLAIM), dict) else {}
    assert isinstance(tag_claim, dict)
    tags, transitive = _session_tags(
        dict(tag_claim.get("principal_tags") or {}), [str(k) for k in tag_claim.get("transitive_tag_keys") or []]
    )
    federation: dict[str, Any] = {"provider": provider, "provider_arn": federated, "sub": sub, "aud": aud[:1]}
    if f"{provider}:amr" in keys:
        federation["amr"] = keys[f"{provider}:amr"]
    issued, packed = _assume(
        ctx,
        params,
        action="sts:AssumeRoleWithWebIdentity",
        federated=federated,
        keys=keys,
        tags=tags,
        transitive=transitive,
        federation=federation,
        source_identity=None,
        duration=int(params.get("DurationSeconds") or 3600),
    )
    out: dict[str, Any] = {
        "Credentials": issued.credentials(),
        "SubjectFromWebIdentityToken": sub,
        "AssumedRoleUser": issued.assumed_role_user(),
        # the issuer, except for cognito-identity tokens: AWS names that provider by its host
        "Provider": COGNITO_IDENTITY if provider == COGNITO_IDENTITY else str(claims.get("iss")),
        "Audience": aud[0] if aud else "",
    }
    if params.get("Policy") or params.get("PolicyArns") or tags:
        out["PackedPolicySize"] = packed
    return out


# --- SAML ---------------------------------------------------------------------------------------


def _saml_audiences(ctx: RequestContext) -> set[str]:
    return {*saml.AWS_AUDIENCES, ctx.settings.effective_public_url + "/saml"}


def _spend_assertion(ctx: RequestContext, provider_arn: str, assertion: saml.Assertion) -> None:
    """An assertion is accepted once (SAML profiles §4.1.4.5): its ID, for this provider, is marked
    spent in the database (so in every process) until it could no longer be accepted."""
    if assertion.not_on_or_after is None:  # verify_response refuses assertions that never expire
        raise InvalidIdentityToken("Invalid SAML assertion: The assertion has no NotOnOrAfter")
    marker = hmac.new(
        ctx.box.mac_key("sts-saml-assertion"), f"{provider_arn}|{assertion.assertion_id}".encode(), hashlib.sha256
    ).hexdigest()
    expires = assertion.not_on_or_after + saml.CLOCK_SKEW + dt.timedelta(minutes=10)
    with ctx.store.tx() as conn:
        fresh = markers.spend(conn, ctx.store.is_sqlite, marker, "sts-saml-assertion", expires)
    if not fresh:
        raise InvalidIdentityToken("Invalid SAML assertion: The assertion was already used")


@operation("sts", "AssumeRoleWithSAML", authorize=False, offload=True)
def assume_role_with_saml(ctx: RequestContext, params: Params) -> Result:
    provider_arn, role_arn = params["PrincipalArn"], params["RoleArn"]
    with ctx.store.read() as conn:
        provider = find_saml_provider(conn, provider_arn)
    if provider is None:
        raise InvalidIdentityToken(f"SAML Provider {provider_arn} not found")
    try:
        meta = saml.parse_metadata(provider.metadata_document)
        assertion = saml.verify_response(params["SAMLAssertion"], meta.certificates, ctx.now)
    except saml.SamlError as err:
        text = str(err)
        if "expired" in text:
            raise ExpiredWebIdentityToken(text) from None
        raise InvalidIdentityToken(f"Invalid SAML assertion: {text}") from None
    if meta.valid_until is not None and meta.valid_until <= ctx.now:
        raise InvalidIdentityToken("The SAML provider's metadata has expired")
    if assertion.issuer != meta.entity_id:
        raise InvalidIdentityToken("Issuer of the assertion does not match the SAML provider")
    allowed = _saml_audiences(ctx)
    if not set(assertion.audiences) & allowed:
        raise InvalidIdentityToken("Audience of the assertion is not https://signin.aws.amazon.com/saml")
    # the bearer confirmation's Recipient (and a signed Response's Destination) must name AWS's ACS
    if assertion.recipient not in allowed or (
        assertion.destination is not None and assertion.destination not in allowed
    ):
        raise InvalidIdentityToken("Recipient of the assertion is not https://signin.aws.amazon.com/saml")
    pairs = []
    for value in assertion.attributes.get(saml.ROLE_ATTRIBUTE, []):
        parts = sorted(p.strip() for p in value.split(","))
        pairs.append(set(parts))
    if {role_arn, provider_arn} not in pairs:
        raise IDPRejectedClaim("The role and provider in the request are not among the assertion's Role values.")
    names = assertion.attributes.get(saml.SESSION_NAME_ATTRIBUTE) or []
    if not names or not names[0]:
        raise IDPRejectedClaim("The assertion has no RoleSessionName attribute.")
    session_name = names[0][:64]
    requested = params.get("DurationSeconds")
    durations = assertion.attributes.get(saml.SESSION_DURATION_ATTRIBUTE) or []
    duration = int(requested or (durations[0] if durations and durations[0].isdigit() else 3600))
    if durations and durations[0].isdigit() and requested:
        duration = min(duration, int(durations[0]))
    principal_tags = {
        name[len(saml.PRINCIPAL_TAG_PREFIX) :]: values[0]
        for name, values in assertion.attributes.items()
        if name.startswith(saml.PRINCIPAL_TAG_PREFIX) and values
    }
    tags, transitive = _session_tags(principal_tags, assertion.attributes.get(saml.TRANSITIVE_TAGS_ATTRIBUTE) or [])
    sources = assertion.attributes.get(saml.SOURCE_IDENTITY_ATTRIBUTE) or []
    source_identity = sources[0] if sources else None
    account = provider_arn.split(":")[4]
    qualifier = base64.b64encode(
        hashlib.sha1(f"{assertion.issuer}{account}/{provider.name}".encode()).digest()  # noqa: S324 - AWS's formula
    ).decode()
    recipient = assertion.recipient
    keys: dict[str, list[str]] = {
        "saml:aud": [recipient],
        "saml:iss": [assertion.issuer],
        "saml:sub": [assertion.subject],
        "saml:sub_type": [saml.short_subject_type(assertion.subject_type)],
        "saml:namequalifier": [qualifier],
        "saml:doc": [f"{account}/{provider.name}"],
    }
    _spend_assertion(ctx, provider_arn, assertion)
    issued, packed = _assume(
        ctx,
        {**params, "RoleSessionName": session_name},
        action="sts:AssumeRoleWithSAML",
        federated=provider_arn,
        keys=keys,
        tags=tags,
        transitive=transitive,
        federation={"provider": "saml", "provider_arn": provider_arn, "keys": keys},
        source_identity=source_identity,
        duration=duration,
    )
    out: dict[str, Any] = {
        "Credentials": issued.credentials(),
        "AssumedRoleUser": issued.assumed_role_user(),
        "Subject": assertion.subject,
        "SubjectType": saml.short_subject_type(assertion.subject_type),
        "Issuer": assertion.issuer,
        "Audience": recipient,
        "NameQualifier": qualifier,
    }
    if params.get("Policy") or params.get("PolicyArns") or tags:
        out["PackedPolicySize"] = packed
    if source_identity:
        out["SourceIdentity"] = source_identity
    return out
