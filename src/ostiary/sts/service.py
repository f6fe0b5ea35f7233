"""STS operations (query protocol, ``Version=2011-06-15``)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import secrets
from typing import Any

from sqlalchemy import delete, insert, select

from ostiary.crypto.secrets import new_access_key_id, new_secret_access_key
from ostiary.iam import policy
from ostiary.iam.errors import NoSuchEntityException
from ostiary.iam.principals import PrincipalKind
from ostiary.iam.roles import get_role
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import AccessDenied, NotImplementedOperation, ValidationFailed
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.sts.errors import MalformedPolicyDocument, PackedPolicyTooLarge


@operation("sts", "GetCallerIdentity", authorize=False)
def get_caller_identity(ctx: RequestContext, params: Params) -> Result:
    """Who signed this request; needs no permission (AWS: allowed even under an explicit deny)."""
    assert ctx.principal is not None
    return {"UserId": ctx.principal.user_id, "Account": ctx.principal.account_id, "Arn": ctx.principal.arn}


# --- AssumeRole ----------------------------------------------------------------------------------

SESSION_TOKEN_BYTES = 192
CHAINED_MAX_SECONDS = 3600


def _role_from_arn(arn: str) -> tuple[str, str] | None:
    """(account, role name) of ``arn:aws:iam::<account>:role/<path/>name``."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("role/"):
        return None
    return parts[4], parts[5].rsplit("/", 1)[-1]


def _denied(ctx: RequestContext, role: str) -> AccessDenied:
    assert ctx.principal is not None
    return AccessDenied(f"User: {ctx.principal.arn} is not authorized to perform: sts:AssumeRole on resource: {role}")


def _identity_allows(ctx: RequestContext, request: policy.RequestContext) -> policy.Outcome:
    """What the caller's own policies say (the root may do anything its account may do)."""
    assert ctx.principal is not None
    if ctx.principal.kind is PrincipalKind.ROOT:
        return policy.Outcome.ALLOW
    from ostiary.iam.authz import caller_policies

    identity, session = caller_policies(ctx.store, ctx.principal)
    outcome = policy._combine(identity, request)
    if outcome is policy.Outcome.ALLOW and session is not None:
        narrowed = policy._combine(session, request)
        return narrowed if narrowed is not policy.Outcome.NOT_APPLICABLE else policy.Outcome.NOT_APPLICABLE
    return outcome


@operation("sts", "AssumeRole", authorize=False)
def assume_role(ctx: RequestContext, params: Params) -> Result:
    """AssumeRole (STS API Reference): the role's trust policy must allow the caller (and, unless it
    names the caller itself in the same account, so must the caller's own policies); ExternalId and
    other context arrive as ``sts:*`` condition keys; DurationSeconds within MaxSessionDuration."""
    assert ctx.principal is not None
    role_arn = params["RoleArn"]
    parsed = _role_from_arn(role_arn)
    if parsed is None:
        raise ValidationFailed(f"{role_arn} is not a valid role ARN")
    account, name = parsed
    if params.get("PolicyArns") or params.get("Tags") or params.get("TransitiveTagKeys"):
        raise NotImplementedOperation("Ostiary does not support PolicyArns or session tags in AssumeRole yet.")
    session_policy = params.get("Policy")
    packed = 0
    if session_policy:
        try:
            policy.parse(session_policy)
        except policy.MalformedPolicy as err:
            raise MalformedPolicyDocument(str(err)) from None
        packed = -(-len(json.dumps(json.loads(session_policy), separators=(",", ":"))) * 100 // 2048)
        if packed > 100:
            raise PackedPolicyTooLarge(
                f"Packed policy consumes {packed}% of allotted space, please use smaller policy."
            )
    with ctx.store.read() as conn:
        try:
            role = get_role(conn, account, name)
        except NoSuchEntityException:
            raise _denied(ctx, role_arn) from None
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
    trust = policy.parse(role.trust_policy, resource_policy=True)
    trusted = policy.evaluate_policy(trust, request, resource_policy=True)
    identity = _identity_allows(ctx, request)
    if policy.Outcome.EXPLICIT_DENY in (trusted, identity) or trusted is not policy.Outcome.ALLOW:
        raise _denied(ctx, role_arn)
    names_caller = account == caller.account_id and any(a in role.trust_policy for a in (caller.arn, *aliases))
    if identity is not policy.Outcome.ALLOW and not names_caller:
        raise _denied(ctx, role_arn)

    duration = int(params.get("DurationSeconds") or 3600)
    if caller.kind is PrincipalKind.ASSUMED_ROLE and duration > CHAINED_MAX_SECONDS:
        raise ValidationFailed(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        )
    if duration > role.max_session_duration:
        raise ValidationFailed("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    expires = ctx.now + dt.timedelta(seconds=duration)
    akid = new_access_key_id("ASIA")
    secret = new_secret_access_key()
    token = base64.b64encode(os.urandom(SESSION_TOKEN_BYTES)).decode()
    with ctx.store.tx() as conn:
        if secrets.randbelow(128) == 0:
            conn.execute(delete(t.sts_sessions).where(t.sts_sessions.c.expires_at < ctx.now - dt.timedelta(days=1)))
        conn.execute(
            insert(t.sts_sessions).values(
                access_key_id=akid,
                account_id=account,
                secret_enc=ctx.box.seal(secret, akid),
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                role_name=role.name,
                role_path=role.path,
                role_id=role.role_id,
                session_name=params["RoleSessionName"],
                session_policy=session_policy,
                source_identity=params.get("SourceIdentity"),
                expires_at=expires,
                created_at=ctx.now,
            )
        )
    out: dict[str, Any] = {
        "Credentials": {"AccessKeyId": akid, "SecretAccessKey": secret, "SessionToken": token, "Expiration": expires},
        "AssumedRoleUser": {
            "AssumedRoleId": f"{role.role_id}:{params['RoleSessionName']}",
            "Arn": f"arn:aws:sts::{account}:assumed-role/{role.name}/{params['RoleSessionName']}",
        },
    }
    if session_policy:
        out["PackedPolicySize"] = packed
    if params.get("SourceIdentity"):
        out["SourceIdentity"] = params["SourceIdentity"]
    return out
