"""Authorization of signed calls: the account root directly, IAM users and role sessions through the
policy engine.

What applies to a caller (IAM User Guide, "Policy evaluation logic"):
- an IAM user: its inline and attached policies and those of its groups, capped by its permissions
  boundary; tags → ``aws:PrincipalTag/<key>``;
- a role session: the role's inline and attached policies, capped by the role's boundary and
  narrowed by the session's policies (inline Policy and PolicyArns); role tags, overridden by session
  tags, → ``aws:PrincipalTag/<key>``; a web-identity session also carries its provider's keys
  (``cognito-identity.amazonaws.com:sub``, ``<oidc host>:sub`` …) for conditions and policy variables.

The request context carries the global condition keys IAM documents for these principals
(aws:username, aws:userid, aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:SourceIp,
aws:CurrentTime, aws:EpochTime, aws:SecureTransport), and for temporary credentials
aws:MultiFactorAuthPresent ("true" when the session was made with an MFA code, else "false"; absent
for long-term access keys) with aws:MultiFactorAuthAge (seconds since that code, MFA sessions only),
as the IAM User Guide describes them. What applies to a caller is read through a short
per-process cache (5 s), like access keys.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from ostiary.iam import inline, policy
from ostiary.iam.principals import Decision, Principal, PrincipalKind, arn_account, authorize
from ostiary.store import tables as t
from ostiary.store.db import Store

CACHE_SECONDS = 5.0

# actions that GetSessionToken credentials may call without MFA (STS API Reference, GetSessionToken)
_SESSION_TOKEN_STS = {"sts:assumerole", "sts:getcalleridentity"}


@dataclass(frozen=True)
class CallerPolicies:
    identity: list[policy.Policy]
    boundaries: list[policy.Policy] | None = None
    session: list[policy.Policy] | None = None
    keys: dict[str, list[str]] = field(default_factory=dict)
    # GetSessionToken credentials: of STS only AssumeRole/GetCallerIdentity; without MFA no IAM API
    no_iam: bool = False
    sts_limited: bool = False
    sts_allowed: frozenset[str] = frozenset(_SESSION_TOKEN_STS)  # what sts_limited still allows
    # temporary credentials: when (if ever) their session was authenticated with MFA
    temporary: bool = False
    mfa_auth_time: dt.datetime | None = None

    def mfa_keys(self, now: dt.datetime) -> dict[str, list[str]]:
        return mfa_keys(self.temporary, self.mfa_auth_time, now)


def mfa_keys(temporary: bool, mfa_auth_time: dt.datetime | None, now: dt.datetime) -> dict[str, list[str]]:
    """aws:MultiFactorAuthPresent / aws:MultiFactorAuthAge of a request (IAM User Guide, global
    condition keys): absent for long-term access keys; "false" for temporary credentials made without
    MFA; "true" and the age in seconds for those made with an MFA code."""
    if not temporary:
        return {}
    if mfa_auth_time is None:
        return {"aws:MultiFactorAuthPresent": ["false"]}
    if mfa_auth_time.tzinfo is None:
        mfa_auth_time = mfa_auth_time.replace(tzinfo=dt.UTC)
    age = max(0, int((now - mfa_auth_time).total_seconds()))
    return {"aws:MultiFactorAuthPresent": ["true"], "aws:MultiFactorAuthAge": [str(age)]}


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, tuple[float, CallerPolicies]] = {}
        self._lock = threading.Lock()

    def _policies(self, principal: Principal) -> CallerPolicies:
        key = principal.access_key_id if principal.kind is PrincipalKind.ASSUMED_ROLE else principal.arn
        key = f"{key}|{principal.access_key_id}"
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = caller_policies(self.store, principal)
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[key] = (now + CACHE_SECONDS, found)
        return found

    def decide(
        self,
        principal: Principal,
        action: str,
        resource: str,
        source_ip: str,
        now: dt.datetime,
        secure: bool,
        extra: dict[str, list[str]] | None = None,
    ) -> Decision:
        if principal.kind is PrincipalKind.ROOT:
            found = self._policies(principal) if principal.access_key_id.startswith("ASIA") else None
            if found is not None and _session_token_blocks(found, action):
                return Decision.IMPLICIT_DENY
            return authorize(principal, action, resource)
        if principal.kind not in (PrincipalKind.USER, PrincipalKind.ASSUMED_ROLE, PrincipalKind.FEDERATED_USER):
            return Decision.IMPLICIT_DENY
        found = self._policies(principal)
        if _session_token_blocks(found, action):
            return Decision.IMPLICIT_DENY
        keys = found.keys
        if found.temporary:
            keys = {**keys, **found.mfa_keys(now)}
        if extra:
            keys = {**keys, **extra}
        request = request_context(principal, action, resource, source_ip, now, secure, keys)
        outcome = policy.evaluate(
            request,
            identity=found.identity,
            boundaries=found.boundaries,
            session=found.session,
            resource_account=_resource_account(resource),
        )
        return {
            policy.Decision.ALLOW: Decision.ALLOW,
            policy.Decision.EXPLICIT_DENY: Decision.EXPLICIT_DENY,
            policy.Decision.IMPLICIT_DENY: Decision.IMPLICIT_DENY,
        }[outcome]


def _resource_account(resource: str) -> str:
    account = arn_account(resource)
    return "" if account == "aws" else account  # AWS managed policies count as the caller's own


def _session_token_blocks(found: CallerPolicies, action: str) -> bool:
    lowered = action.lower()
    if found.no_iam and lowered.startswith("iam:"):
        return True
    return found.sts_limited and lowered.startswith("sts:") and lowered not in found.sts_allowed


def request_context(
    principal: Principal,
    action: str,
    resource: str,
    source_ip: str,
    now: dt.datetime,
    secure: bool,
    extra: dict[str, list[str]],
) -> policy.RequestContext:
    is_user = principal.kind is PrincipalKind.USER
    kind = {PrincipalKind.USER: "User", PrincipalKind.FEDERATED_USER: "FederatedUser"}.get(
        principal.kind, "AssumedRole"
    )
    keys = {
        "aws:username": [principal.arn.rsplit("/", 1)[-1]] if is_user else [],
        "aws:userid": [principal.user_id],
        "aws:PrincipalArn": [principal.arn],
        "aws:PrincipalAccount": [principal.account_id],
        "aws:PrincipalType": [kind],
        "aws:SourceIp": [source_ip] if source_ip else [],
        "aws:CurrentTime": [now.strftime("%Y-%m-%dT%H:%M:%SZ")],
        "aws:EpochTime": [str(int(now.timestamp()))],
        "aws:SecureTransport": ["true" if secure else "false"],
    }
    merged = {k: v for k, v in keys.items() if v}
    merged.update(extra)
    return policy.RequestContext(
        action=action,
        resource=resource,
        principal_arn=principal.arn,
        principal_account=principal.account_id,
        keys=merged,
    )


def _parsed(documents: list[str]) -> list[policy.Policy]:
    out = []
    for doc in documents:
        try:
            out.append(policy.parse(doc))
        except policy.MalformedPolicy:
            continue  # validated when stored; a document that no longer parses grants nothing
    return out


def _tag_keys(tags: Any) -> dict[str, list[str]]:
    """``aws:PrincipalTag/<key>`` from IAM's [{Key, Value}] list or a {key: value} map."""
    pairs = tags.items() if isinstance(tags, dict) else ((tag["Key"], tag["Value"]) for tag in tags or [])
    return {f"aws:PrincipalTag/{k}": [str(v)] for k, v in pairs}


def _entity_policies(conn: Connection, account: str, kind: str, key: str) -> list[str]:
    from ostiary.iam import managed

    return inline.documents(conn, account, kind, key) + managed.attached_documents(conn, account, kind, key)


def _boundary(conn: Connection, account: str, arn: str | None) -> list[policy.Policy] | None:
    """The permissions boundary of one of ``account``'s users or roles: None when it has none; a
    boundary naming no policy ``account`` may use (e.g. another account's) allows nothing."""
    if not arn:
        return None
    from ostiary.iam import managed

    document = managed.default_document(conn, arn, account)
    return _parsed([document]) if document else []


def federation_keys(federation: dict[str, Any] | None) -> dict[str, list[str]]:
    """Condition keys of a web-identity or SAML session: ``<provider>:<claim>`` (e.g.
    ``cognito-identity.amazonaws.com:sub``) and ``aws:FederatedProvider``; SAML keys are stored whole."""
    if not federation:
        return {}
    provider = str(federation.get("provider") or "")
    out: dict[str, list[str]] = {}
    if provider:
        out["aws:FederatedProvider"] = [str(federation.get("provider_arn") or provider)]
    for name, value in federation.items():
        if name in ("provider", "provider_arn", "keys"):
            continue
        values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        out[f"{provider}:{name}"] = values
    for name, value in (federation.get("keys") or {}).items():
        out[name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return out


def caller_policies(store: Store, principal: Principal) -> CallerPolicies:
    """Everything that decides what an IAM user or a role session may do."""
    with store.read() as conn:
        session = None
        if principal.access_key_id.startswith("ASIA"):
            session = conn.execute(
                select(t.sts_sessions).where(t.sts_sessions.c.access_key_id == principal.access_key_id)
            ).first()
        temporary = session is not None
        mfa_time = session.mfa_auth_time if session is not None else None
        if principal.kind is PrincipalKind.ROOT:
            token = session is not None and session.kind == "root"
            return CallerPolicies(
                [],
                no_iam=token and mfa_time is None,
                sts_limited=token,
                temporary=temporary,
                mfa_auth_time=mfa_time,
            )
        if principal.kind is PrincipalKind.USER:
            name_key = principal.arn.rsplit("/", 1)[-1].lower()
            user = conn.execute(
                select(t.iam_users.c.permissions_boundary, t.iam_users.c.tags).where(
                    t.iam_users.c.account_id == principal.account_id, t.iam_users.c.name_key == name_key
                )
            ).first()
            if user is None:
                return CallerPolicies([])
            from ostiary.iam.groups import groups_of

            documents = _entity_policies(conn, principal.account_id, "user", name_key)
            for group_key in groups_of(conn, principal.account_id, name_key):
                documents += _entity_policies(conn, principal.account_id, "group", group_key)
            return CallerPolicies(
                identity=_parsed(documents),
                boundaries=_boundary(conn, principal.account_id, user.permissions_boundary),
                keys=_tag_keys(user.tags),
                no_iam=session is not None and session.kind == "user" and mfa_time is None,
                sts_limited=session is not None and session.kind == "user",
                temporary=temporary,
                mfa_auth_time=mfa_time,
            )
        if principal.kind is PrincipalKind.FEDERATED_USER:
            if session is None:
                return CallerPolicies([])
            return _federated_user_policies(conn, principal, session)
        if principal.kind is PrincipalKind.ASSUMED_ROLE:
            if session is None:
                return CallerPolicies([])
            role_key = session.role_name.lower()
            role = conn.execute(
                select(t.iam_roles.c.permissions_boundary, t.iam_roles.c.tags, t.iam_roles.c.role_id).where(
                    t.iam_roles.c.account_id == principal.account_id, t.iam_roles.c.name_key == role_key
                )
            ).first()
            if role is None or role.role_id != session.role_id:  # the role was deleted (or re-created)
                return CallerPolicies([])
            session_docs: list[str] | None = None
            if session.session_policy or session.policy_arns:
                from ostiary.iam import managed

                session_docs = [session.session_policy] if session.session_policy else []
                for arn in session.policy_arns or []:
                    document = managed.default_document(conn, arn, principal.account_id)
                    if document:
                        session_docs.append(document)
            keys = _tag_keys(role.tags)
            keys.update(_tag_keys(session.session_tags or {}))
            keys.update(federation_keys(session.federation))
            return CallerPolicies(
                identity=_parsed(_entity_policies(conn, principal.account_id, "role", role_key)),
                boundaries=_boundary(conn, principal.account_id, role.permissions_boundary),
                session=None if session_docs is None else _parsed(session_docs),
                keys=keys,
                temporary=True,
                mfa_auth_time=mfa_time,
            )
    return CallerPolicies([])


# the root's own permissions as a policy: everything (in its account: the engine keeps an identity
# policy from granting cross-account access by itself)
_ROOT_POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'


def _session_documents(conn: Connection, session: Any) -> list[str]:
    from ostiary.iam import managed

    documents = [session.session_policy] if session.session_policy else []
    for arn in session.policy_arns or []:
        document = managed.default_document(conn, arn, session.account_id)
        if document:
            documents.append(document)
    return documents


def _federated_user_policies(conn: Connection, principal: Principal, session: Any) -> CallerPolicies:
    """GetFederationToken sessions (STS API Reference): the calling user's permissions (the root's:
    everything in the account) ∩ the session policies — none without one; no IAM, and of STS only
    GetCallerIdentity."""
    account = principal.account_id
    boundary = None
    keys: dict[str, list[str]] = {}
    if session.role_name == "root" and session.role_id == account:
        documents = [_ROOT_POLICY]
    else:
        name_key = session.role_name.lower()
        user = conn.execute(
            select(t.iam_users.c.permissions_boundary, t.iam_users.c.tags).where(
                t.iam_users.c.account_id == account, t.iam_users.c.name_key == name_key
            )
        ).first()
        if user is None:
            return CallerPolicies([])
        from ostiary.iam.groups import groups_of

        documents = _entity_policies(conn, account, "user", name_key)
        for group_key in groups_of(conn, account, name_key):
            documents += _entity_policies(conn, account, "group", group_key)
        boundary = _boundary(conn, account, user.permissions_boundary)
        keys = _tag_keys(user.tags)
    keys.update(_tag_keys(session.session_tags or {}))
    return CallerPolicies(
        identity=_parsed(documents),
        boundaries=boundary,
        session=_parsed(_session_documents(conn, session)),
        keys=keys,
        no_iam=True,
        sts_limited=True,
        sts_allowed=frozenset({"sts:getcalleridentity"}),
        temporary=True,
        mfa_auth_time=session.mfa_auth_time,
    )
