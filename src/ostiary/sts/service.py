"""STS operations (query protocol, ``Version=2011-06-15``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ostiary.iam import policy
from ostiary.iam.principals import PrincipalKind
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import AccessDenied, NotImplementedOperation, ValidationFailed
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.sts import sessions


@operation("sts", "GetCallerIdentity", authorize=False)
def get_caller_identity(ctx: RequestContext, params: Params) -> Result:
    """Who signed this request; needs no permission (AWS: allowed even under an explicit deny)."""
    assert ctx.principal is not None
    return {"UserId": ctx.principal.user_id, "Account": ctx.principal.account_id, "Arn": ctx.principal.arn}


# --- AssumeRole ----------------------------------------------------------------------------------


def _denied(ctx: RequestContext, role: str) -> AccessDenied:
    assert ctx.principal is not None
    return AccessDenied(f"User: {ctx.principal.arn} is not authorized to perform: sts:AssumeRole on resource: {role}")


def _identity_allows(ctx: RequestContext, request: policy.RequestContext) -> policy.Outcome:
    """What the caller's own policies say (the root may do anything its account may do)."""
    assert ctx.principal is not None
    if ctx.principal.kind is PrincipalKind.ROOT:
        return policy.Outcome.ALLOW
    from ostiary.iam.authz import caller_policies

    found = caller_policies(ctx.store, ctx.principal)
    request.keys.update(found.keys)
    decision = policy.evaluate(request, identity=found.identity, boundaries=found.boundaries, session=found.session)
    return {
        policy.Decision.ALLOW: policy.Outcome.ALLOW,
        policy.Decision.EXPLICIT_DENY: policy.Outcome.EXPLICIT_DENY,
        policy.Decision.IMPLICIT_DENY: policy.Outcome.NOT_APPLICABLE,
    }[decision]


@operation("sts", "AssumeRole", authorize=False)
def assume_role(ctx: RequestContext, params: Params) -> Result:
    """AssumeRole (STS API Reference): the role's trust policy must allow the caller (and, unless it
    names the caller itself in the same account, so must the caller's own policies); ExternalId and
    other context arrive as ``sts:*`` condition keys; DurationSeconds within MaxSessionDuration."""
    assert ctx.principal is not None
    role_arn = params["RoleArn"]
    if sessions.role_from_arn(role_arn) is None:
        raise ValidationFailed(f"{role_arn} is not a valid role ARN")
    if params.get("PolicyArns") or params.get("Tags") or params.get("TransitiveTagKeys"):
        raise NotImplementedOperation("Ostiary does not support PolicyArns or session tags in AssumeRole yet.")
    session_policy = params.get("Policy")
    packed = sessions.check_session_policy(session_policy, [], {})
    with ctx.store.read() as conn:
        role = sessions.find_role(conn, role_arn)
    if role is None:
        raise _denied(ctx, role_arn)
    caller = ctx.principal
    aliases: tuple[str, ...] = ()
    if caller.kind is PrincipalKind.ASSUMED_ROLE:
        # a role session answers to its role's ARN in trust policies (role chaining), and that ARN
        # is its aws:PrincipalArn
        with ctx.store.read() as conn:
            row = conn.execute(
                select(t.sts_sessions.c.role_name, t.sts_sessions.c.role_path).where(
                    t.sts_sessions.c.access_key_id == caller.access_key_id
                )
            ).first()
        if row is not None:
            aliases = (f"arn:aws:iam::{caller.account_id}:role{row.role_path}{row.role_name}",)
    keys: dict[str, list[str]] = {
        "sts:RoleSessionName": [params["RoleSessionName"]],
        "aws:PrincipalArn": [aliases[0] if aliases else caller.arn],
        "aws:PrincipalAccount": [caller.account_id],
        "aws:userid": [caller.user_id],
        "aws:CurrentTime": [ctx.now.strftime("%Y-%m-%dT%H:%M:%SZ")],
        "aws:EpochTime": [str(int(ctx.now.timestamp()))],
    }
    if caller.kind is PrincipalKind.USER:
        keys["aws:username"] = [caller.arn.rsplit("/", 1)[-1]]
    if params.get("ExternalId"):
        keys["sts:ExternalId"] = [params["ExternalId"]]
    if params.get("SourceIdentity"):
        keys["sts:SourceIdentity"] = [params["SourceIdentity"]]
    if ctx.source_ip:
        keys["aws:SourceIp"] = [ctx.source_ip]
    request = policy.RequestContext(
        action="sts:AssumeRole",
        resource=role_arn,
        principal_arn=caller.arn,
        principal_account=caller.account_id,
        keys=keys,
        principal_aliases=aliases,
    )
    trusted = sessions.trust_outcome(role, request)
    identity = _identity_allows(ctx, request)
    if policy.Outcome.EXPLICIT_DENY in (trusted, identity) or trusted is not policy.Outcome.ALLOW:
        raise _denied(ctx, role_arn)
    names_caller = role.account_id == caller.account_id and any(a in role.trust_policy for a in (caller.arn, *aliases))
    if identity is not policy.Outcome.ALLOW and not names_caller:
        raise _denied(ctx, role_arn)

    duration = int(params.get("DurationSeconds") or 3600)
    sessions.check_duration(role, duration, chained=caller.kind is PrincipalKind.ASSUMED_ROLE)
    issued = sessions.issue(
        ctx,
        sessions.Grant(
            role=role,
            session_name=params["RoleSessionName"],
            duration=duration,
            session_policy=session_policy,
            source_identity=params.get("SourceIdentity"),
        ),
    )
    out: dict[str, Any] = {"Credentials": issued.credentials(), "AssumedRoleUser": issued.assumed_role_user()}
    if session_policy:
        out["PackedPolicySize"] = packed
    if params.get("SourceIdentity"):
        out["SourceIdentity"] = params["SourceIdentity"]
    return out
