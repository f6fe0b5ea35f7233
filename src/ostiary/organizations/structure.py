"""What the organizations operation modules share (no operations here): AWS's ids and ARNs, the
caller's organization (who may call what), the root, OUs and accounts as nodes of the tree, and
NextToken paging.

AWS Organizations API Reference: only the management account may call the operations that change the
organization's structure and policies; the management account and the member accounts registered as
a delegated administrator of a service may call those that read them (``reader``); any member account
may call DescribeOrganization (and LeaveOrganization); an account in no organization gets
AWSOrganizationsNotInUseException.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from ostiary.access import service_control
from ostiary.organizations import delegation
from ostiary.organizations.errors import (
    AccessDeniedException,
    AWSOrganizationsNotInUseException,
    ConstraintViolationException,
    InvalidInputException,
)
from ostiary.protocol.context import RequestContext
from ostiary.store import tables as t
from ostiary.store.db import after_commit

SCP = service_control.SERVICE_CONTROL_POLICY
RCP = service_control.RESOURCE_CONTROL_POLICY
# the AWS managed policy attached everywhere while its type is enabled
DEFAULT_POLICIES = {SCP: service_control.FULL_AWS_ACCESS_ID, RCP: service_control.RCP_FULL_AWS_ACCESS_ID}

NOT_IN_USE = "Your account is not a member of an organization."
DENIED = "You don't have permissions to access this resource."

_LOWER_ALNUM = string.ascii_lowercase + string.digits
MAX_OU_DEPTH = 5  # OUs nested in the root (AWS quota: five levels)


def _random(n: int) -> str:
    return "".join(secrets.choice(_LOWER_ALNUM) for _ in range(n))


def new_org_id() -> str:
    return "o-" + _random(10)


def new_root_id() -> str:
    return "r-" + _random(4)


def new_ou_id(root_id: str) -> str:
    return f"ou-{root_id.removeprefix('r-')}-{_random(8)}"


def new_policy_id() -> str:
    return "p-" + _random(8)


def new_handshake_id() -> str:
    return "h-" + _random(10)


def new_request_id() -> str:
    return "car-" + _random(32)


def org_arn(mgmt: str, org_id: str) -> str:
    return f"arn:aws:organizations::{mgmt}:organization/{org_id}"


def account_arn(mgmt: str, org_id: str, account_id: str) -> str:
    return f"arn:aws:organizations::{mgmt}:account/{org_id}/{account_id}"


def root_arn(mgmt: str, org_id: str, root_id: str) -> str:
    return f"arn:aws:organizations::{mgmt}:root/{org_id}/{root_id}"


def ou_arn(mgmt: str, org_id: str, ou_id: str) -> str:
    return f"arn:aws:organizations::{mgmt}:ou/{org_id}/{ou_id}"


def policy_arn(mgmt: str, org_id: str, policy_type: str, policy_id: str) -> str:
    if policy_id == service_control.FULL_AWS_ACCESS_ID:
        return service_control.FULL_AWS_ACCESS_ARN
    if policy_id == service_control.RCP_FULL_AWS_ACCESS_ID:
        return service_control.RCP_FULL_AWS_ACCESS_ARN
    return f"arn:aws:organizations::{mgmt}:policy/{org_id}/{policy_type.lower()}/{policy_id}"


@dataclass(frozen=True)
class Org:
    """The caller's organization."""

    org_id: str
    mgmt: str  # the management account
    root_id: str
    feature_set: str
    policy_types: tuple[str, ...]  # enabled in the root

    @property
    def arn(self) -> str:
        return org_arn(self.mgmt, self.org_id)

    def shape(self) -> dict[str, Any]:
        return {
            "Id": self.org_id,
            "Arn": self.arn,
            "FeatureSet": self.feature_set,
            "MasterAccountArn": account_arn(self.mgmt, self.org_id, self.mgmt),
            "MasterAccountId": self.mgmt,
            # deprecated by AWS ("use ListRoots"): it always answers an empty list
            "AvailablePolicyTypes": [],
        }

    def root_shape(self) -> dict[str, Any]:
        return {
            "Id": self.root_id,
            "Arn": root_arn(self.mgmt, self.org_id, self.root_id),
            "Name": "Root",
            "PolicyTypes": [{"Type": kind, "Status": "ENABLED"} for kind in self.policy_types],
        }


def of_account(conn: Connection, account_id: str) -> Org | None:
    o, a = t.org_organizations.c, t.org_accounts.c
    row = conn.execute(
        select(o.org_id, o.management_account_id, o.root_id, o.feature_set, o.policy_types)
        .select_from(t.org_accounts.join(t.org_organizations, o.org_id == a.org_id))
        .where(a.account_id == account_id)
    ).first()
    if row is None:
        return None
    return Org(row.org_id, row.management_account_id, row.root_id, row.feature_set, tuple(row.policy_types or ()))


def member(conn: Connection, ctx: RequestContext) -> Org:
    """The organization the caller's account belongs to."""
    org = of_account(conn, ctx.account_id)
    if org is None:
        raise AWSOrganizationsNotInUseException(NOT_IN_USE)
    return org


def management(conn: Connection, ctx: RequestContext) -> Org:
    """The caller's organization, when the caller is its management account."""
    org = member(conn, ctx)
    if org.mgmt != ctx.account_id:
        raise AccessDeniedException(DENIED)
    return org


def is_delegated_admin(conn: Connection, org: Org, account_id: str) -> bool:
    d = t.org_delegated_admins.c
    found = conn.execute(select(d.service_principal).where(d.account_id == account_id, d.org_id == org.org_id))
    return found.first() is not None


def reader(conn: Connection, ctx: RequestContext, target: str | None = None) -> Org:
    """The caller's organization, when the caller may read its structure and policies: its management
    account, a delegated administrator of a service (RegisterDelegatedAdministrator: "read-only access
    to Organizations service data"), or a member account the organization's resource policy allows the
    operation on ``target`` (an id; the organization's resources when None)."""
    org = member(conn, ctx)
    if org.mgmt == ctx.account_id or is_delegated_admin(conn, org, ctx.account_id):
        return org
    resource = arn_of(conn, org, target) if target else "*"
    if not delegation.allows(conn, ctx, org.org_id, (resource,)):
        raise AccessDeniedException(DENIED)
    return org


def manage(
    conn: Connection,
    ctx: RequestContext,
    org: Org,
    resources: tuple[str, ...],
    keys: dict[str, list[str]] | None = None,
) -> None:
    """The caller may change ``resources`` (ARNs) of ``org``: it is the management account, or the
    organization's resource policy allows it (``delegation``: policies and tags only)."""
    if org.mgmt != ctx.account_id and not delegation.allows(conn, ctx, org.org_id, resources, keys):
        raise AccessDeniedException(DENIED)


def policy_type_of(conn: Connection, org: Org, policy_id: str) -> str:
    """The type of one of ``org``'s policies (SERVICE_CONTROL_POLICY for an id that names none: the
    operation answers that)."""
    found = conn.execute(
        select(t.org_policies.c.policy_type).where(
            t.org_policies.c.policy_id == policy_id, t.org_policies.c.org_id == org.org_id
        )
    ).scalar()
    return SCP if found is None else str(found)


def arn_of(conn: Connection, org: Org, resource_id: str) -> str:
    """The ARN of a root, OU, account, policy, resource policy or handshake of ``org`` by its id."""
    if resource_id.startswith("p-"):
        return policy_arn(org.mgmt, org.org_id, policy_type_of(conn, org, resource_id), resource_id)
    return arn_of_id(org, resource_id)


def require_all_features(org: Org) -> Org:
    """``org``, when it has all features (ConstraintViolationException otherwise, as AWS answers the
    operations that need them in an organization of consolidated billing only)."""
    if org.feature_set != "ALL":
        raise ConstraintViolationException(
            "This operation requires the organization to have all features enabled.",
            Reason="ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
        )
    return org


def attach_defaults(conn: Connection, org: Org, target_id: str, now: Any) -> None:
    """A new root, OU or account gets the AWS managed ``FullAWSAccess`` SCP and ``RCPFullAWSAccess`` RCP
    of the types enabled, as AWS attaches them."""
    for kind, policy_id in DEFAULT_POLICIES.items():
        if kind in org.policy_types:
            conn.execute(
                insert(t.org_policy_attachments).values(
                    org_id=org.org_id, policy_id=policy_id, target_id=target_id, policy_type=kind, attached_at=now
                )
            )


def changed(conn: Connection) -> None:
    """The organization's structure or policies changed: after commit, this process's cached SCPs go
    (others' within ``cache_scp_seconds``)."""
    after_commit(conn, service_control.forget)


# -- nodes: the root, OUs, accounts ----------------------------------------------------------------

ROOT, OU, ACCOUNT = "ROOT", "ORGANIZATIONAL_UNIT", "ACCOUNT"


def node_kind(conn: Connection, org: Org, node_id: str) -> str | None:
    """ROOT, ORGANIZATIONAL_UNIT or ACCOUNT for an id of ``org``'s tree; None when it names none."""
    if node_id == org.root_id:
        return ROOT
    if node_id.startswith("ou-"):
        found = conn.execute(
            select(t.org_units.c.ou_id).where(t.org_units.c.ou_id == node_id, t.org_units.c.org_id == org.org_id)
        ).first()
        return OU if found is not None else None
    if node_id.isdigit():
        found = conn.execute(
            select(t.org_accounts.c.account_id).where(
                t.org_accounts.c.account_id == node_id, t.org_accounts.c.org_id == org.org_id
            )
        ).first()
        return ACCOUNT if found is not None else None
    return None


def parent_of(conn: Connection, org: Org, node_id: str) -> str | None:
    """The id of an OU's or an account's parent (None for the root and unknown ids)."""
    if node_id.startswith("ou-"):
        table, key = t.org_units, t.org_units.c.ou_id
    elif node_id.isdigit():
        table, key = t.org_accounts, t.org_accounts.c.account_id
    else:
        return None
    found = conn.execute(select(table.c.parent_id).where(key == node_id, table.c.org_id == org.org_id)).scalar()
    return None if found is None else str(found)


def depth(conn: Connection, org: Org, ou_or_root: str) -> int:
    """How many OUs deep ``ou_or_root`` is (the root: 0)."""
    n = 0
    node: str | None = ou_or_root
    while node is not None and node != org.root_id and n <= MAX_OU_DEPTH + 1:
        n += 1
        node = parent_of(conn, org, node)
    return n


def account_name(conn: Connection, account_id: str) -> str:
    return str(conn.execute(select(t.accounts.c.name).where(t.accounts.c.id == account_id)).scalar() or "")


def node_arn(org: Org, kind: str, node_id: str) -> str:
    if kind == ROOT:
        return root_arn(org.mgmt, org.org_id, node_id)
    if kind == OU:
        return ou_arn(org.mgmt, org.org_id, node_id)
    return account_arn(org.mgmt, org.org_id, node_id)


# -- paging -------------------------------------------------------------------------------------

MAX_RESULTS = 20  # AWS's MaxResults is at most 20 for most listings; Ostiary answers pages of 20


def page(items: list[Any], params: dict[str, Any], key: Callable[[Any], str]) -> tuple[list[Any], str | None]:
    """One page of ``items`` (sorted by ``key``) after the NextToken's key; the next token or None."""
    after = decode(params.get("NextToken"))
    limit = params.get("MaxResults")
    size = int(limit) if isinstance(limit, int) and limit > 0 else MAX_RESULTS
    if after is not None:
        items = [item for item in items if key(item) > after]
    chunk = items[:size]
    token = encode(key(chunk[-1])) if len(items) > size else None
    return chunk, token


def encode(key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([key]).encode()).decode().rstrip("=")


def decode(token: Any) -> str | None:
    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(str(token) + "=" * (-len(str(token)) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], str):
        raise InvalidInputException("You provided an invalid value for NextToken.", Reason="INVALID_NEXT_TOKEN")
    return value[0]


def paged(out: dict[str, Any], name: str, chunk: list[Any], token: str | None) -> dict[str, Any]:
    out[name] = chunk
    if token:
        out["NextToken"] = token
    return out


# -- what IAM authorizes a call against ----------------------------------------------------------


def arn_of_id(org: Org, resource_id: str) -> str:
    """The ARN of a root, OU, account, policy or handshake of ``org`` by its id (by its form alone:
    whether it exists is the operation's question)."""
    if resource_id.startswith("r-"):
        return root_arn(org.mgmt, org.org_id, resource_id)
    if resource_id.startswith("ou-"):
        return ou_arn(org.mgmt, org.org_id, resource_id)
    if resource_id.startswith("p-"):
        return policy_arn(org.mgmt, org.org_id, SCP, resource_id)  # ``arn_of`` reads the policy's type
    if resource_id.startswith("rp-"):
        return f"arn:aws:organizations::{org.mgmt}:resourcepolicy/{org.org_id}/{resource_id}"
    if resource_id.startswith("h-"):
        return f"arn:aws:organizations::{org.mgmt}:handshake/{org.org_id}/invite/{resource_id}"
    return account_arn(org.mgmt, org.org_id, resource_id)


def resource(key: str) -> Callable[[RequestContext, dict[str, Any]], str]:
    """The resource function of an operation that acts on the resource ``params[key]`` names: its ARN
    in the caller's organization (Service Authorization Reference, AWS Organizations' resource types),
    so that an IAM policy can name accounts, OUs, roots and policies. A caller that is not the
    management account of an organization is authorized on ``*`` (the resources are the management
    account's: the engine would otherwise ask for a resource policy of the target itself); the
    operation then answers AWS's AWSOrganizationsNotInUseException or AccessDeniedException, or lets
    a member through the organization's resource policy (``reader``, ``manage``)."""

    def resolve(ctx: RequestContext, params: dict[str, Any]) -> str:
        value = params.get(key)
        if not isinstance(value, str) or ctx.principal is None:
            return "*"
        with ctx.store.read() as conn:
            org = of_account(conn, ctx.account_id)
            return "*" if org is None or org.mgmt != ctx.account_id else arn_of(conn, org, value)

    return resolve
