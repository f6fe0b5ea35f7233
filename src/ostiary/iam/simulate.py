"""IAM policy simulation (IAM API Reference): SimulatePrincipalPolicy, SimulateCustomPolicy,
GetContextKeysForPrincipalPolicy, GetContextKeysForCustomPolicy. Where each statement sits in a
document's text and which context keys it references is ``policy_text.py``; the account's
authorization snapshot (GetAccountAuthorizationDetails) is ``authorization_details.py``.

Decisions come from the policy engine (access/policy), the same one that authorizes signed calls;
this module gathers the policies and explains the decision:

- one EvaluationResult per action (the current API: ``EvalResourceName`` ``*`` when the resources
  are ``*``; with ResourceArns, one ResourceSpecificResult per resource and the top level giving the
  most restrictive decision, the union of matched statements and of missing context values);
- MatchedStatements: on an explicit deny the deny statements that applied, on an allow the allow
  statements of identity and resource policies that applied, on an implicit deny none. SourcePolicyId
  is the policy's name (inline and managed policies), ``PolicyInputList.N``,
  ``PermissionsBoundaryPolicyInputList.N`` or ``ResourcePolicy``; SourcePolicyType is user, group,
  role, aws-managed, user-managed or resource (left out for documents given in the request).
  Positions are those of the statement's braces in the document's text: Line counts from 1 and
  Column is the brace's 0-based column + 2, which reproduces AWS's published example
  (SimulateCustomPolicy: Column 38 to 167 of a one-line policy);
- MissingContextValues: keys referenced (conditions, policy variables) by statements whose
  action and resource match, when ContextEntries does not give them. The simulator supplies no
  context key on its own;
- ResourceHandlingOption is accepted (it names EC2 scenarios) and changes nothing;
  EvalDecisionDetails is not returned;
- SimulatePrincipalPolicy of a principal whose account is a member of an organization evaluates the
  account's service control policies too (``access.service_control``; the management account is
  exempt) and answers OrganizationsDecisionDetail; SimulateCustomPolicy has no principal: no SCPs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from ostiary.access import authz, aws_managed, policy, service_control
from ostiary.access.policy_sources import attached_arns, default_document, groups_of
from ostiary.access.principals import arn_account
from ostiary.iam import inline
from ostiary.iam.entities import user_arn
from ostiary.iam.errors import InvalidInputException, NoSuchEntityException
from ostiary.iam.groups import group_arn
from ostiary.iam.paging import page
from ostiary.iam.policy_text import (
    context_keys,
    dedup,
    policy_variables,
    position,
    raw_statements,
    statement_keys,
    statement_spans,
)
from ostiary.iam.roles import role_arn
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t

# ------------------------------------------------------------------------------------------------
# policy sources


@dataclass(frozen=True)
class Source:
    """One policy in a simulation, with what MatchedStatements says of it."""

    policy_id: str
    policy_type: str | None  # user | group | role | aws-managed | user-managed | resource | None
    text: str
    parsed: policy.Policy
    spans: list[tuple[int, int]] | None
    raw: list[Any]

    @classmethod
    def of(cls, policy_id: str, policy_type: str | None, text: str, *, resource: bool = False) -> Source:
        parsed = policy.parse(text, resource_policy=resource)
        spans = statement_spans(text)
        if spans is not None and len(spans) != len(parsed.statements):
            spans = None
        return cls(policy_id, policy_type, text, parsed, spans, raw_statements(text))

    def statement(self, index: int) -> dict[str, Any]:
        out: dict[str, Any] = {"SourcePolicyId": self.policy_id}
        if self.policy_type:
            out["SourcePolicyType"] = self.policy_type
        if self.spans is not None:
            start, end = self.spans[index]
            out["StartPosition"] = position(self.text, start)
            out["EndPosition"] = position(self.text, end)
        return out


def _input(text: str, policy_id: str, *, resource: bool = False) -> Source:
    try:
        return Source.of(policy_id, "resource" if resource else None, text, resource=resource)
    except policy.MalformedPolicy as err:
        raise InvalidInputException(f"{policy_id}: {err}") from None


def _managed_sources(conn: Connection, account: str, kind: str, key: str) -> list[Source]:
    out = []
    for arn in attached_arns(conn, account, kind, key):
        src = _managed_source(conn, arn, account)
        if src is not None:
            out.append(src)
    return out


def _managed_source(conn: Connection, arn: str, account: str) -> Source | None:
    """An AWS managed policy or ``account``'s own; another account's policy is never read."""
    document = default_document(conn, arn, account)
    if document is None:
        return None
    kind = "aws-managed" if arn in aws_managed.BY_ARN else "user-managed"
    try:
        return Source.of(arn.rsplit("/", 1)[-1], kind, document)
    except policy.MalformedPolicy:
        return None  # validated when stored; a document that no longer parses grants nothing


def _entity_sources(conn: Connection, account: str, kind: str, key: str) -> list[Source]:
    out = []
    for name in inline.names(conn, account, kind, key):
        document = inline.get(conn, account, kind, key, name)
        if document is None:
            continue
        try:
            out.append(Source.of(name, kind, document))
        except policy.MalformedPolicy:
            continue
    return out + _managed_sources(conn, account, kind, key)


@dataclass
class Principal:
    arn: str
    identity: list[Source]
    boundary: list[Source] | None


_ENTITY = re.compile(r"^arn:aws:iam::(\d{12}):(user|group|role)(/(?:.*/)?)?([^/]+)$")


def _principal(conn: Connection, account: str, arn: str) -> Principal:
    m = _ENTITY.match(arn)
    if m is None:
        raise InvalidInputException(f"Invalid ARN: {arn}. The ARN must be that of an IAM user, group or role.")
    if m.group(1) != account:
        raise NoSuchEntityException(f"The entity {arn} cannot be found.")
    kind, name = m.group(2), m.group(4)
    table = {"user": t.iam_users, "group": t.iam_groups, "role": t.iam_roles}[kind]
    row = conn.execute(select(table).where(table.c.account_id == account, table.c.name_key == name.lower())).first()
    if row is None:
        raise NoSuchEntityException(f"The {kind} with name {name} cannot be found.")
    sources = _entity_sources(conn, account, kind, row.name_key)
    if kind == "user":
        for group_key in groups_of(conn, account, row.name_key):
            sources += _entity_sources(conn, account, "group", group_key)
    boundary: list[Source] | None = None
    if kind != "group" and row.permissions_boundary:
        found = _managed_source(conn, row.permissions_boundary, account)
        boundary = [found] if found is not None else []
    real_arn = {"user": user_arn, "group": group_arn, "role": role_arn}[kind](account, row.path, row.name)
    return Principal(real_arn, sources, boundary)


# ------------------------------------------------------------------------------------------------
# simulation

_DECISION = {
    policy.Decision.ALLOW: "allowed",
    policy.Decision.EXPLICIT_DENY: "explicitDeny",
    policy.Decision.IMPLICIT_DENY: "implicitDeny",
}
_SEVERITY = {"allowed": 0, "implicitDeny": 1, "explicitDeny": 2}
_LIST_TYPES = {"stringList", "numericList", "booleanList", "ipList", "binaryList", "dateList"}


def _check_value(kind: str, value: str) -> bool:
    base = kind.removesuffix("List")
    if base == "numeric":
        try:
            float(value)
        except ValueError:
            return False
    elif base == "boolean":
        return value.lower() in ("true", "false")
    elif base == "date":
        try:
            float(value)
        except ValueError:
            try:
                dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return False
    elif base == "ip":
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return False
    return True


def _context(entries: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for entry in entries:
        name = entry.get("ContextKeyName")
        values = [str(v) for v in entry.get("ContextKeyValues") or []]
        kind = entry.get("ContextKeyType") or "string"
        if not name:
            raise InvalidInputException("ContextKeyName is required in each context entry.")
        if len(values) > 1 and kind not in _LIST_TYPES:
            raise InvalidInputException(f"Context key {name} of type {kind} takes one value.")
        for v in values:
            if not _check_value(kind, v):
                raise InvalidInputException(f"Invalid value {v} for context key {name} of type {kind}.")
        out[name] = values
    return out


def _could_match_resource(stmt: policy.Statement, ctx: policy.RequestContext, variables: bool) -> bool:
    """Resource/NotResource of a statement, counting a pattern whose variables cannot be resolved
    as a possible match (its variables are then missing context values)."""

    def any_match(patterns: tuple[str, ...]) -> bool:
        for p in patterns:
            if variables and "${" in p and any(ctx.key(v) is None for v in policy_variables(p)):
                return True
            if policy.resource_matches((p,), ctx.resource, ctx, variables):
                return True
        return False

    if stmt.resources is not None and not any_match(stmt.resources):
        return False
    return not (
        stmt.not_resources is not None and policy.resource_matches(stmt.not_resources, ctx.resource, ctx, variables)
    )


@dataclass
class _Outcome:
    decision: str
    matched: list[dict[str, Any]]
    missing: list[str]
    boundary_allows: bool | None
    scp_allows: bool | None = None


def _evaluate_one(
    ctx: policy.RequestContext,
    identity: list[Source],
    resource: list[Source],
    boundary: list[Source] | None,
    resource_account: str,
    scps: service_control.Levels | None = None,
) -> _Outcome:
    decision = policy.evaluate(
        ctx,
        identity=[s.parsed for s in identity],
        resource=[s.parsed for s in resource],
        boundaries=None if boundary is None else [s.parsed for s in boundary],
        resource_account=resource_account,
        # a resource policy given for sts:AssumeRole & co. is a trust policy: it must allow
        resource_required=bool(resource) and policy.is_trust_action(ctx.action),
        scps=scps,
    )
    denies: list[dict[str, Any]] = []
    allows: list[dict[str, Any]] = []
    missing: list[str] = []
    groups = [(identity, False, True), (resource, True, True), (boundary or [], False, False)]
    for sources, is_resource, explains_allow in groups:
        for src in sources:
            variables = src.parsed.variables_enabled
            for i, stmt in enumerate(src.parsed.statements):
                if stmt.actions is not None and not policy.action_matches(stmt.actions, ctx.action):
                    continue
                if stmt.not_actions is not None and policy.action_matches(stmt.not_actions, ctx.action):
                    continue
                if _could_match_resource(stmt, ctx, variables):
                    missing += [k for k in statement_keys(src.raw[i]) if ctx.key(k) is None]
                if not policy.statement_applies(stmt, ctx, variables, is_resource):
                    continue
                if stmt.effect is policy.Effect.DENY:
                    denies.append(src.statement(i))
                elif explains_allow:
                    allows.append(src.statement(i))
    name = _DECISION[decision]
    matched = denies if name == "explicitDeny" else allows if name == "allowed" else []
    boundary_allows = None
    if boundary is not None:
        outcomes = [policy.evaluate_policy(s.parsed, ctx) for s in boundary]
        boundary_allows = policy.Outcome.ALLOW in outcomes and policy.Outcome.EXPLICIT_DENY not in outcomes
    scp_allows = None if scps is None else policy.scp_outcome(scps, ctx) is policy.Outcome.ALLOW
    return _Outcome(name, matched, dedup(missing), boundary_allows, scp_allows)


def _owner_account(value: str | None) -> str:
    if not value:
        return ""
    return value if value.isdigit() else arn_account(value)


def _simulate(
    ctx: RequestContext,
    params: Params,
    identity: list[Source],
    boundary: list[Source] | None,
    caller_arn: str,
    scps: service_control.Levels | None = None,
) -> Result:
    resource: list[Source] = []
    if params.get("ResourcePolicy"):
        if not caller_arn:
            raise InvalidInputException("CallerArn is required when a ResourcePolicy is included.")
        resource = [_input(params["ResourcePolicy"], "ResourcePolicy", resource=True)]
    keys = _context(list(params.get("ContextEntries") or []))
    caller_account = arn_account(caller_arn) or ctx.account_id
    owner = _owner_account(params.get("ResourceOwner")) or caller_account
    resources = list(params.get("ResourceArns") or ["*"])
    results = []
    for action in params["ActionNames"]:
        per_resource = []
        for arn in resources:
            # the same builder as signed calls (access/authz.request_context), with ContextEntries as
            # the request's keys: the simulator supplies none of its own
            request = authz.request_context(
                caller_arn, action, arn, keys, account=caller_account, has_boundary=boundary is not None
            )
            account = arn_account(arn)
            resource_account = owner if arn == "*" or not account or account == "aws" else account
            per_resource.append((arn, _evaluate_one(request, identity, resource, boundary, resource_account, scps)))
        results.append(_result(action, per_resource, boundary is not None))
    chunk, extra = page(results, params)
    return {"EvaluationResults": chunk, **extra}


def _result(action: str, per_resource: list[tuple[str, _Outcome]], with_boundary: bool) -> dict[str, Any]:
    worst = max((o for _, o in per_resource), key=lambda o: _SEVERITY[o.decision])
    matched: list[dict[str, Any]] = []
    for _, o in per_resource:
        if o.decision == worst.decision:
            matched += [m for m in o.matched if m not in matched]
    out: dict[str, Any] = {
        "EvalActionName": action,
        "EvalDecision": worst.decision,
        "MatchedStatements": matched,
        "MissingContextValues": dedup(k for _, o in per_resource for k in o.missing),
    }
    if [arn for arn, _ in per_resource] == ["*"]:
        out["EvalResourceName"] = "*"
    else:
        specific = []
        for arn, o in per_resource:
            item: dict[str, Any] = {
                "EvalResourceName": arn,
                "EvalResourceDecision": o.decision,
                "MatchedStatements": o.matched,
                "MissingContextValues": o.missing,
            }
            if o.boundary_allows is not None:
                item["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": o.boundary_allows}
            specific.append(item)
        out["ResourceSpecificResults"] = specific
    if with_boundary:
        allowed = all(o.boundary_allows for _, o in per_resource)
        out["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": allowed}
    if any(o.scp_allows is not None for _, o in per_resource):
        out["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": all(o.scp_allows for _, o in per_resource)}
    return out


def _inputs(params: Params, name: str) -> list[Source]:
    return [_input(text, f"{name}.{i}") for i, text in enumerate(params.get(name) or [], start=1)]


def _boundary_inputs(params: Params) -> list[Source] | None:
    given = _inputs(params, "PermissionsBoundaryPolicyInputList")
    if len(given) > 1:
        raise InvalidInputException("You can input only one permissions boundary policy.")
    return given or None


def _check_caller(arn: str | None) -> str:
    if not arn:
        return ""
    if _ENTITY.match(arn) is None:
        raise InvalidInputException(f"Invalid CallerArn: {arn}. It must be the ARN of an IAM user, group or role.")
    return arn


def _source_arn(ctx: RequestContext, params: Params) -> str:
    return str(params.get("PolicySourceArn") or "*")


@operation("iam", "SimulatePrincipalPolicy", resource=_source_arn)
def simulate_principal_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        principal = _principal(conn, ctx.account_id, params["PolicySourceArn"])
    identity = principal.identity + _inputs(params, "PolicyInputList")
    boundary = _boundary_inputs(params)
    if boundary is None:
        boundary = principal.boundary
    caller = _check_caller(params.get("CallerArn")) or principal.arn
    scps = service_control.of_account(ctx.store, ctx.account_id)
    return _simulate(ctx, params, identity, boundary, caller, scps)


@operation("iam", "SimulateCustomPolicy", resource=lambda ctx, params: "*")
def simulate_custom_policy(ctx: RequestContext, params: Params) -> Result:
    identity = _inputs(params, "PolicyInputList")
    if not identity:
        raise InvalidInputException("PolicyInputList must contain at least one policy.")
    caller = _check_caller(params.get("CallerArn"))
    return _simulate(ctx, params, identity, _boundary_inputs(params), caller)


@operation("iam", "GetContextKeysForPrincipalPolicy", resource=_source_arn)
def get_context_keys_for_principal_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        principal = _principal(conn, ctx.account_id, params["PolicySourceArn"])
    extra = _inputs(params, "PolicyInputList")
    return {"ContextKeyNames": context_keys(s.text for s in principal.identity + extra)}


@operation("iam", "GetContextKeysForCustomPolicy", resource=lambda ctx, params: "*")
def get_context_keys_for_custom_policy(ctx: RequestContext, params: Params) -> Result:
    sources = _inputs(params, "PolicyInputList")
    return {"ContextKeyNames": context_keys(s.text for s in sources)}
