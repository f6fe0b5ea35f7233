"""The S3 front's decision: each ``Access`` an operation needs, through the policy engine.

What applies (S3 User Guide, "How Amazon S3 authorizes a request"; IAM User Guide, "Policy evaluation
logic" and "Cross-account policy evaluation logic"):

- a signed caller's own policies, read and cached as for every signed call (``access.authz``:
  identity policies, permissions boundary, session policies, principal and session tags, the
  web-identity keys of identity-pool sessions such as ``cognito-identity.amazonaws.com:sub``, service
  control policies of its account; the account root: everything in its own account, SCPs aside);
- the bucket's policy (``bucket_policies``) as the resource-based policy, the bucket's owner account
  (the front's configuration) as the resource's account;
- same account: the identity side OR the bucket policy allows, and nothing denies explicitly;
  across accounts: both the caller's account (identity side) AND the bucket policy must allow;
  anonymous (no signature): only a bucket policy statement whose Principal is everyone (``"*"`` or
  ``{"AWS": "*"}``), never an explicit deny;
- a bucket policy that allows everyone (``"*"``) grants a same-account caller on its own, as S3 makes
  a public bucket readable by any request (the engine counts ``*`` as naming the account, which
  would need the caller's identity policies too); its boundary, session policies and SCPs still apply.

Condition keys: the operation's (``s3:prefix``, ``s3:x-amz-acl``…, from ``operations``), the global
keys of ``authz.request_keys`` (aws:SourceIp, aws:SecureTransport, aws:CurrentTime, aws:EpochTime,
aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalTag/…, aws:username, aws:userid…), the caller's
organization (aws:PrincipalOrgID, aws:PrincipalOrgPaths: bucket policies share buckets with a whole
organization through them), and the request's aws:UserAgent, aws:Referer, aws:ResourceAccount /
s3:ResourceAccount, s3:authType, s3:signatureversion, s3:x-amz-content-sha256.

Bucket-policy calls (Put/Get/DeleteBucketPolicy) follow S3's own rules: only principals of the bucket
owner's account may make them (another account answers 405 MethodNotAllowed even when its policies
would allow it, 403 when they would not), and the owner's root always may, whatever the policy says
(S3: so that a bucket owner never locks itself out).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import Counter
from sqlalchemy import select

from ostiary import observability
from ostiary.access import authz, policy, service_control
from ostiary.access.principals import Principal, PrincipalKind
from ostiary.caching import TtlCache
from ostiary.s3front.model import Access, Caller, S3Operation, S3Request, SignedWith
from ostiary.store import tables as t
from ostiary.store.db import Store

MAX_OU_DEPTH = 6  # AWS Organizations: a root and at most five levels of OUs

_AUTH_TYPE = {SignedWith.HEADER: "REST-HEADER", SignedWith.PRESIGNED: "REST-QUERY-STRING"}


class PolicyCall(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"  # 403 AccessDenied
    NOT_OWNER = "not-owner"  # 405 MethodNotAllowed: another account's principal


@dataclass(frozen=True)
class Verdict:
    """The decision for a whole operation: allowed when every access is; else the first denied."""

    allowed: bool
    denied: Access | None = None
    evaluation: policy.Evaluation | None = None
    message: str = "Access Denied"


ALLOWED = Verdict(True)

DECISIONS = Counter(
    "ostiary_s3front_decisions_total",
    "S3 front decisions, by outcome (allow, deny) and how the caller signed (header, presigned, anonymous).",
    ["outcome", "signed_with"],
    registry=observability.REGISTRY,
)


def count(verdict: Verdict, caller: Caller) -> None:
    """A decision in ``ostiary_s3front_decisions_total``."""
    DECISIONS.labels("allow" if verdict.allowed else "deny", caller.signed_with.value).inc()


class Decider:
    def __init__(self, store: Store) -> None:
        self.store = store
        # the same name (and so the same lifetime setting, cache_caller_policy_seconds) as access.authz's
        self._policies: TtlCache[str, authz.CallerPolicies] = TtlCache("caller_policies", ttl=authz.CACHE_SECONDS)
        # an account's organization keys, as long as its SCPs are kept (cache_scp_seconds)
        self._orgs: TtlCache[str, dict[str, list[str]]] = TtlCache(
            "service_control_policies", ttl=service_control.CACHE_SECONDS
        )

    def org_keys(self, account_id: str) -> dict[str, list[str]]:
        """``aws:PrincipalOrgID`` and ``aws:PrincipalOrgPaths`` of a principal of ``account_id`` (IAM
        User Guide, global condition keys): its organization's id and the path from the organization
        through the root and OUs to the account's parent, ``o-…/r-…/ou-…/``; {} outside any."""
        return self._orgs.get_or_load(account_id, lambda: _org_keys(self.store, account_id))

    def caller_policies(self, principal: Principal) -> authz.CallerPolicies:
        key = principal.access_key_id if principal.kind is PrincipalKind.ASSUMED_ROLE else principal.arn
        return self._policies.get_or_load(
            f"{key}|{principal.access_key_id}", lambda: authz.caller_policies(self.store, principal)
        )

    # -- the keys of one request ----------------------------------------------------------------

    def _keys(
        self,
        access: Access,
        caller: Caller,
        request: S3Request,
        owner: str,
        found: authz.CallerPolicies | None,
        now: dt.datetime,
        region: str,
    ) -> dict[str, list[str]]:
        if caller.principal is not None:
            keys = authz.request_keys(
                caller.principal,
                found,
                source_ip=request.source_ip,
                now=now,
                secure=request.secure_transport,
                region=region,
            )
        else:
            keys = {
                "aws:CurrentTime": [now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")],
                "aws:EpochTime": [str(int(now.timestamp()))],
                "aws:SecureTransport": ["true" if request.secure_transport else "false"],
                "aws:PrincipalIsAWSService": ["false"],
                "aws:ViaAWSService": ["false"],
            }
            if request.source_ip:
                keys["aws:SourceIp"] = [request.source_ip]
            if region:
                keys["aws:RequestedRegion"] = [region]
        if caller.principal is not None:
            keys.update(self.org_keys(caller.principal.account_id))
        keys["aws:ResourceAccount"] = [owner]
        keys["s3:ResourceAccount"] = [owner]
        for header, key in (("user-agent", "aws:UserAgent"), ("referer", "aws:Referer")):
            value = request.header(header)
            if value:
                keys[key] = [value[:1024]]
        auth_type = _AUTH_TYPE.get(caller.signed_with)
        if auth_type:
            keys["s3:authType"] = [auth_type]
            keys["s3:signatureversion"] = ["AWS4-HMAC-SHA256"]
        if caller.content_sha256:
            keys["s3:x-amz-content-sha256"] = [caller.content_sha256]
        for name, values in access.condition_keys.items():
            keys[name] = list(values)
        return keys

    # -- one access -----------------------------------------------------------------------------

    def evaluate(
        self,
        access: Access,
        caller: Caller,
        request: S3Request,
        owner: str,
        bucket_policy: policy.Policy | None,
        now: dt.datetime,
        region: str = "",
    ) -> policy.Evaluation:
        """IAM's decision for one access (see the module's docstring)."""
        resource: Sequence[policy.Policy] = (bucket_policy,) if bucket_policy is not None else ()
        principal = caller.principal
        if principal is None:
            keys = self._keys(access, caller, request, owner, None, now, region)
            ctx = policy.RequestContext(action=access.action, resource=access.resource, keys=keys)
            outcome = policy.resource_policy_outcome(bucket_policy, ctx)[0] if bucket_policy else None
            if outcome is policy.Outcome.ALLOW:
                return policy.Evaluation(policy.Decision.ALLOW)
            if outcome is policy.Outcome.EXPLICIT_DENY:
                return policy.Evaluation(policy.Decision.EXPLICIT_DENY, policy.DeniedBy.RESOURCE)
            return policy.Evaluation(policy.Decision.IMPLICIT_DENY, policy.DeniedBy.RESOURCE)
        found = self.caller_policies(principal)
        if authz.session_token_blocks(found, access.action):
            return policy.Evaluation(policy.Decision.IMPLICIT_DENY, policy.DeniedBy.IDENTITY)
        keys = self._keys(access, caller, request, owner, found, now, region)
        ctx = authz.request_context(principal, access.action, access.resource, keys, found)
        if principal.kind is PrincipalKind.ROOT:
            identity, boundaries, session = authz.root_identity(), None, None
        elif principal.kind in (PrincipalKind.USER, PrincipalKind.ASSUMED_ROLE, PrincipalKind.FEDERATED_USER):
            identity, boundaries, session = found.identity, found.boundaries, found.session
        else:
            return policy.Evaluation(policy.Decision.IMPLICIT_DENY, policy.DeniedBy.IDENTITY)
        scps = None if _service_linked(found) else service_control.of_account(self.store, principal.account_id)
        evaluation = policy.evaluate_full(
            ctx,
            identity=identity,
            resource=resource,
            boundaries=boundaries,
            session=session,
            resource_account=owner,
            scps=scps,
        )
        if (
            evaluation.decision is policy.Decision.IMPLICIT_DENY
            and evaluation.denied_by is policy.DeniedBy.IDENTITY
            and bucket_policy is not None
            and principal.account_id == owner
            and self._public(bucket_policy, access, caller, request, owner, now, region)
        ):
            # everyone is allowed by the bucket policy: within the owner's account that grants without
            # identity policies, still within the caller's boundary, session policies and SCPs
            return policy.evaluate_full(
                ctx, identity=authz.root_identity(), boundaries=boundaries, session=session, scps=scps
            )
        return evaluation

    def _public(
        self,
        bucket_policy: policy.Policy,
        access: Access,
        caller: Caller,
        request: S3Request,
        owner: str,
        now: dt.datetime,
        region: str,
    ) -> bool:
        """Whether the bucket policy allows this access to everyone (as it would an anonymous request)."""
        anonymous = Caller(principal=None, signed_with=caller.signed_with, content_sha256=caller.content_sha256)
        keys = self._keys(access, anonymous, request, owner, None, now, region)
        ctx = policy.RequestContext(action=access.action, resource=access.resource, keys=keys)
        return policy.resource_policy_outcome(bucket_policy, ctx)[0] is policy.Outcome.ALLOW

    # -- an operation ---------------------------------------------------------------------------

    def decide(
        self,
        operation: S3Operation,
        caller: Caller,
        request: S3Request,
        owner: str,
        bucket_policy: policy.Policy | None,
        now: dt.datetime,
        region: str = "",
    ) -> Verdict:
        """Every access of ``operation`` must be allowed; the first that is not decides the answer."""
        for access in operation.accesses:
            evaluation = self.evaluate(access, caller, request, owner, bucket_policy, now, region)
            if evaluation.decision is not policy.Decision.ALLOW:
                return Verdict(False, access, evaluation, self._message(access, caller, owner, evaluation))
        return ALLOWED

    def decide_extra(
        self,
        accesses: Sequence[Access],
        caller: Caller,
        request: S3Request,
        owner: str,
        bucket_policy: policy.Policy | None,
        now: dt.datetime,
        region: str = "",
    ) -> Verdict:
        """Accesses found after the first decision (those only a request's body names)."""
        return self.decide(S3Operation("", tuple(accesses)), caller, request, owner, bucket_policy, now, region)

    def decide_policy_call(
        self,
        operation: S3Operation,
        caller: Caller,
        request: S3Request,
        owner: str,
        bucket_policy: policy.Policy | None,
        now: dt.datetime,
        region: str = "",
    ) -> tuple[PolicyCall, Verdict]:
        """Put/Get/DeleteBucketPolicy (see the module's docstring)."""
        principal = caller.principal
        if principal is None:
            return PolicyCall.DENY, Verdict(False, operation.accesses[0] if operation.accesses else None)
        if principal.account_id == owner and principal.kind is PrincipalKind.ROOT:
            return PolicyCall.ALLOW, ALLOWED
        verdict = self.decide(operation, caller, request, owner, bucket_policy, now, region)
        if principal.account_id != owner:
            return (PolicyCall.NOT_OWNER if verdict.allowed else PolicyCall.DENY), verdict
        return (PolicyCall.ALLOW if verdict.allowed else PolicyCall.DENY), verdict

    @staticmethod
    def _message(access: Access, caller: Caller, owner: str, evaluation: policy.Evaluation) -> str:
        """S3's message: the detailed one ("User: … is not authorized to perform: … because no
        identity-based policy allows …") for a caller of the bucket owner's account, "Access Denied"
        for another account's or an anonymous caller (S3 tells them nothing more)."""
        principal = caller.principal
        if principal is None or principal.account_id != owner:
            return "Access Denied"
        return authz.denied_message(principal.arn, access.action, access.resource, evaluation)


def _org_keys(store: Store, account_id: str) -> dict[str, list[str]]:
    a, o, u = t.org_accounts.c, t.org_organizations.c, t.org_units.c
    with store.read() as conn:
        row = conn.execute(
            select(a.org_id, a.parent_id, o.root_id)
            .select_from(t.org_accounts.join(t.org_organizations, o.org_id == a.org_id))
            .where(a.account_id == account_id)
        ).first()
        if row is None:
            return {}
        units: list[str] = []
        parent = str(row.parent_id)
        while parent != row.root_id and len(units) < MAX_OU_DEPTH:
            units.append(parent)
            found = conn.execute(select(u.parent_id).where(u.ou_id == parent, u.org_id == row.org_id)).scalar()
            if found is None:
                break
            parent = str(found)
    path = "/".join([str(row.org_id), str(row.root_id), *reversed(units)]) + "/"
    return {"aws:PrincipalOrgID": [str(row.org_id)], "aws:PrincipalOrgPaths": [path]}


def _service_linked(found: authz.CallerPolicies) -> bool:
    return any(alias.split(":", 5)[-1].startswith("role/aws-service-role/") for alias in found.aliases)
