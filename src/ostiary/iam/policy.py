"""The IAM policy evaluation engine: a pure function of policies and a request context.

Follows the IAM User Guide: "Policy evaluation logic" (explicit deny wins; identity and resource
policies; permissions boundaries and session policies can only narrow), "IAM JSON policy elements"
(Action/NotAction, Resource/NotResource, Principal/NotPrincipal, Condition), "Condition operators"
(String*, Numeric*, Date*, Bool, Binary, IpAddress, Arn*, Null, …IfExists, ForAllValues:/ForAnyValue:)
and "Policy variables" (``${aws:username}``, ``${aws:PrincipalTag/k}``, ``${*}``, defaults).
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import eq, ge, gt, le, lt
from typing import Any


class Effect(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"


class Outcome(enum.Enum):
    """The result of evaluating one policy (or a set of them) for one request."""

    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    NOT_APPLICABLE = "not-applicable"


class Decision(enum.Enum):
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit-deny"
    EXPLICIT_DENY = "explicit-deny"


class MalformedPolicy(ValueError):
    """A policy document IAM would refuse (MalformedPolicyDocument)."""


@dataclass(frozen=True)
class Statement:
    effect: Effect
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principals: Mapping[str, tuple[str, ...]] | None
    not_principals: Mapping[str, tuple[str, ...]] | None
    conditions: Mapping[str, Mapping[str, tuple[Any, ...]]]
    sid: str | None = None


@dataclass(frozen=True)
class Policy:
    version: str
    statements: tuple[Statement, ...]

    @property
    def variables_enabled(self) -> bool:
        return self.version == "2012-10-17"


@dataclass
class RequestContext:
    """What a request looks like to the engine.

    ``keys`` holds global and service condition keys, each a list of values (single-valued keys
    have one); names are matched case-insensitively, as IAM does for key names.
    """

    action: str
    resource: str
    principal_arn: str = ""
    principal_account: str = ""
    principal_type: str = "AWS"  # AWS | Federated | Service
    keys: dict[str, list[str]] = field(default_factory=dict)
    # other ARNs the caller answers to in a Principal element (a role session: its role's ARN)
    principal_aliases: tuple[str, ...] = ()

    def key(self, name: str) -> list[str] | None:
        lowered = name.lower()
        for k, v in self.keys.items():
            if k.lower() == lowered:
                return v
        return None


# ------------------------------------------------------------------------------------------------
# parsing


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise MalformedPolicy(f"{what} must be a string or a non-empty list of strings")


def _principal(value: Any) -> Mapping[str, tuple[str, ...]]:
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, dict) or not value:
        raise MalformedPolicy("Invalid principal in policy")
    out: dict[str, tuple[str, ...]] = {}
    for kind, ids in value.items():
        if kind not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise MalformedPolicy(f'Invalid principal in policy: "{kind}"')
        out[kind] = _strings(ids, f"Principal.{kind}")
    return out


def _conditions(value: Any) -> Mapping[str, Mapping[str, tuple[Any, ...]]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedPolicy("Condition must be an object")
    out: dict[str, dict[str, tuple[Any, ...]]] = {}
    for operator, block in value.items():
        _operator(operator)  # refuses unknown operators
        if not isinstance(block, dict) or not block:
            raise MalformedPolicy(f"Condition {operator} must map keys to values")
        out[operator] = {}
        for key, values in block.items():
            vals = tuple(values) if isinstance(values, list) else (values,)
            if not vals or not all(isinstance(v, (str, int, float, bool)) for v in vals):
                raise MalformedPolicy(f"Condition {operator} {key}: values must be strings, numbers or booleans")
            out[operator][key] = vals
    return out


def _statement(raw: Any) -> Statement:
    if not isinstance(raw, dict):
        raise MalformedPolicy("Statement must be an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicy("Effect must be Allow or Deny")
    if ("Action" in raw) == ("NotAction" in raw):
        raise MalformedPolicy(
            "Policy statement must contain actions."
            if "Action" not in raw
            else "Statement cannot contain both Action and NotAction"
        )
    if "Resource" in raw and "NotResource" in raw:
        raise MalformedPolicy("Statement cannot contain both Resource and NotResource")
    if "Principal" in raw and "NotPrincipal" in raw:
        raise MalformedPolicy("Statement cannot contain both Principal and NotPrincipal")
    return Statement(
        effect=Effect(effect),
        actions=_strings(raw["Action"], "Action") if "Action" in raw else None,
        not_actions=_strings(raw["NotAction"], "NotAction") if "NotAction" in raw else None,
        resources=_strings(raw["Resource"], "Resource") if "Resource" in raw else None,
        not_resources=_strings(raw["NotResource"], "NotResource") if "NotResource" in raw else None,
        principals=_principal(raw["Principal"]) if "Principal" in raw else None,
        not_principals=_principal(raw["NotPrincipal"]) if "NotPrincipal" in raw else None,
        conditions=_conditions(raw.get("Condition")),
        sid=raw.get("Sid"),
    )


def parse(document: str | Mapping[str, Any], *, resource_policy: bool = False) -> Policy:
    """A policy document (JSON text or parsed); MalformedPolicy when IAM would refuse it."""
    if isinstance(document, str):
        try:
            data = json.loads(document)
        except ValueError:
            raise MalformedPolicy("Syntax errors in policy.") from None
    else:
        data = dict(document)
    if not isinstance(data, dict):
        raise MalformedPolicy("Syntax errors in policy.")
    version = data.get("Version", "2008-10-17")
    if version not in ("2012-10-17", "2008-10-17"):
        raise MalformedPolicy("The policy must contain a valid version string")
    raw = data.get("Statement")
    if raw is None:
        raise MalformedPolicy("Missing required field Statement")
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise MalformedPolicy("Missing required field Statement")
    statements = tuple(_statement(s) for s in items)
    for s in statements:
        if resource_policy and s.principals is None and s.not_principals is None:
            raise MalformedPolicy("Missing required field Principal")
        if not resource_policy and (s.principals is not None or s.not_principals is not None):
            raise MalformedPolicy("Policy document should not specify a principal.")
        if not resource_policy and s.resources is None and s.not_resources is None:
            raise MalformedPolicy("Policy statement must contain resources.")
    return Policy(version=version, statements=statements)


# ------------------------------------------------------------------------------------------------
# matching


def _like(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if pattern == "*":
        return True
    escaped = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(escaped, value, flags) is not None


_VAR = re.compile(r"\$\{([^}]*)\}")


class _Unresolved(Exception):
    pass


def substitute(text: str, ctx: RequestContext) -> str:
    """Policy variables: ``${key}``, ``${key, 'default'}``, and the escapes ``${*}``, ``${?}``, ``${$}``."""

    def one(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        if inner in ("*", "?", "$"):
            return "\x00" + inner  # literal, marked so that it is not a wildcard
        name, _, default = inner.partition(",")
        values = ctx.key(name.strip())
        if values:
            return values[0]
        default = default.strip()
        if default.startswith("'") and default.endswith("'") and len(default) >= 2:
            return default[1:-1]
        raise _Unresolved(name)

    return _VAR.sub(one, text)


def _literal_aware_like(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if "\x00" not in pattern:
        return _like(pattern, value, ignore_case)
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\x00":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch("".join(out), value, flags) is not None


def action_matches(patterns: Sequence[str], action: str) -> bool:
    """Actions compare case-insensitively, with * and ? wildcards."""
    return any(p == "*" or _like(p, action, ignore_case=True) for p in patterns)


def resource_matches(patterns: Sequence[str], resource: str, ctx: RequestContext, variables: bool) -> bool:
    for p in patterns:
        if p == "*":
            return True
        try:
            pattern = substitute(p, ctx) if variables and "${" in p else p
        except _Unresolved:
            continue
        if _arn_like(pattern, resource):
            return True
    return False


def _arn_like(pattern: str, arn: str) -> bool:
    """ARN matching: the first five components separately (wildcards don't cross ':'), the rest as a glob."""
    pp = pattern.split(":", 5)
    ap = arn.split(":", 5)
    if len(pp) != 6 or len(ap) != 6:
        return _literal_aware_like(pattern, arn)
    return all(_literal_aware_like(p, a) for p, a in zip(pp, ap, strict=True))


def principal_matches(principals: Mapping[str, tuple[str, ...]], ctx: RequestContext) -> bool:
    if "*" in principals:
        return True
    for kind, ids in principals.items():
        if kind != ctx.principal_type:
            continue
        for pid in ids:
            if pid == "*" or pid == ctx.principal_arn or pid in ctx.principal_aliases:
                return True
            if kind == "AWS":
                account = pid if pid.isdigit() and len(pid) == 12 else ""
                if pid.endswith(":root") and pid.startswith("arn:aws:iam::"):
                    account = pid.split(":")[4]
                if account and account == ctx.principal_account:
                    return True
                if _arn_like(pid, ctx.principal_arn):
                    return True
    return False


# ------------------------------------------------------------------------------------------------
# conditions

_NEGATED = {
    "StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NumericNotEquals", "DateNotEquals",
    "ArnNotEquals", "ArnNotLike", "NotIpAddress",
}  # fmt: skip


def _operator(name: str) -> tuple[str, str, bool]:
    """(set prefix, base operator, if-exists) for a condition operator name."""
    prefix = ""
    if name.startswith(("ForAllValues:", "ForAnyValue:")):
        prefix, name = name.split(":", 1)
    if_exists = name.endswith("IfExists") and name != "Null"
    base = name[: -len("IfExists")] if if_exists else name
    if base not in _COMPARATORS and base != "Null":
        raise MalformedPolicy(f"Invalid Condition type : {name}")
    return prefix, base, if_exists


def _number(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _date(v: Any) -> dt.datetime | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return dt.datetime.fromtimestamp(float(v), dt.UTC)
    text = str(v)
    try:
        return dt.datetime.fromtimestamp(float(text), dt.UTC)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _ip(policy: Any, value: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(str(policy), strict=False)
    except ValueError:
        return False


_ORDER = {"Equals": eq, "LessThan": lt, "LessThanEquals": le, "GreaterThan": gt, "GreaterThanEquals": ge}


def _ordered(read: Any, op: str) -> Any:
    """A comparison of request value to policy value after reading both with ``read`` (number, date)."""
    compare = _ORDER[op]

    def f(policy: Any, value: str) -> bool:
        a, b = read(value), read(policy)
        return a is not None and b is not None and bool(compare(a, b))

    return f


def _cmp_num(op: str) -> Any:
    return _ordered(_number, op)


def _cmp_date(op: str) -> Any:
    return _ordered(_date, op)


def _binary(policy: Any, value: str) -> bool:
    try:
        return base64.b64decode(str(policy)) == base64.b64decode(value)
    except ValueError:
        return False


# base operator -> positive comparison of (policy value, request value); negated operators use the
# positive comparison and invert the result
_COMPARATORS: dict[str, Any] = {
    "StringEquals": lambda p, v: str(p) == v,
    "StringNotEquals": lambda p, v: str(p) == v,
    "StringEqualsIgnoreCase": lambda p, v: str(p).lower() == v.lower(),
    "StringNotEqualsIgnoreCase": lambda p, v: str(p).lower() == v.lower(),
    "StringLike": lambda p, v: _literal_aware_like(str(p), v),
    "StringNotLike": lambda p, v: _literal_aware_like(str(p), v),
    "NumericEquals": _cmp_num("Equals"),
    "NumericNotEquals": _cmp_num("Equals"),
    "NumericLessThan": _cmp_num("LessThan"),
    "NumericLessThanEquals": _cmp_num("LessThanEquals"),
    "NumericGreaterThan": _cmp_num("GreaterThan"),
    "NumericGreaterThanEquals": _cmp_num("GreaterThanEquals"),
    "DateEquals": _cmp_date("Equals"),
    "DateNotEquals": _cmp_date("Equals"),
    "DateLessThan": _cmp_date("LessThan"),
    "DateLessThanEquals": _cmp_date("LessThanEquals"),
    "DateGreaterThan": _cmp_date("GreaterThan"),
    "DateGreaterThanEquals": _cmp_date("GreaterThanEquals"),
    "Bool": lambda p, v: str(p).lower() == v.lower(),
    "BinaryEquals": _binary,
    "IpAddress": _ip,
    "NotIpAddress": _ip,
    "ArnEquals": lambda p, v: _arn_like(str(p), v),
    "ArnLike": lambda p, v: _arn_like(str(p), v),
    "ArnNotEquals": lambda p, v: _arn_like(str(p), v),
    "ArnNotLike": lambda p, v: _arn_like(str(p), v),
}


def _policy_values(values: tuple[Any, ...], ctx: RequestContext, variables: bool) -> list[Any]:
    out = []
    for v in values:
        if isinstance(v, bool):
            v = "true" if v else "false"
        if variables and isinstance(v, str) and "${" in v:
            try:
                v = substitute(v, ctx)
            except _Unresolved:
                continue
        out.append(v)
    return out


def condition_holds(operator: str, key: str, values: tuple[Any, ...], ctx: RequestContext, variables: bool) -> bool:
    prefix, base, if_exists = _operator(operator)
    present = ctx.key(key)
    if base == "Null":
        want_missing = str(values[0]).lower() == "true"
        return (not present) == want_missing
    policy_values = _policy_values(values, ctx, variables)
    negated = base in _NEGATED
    compare = _COMPARATORS[base]
    if prefix == "ForAllValues":
        if not present:
            return True
        return all(any(compare(p, v) for p in policy_values) != negated for v in present)
    if prefix == "ForAnyValue":
        if not present:
            return False
        return any(any(compare(p, v) for p in policy_values) != negated for v in present)
    if not present:
        return if_exists or negated
    matched = any(compare(p, v) for p in policy_values for v in present)
    return not matched if negated else matched


def conditions_hold(stmt: Statement, ctx: RequestContext, variables: bool) -> bool:
    return all(
        condition_holds(op, key, vals, ctx, variables)
        for op, block in stmt.conditions.items()
        for key, vals in block.items()
    )


# ------------------------------------------------------------------------------------------------
# evaluation


def statement_applies(stmt: Statement, ctx: RequestContext, variables: bool, resource_policy: bool) -> bool:
    if stmt.actions is not None and not action_matches(stmt.actions, ctx.action):
        return False
    if stmt.not_actions is not None and action_matches(stmt.not_actions, ctx.action):
        return False
    if stmt.resources is not None and not resource_matches(stmt.resources, ctx.resource, ctx, variables):
        return False
    if stmt.not_resources is not None and resource_matches(stmt.not_resources, ctx.resource, ctx, variables):
        return False
    if resource_policy:
        if stmt.principals is not None and not principal_matches(stmt.principals, ctx):
            return False
        if stmt.not_principals is not None and principal_matches(stmt.not_principals, ctx):
            return False
    return conditions_hold(stmt, ctx, variables)


def evaluate_policy(policy: Policy, ctx: RequestContext, *, resource_policy: bool = False) -> Outcome:
    allowed = False
    for stmt in policy.statements:
        if statement_applies(stmt, ctx, policy.variables_enabled, resource_policy):
            if stmt.effect is Effect.DENY:
                return Outcome.EXPLICIT_DENY
            allowed = True
    return Outcome.ALLOW if allowed else Outcome.NOT_APPLICABLE


def _combine(policies: Sequence[Policy], ctx: RequestContext, resource_policy: bool = False) -> Outcome:
    result = Outcome.NOT_APPLICABLE
    for p in policies:
        outcome = evaluate_policy(p, ctx, resource_policy=resource_policy)
        if outcome is Outcome.EXPLICIT_DENY:
            return outcome
        if outcome is Outcome.ALLOW:
            result = Outcome.ALLOW
    return result


def evaluate(
    ctx: RequestContext,
    *,
    identity: Sequence[Policy] = (),
    resource: Sequence[Policy] = (),
    boundaries: Sequence[Policy] | None = None,
    session: Sequence[Policy] | None = None,
    resource_account: str = "",
) -> Decision:
    """IAM's decision for one request ("Policy evaluation logic", single and cross account).

    Any explicit deny wins. Within one account, an allow from identity or resource policies is
    enough; across accounts both are needed. A permissions boundary (when set) and session policies
    (when the session has any) must also allow: they only ever narrow.
    """
    outcomes = [_combine(identity, ctx), _combine(resource, ctx, resource_policy=True)]
    if boundaries is not None:
        outcomes.append(_combine(boundaries, ctx))
    if session is not None:
        outcomes.append(_combine(session, ctx))
    if Outcome.EXPLICIT_DENY in outcomes:
        return Decision.EXPLICIT_DENY
    identity_allows = outcomes[0] is Outcome.ALLOW
    resource_allows = outcomes[1] is Outcome.ALLOW
    same_account = not resource_account or resource_account == ctx.principal_account
    allowed = (identity_allows or resource_allows) if same_account else (identity_allows and resource_allows)
    if boundaries is not None and outcomes[2] is not Outcome.ALLOW:
        allowed = False
    if session is not None and outcomes[-1] is not Outcome.ALLOW:
        allowed = False
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
