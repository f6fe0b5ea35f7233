"""Service control policies (AWS Organizations User Guide, "Service control policies (SCPs)" and
"SCP evaluation"): which SCPs bind the principals of an account, read from the organizations tables
(``ostiary.organizations`` writes them) and kept in a short per-process cache.

An account's SCPs are levels: the SCPs attached to the organization's root, to each OU on the way
down to the account, and to the account itself; ``policy.scp_outcome`` evaluates them (any explicit
deny denies; every level must allow). A member account that CloseAccount suspended has one empty
level: nothing is allowed to its principals, as a closed AWS account can use no service. None means
that no SCP applies: the account is in no organization, it is the organization's management account
(AWS: "SCPs don't affect users or roles in the management account"), or the SCP policy type is not
enabled in the root. Service-linked roles are
exempt too; that is the authorizer's check (``access.authz``), which knows the caller.

Resource control policies ("Resource control policies (RCPs)") are read the same way for the account
that owns a resource (``rcps_of_account``) and evaluated by ``policy.rcp_outcome`` as resource policies;
Ostiary applies them where a member account's resource is a role being assumed (STS's AssumeRole,
AssumeRoleWithWebIdentity, AssumeRoleWithSAML and the session's TagSession/SetContext: ``sts``).

The cache (``service_control_policies``, ``cache_scp_seconds``) keeps the levels of an account, or
None for one in no organization, so that a call from such an account costs one cached lookup. The
organizations operations empty it in their own process after every change (``forget``); other
processes see a change within the cache's lifetime.
"""

from __future__ import annotations

from sqlalchemy import select

from ostiary.access import policy
from ostiary.caching import TtlCache
from ostiary.store import tables as t
from ostiary.store.db import Store

SERVICE_CONTROL_POLICY = "SERVICE_CONTROL_POLICY"
FULL_AWS_ACCESS_ID = "p-FullAWSAccess"
FULL_AWS_ACCESS_ARN = "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
FULL_AWS_ACCESS_NAME = "FullAWSAccess"
FULL_AWS_ACCESS_DESCRIPTION = "Allows access to every operation"
FULL_AWS_ACCESS_CONTENT = (
    '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n      "Effect": "Allow",\n'
    '      "Action": "*",\n      "Resource": "*"\n    }\n  ]\n}'
)
# resource control policies (AWS Organizations User Guide, "Resource control policies (RCPs)"): the AWS
# managed RCPFullAWSAccess is attached to the root, every OU and every account while the type is enabled
RESOURCE_CONTROL_POLICY = "RESOURCE_CONTROL_POLICY"
RCP_FULL_AWS_ACCESS_ID = "p-RCPFullAWSAccess"
RCP_FULL_AWS_ACCESS_ARN = "arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess"
RCP_FULL_AWS_ACCESS_NAME = "RCPFullAWSAccess"
RCP_FULL_AWS_ACCESS_DESCRIPTION = "Allows access to every operation"
RCP_FULL_AWS_ACCESS_CONTENT = (
    '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n      "Effect": "Allow",\n'
    '      "Principal": "*",\n      "Action": "*",\n      "Resource": "*"\n    }\n  ]\n}'
)
MAX_DEPTH = 7  # root, five levels of OUs, the account

_MANAGED = {FULL_AWS_ACCESS_ID: FULL_AWS_ACCESS_CONTENT, RCP_FULL_AWS_ACCESS_ID: RCP_FULL_AWS_ACCESS_CONTENT}

CACHE_SECONDS = 5.0  # the default of cache_scp_seconds

Levels = tuple[tuple[policy.Policy, ...], ...]

_cache: TtlCache[str, Levels | None] = TtlCache("service_control_policies", ttl=CACHE_SECONDS)


def of_account(store: Store, account_id: str) -> Levels | None:
    """The SCPs that bind the principals of ``account_id``, by level (None: none apply)."""
    return _cache.get_or_load(account_id, lambda: load(store, account_id))


def rcps_of_account(store: Store, account_id: str) -> Levels | None:
    """The resource control policies that bind the resources of ``account_id``, by level (None: none
    apply: the account is in no organization, it is the management account (AWS: RCPs do not apply
    to the management account's resources), or the RCP type is not enabled)."""
    return _cache.get_or_load("rcp:" + account_id, lambda: load(store, account_id, RESOURCE_CONTROL_POLICY))


def forget() -> None:
    """Drop this process's cached SCPs (after a change to an organization, its policies or their
    attachments)."""
    _cache.clear()


def load(store: Store, account_id: str, kind: str = SERVICE_CONTROL_POLICY) -> Levels | None:
    a, o, u = t.org_accounts.c, t.org_organizations.c, t.org_units.c
    with store.read() as conn:
        row = conn.execute(
            select(a.org_id, a.parent_id, a.status, o.management_account_id, o.policy_types, o.root_id)
            .select_from(t.org_accounts.join(t.org_organizations, o.org_id == a.org_id))
            .where(a.account_id == account_id)
        ).first()
        if row is None or row.management_account_id == account_id:
            return None
        if kind == SERVICE_CONTROL_POLICY and row.status != "ACTIVE":
            return ((),)  # a closed (suspended) account: nothing is allowed to its principals
        if kind not in (row.policy_types or []):
            return None
        path = [account_id]
        parent = str(row.parent_id)
        while parent != row.root_id and len(path) < MAX_DEPTH:
            path.append(parent)
            parent = str(conn.execute(select(u.parent_id).where(u.ou_id == parent, u.org_id == row.org_id)).scalar())
        path.append(str(row.root_id))
        path.reverse()
        pa = t.org_policy_attachments.c
        attached = conn.execute(
            select(pa.target_id, pa.policy_id).where(
                pa.org_id == row.org_id, pa.target_id.in_(path), pa.policy_type == kind
            )
        ).all()
        ids = {r.policy_id for r in attached if r.policy_id not in _MANAGED}
        contents = dict(_MANAGED)
        if ids:
            p = t.org_policies.c
            found = conn.execute(select(p.policy_id, p.content).where(p.org_id == row.org_id, p.policy_id.in_(ids)))
            contents.update({r.policy_id: r.content for r in found})
    by_target: dict[str, list[policy.Policy]] = {target: [] for target in path}
    for r in attached:
        parsed = _parse(contents.get(r.policy_id), resource_policy=kind == RESOURCE_CONTROL_POLICY)
        if parsed is not None:
            by_target[r.target_id].append(parsed)
    return tuple(tuple(by_target[target]) for target in path)


def _parse(content: str | None, *, resource_policy: bool = False) -> policy.Policy | None:
    if content is None:
        return None
    try:
        return policy.parse(content, resource_policy=resource_policy)
    except policy.MalformedPolicy:
        return None  # validated when stored; a document that no longer parses allows nothing
