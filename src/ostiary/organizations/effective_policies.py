"""Effective management policies: DescribeEffectivePolicy, ListAccountsWithInvalidEffectivePolicy,
ListEffectivePolicyValidationErrors (AWS Organizations API Reference; User Guide, "Understanding
management policy inheritance" and "Effective policies").

An account's effective policy of a management type is computed from the policies of that type attached
to the root, to each OU on the way down, and to the account, level by level:

- a key without an operator is a ``@@assign`` of its value;
- ``@@assign`` replaces the inherited value, ``@@append`` adds values to it (keeping their order, without
  repeats), ``@@remove`` takes values out of it (a key left with nothing is gone);
- ``@@operators_allowed_for_child_policies`` (``@@all``, ``@@none`` or a list of the three operators)
  restricts what policies attached *below* may do to the key and everything under it; a restriction
  only narrows what the levels above allowed; an operator a policy may not use is ignored;
- several policies attached to one node apply in the order they were attached;
- in tag policies the tag keys under ``tags`` compare case-insensitively and appear in lowercase.

The effective policy shows the resulting values without operators. DescribeEffectivePolicy: a member
account for its own account, the management account and the accounts that may read the organization
(``structure.reader``) for any account; SERVICE_CONTROL_POLICY and RESOURCE_CONTROL_POLICY are not
management policies (InvalidInputException, as AWS answers); no policy of the type reaching the account
is EffectivePolicyNotFoundException.

**Validation.** AWS marks an effective policy invalid when the service that enforces it cannot (the
API names ErrorCode, PathToError and ContributingPolicies). Of the rules a service applies, Ostiary
evaluates the one AWS documents for backup policies: every plan under ``plans`` of an effective
backup policy must have ``regions``, ``rules`` and ``selections`` (ErrorCode
``MISSING_REQUIRED_ELEMENT``, path ``plans/<plan>/<element>``, the policies that contributed to the
plan). No other type's effective policy is found invalid.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from ostiary.organizations import policy_types as types
from ostiary.organizations import structure as s
from ostiary.organizations.accounts import ACCOUNT_NOT_FOUND, account_shape
from ostiary.organizations.errors import (
    AccountNotFoundException,
    EffectivePolicyNotFoundException,
    InvalidInputException,
    TargetNotFoundException,
)
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

NOT_FOUND = "We can't find an effective policy of the specified type for the specified account."
ALL_OPERATORS = frozenset(types.VALUE_OPERATORS)
BACKUP_PLAN_ELEMENTS = ("regions", "rules", "selections")


@dataclass
class Node:
    """One key of an effective policy while it is computed."""

    name: str
    value: Any = None
    children: dict[str, Node] = field(default_factory=dict)
    allowed: frozenset[str] = ALL_OPERATORS  # what policies of the current level may do here
    restricted: frozenset[str] = ALL_OPERATORS  # what policies of the levels below may do here
    contributors: list[str] = field(default_factory=list)


def _operators(value: Any) -> frozenset[str]:
    given = set(value) if isinstance(value, list) else {value}
    if types.ALL in given:
        return ALL_OPERATORS
    return frozenset(given & ALL_OPERATORS)


def _apply_value(node: Node, operator: str, value: Any) -> None:
    if operator == types.ASSIGN:
        node.value = value
        return
    current = [] if node.value is None else node.value if isinstance(node.value, list) else [node.value]
    values = value if isinstance(value, list) else [value]
    if operator == types.APPEND:
        node.value = current + [v for v in values if v not in current]
    else:
        kept = [v for v in current if v not in values]
        node.value = kept or None


def apply(node: Node, document: dict[str, Any], policy_id: str, *, fold_keys: bool, allowed: frozenset[str]) -> None:
    """Merge one policy's ``document`` (one level of it) into ``node``."""
    allowed = allowed & node.allowed
    for key, value in document.items():
        if key == types.CHILD_OPERATORS:
            node.restricted = node.restricted & allowed & _operators(value)
        elif key in types.VALUE_OPERATORS:
            if key in allowed:
                _apply_value(node, key, value)
                node.contributors.append(policy_id)
        else:
            name = key.lower() if fold_keys else key
            child = node.children.get(name)
            if child is None:
                child = node.children[name] = Node(name)
            inner = value if isinstance(value, dict) else {types.ASSIGN: value}
            # tag keys fold below "tags" only (the tag key names), not their elements
            apply(child, inner, policy_id, fold_keys=False, allowed=allowed)


def next_level(node: Node, above: frozenset[str] = ALL_OPERATORS) -> None:
    """The restrictions set at this level bind the levels below."""
    node.allowed = node.allowed & node.restricted & above
    node.restricted = node.allowed
    for child in node.children.values():
        next_level(child, node.allowed)


def render(node: Node) -> Any:
    if node.children:
        out = {child.name: render(child) for child in node.children.values()}
        return {k: v for k, v in out.items() if v is not None} or (node.value if node.value is not None else None)
    return node.value


def contributors(node: Node) -> list[str]:
    found = list(node.contributors)
    for child in node.children.values():
        found += [pid for pid in contributors(child) if pid not in found]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Effective:
    root: Node
    content: dict[str, Any]
    updated: dt.datetime | None


def _path(conn: Connection, org: s.Org, account_id: str) -> list[str]:
    """The account's ancestors from the root down, then the account."""
    path = [account_id]
    node = s.parent_of(conn, org, account_id)
    while node is not None and node != org.root_id and len(path) <= s.MAX_OU_DEPTH + 1:
        path.append(node)
        node = s.parent_of(conn, org, node)
    path.append(org.root_id)
    return list(reversed(path))


def compute(conn: Connection, org: s.Org, account_id: str, kind: str) -> Effective | None:
    """``account_id``'s effective policy of ``kind`` (None when no policy of the type reaches it)."""
    if kind not in org.policy_types:
        return None
    path = _path(conn, org, account_id)
    pa, p = t.org_policy_attachments.c, t.org_policies.c
    rows = conn.execute(
        select(pa.target_id, pa.policy_id, pa.attached_at, p.content, p.updated_at)
        .select_from(t.org_policy_attachments.join(t.org_policies, p.policy_id == pa.policy_id))
        .where(pa.org_id == org.org_id, pa.policy_type == kind, pa.target_id.in_(path))
    ).all()
    if not rows:
        return None
    root = Node("")
    updated: dt.datetime | None = None
    for target in path:
        level = sorted((r for r in rows if r.target_id == target), key=lambda r: (_when(r.attached_at), r.policy_id))
        for r in level:
            document = json.loads(r.content)
            fold = kind == "TAG_POLICY"
            for key, value in document.items():
                top = root.children.get(key)
                if top is None:
                    top = root.children[key] = Node(key)
                inner = value if isinstance(value, dict) else {types.ASSIGN: value}
                apply(top, inner, r.policy_id, fold_keys=fold and key == "tags", allowed=ALL_OPERATORS)
            for stamp in (r.attached_at, r.updated_at):
                if stamp is not None and (updated is None or utc(stamp) > updated):
                    updated = utc(stamp)
        next_level(root)
    content = render(root)
    return Effective(root, content if isinstance(content, dict) else {}, updated)


def _when(stamp: Any) -> dt.datetime:
    return utc(stamp) if stamp is not None else dt.datetime.min.replace(tzinfo=dt.UTC)


def validation_errors(effective: Effective, kind: str) -> list[dict[str, Any]]:
    """The validation errors Ostiary evaluates (the module's docstring)."""
    errors: list[dict[str, Any]] = []
    if kind != "BACKUP_POLICY":
        return errors
    plans = effective.root.children.get("plans")
    for plan in plans.children.values() if plans is not None else []:
        present = render(plan)
        for element in BACKUP_PLAN_ELEMENTS:
            if not isinstance(present, dict) or element not in present:
                errors.append(
                    {
                        "ErrorCode": "MISSING_REQUIRED_ELEMENT",
                        "ErrorMessage": f"The backup plan {plan.name} of the effective policy has no {element}.",
                        "PathToError": f"plans/{plan.name}/{element}",
                        "ContributingPolicies": contributors(plan),
                    }
                )
    return errors


def _management_type(params: Params) -> str:
    kind = str(params["PolicyType"])
    if kind not in types.MANAGEMENT:
        raise InvalidInputException(
            "You specified a policy type that has no effective policy.", Reason="INVALID_ENUM_POLICY_TYPE"
        )
    return kind


@operation("organizations", "DescribeEffectivePolicy", resource=s.resource("TargetId"))
def describe_effective_policy(ctx: RequestContext, params: Params) -> Result:
    kind = _management_type(params)
    target = params.get("TargetId") or ctx.account_id
    with ctx.store.read() as conn:
        org = s.member(conn, ctx) if target == ctx.account_id else s.reader(conn, ctx, target)
        node = s.node_kind(conn, org, target)
        if node in (s.ROOT, s.OU):
            raise InvalidInputException(
                "You can't specify a root or an OU: specify an account.", Reason="TARGET_NOT_SUPPORTED"
            )
        if node is None:
            raise TargetNotFoundException(
                "We can't find a root, OU, account, or policy with the TargetId that you specified."
            )
        effective = compute(conn, org, target, kind)
    if effective is None:
        raise EffectivePolicyNotFoundException(NOT_FOUND)
    out: dict[str, Any] = {"PolicyContent": json.dumps(effective.content), "TargetId": target, "PolicyType": kind}
    if effective.updated is not None:
        out["LastUpdatedTimestamp"] = effective.updated
    return {"EffectivePolicy": out}


def _accounts(conn: Connection, org: s.Org) -> list[Any]:
    a = t.org_accounts.c
    return list(
        conn.execute(
            select(t.org_accounts, t.accounts.c.name)
            .select_from(t.org_accounts.join(t.accounts, t.accounts.c.id == a.account_id))
            .where(a.org_id == org.org_id)
            .order_by(a.account_id)
        )
    )


@operation("organizations", "ListAccountsWithInvalidEffectivePolicy")
def list_accounts_with_invalid_effective_policy(ctx: RequestContext, params: Params) -> Result:
    kind = _management_type(params)
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        items = []
        for row in _accounts(conn, org):
            effective = compute(conn, org, row.account_id, kind)
            if effective is not None and validation_errors(effective, kind):
                items.append(account_shape(org, row, row.name))
    chunk, token = s.page(items, params, lambda item: str(item["Id"]))
    return s.paged({"PolicyType": kind}, "Accounts", chunk, token)


@operation("organizations", "ListEffectivePolicyValidationErrors", resource=s.resource("AccountId"))
def list_effective_policy_validation_errors(ctx: RequestContext, params: Params) -> Result:
    kind = _management_type(params)
    account_id = str(params["AccountId"])
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx, account_id)
        if s.node_kind(conn, org, account_id) != s.ACCOUNT:
            raise AccountNotFoundException(ACCOUNT_NOT_FOUND)
        effective = compute(conn, org, account_id, kind)
        if effective is None:
            raise EffectivePolicyNotFoundException(NOT_FOUND)
        path = "/".join([org.org_id, *_path(conn, org, account_id)]) + "/"
    errors = validation_errors(effective, kind)
    chunk, token = s.page(errors, params, lambda e: str(e["PathToError"]))
    out = {"AccountId": account_id, "PolicyType": kind, "Path": path, "EvaluationTimestamp": ctx.now}
    return s.paged(out, "EffectivePolicyValidationErrors", chunk, token)
