"""IAM policy simulation and the account's authorization snapshot (IAM API Reference):
SimulatePrincipalPolicy, SimulateCustomPolicy, GetContextKeysForPrincipalPolicy,
GetContextKeysForCustomPolicy, GetAccountAuthorizationDetails.

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
  EvalDecisionDetails and OrganizationsDecisionDetail are not returned.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, select

from ostiary.access import authz, aws_managed, policy
from ostiary.access.policy_sources import attached_arns, default_document, groups_of
from ostiary.access.principals import arn_account
from ostiary.iam import attachments, inline, managed
from ostiary.iam.entities import user_arn, user_type
from ostiary.iam.errors import InvalidInputException, NoSuchEntityException
from ostiary.iam.groups import group_arn
from ostiary.iam.paging import page
from ostiary.iam.roles import role_arn, role_type
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

# ------------------------------------------------------------------------------------------------
# statement positions in a document's text


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def statement_spans(text: str) -> list[tuple[int, int]] | None:
    """(offset of '{', offset of '}') of each statement of a policy document's text, in order;
    None when the text is not a JSON object with a Statement member."""
    decoder = json.JSONDecoder()
    try:
        i = _skip_ws(text, 0)
        if i >= len(text) or text[i] != "{":
            return None
        i = _skip_ws(text, i + 1)
        found: list[tuple[int, int]] | None = None
        while i < len(text) and text[i] != "}":
            key, i = decoder.raw_decode(text, i)
            i = _skip_ws(text, i)
            if text[i] != ":":
                return None
            start = _skip_ws(text, i + 1)
            _, end = decoder.raw_decode(text, start)
            if key == "Statement":  # the last one wins, as in json.loads
                found = _element_spans(text, start, end, decoder)
            i = _skip_ws(text, end)
            if i < len(text) and text[i] == ",":
                i = _skip_ws(text, i + 1)
        return found
    except (ValueError, IndexError):
        return None


def _element_spans(text: str, start: int, end: int, decoder: json.JSONDecoder) -> list[tuple[int, int]]:
    if text[start] == "{":
        return [(start, end - 1)]
    spans = []
    i = _skip_ws(text, start + 1)
    while i < end - 1:
        _, stop = decoder.raw_decode(text, i)
        spans.append((i, stop - 1))
        i = _skip_ws(text, stop)
        if text[i] == ",":
            i = _skip_ws(text, i + 1)
    return spans


def _position(text: str, offset: int) -> dict[str, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return {"Line": text.count("\n", 0, offset) + 1, "Column": offset - line_start + 2}


# ------------------------------------------------------------------------------------------------
# context keys


_VAR = re.compile(r"\$\{([^}]*)\}")


def _variables(values: Any) -> Iterable[str]:
    for v in values if isinstance(values, list) else [values]:
        if isinstance(v, str):
            for m in _VAR.finditer(v):
                name = m.group(1).partition(",")[0].strip()
                if name not in ("*", "?", "$", ""):
                    yield name


def _statement_keys(raw: Any) -> list[str]:
    """Keys a raw statement references, in the order written: policy variables of Resource /
    NotResource and condition values, and the condition keys."""
    if not isinstance(raw, dict):
        return []
    out: list[str] = []
    for name, value in raw.items():
        if name in ("Resource", "NotResource"):
            out += _variables(value)
        elif name == "Condition" and isinstance(value, dict):
            for block in value.values():
                if isinstance(block, dict):
                    for key, vals in block.items():
                        out.append(str(key))
                        out += _variables(vals)
    return out


def _raw_statements(text: str) -> list[Any]:
    data = json.loads(text)
    raw = data.get("Statement") if isinstance(data, dict) else None
    return raw if isinstance(raw, list) else [raw]


def _dedup(keys: Iterable[str]) -> list[str]:
    """Condition key names compare case-insensitively; the first spelling is kept."""
    seen: set[str] = set()
    out = []
    for k in keys:
        if k.lower() not in seen:
            seen.add(k.lower())
            out.append(k)
    return out


def context_keys(documents: Iterable[str]) -> list[str]:
    return _dedup(k for doc in documents for raw in _raw_statements(doc) for k in _statement_keys(raw))


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
        return cls(policy_id, policy_type, text, parsed, spans, _raw_statements(text))

    def statement(self, index: int) -> dict[str, Any]:
        out: dict[str, Any] = {"SourcePolicyId": self.policy_id}
        if self.policy_type:
            out["SourcePolicyType"] = self.policy_type
        if self.spans is not None:
            start, end = self.spans[index]
            out["StartPosition"] = _position(self.text, start)
            out["EndPosition"] = _position(self.text, end)
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
            if variables and "${" in p and any(ctx.key(v) is None for v in _variables(p)):
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


def _evaluate_one(
    ctx: policy.RequestContext,
    identity: list[Source],
    resource: list[Source],
    boundary: list[Source] | None,
    resource_account: str,
) -> _Outcome:
    decision = policy.evaluate(
        ctx,
        identity=[s.parsed for s in identity],
        resource=[s.parsed for s in resource],
        boundaries=None if boundary is None else [s.parsed for s in boundary],
        resource_account=resource_account,
        # a resource policy given for sts:AssumeRole & co. is a trust policy: it must allow
        resource_required=bool(resource) and policy.is_trust_action(ctx.action),
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
                    missing += [k for k in _statement_keys(src.raw[i]) if ctx.key(k) is None]
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
    return _Outcome(name, matched, _dedup(missing), boundary_allows)


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
            per_resource.append((arn, _evaluate_one(request, identity, resource, boundary, resource_account)))
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
        "MissingContextValues": _dedup(k for _, o in per_resource for k in o.missing),
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
    return _simulate(ctx, params, identity, boundary, caller)


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


# ------------------------------------------------------------------------------------------------
# GetAccountAuthorizationDetails


def _policy_list(conn: Connection, account: str, kind: str, key: str) -> list[dict[str, str]]:
    out = []
    for name in inline.names(conn, account, kind, key):
        document = inline.get(conn, account, kind, key, name)
        if document is not None:
            out.append({"PolicyName": name, "PolicyDocument": quote(document, safe="")})
    return out


def _attached(conn: Connection, account: str, kind: str, key: str) -> list[dict[str, str]]:
    out = []
    for arn in attached_arns(conn, account, kind, key):
        name, _ = attachments.attached_name(conn, arn, account)
        out.append({"PolicyName": name, "PolicyArn": arn})
    return out


def _users(conn: Connection, account: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(t.iam_users).where(t.iam_users.c.account_id == account).order_by(t.iam_users.c.name_key)
    ).all()
    out = []
    for row in rows:
        base = user_type(row)
        group_names = []
        for key in sorted(groups_of(conn, account, row.name_key)):
            g = conn.execute(
                select(t.iam_groups.c.name).where(t.iam_groups.c.account_id == account, t.iam_groups.c.name_key == key)
            ).first()
            if g is not None:
                group_names.append(g.name)
        detail: dict[str, Any] = {
            "Path": base["Path"],
            "UserName": base["UserName"],
            "UserId": base["UserId"],
            "Arn": base["Arn"],
            "CreateDate": base["CreateDate"],
            "UserPolicyList": _policy_list(conn, account, "user", row.name_key),
            "GroupList": group_names,
            "AttachedManagedPolicies": _attached(conn, account, "user", row.name_key),
        }
        for extra in ("PermissionsBoundary", "Tags"):
            if extra in base:
                detail[extra] = base[extra]
        out.append(detail)
    return out


def _groups(conn: Connection, account: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(t.iam_groups).where(t.iam_groups.c.account_id == account).order_by(t.iam_groups.c.name_key)
    ).all()
    return [
        {
            "Path": row.path,
            "GroupName": row.name,
            "GroupId": row.group_id,
            "Arn": group_arn(account, row.path, row.name),
            "CreateDate": utc(row.created_at),
            "GroupPolicyList": _policy_list(conn, account, "group", row.name_key),
            "AttachedManagedPolicies": _attached(conn, account, "group", row.name_key),
        }
        for row in rows
    ]


def _instance_profiles(conn: Connection, account: str, role_row: Any) -> list[dict[str, Any]]:
    p = t.iam_instance_profiles.c
    rows = conn.execute(
        select(t.iam_instance_profiles)
        .where(p.account_id == account, p.role_key == role_row.name_key)
        .order_by(p.name_key)
    ).all()
    out = []
    for row in rows:
        profile: dict[str, Any] = {
            "Path": row.path,
            "InstanceProfileName": row.name,
            "InstanceProfileId": row.profile_id,
            "Arn": f"arn:aws:iam::{account}:instance-profile{row.path}{row.name}",
            "CreateDate": utc(row.created_at),
            "Roles": [role_type(role_row, with_extras=False)],
        }
        if row.tags:
            profile["Tags"] = row.tags
        out.append(profile)
    return out


def _roles(conn: Connection, account: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(t.iam_roles).where(t.iam_roles.c.account_id == account).order_by(t.iam_roles.c.name_key)
    ).all()
    out = []
    for row in rows:
        base = role_type(row)
        detail: dict[str, Any] = {
            "Path": base["Path"],
            "RoleName": base["RoleName"],
            "RoleId": base["RoleId"],
            "Arn": base["Arn"],
            "CreateDate": base["CreateDate"],
            "AssumeRolePolicyDocument": base["AssumeRolePolicyDocument"],
            "InstanceProfileList": _instance_profiles(conn, account, row),
            "RolePolicyList": _policy_list(conn, account, "role", row.name_key),
            "AttachedManagedPolicies": _attached(conn, account, "role", row.name_key),
        }
        for extra in ("PermissionsBoundary", "Tags"):
            if extra in base:
                detail[extra] = base[extra]
        out.append(detail)
    return out


def _managed_detail(conn: Connection, arn: str, account: str) -> dict[str, Any]:
    detail = managed.policy_type(conn, arn, account, with_tags=False)
    aws = aws_managed.BY_ARN.get(arn)
    if aws is not None:
        versions = [aws.version_type(document=True)]
    else:
        v = t.iam_policy_versions.c
        rows = conn.execute(select(t.iam_policy_versions).where(v.arn == arn)).all()
        versions = [
            {
                "Document": quote(r.document, safe=""),
                "VersionId": r.version_id,
                "IsDefaultVersion": r.version_id == detail["DefaultVersionId"],
                "CreateDate": utc(r.created_at),
            }
            for r in sorted(rows, key=lambda r: -int(str(r.version_id)[1:]))
        ]
    detail["PolicyVersionList"] = versions
    return detail


def _policies(conn: Connection, account: str, local: bool, aws: bool) -> list[dict[str, Any]]:
    out = []
    if local:
        rows = conn.execute(
            select(t.iam_policies.c.arn).where(t.iam_policies.c.account_id == account).order_by(t.iam_policies.c.name)
        ).all()
        out += [_managed_detail(conn, r.arn, account) for r in rows]
    if aws:  # the AWS managed policies this account uses (attached, or a permissions boundary)
        a = t.iam_attachments.c
        used = set(conn.execute(select(a.policy_arn).where(a.account_id == account)).scalars())
        for table in (t.iam_users, t.iam_roles):
            used |= set(
                conn.execute(
                    select(table.c.permissions_boundary).where(
                        table.c.account_id == account, table.c.permissions_boundary.is_not(None)
                    )
                ).scalars()
            )
        for p in aws_managed.all_policies():
            if p.arn in used:
                out.append(_managed_detail(conn, p.arn, account))
    return out


_LISTS = (
    ("User", "UserDetailList"),
    ("Group", "GroupDetailList"),
    ("Role", "RoleDetailList"),
    ("Policy", "Policies"),
)


@operation("iam", "GetAccountAuthorizationDetails", resource=lambda ctx, params: "*")
def get_account_authorization_details(ctx: RequestContext, params: Params) -> Result:
    wanted = set(params.get("Filter") or ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"])
    items: list[tuple[str, dict[str, Any]]] = []
    with ctx.store.read() as conn:
        if "User" in wanted:
            items += [("User", u) for u in _users(conn, ctx.account_id)]
        if "Group" in wanted:
            items += [("Group", g) for g in _groups(conn, ctx.account_id)]
        if "Role" in wanted:
            items += [("Role", r) for r in _roles(conn, ctx.account_id)]
        local, aws = "LocalManagedPolicy" in wanted, "AWSManagedPolicy" in wanted
        if local or aws:
            items += [("Policy", p) for p in _policies(conn, ctx.account_id, local, aws)]
    chunk, extra = page(items, params)
    out: dict[str, Any] = {name: [item for kind, item in chunk if kind == k] for k, name in _LISTS}
    return {**out, **extra}
