"""Temporary credentials of role sessions, shared by every way of getting them: STS AssumeRole,
AssumeRoleWithWebIdentity, AssumeRoleWithSAML, GetSessionToken and identity pools'
GetCredentialsForIdentity.

A role session (``issue``) is an ``ASIA…`` access key whose id carries its account, a secret, and a
self-contained session token that carries the session sealed under a KEK-derived key
(access/session_tokens.py): nothing is stored but the audit event. GetSessionToken and
GetFederationToken (``issue_principal_session``), and a rare role session too large for a token, are
rows (the secret sealed at rest, the token stored as its SHA-256). The signed-call path
(protocol/sigv4.py, access/accounts.py) opens the token or reads the row, and checks the expiry.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, delete, insert, select
from sqlalchemy.engine import Row

from ostiary.access import policy, session_tokens
from ostiary.audit import recorder as audit
from ostiary.caching import TtlCache
from ostiary.crypto.secrets import new_access_key_id, new_secret_access_key
from ostiary.iam import attachments, grammar
from ostiary.iam import mfa as mfa_devices
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import ValidationFailed
from ostiary.store import tables as t
from ostiary.store.raw import RawInsert, RawSelect
from ostiary.sts.errors import MalformedPolicyDocument, NoSuchPolicy, PackedPolicyTooLarge

if TYPE_CHECKING:
    from ostiary.access.authz import CallerPolicies
    from ostiary.access.service_control import Levels

SESSION_TOKEN_BYTES = 192
CHAINED_MAX_SECONDS = 3600


def role_from_arn(arn: str) -> tuple[str, str] | None:
    """(account, role name) of ``arn:aws:iam::<account>:role/<path/>name``."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("role/"):
        return None
    return parts[4], parts[5].rsplit("/", 1)[-1]


# arn:partition:service:region:account:resource, with a partition, a service and a resource
_ARN = re.compile(r"arn:[^:]+:[^:]+:[^:]*:[^:]*:.+", re.DOTALL)


def check_role_arn(arn: str) -> None:
    """A RoleArn that is not an ARN at all: STS's ValidationError "<value> is invalid" (its recorded
    wording). An ARN that names no role is not refused here: it names nothing that can be assumed."""
    if _ARN.fullmatch(arn) is None:
        raise ValidationFailed(f"{arn} is invalid")


# built once: the hot paths (AssumeRole*, GetCredentialsForIdentity) only bind parameters
# (on the driver's cursor: store.raw)
_ROLE = RawSelect(
    select(t.iam_roles).where(
        t.iam_roles.c.account_id == bindparam("account"), t.iam_roles.c.name_key == bindparam("name_key")
    )
)
# parsed trust policies, keyed by their text (never stale), bounded by cache_parsed_policy_max_entries
_TRUST_CACHE: TtlCache[str, policy.Policy] = TtlCache("trust_policies", ttl=None, maxsize=1000)


def find_role(conn: Connection, arn: str) -> Any | None:
    """The ``iam_roles`` row (a named tuple) of the role an ARN names, or None (a malformed ARN, an
    unknown account or role)."""
    parsed = role_from_arn(arn)
    if parsed is None:
        return None
    return _ROLE.first(conn, {"account": parsed[0], "name_key": parsed[1].lower()})


def parsed_trust(document: str) -> policy.Policy:
    """A role's trust policy, parsed once per process (keyed by its text, so never stale); a malformed
    document raises ``policy.MalformedPolicy`` every time (nothing is kept for it)."""
    return _TRUST_CACHE.get_or_load(document, lambda: policy.parse(document, resource_policy=True))


def packed_size(session_policy: str | None, policy_arns: list[str], tags: dict[str, str]) -> int:
    """PackedPolicySize: the percentage of the packed allowance the session policy, policy ARNs
    and session tags use (AWS compresses them; this is a conservative plain-size estimate)."""
    size = 0
    if session_policy:
        size += len(json.dumps(json.loads(session_policy), separators=(",", ":")))
    size += sum(len(a) for a in policy_arns)
    size += sum(len(k) + len(v) for k, v in tags.items())
    return -(-size * 100 // 2048)


def check_session_policy(session_policy: str | None, policy_arns: list[str], tags: dict[str, str]) -> int:
    """Validate the inline session policy and the packed size; return the PackedPolicySize."""
    if session_policy:
        try:
            grammar.validate(session_policy, grammar.Kind.SESSION)
        except policy.MalformedPolicy as err:
            raise MalformedPolicyDocument(str(err)) from None
    packed = packed_size(session_policy, policy_arns, tags)
    if packed > 100:
        raise PackedPolicyTooLarge(f"Packed policy consumes {packed}% of allotted space, please use smaller policy.")
    return packed


def check_duration(role: Row[Any], duration: int, chained: bool = False) -> None:
    if chained and duration > CHAINED_MAX_SECONDS:
        raise ValidationFailed(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        )
    if duration > role.max_session_duration:
        raise ValidationFailed("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")


def trust_outcome(role: Row[Any], request: policy.RequestContext, rcps: Levels | None = None) -> policy.Outcome:
    """What the role's trust policy says about ``request`` (ALLOW, EXPLICIT_DENY or NOT_APPLICABLE),
    within the resource control policies of the role's account (``rcps``: None when none apply)."""
    if rcps is not None:
        capped = policy.rcp_outcome(rcps, request)
        if capped is not policy.Outcome.ALLOW:
            return capped
    return policy.evaluate_policy(parsed_trust(role.trust_policy), request, resource_policy=True)


def trust_evaluation(
    role: Row[Any], request: policy.RequestContext, caller: CallerPolicies, rcps: Levels | None = None
) -> policy.Evaluation:
    """The decision on assuming ``role`` (or tagging its session) by a signed caller: the policy
    engine with the trust policy as the resource policy that must allow, the caller's identity
    policies, permissions boundary and session policies, and the resource control policies of the
    role's account (``rcps``, from ``access.service_control.rcps_of_account``; access/policy.evaluate_full)."""
    return policy.evaluate_full(
        request,
        identity=caller.identity,
        resource=[parsed_trust(role.trust_policy)],
        boundaries=caller.boundaries,
        session=caller.session,
        resource_account=role.account_id,
        resource_required=True,
        rcps=rcps,
    )


def tag_session_request(request: policy.RequestContext, tags: dict[str, str]) -> policy.RequestContext:
    """The ``sts:TagSession`` request that passing session ``tags`` implies (same caller and role,
    with ``aws:RequestTag/<key>`` and ``aws:TagKeys``)."""
    keys = dict(request.keys)
    keys.update({f"aws:RequestTag/{k}": [v] for k, v in tags.items()})
    keys["aws:TagKeys"] = list(tags)
    return dataclasses.replace(request, action="sts:TagSession", keys=keys)


def role_session_policy_arns_exist(conn: Connection, arns: list[str], account: str) -> None:
    """Every policy ARN passed for a session must name an existing managed policy of ``account`` (the
    role's account; for GetFederationToken the calling user's) or an AWS managed policy (STS API
    Reference, PolicyArns: "The policies must exist in the same account as the role")."""
    for arn in arns:
        if not attachments.exists(conn, arn, account):
            raise NoSuchPolicy(f"Policy {arn} does not exist or is not attachable.")


@dataclass
class Grant:
    """What a new role session is made of."""

    role: Row[Any]  # an iam_roles row
    session_name: str
    duration: int
    session_policy: str | None = None
    policy_arns: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    transitive_tag_keys: list[str] = field(default_factory=list)
    source_identity: str | None = None
    federation: dict[str, Any] | None = None
    # MFA: a code checked for this request (consumed when the session is stored), or the time the
    # calling session was authenticated with MFA (role chaining keeps it)
    mfa: mfa_devices.Proof | None = None
    mfa_auth_time: dt.datetime | None = None


@dataclass(frozen=True)
class Issued:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: dt.datetime
    assumed_role_id: str
    arn: str

    def credentials(self) -> dict[str, Any]:
        """STS's ``Credentials`` shape."""
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": self.expiration,
        }

    def assumed_role_user(self) -> dict[str, str]:
        return {"AssumedRoleId": self.assumed_role_id, "Arn": self.arn}


# a stored session's row, on the driver's cursor (store.raw): every column is named
_INSERT_SESSION = RawInsert(insert(t.sts_sessions), [c.key for c in t.sts_sessions.c])


def _store_session(
    conn: Connection, ctx: RequestContext, secret: str, token: str, session: session_tokens.Session
) -> None:
    """Insert a stored session (GetSessionToken, GetFederationToken, a role session too large for a
    token): ``session``'s facts (the inverse of ``Session.from_row``), the secret sealed, the token as
    its SHA-256."""
    akid = session.access_key_id
    _INSERT_SESSION.execute(
        conn,
        {
            "access_key_id": akid,
            "account_id": session.account_id,
            "kind": session.kind,
            "role_name": session.role_name,
            "role_path": session.role_path,
            "role_id": session.role_id,
            "session_name": session.session_name,
            "session_policy": session.session_policy,
            "source_identity": session.source_identity,
            "policy_arns": list(session.policy_arns) or None,
            "session_tags": session.session_tags or None,
            "transitive_tag_keys": list(session.transitive_tag_keys) or None,
            "federation": session.federation,
            "mfa_auth_time": session.mfa_auth_time,
            "expires_at": session.expires_at,
            "created_at": session.issued_at,
            "secret_enc": ctx.box.seal(secret, akid),
            "token_hash": hashlib.sha256(token.encode()).hexdigest(),
        },
    )


def _audit_event(ctx: RequestContext, grant: Grant, akid: str) -> dict[str, Any]:
    """The audit event of a new role session (AssumeRole, AssumeRoleWithWebIdentity/SAML,
    GetCredentialsForIdentity): the role, the session, the issued key id (never its secret or token);
    an unsigned caller is named by its federated subject. The keyword arguments of audit.record."""
    role = grant.role
    role_arn = f"arn:aws:iam::{role.account_id}:role{role.path}{role.name}"
    federation = {k: v for k, v in (grant.federation or {}).items() if k in ("provider", "provider_arn", "sub", "aud")}
    subject = federation.get("sub")
    return {
        "username": None if ctx.principal is not None else str(subject or grant.session_name),
        "account_id": None if ctx.principal is not None else role.account_id,
        "resource": ("AWS::IAM::Role", role_arn),
        "details": {
            "roleArn": role_arn,
            "roleSessionName": grant.session_name,
            "assumedRoleArn": f"arn:aws:sts::{role.account_id}:assumed-role/{role.name}/{grant.session_name}",
            "issuedAccessKeyId": akid,
            "durationSeconds": grant.duration,
            **({"federation": federation} if federation else {}),
        },
    }


def issue(ctx: RequestContext, grant: Grant) -> Issued:
    """A new role session: its credentials, with a self-contained session token. Nothing is stored
    but the audit event, which the audit spool writes behind the response (audit/spool.py) — unless
    something else changes: an MFA code is spent, or the session is too large for a token and stored
    as a row; then the event is written in that transaction."""
    role = grant.role
    expires = ctx.now + dt.timedelta(seconds=grant.duration)
    akid = session_tokens.new_session_key_id(role.account_id)
    secret = new_secret_access_key()
    if grant.policy_arns:
        # checked only now that the caller is authorized: an untrusted caller learns nothing of
        # which policies the role's account has
        with ctx.store.read() as conn:
            role_session_policy_arns_exist(conn, grant.policy_arns, role.account_id)
    mfa_auth_time = ctx.now if grant.mfa is not None else grant.mfa_auth_time
    session = session_tokens.Session(
        access_key_id=akid,
        account_id=role.account_id,
        kind="assumed-role",
        role_name=role.name,
        role_path=role.path,
        role_id=role.role_id,
        session_name=grant.session_name,
        issued_at=ctx.now,
        expires_at=expires,
        session_policy=grant.session_policy,
        policy_arns=tuple(grant.policy_arns),
        session_tags=grant.tags,
        transitive_tag_keys=tuple(grant.transitive_tag_keys),
        source_identity=grant.source_identity,
        federation=grant.federation,
        mfa_auth_time=mfa_auth_time,
        self_contained=True,
    )
    sealed = session_tokens.seal(ctx.box, secret, session)
    stored = sealed is None  # too large for a token (large SAML attributes): a stored session, as before
    token = base64.b64encode(os.urandom(SESSION_TOKEN_BYTES)).decode() if sealed is None else sealed
    event = _audit_event(ctx, grant, akid)
    if stored or grant.mfa is not None:
        with ctx.store.tx() as conn:
            if grant.mfa is not None:
                mfa_devices.consume(conn, grant.mfa)  # single use: refused here if spent meanwhile
            if stored:
                _store_session(conn, ctx, secret, token, session)
            audit.record(conn, ctx, **event)
    else:
        audit.record_detached(ctx, **event)
    if secrets.randbelow(128) == 0:  # stored sessions (GetSessionToken, older ones) expire
        with ctx.store.tx() as conn:
            conn.execute(delete(t.sts_sessions).where(t.sts_sessions.c.expires_at < ctx.now - dt.timedelta(days=1)))
    return Issued(
        access_key_id=akid,
        secret_access_key=secret,
        session_token=token,
        expiration=expires,
        assumed_role_id=f"{role.role_id}:{grant.session_name}",
        arn=f"arn:aws:sts::{role.account_id}:assumed-role/{role.name}/{grant.session_name}",
    )


def issue_principal_session(
    ctx: RequestContext,
    *,
    kind: str,
    name: str,
    path: str,
    principal_id: str,
    account: str,
    duration: int,
    mfa: mfa_devices.Proof | None = None,
    session_name: str = "",
    session_policy: str | None = None,
    policy_arns: list[str] | None = None,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """GetSessionToken (``kind`` user/root): temporary credentials that act as the IAM user (or root)
    itself; with ``mfa`` (a checked code, consumed here) the session counts as MFA-authenticated.
    GetFederationToken (``kind`` federated-user): a federated user ``session_name`` whose permissions
    are the IAM user's (or root's) narrowed by the session policies."""
    expires = ctx.now + dt.timedelta(seconds=duration)
    akid = new_access_key_id("ASIA")
    secret = new_secret_access_key()
    token = base64.b64encode(os.urandom(SESSION_TOKEN_BYTES)).decode()
    with ctx.store.tx() as conn:
        if mfa is not None:
            mfa_devices.consume(conn, mfa)
        session = session_tokens.Session(
            access_key_id=akid,
            account_id=account,
            kind=kind,
            role_name=name,
            role_path=path,
            role_id=principal_id,
            session_name=session_name,
            issued_at=ctx.now,
            expires_at=expires,
            session_policy=session_policy,
            policy_arns=tuple(policy_arns or ()),
            session_tags=dict(tags or {}),
            mfa_auth_time=ctx.now if mfa is not None else None,
        )
        _store_session(conn, ctx, secret, token, session)
        details = {"issuedAccessKeyId": akid, "kind": kind, "durationSeconds": duration, "mfa": mfa is not None}
        audit.record(conn, ctx, details={**details, **({"federatedUser": session_name} if session_name else {})})
    return {"AccessKeyId": akid, "SecretAccessKey": secret, "SessionToken": token, "Expiration": expires}
