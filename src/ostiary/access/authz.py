"""Authorization of signed calls: the account root directly, IAM users and role sessions through the
policy engine.

What applies to a caller (IAM User Guide, "Policy evaluation logic"):
- an IAM user: its inline and attached policies and those of its groups, capped by its permissions
  boundary; tags → ``aws:PrincipalTag/<key>``;
- a role session: the role's inline and attached policies, capped by the role's boundary and
  narrowed by the session's policies (inline Policy and PolicyArns); role tags, overridden by session
  tags, → ``aws:PrincipalTag/<key>``; a web-identity session also carries its provider's keys
  (``cognito-identity.amazonaws.com:sub``, ``<oidc host>:sub`` …) for conditions and policy variables.

The request context (one builder, ``request_context``, for signed calls, AssumeRole and the policy
simulator) carries the global condition keys IAM documents for these principals: aws:username,
aws:userid, aws:PrincipalArn (a role session's: its role's ARN), aws:PrincipalAccount,
aws:PrincipalType, aws:PrincipalTag/<key>, aws:PrincipalIsAWSService and aws:ViaAWSService
("false": no AWS service calls through Ostiary), aws:SourceIp, aws:RequestedRegion, aws:CurrentTime,
aws:EpochTime, aws:SecureTransport; for temporary credentials aws:TokenIssueTime (when they were
issued: AWS's "revoke older sessions" policy denies on it), aws:MultiFactorAuthPresent ("true" when
the session was made with an MFA code, else "false"; absent for long-term access keys) with
aws:MultiFactorAuthAge (MFA sessions only), aws:SourceIdentity and aws:FederatedProvider when the
session has them; and the target resource's tags as aws:ResourceTag/<key> (iam:ResourceTag/<key>
too for IAM users and roles), read from the store for each call whose policies refer to them.
What applies to a caller is read through a short per-process cache (``cache_caller_policy_seconds``,
5 s), like access keys.

Service control policies (``access.service_control``) limit every principal of a member account of an
organization, its root included: users, role sessions (identity-pool sessions are role sessions),
federated users. The management account and service-linked roles are exempt.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from ostiary.access import policy, service_control
from ostiary.access.accounts import session_of
from ostiary.access.policy_sources import attached_documents, default_document, groups_of, inline_documents
from ostiary.access.principals import Principal, PrincipalKind, arn_account, authorize
from ostiary.access.session_tokens import Session
from ostiary.caching import TtlCache
from ostiary.store import tables as t
from ostiary.store.db import Store

CACHE_SECONDS = 5.0  # the default of cache_caller_policy_seconds

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
    issued_at: dt.datetime | None = None  # temporary credentials: aws:TokenIssueTime
    aliases: tuple[str, ...] = ()  # a role session answers to its role's ARN too
    reads_resource_tags: bool = False  # some policy refers to aws:ResourceTag/… (looked up per call)

    def mfa_keys(self, now: dt.datetime) -> dict[str, list[str]]:
        return mfa_keys(self.temporary, self.mfa_auth_time, now)

    def all_policies(self) -> list[policy.Policy]:
        return [*self.identity, *(self.boundaries or []), *(self.session or [])]


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
        self._cache: TtlCache[str, CallerPolicies] = TtlCache("caller_policies", ttl=CACHE_SECONDS)

    def clear(self) -> None:
        """Forget every caller's cached policies (the development reset)."""
        self._cache.clear()

    def _policies(self, principal: Principal) -> CallerPolicies:
        key = principal.access_key_id if principal.kind is PrincipalKind.ASSUMED_ROLE else principal.arn
        key = f"{key}|{principal.access_key_id}"
        return self._cache.get_or_load(key, lambda: caller_policies(self.store, principal))

    def caller(self, principal: Principal) -> CallerPolicies:
        """What applies to ``principal`` (through the cache): its policies and its session's facts and
        condition keys (e.g. an identity-pool session's ``cognito-identity.amazonaws.com:sub``)."""
        return self._policies(principal)

    def evaluate(
        self,
        principal: Principal,
        action: str,
        resource: str,
        source_ip: str,
        now: dt.datetime,
        secure: bool,
        extra: dict[str, list[str]] | None = None,
        region: str = "",
        resource_policies: Sequence[policy.Policy] = (),
    ) -> policy.Evaluation:
        """IAM's decision for a signed call, with the kind of policy that denied it. ``resource_policies``:
        the target's resource-based policies, when it has any (the gateway's API resource policy)."""
        if principal.kind is PrincipalKind.ROOT:
            found = self._policies(principal) if principal.access_key_id.startswith("ASIA") else None
            if found is not None and _session_token_blocks(found, action):
                return policy.Evaluation(policy.Decision.IMPLICIT_DENY, policy.DeniedBy.IDENTITY)
            if resource_policies:  # the root's own permissions, and the resource policy across accounts
                keys = request_keys(principal, found, source_ip=source_ip, now=now, secure=secure, region=region)
                if extra:
                    keys.update(extra)
                return policy.evaluate_full(
                    request_context(principal, action, resource, keys, found),
                    identity=root_identity(),
                    resource=resource_policies,
                    resource_account=_resource_account(resource),
                    scps=service_control.of_account(self.store, principal.account_id),
                )
            if authorize(principal, action, resource) is not policy.Decision.ALLOW:
                return policy.Evaluation(policy.Decision.IMPLICIT_DENY, policy.DeniedBy.RESOURCE)
            scps = service_control.of_account(self.store, principal.account_id)
            if scps is None:
                return policy.Evaluation(policy.Decision.ALLOW)
            keys = request_keys(principal, found, source_ip=source_ip, now=now, secure=secure, region=region)
            if extra:
                keys.update(extra)
            return scp_evaluation(scps, request_context(principal, action, resource, keys, found))
        if principal.kind not in (PrincipalKind.USER, PrincipalKind.ASSUMED_ROLE, PrincipalKind.FEDERATED_USER):
            return policy.Evaluation(policy.Decision.IMPLICIT_DENY, policy.DeniedBy.IDENTITY)
        found = self._policies(principal)
        if _session_token_blocks(found, action):
            return policy.Evaluation(policy.Decision.IMPLICIT_DENY, policy.DeniedBy.IDENTITY)
        tags = None
        if _iam_kind(resource) in _BY_NAME or found.reads_resource_tags:
            with self.store.read() as conn:
                resource = with_path(conn, resource)
                if found.reads_resource_tags:
                    tags = resource_tags(conn, resource)
        keys = request_keys(
            principal,
            found,
            source_ip=source_ip,
            now=now,
            secure=secure,
            region=region,
            resource_tags=tags,
            resource=resource,
        )
        if extra:
            keys.update(extra)
        request = request_context(principal, action, resource, keys, found)
        scps = None if _service_linked(found) else service_control.of_account(self.store, principal.account_id)
        return policy.evaluate_full(
            request,
            identity=found.identity,
            resource=resource_policies,
            boundaries=found.boundaries,
            session=found.session,
            resource_account=_resource_account(resource),
            scps=scps,
        )


def scp_evaluation(scps: service_control.Levels, request: policy.RequestContext) -> policy.Evaluation:
    """The SCPs' decision alone (a member account's root: everything else is allowed to it)."""
    outcome = policy.scp_outcome(scps, request)
    if outcome is policy.Outcome.ALLOW:
        return policy.Evaluation(policy.Decision.ALLOW)
    if outcome is policy.Outcome.EXPLICIT_DENY:
        return policy.Evaluation(policy.Decision.EXPLICIT_DENY, policy.DeniedBy.SCP)
    return policy.Evaluation(policy.Decision.IMPLICIT_DENY, policy.DeniedBy.SCP)


def _service_linked(found: CallerPolicies) -> bool:
    """A session of a service-linked role (path ``/aws-service-role/``): SCPs do not bind it."""
    return any(alias.split(":", 5)[-1].startswith("role/aws-service-role/") for alias in found.aliases)


def denied_message(principal_arn: str, action: str, resource: str, evaluation: policy.Evaluation) -> str:
    """AWS's AccessDenied message for a denied call: "User: <arn> is not authorized to perform:
    <action> on resource: <resource> with an explicit deny in a <kind of policy>" or "... because no
    <kind of policy> allows the <action> action"."""
    text = f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
    reason = evaluation.reason(action)
    return f"{text} {reason}" if reason else text


def _resource_account(resource: str) -> str:
    account = arn_account(resource)
    return "" if account == "aws" else account  # AWS managed policies count as the caller's own


def session_token_blocks(found: CallerPolicies, action: str) -> bool:
    """Whether GetSessionToken / GetFederationToken credentials may not call ``action`` at all."""
    return _session_token_blocks(found, action)


def _session_token_blocks(found: CallerPolicies, action: str) -> bool:
    lowered = action.lower()
    if found.no_iam and lowered.startswith("iam:"):
        return True
    return found.sts_limited and lowered.startswith("sts:") and lowered not in found.sts_allowed


_PRINCIPAL_TYPE = {
    PrincipalKind.ROOT: "Account",
    PrincipalKind.USER: "User",
    PrincipalKind.ASSUMED_ROLE: "AssumedRole",
    PrincipalKind.FEDERATED_USER: "FederatedUser",
}


def _iso(when: dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_keys(
    principal: Principal,
    found: CallerPolicies | None,
    *,
    source_ip: str,
    now: dt.datetime,
    secure: bool,
    region: str = "",
    resource_tags: dict[str, str] | None = None,
    resource: str = "",
) -> dict[str, list[str]]:
    """The global condition keys of a request by ``principal`` (see the module's docstring):
    the principal's, the session's (``found``: what caller_policies read), the request's and the
    target resource's (``resource_tags`` of ``resource``)."""
    keys: dict[str, list[str]] = {
        "aws:userid": [principal.user_id],
        "aws:PrincipalArn": [found.aliases[0] if found is not None and found.aliases else principal.arn],
        "aws:PrincipalAccount": [principal.account_id],
        "aws:PrincipalType": [_PRINCIPAL_TYPE[principal.kind]],
        "aws:PrincipalIsAWSService": ["false"],
        "aws:ViaAWSService": ["false"],
        "aws:CurrentTime": [_iso(now)],
        "aws:EpochTime": [str(int(now.timestamp()))],
        "aws:SecureTransport": ["true" if secure else "false"],
    }
    if principal.kind is PrincipalKind.USER:
        keys["aws:username"] = [principal.arn.rsplit("/", 1)[-1]]
    if source_ip:
        keys["aws:SourceIp"] = [source_ip]
    if region:
        keys["aws:RequestedRegion"] = [region]
    if found is not None:
        keys.update(found.keys)
        if found.temporary:
            keys.update(found.mfa_keys(now))
            if found.issued_at is not None:
                keys["aws:TokenIssueTime"] = [_iso(found.issued_at)]
    if resource_tags:
        keys.update(resource_tag_keys(resource, resource_tags))
    return keys


def request_context(
    principal: Principal | str,
    action: str,
    resource: str,
    keys: dict[str, list[str]],
    found: CallerPolicies | None = None,
    *,
    account: str = "",
    has_boundary: bool | None = None,
) -> policy.RequestContext:
    """The engine's view of one request: the one builder for signed calls, AssumeRole and the policy
    simulator (which passes the caller's ARN and its ContextEntries as ``keys``)."""
    if isinstance(principal, str):
        arn, principal_account = principal, account or arn_account(principal)
    else:
        arn, principal_account = principal.arn, principal.account_id
    aliases = found.aliases if found is not None else ()
    if has_boundary is None:
        has_boundary = found is not None and found.boundaries is not None
    return policy.RequestContext(
        action=action,
        resource=resource,
        principal_arn=arn,
        principal_account=principal_account,
        keys=dict(keys),
        principal_aliases=aliases,
        principal_has_boundary=has_boundary,
    )


def resource_tag_keys(resource: str, tags: dict[str, str]) -> dict[str, list[str]]:
    """``aws:ResourceTag/<key>`` of a resource's tags (and IAM's own ``iam:ResourceTag/<key>`` for
    users and roles)."""
    out = {f"aws:ResourceTag/{k}": [v] for k, v in tags.items()}
    kind = _iam_kind(resource)
    if kind in ("user", "role"):
        out.update({f"iam:ResourceTag/{k}": [v] for k, v in tags.items()})
    return out


def _iam_kind(arn: str) -> str:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam":
        return ""
    return parts[5].split("/", 1)[0]


_BY_NAME = {
    "user": t.iam_users,
    "role": t.iam_roles,
    "group": t.iam_groups,
    "instance-profile": t.iam_instance_profiles,
}


def with_path(conn: Connection, resource: str) -> str:
    """The ARN of an existing IAM user, role, group or instance profile with its path, as IAM
    authorizes it (``arn:aws:iam::<acct>:user/division/Bob``): operations name entities by name
    alone, and a policy on ``user/division/*`` must see the path (a Deny on it must fire)."""
    parts = resource.split(":", 5)
    if len(parts) != 6 or "*" in resource or "?" in resource:
        return resource
    kind, _, tail = parts[5].partition("/")
    table = _BY_NAME.get(kind) if parts[2] == "iam" else None
    if table is None or not tail or "/" in tail:
        return resource
    path = conn.execute(
        select(table.c.path).where(table.c.account_id == parts[4], table.c.name_key == tail.lower())
    ).scalar()
    if not path or path == "/":
        return resource
    return f"{':'.join(parts[:5])}:{kind}{path}{tail}"


def tag_map(value: Any) -> dict[str, str]:
    """Tags as a {key: value} map, from IAM's [{Key, Value}] list or a map."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in value or [] if isinstance(tag, dict) and "Key" in tag}


def resource_tags(conn: Connection, resource: str) -> dict[str, str]:
    """The tags of the resource an ARN names (IAM users, roles, customer managed policies, OIDC and
    SAML providers, instance profiles; user pools and identity pools); {} when it names none."""
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or "*" in resource or "?" in resource:
        return {}
    service, account, rest = parts[2], parts[4], parts[5]
    if service == "iam":
        kind, _, tail = rest.partition("/")
        name_key = tail.rsplit("/", 1)[-1].lower()
        by_name = {"user": t.iam_users, "role": t.iam_roles, "instance-profile": t.iam_instance_profiles}
        if kind in by_name and name_key:
            table = by_name[kind]
            tags = conn.execute(
                select(table.c.tags).where(table.c.account_id == account, table.c.name_key == name_key)
            ).scalar()
            return tag_map(tags)
        by_arn = {
            "policy": t.iam_policies,
            "oidc-provider": t.iam_oidc_providers,
            "saml-provider": t.iam_saml_providers,
        }
        if kind in by_arn:
            table = by_arn[kind]
            return tag_map(conn.execute(select(table.c.tags).where(table.c.arn == resource)).scalar())
        return {}
    if service in ("cognito-idp", "cognito-identity"):
        rows = conn.execute(select(t.tags.c.key, t.tags.c.value).where(t.tags.c.resource_arn == resource)).all()
        return {r.key: r.value for r in rows}
    return {}


def _reads_resource_tags(policies: list[policy.Policy]) -> bool:
    """Whether a condition key or a policy variable of these policies is a resource tag."""
    for p in policies:
        for stmt in p.statements:
            for block in stmt.conditions.values():
                for key, values in block.items():
                    if "resourcetag/" in key.lower():
                        return True
                    if any(isinstance(v, str) and "resourcetag/" in v.lower() for v in values):
                        return True
            for pattern in (*(stmt.resources or ()), *(stmt.not_resources or ())):
                if "resourcetag/" in pattern.lower():
                    return True
    return False


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
    return inline_documents(conn, account, kind, key) + attached_documents(conn, account, kind, key)


def _boundary(conn: Connection, account: str, arn: str | None) -> list[policy.Policy] | None:
    """The permissions boundary of one of ``account``'s users or roles: None when it has none; a
    boundary naming no policy ``account`` may use (e.g. another account's) allows nothing."""
    if not arn:
        return None
    document = default_document(conn, arn, account)
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
    """Everything that decides what an IAM user or a role session may do, with the facts of its
    temporary credentials (when they were issued, source identity, the role a session answers to)."""
    found = _caller_policies(store, principal)
    extra: dict[str, Any] = {"reads_resource_tags": _reads_resource_tags(found.all_policies())}
    session = session_of(store, principal)
    if session is not None:
        extra["issued_at"] = session.issued_at
        if session.source_identity:
            extra["keys"] = {**found.keys, "aws:SourceIdentity": [session.source_identity]}
        if principal.kind is PrincipalKind.ASSUMED_ROLE:
            role = f"arn:aws:iam::{session.account_id}:role{session.role_path}{session.role_name}"
            extra["aliases"] = (role,)
    return dataclasses.replace(found, **extra)


def _caller_policies(store: Store, principal: Principal) -> CallerPolicies:
    """Everything that decides what an IAM user or a role session may do."""
    session = session_of(store, principal)  # opened once at SigV4 resolution
    with store.read() as conn:
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
                session_docs = [session.session_policy] if session.session_policy else []
                for arn in session.policy_arns or []:
                    document = default_document(conn, arn, principal.account_id)
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


@functools.cache
def _root_policy() -> policy.Policy:
    return policy.parse(_ROOT_POLICY)


def root_identity() -> list[policy.Policy]:
    """The root's own permissions as identity policies (everything; across accounts a resource
    policy must allow too); parsed once (a Policy is immutable)."""
    return [_root_policy()]


def _session_documents(conn: Connection, session: Session) -> list[str]:
    documents = [session.session_policy] if session.session_policy else []
    for arn in session.policy_arns or []:
        document = default_document(conn, arn, session.account_id)
        if document:
            documents.append(document)
    return documents


def _federated_user_policies(conn: Connection, principal: Principal, session: Session) -> CallerPolicies:
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
