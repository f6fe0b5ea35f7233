"""STS operations (query protocol, ``Version=2011-06-15``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from ostiary.access import authz, policy, service_control, session_tokens
from ostiary.access.accounts import session_of
from ostiary.access.authz import CallerPolicies, mfa_keys
from ostiary.access.principals import PrincipalKind
from ostiary.crypto import identity_context
from ostiary.iam import mfa
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import AccessDenied, ValidationFailed
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.sts import sessions
from ostiary.sts.errors import ExpiredWebIdentityToken, InvalidAuthorizationMessage, InvalidParameterValue


@operation("sts", "GetCallerIdentity", authorize=False)
def get_caller_identity(ctx: RequestContext, params: Params) -> Result:
    """Who signed this request; needs no permission (AWS: allowed even under an explicit deny)."""
    assert ctx.principal is not None
    return {"UserId": ctx.principal.user_id, "Account": ctx.principal.account_id, "Arn": ctx.principal.arn}


# --- AssumeRole ----------------------------------------------------------------------------------


def _denied(ctx: RequestContext, role: str) -> AccessDenied:
    assert ctx.principal is not None
    return AccessDenied(f"User: {ctx.principal.arn} is not authorized to perform: sts:AssumeRole on resource: {role}")


def _caller(ctx: RequestContext) -> CallerPolicies:
    """What applies to the caller of an STS call (the root: everything its account may do)."""
    assert ctx.principal is not None
    found = authz.caller_policies(ctx.store, ctx.principal)
    if ctx.principal.kind is PrincipalKind.ROOT:
        found = dataclasses.replace(found, identity=authz.root_identity())
    return found


@operation("sts", "AssumeRole", authorize=False)
def assume_role(ctx: RequestContext, params: Params) -> Result:
    """AssumeRole (STS API Reference): the policy engine alone decides, with the role's trust policy
    as the resource policy that must allow: a trust naming the caller itself (its user or session
    ARN, or for role chaining its role's ARN) suffices within the account; one naming the account
    needs the caller's own policies to allow sts:AssumeRole on the role; across accounts both must;
    an explicit deny anywhere wins. ExternalId and other context arrive as ``sts:*`` condition keys,
    with the global keys of the caller (access/authz.request_keys) and the role's tags as
    aws:ResourceTag; DurationSeconds within MaxSessionDuration.
    With SerialNumber and TokenCode (an IAM user's own MFA device) the request and the new session
    are MFA-authenticated (aws:MultiFactorAuthPresent "true"); a session made from an MFA session
    keeps its MFA time."""
    assert ctx.principal is not None
    role_arn = params["RoleArn"]
    sessions.check_role_arn(role_arn)  # an ARN that names no role is denied like a missing role
    session_policy = params.get("Policy")
    policy_arns = [p["arn"] for p in params.get("PolicyArns") or []]
    tags = _session_tags(params)
    transitive = list(params.get("TransitiveTagKeys") or [])
    if not {k.lower() for k in transitive} <= {k.lower() for k in tags}:
        raise InvalidParameterValue("The specified transitive tag key must be included in the requested tags.")
    caller = ctx.principal
    proof = None
    if params.get("SerialNumber") or params.get("TokenCode"):
        proof = mfa.verify(ctx, params.get("SerialNumber"), params.get("TokenCode"))
    calling_mfa_time = _session_mfa_time(ctx) if caller.access_key_id.startswith("ASIA") else None
    if caller.kind is PrincipalKind.ASSUMED_ROLE:
        # a role session's transitive session tags pass on to the new session (that it answers to
        # its role's ARN in trust policies is the engine's business: access/authz.caller_policies)
        row = session_of(ctx.store, caller)  # opened at SigV4 resolution
        if row is not None:
            passed_on = {k.lower() for k in row.transitive_tag_keys or []}  # tag keys are case insensitive
            inherited = {k: v for k, v in (row.session_tags or {}).items() if k.lower() in passed_on}
            for key, value in inherited.items():
                if any(k.lower() == key.lower() for k in tags):
                    raise InvalidParameterValue(
                        "One of the specified transitive tag keys can't be set because it conflicts with a "
                        "transitive tag key from the calling session."
                    )
                tags[key] = value
                transitive.append(key)
    packed = sessions.check_session_policy(session_policy, policy_arns, tags)
    with ctx.store.read() as conn:
        role = sessions.find_role(conn, role_arn)
    if role is None:
        raise _denied(ctx, role_arn)
    found = _caller(ctx)
    if authz.session_token_blocks(found, "sts:AssumeRole"):
        raise _denied(ctx, role_arn)
    keys = authz.request_keys(
        caller,
        found,
        source_ip=ctx.source_ip,
        now=ctx.now,
        secure=False,
        region=ctx.region,
        resource_tags=authz.tag_map(role.tags),
        resource=role_arn,
    )
    keys["sts:RoleSessionName"] = [params["RoleSessionName"]]
    if params.get("ExternalId"):
        keys["sts:ExternalId"] = [params["ExternalId"]]
    if params.get("SourceIdentity"):
        keys["sts:SourceIdentity"] = [params["SourceIdentity"]]
    if proof is not None:  # this request itself is MFA-authenticated
        keys.update(mfa_keys(True, ctx.now, ctx.now))
    request = authz.request_context(caller, "sts:AssumeRole", role_arn, keys, found)
    rcps = service_control.rcps_of_account(ctx.store, role.account_id)
    if sessions.trust_evaluation(role, request, found, rcps).decision is not policy.Decision.ALLOW:
        raise _denied(ctx, role_arn)
    if tags:  # session tags need sts:TagSession, decided the same way
        tagging = sessions.tag_session_request(request, tags)
        if sessions.trust_evaluation(role, tagging, found, rcps).decision is not policy.Decision.ALLOW:
            raise AccessDenied(
                f"User: {caller.arn} is not authorized to perform: sts:TagSession on resource: {role_arn}"
            )

    context = _provided_context(ctx, params)
    if context is not None:  # an identity-enhanced session needs sts:SetContext, decided the same way
        setting = dataclasses.replace(request, action="sts:SetContext")
        if sessions.trust_evaluation(role, setting, found, rcps).decision is not policy.Decision.ALLOW:
            raise AccessDenied(
                f"User: {caller.arn} is not authorized to perform: sts:SetContext on resource: {role_arn}"
            )

    duration = int(params.get("DurationSeconds") or 3600)
    sessions.check_duration(role, duration, chained=caller.kind is PrincipalKind.ASSUMED_ROLE)
    issued = sessions.issue(
        ctx,
        sessions.Grant(
            role=role,
            session_name=params["RoleSessionName"],
            duration=duration,
            session_policy=session_policy,
            policy_arns=policy_arns,
            tags=tags,
            transitive_tag_keys=transitive,
            source_identity=params.get("SourceIdentity"),
            federation=context,
            mfa=proof,
            mfa_auth_time=calling_mfa_time,
        ),
    )
    out: dict[str, Any] = {"Credentials": issued.credentials(), "AssumedRoleUser": issued.assumed_role_user()}
    if session_policy or policy_arns or tags:
        out["PackedPolicySize"] = packed
    if params.get("SourceIdentity"):
        out["SourceIdentity"] = params["SourceIdentity"]
    return out


def _provided_context(ctx: RequestContext, params: Params) -> dict[str, Any] | None:
    """AssumeRole's ProvidedContexts: an IAM Identity Center identity context (CreateTokenWithIAM's
    ``identityContext``, provider ``arn:aws:iam::aws:contextProvider/IdentityCenter``) makes the session
    identity-enhanced: its ``identitystore:UserId`` and ``identitystore:IdentityStoreArn`` condition
    keys (kept as the session's facts, read by access/authz.federation_keys). Another provider, an
    assertion Ostiary did not seal, or an expired one is refused."""
    provided = params.get("ProvidedContexts") or []
    if not provided:
        return None
    if len(provided) != 1 or provided[0].get("ProviderArn") != identity_context.PROVIDER_ARN:
        raise InvalidParameterValue(f"ProvidedContexts: only one context of {identity_context.PROVIDER_ARN}.")
    found = identity_context.open_assertion(ctx.box, str(provided[0].get("ContextAssertion") or ""))
    if found is None:
        raise InvalidParameterValue("The provided context assertion is invalid.")
    if found.expires <= ctx.now.timestamp():
        raise ExpiredWebIdentityToken("The provided context assertion has expired.")
    return {
        "provider_arn": identity_context.PROVIDER_ARN,
        "keys": {"identitystore:UserId": [found.user_id], "identitystore:IdentityStoreArn": [found.identity_store_arn]},
    }


def _session_tags(params: Params) -> dict[str, str]:
    """The request's session tags; a key given twice (tag keys are case insensitive) is refused."""
    tags = {tag["Key"]: tag["Value"] for tag in params.get("Tags") or []}
    if len({k.lower() for k in tags}) != len(params.get("Tags") or []):
        raise InvalidParameterValue("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    return tags


def _session_mfa_time(ctx: RequestContext) -> dt.datetime | None:
    """When the calling temporary credentials were authenticated with MFA (None: never)."""
    assert ctx.principal is not None
    session = session_of(ctx.store, ctx.principal)
    return session.mfa_auth_time if session is not None else None


# --- GetSessionToken, GetAccessKeyInfo, DecodeAuthorizationMessage -------------------------------

USER_SESSION_DEFAULT = 43200
USER_SESSION_MAX = 129600
ROOT_SESSION_MAX = 3600


@operation("sts", "GetSessionToken", authorize=False)
def get_session_token(ctx: RequestContext, params: Params) -> Result:
    """GetSessionToken (STS API Reference): temporary credentials of the calling IAM user or root,
    from long-term keys only. They cannot call STS beyond AssumeRole and GetCallerIdentity, nor IAM
    unless made with SerialNumber and TokenCode (the user's own MFA device; access/authz.py)."""
    caller = ctx.principal
    assert caller is not None
    if caller.access_key_id.startswith("ASIA"):
        raise AccessDenied("Cannot call GetSessionToken with session credentials")
    proof = None
    if params.get("SerialNumber") or params.get("TokenCode"):
        proof = mfa.verify(ctx, params.get("SerialNumber"), params.get("TokenCode"))
    is_root = caller.kind is PrincipalKind.ROOT
    duration = int(params.get("DurationSeconds") or (ROOT_SESSION_MAX if is_root else USER_SESSION_DEFAULT))
    if duration > (ROOT_SESSION_MAX if is_root else USER_SESSION_MAX):
        raise ValidationFailed(
            "The requested DurationSeconds exceeds the 1 hour session limit for root"
            if is_root
            else f"Value '{duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value "
            f"less than or equal to {USER_SESSION_MAX}"
        )
    name = "root" if is_root else caller.arn.rsplit("/", 1)[-1]
    path = "/" if is_root else caller.arn.split(":user", 1)[1][: -len(name)]
    issued = sessions.issue_principal_session(
        ctx,
        kind="root" if is_root else "user",
        name=name,
        path=path,
        principal_id=caller.user_id,
        account=caller.account_id,
        duration=duration,
        mfa=proof,
    )
    return {"Credentials": issued}


FEDERATION_DEFAULT = 43200
FEDERATION_MAX = 129600


@operation("sts", "GetFederationToken")
def get_federation_token(ctx: RequestContext, params: Params) -> Result:
    """GetFederationToken (STS API Reference): credentials for a federated user ``Name``, called with
    an IAM user's (or the root's) long-term keys. The session may do what both the calling user's
    policies and the session policies (Policy, PolicyArns) allow — nothing without a session policy —
    and, of IAM and STS, only GetCallerIdentity. Tags become the session's principal tags."""
    caller = ctx.principal
    assert caller is not None
    if caller.access_key_id.startswith("ASIA"):
        raise AccessDenied("Cannot call GetFederationToken with session credentials")
    is_root = caller.kind is PrincipalKind.ROOT
    duration = int(params.get("DurationSeconds") or (ROOT_SESSION_MAX if is_root else FEDERATION_DEFAULT))
    if duration > (ROOT_SESSION_MAX if is_root else FEDERATION_MAX):
        raise ValidationFailed(
            "The requested DurationSeconds exceeds the 1 hour session limit for root"
            if is_root
            else f"Value '{duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value "
            f"less than or equal to {FEDERATION_MAX}"
        )
    session_policy = params.get("Policy")
    policy_arns = [p["arn"] for p in params.get("PolicyArns") or []]
    tags = _session_tags(params)
    packed = sessions.check_session_policy(session_policy, policy_arns, tags)
    if policy_arns:
        with ctx.store.read() as conn:
            sessions.role_session_policy_arns_exist(conn, policy_arns, caller.account_id)
    name = params["Name"]
    user_name = "root" if is_root else caller.arn.rsplit("/", 1)[-1]
    path = "/" if is_root else caller.arn.split(":user", 1)[1][: -len(user_name)]
    issued = sessions.issue_principal_session(
        ctx,
        kind="federated-user",
        name=user_name,
        path=path,
        principal_id=caller.user_id,
        account=caller.account_id,
        duration=duration,
        session_name=name,
        session_policy=session_policy,
        policy_arns=policy_arns,
        tags=tags,
    )
    out: dict[str, Any] = {
        "Credentials": issued,
        "FederatedUser": {
            "FederatedUserId": f"{caller.account_id}:{name}",
            "Arn": f"arn:aws:sts::{caller.account_id}:federated-user/{name}",
        },
        "PackedPolicySize": packed,  # 0 without a session policy or tags, as AWS answers (AssumeRole: absent)
    }
    return out


@operation("sts", "GetAccessKeyInfo")
def get_access_key_info(ctx: RequestContext, params: Params) -> Result:
    """The account an access key (long-term or temporary) belongs to: a long-term key's or a stored
    session's row, else for an ``ASIA`` key the account its id encodes (self-contained role sessions
    have no row; their key ids carry the account in AWS's layout, access/session_tokens.py), as AWS
    answers from the key id alone. A key id that is neither is "not valid", as before."""
    akid = params["AccessKeyId"]
    with ctx.store.read() as conn:
        row = conn.execute(select(t.access_keys.c.account_id).where(t.access_keys.c.access_key_id == akid)).first()
        if row is None:
            row = conn.execute(
                select(t.sts_sessions.c.account_id).where(t.sts_sessions.c.access_key_id == akid)
            ).first()
    if row is not None:
        return {"Account": row.account_id}
    encoded = session_tokens.account_of_key_id(akid) if akid.startswith("ASIA") else None
    if encoded is None:
        raise ValidationFailed(f"The access key ID {akid} is not valid.")
    return {"Account": encoded}


AUTHORIZATION_MESSAGE_CONTEXT = "sts:authorization-message"


def encode_authorization_message(ctx: RequestContext, details: dict[str, Any]) -> str:
    """An encoded authorization message that DecodeAuthorizationMessage turns back into ``details``."""
    return ctx.box.seal(json.dumps(details, separators=(",", ":")), AUTHORIZATION_MESSAGE_CONTEXT)


@operation("sts", "DecodeAuthorizationMessage")
def decode_authorization_message(ctx: RequestContext, params: Params) -> Result:
    """Decode a message Ostiary encoded (sealed with the server's key); anything else is refused."""
    try:
        decoded = ctx.box.open(params["EncodedMessage"], AUTHORIZATION_MESSAGE_CONTEXT)
    except (ValueError, InvalidTag):  # not sealed by this server
        raise InvalidAuthorizationMessage("The encoded message is invalid or was not issued by this server.") from None
    return {"DecodedMessage": decoded}
