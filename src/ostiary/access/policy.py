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
import functools
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import eq, ge, gt, le, lt
from typing import Any

from ostiary import jsonlimits


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


class Match(enum.IntEnum):
    """How the Principal of a resource policy's statement names the caller (the stronger, the larger).

    The IAM User Guide ("Policy evaluation logic", resource-based policies within one account): a
    resource policy that names the caller itself (an IAM user's ARN, an assumed-role or federated
    user session's ARN) grants on its own, unlimited by an implicit deny in identity policies,
    permissions boundaries or session policies; one that names the role of a role session grants
    without identity policies but is limited by the session's boundary and session policies; one
    that names the account (its root ARN or bare id; also ``*``, everyone) delegates to the account:
    the caller's identity policies must allow as well.
    """

    NONE = 0
    ACCOUNT = 1
    ROLE = 2
    SELF = 3


class DeniedBy(enum.Enum):
    """The kind of policy an AccessDenied message names (IAM User Guide, "Troubleshoot access denied
    error messages")."""

    IDENTITY = "identity-based policy"
    RESOURCE = "resource-based policy"
    BOUNDARY = "permissions boundary"
    SESSION = "session policy"
    SCP = "service control policy"


@dataclass(frozen=True)
class Evaluation:
    """IAM's decision for one request, with the kind of policy that denied it (None when allowed)."""

    decision: Decision
    denied_by: DeniedBy | None = None

    def reason(self, action: str) -> str:
        """AWS's phrase for the denial: "with an explicit deny in a …" / "because no … allows the … action"."""
        if self.denied_by is None:
            return ""
        article = "an" if self.denied_by.value[0] in "aeiou" else "a"
        if self.decision is Decision.EXPLICIT_DENY:
            return f"with an explicit deny in {article} {self.denied_by.value}"
        return f"because no {self.denied_by.value} allows the {action} action"


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
    # a permissions boundary applies to the caller (NotPrincipal never exempts it: IAM User Guide)
    principal_has_boundary: bool = False

    def key(self, name: str) -> list[str] | None:
        lowered = name.lower()
        for k, v in self.keys.items():
            if k.lower() == lowered:
                return v
        return None


# ------------------------------------------------------------------------------------------------
# parsing


def _strings(value: Any, what: str, nulls: bool = False) -> tuple[str, ...]:
    """A string or a non-empty list of strings; ``nulls``: a list may hold ``null`` entries, which name
    nothing (IAM accepts them in Resource and NotResource lists)."""
    if isinstance(value, str):
        return (value,)
    if nulls and isinstance(value, list) and value and all(v is None or isinstance(v, str) for v in value):
        return tuple(v for v in value if v is not None)
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
        if block == {}:
            continue  # an empty block tests nothing (IAM accepts it, whatever its operator)
        _operator(operator)  # refuses unknown operators
        if not isinstance(block, dict):
            raise MalformedPolicy(f"Condition {operator} must map keys to values")
        out[operator] = {}
        for key, values in block.items():
            # an empty list of values (IAM accepts it) matches no request value
            vals = tuple(values) if isinstance(values, list) else (values,)
            if not all(isinstance(v, (str, int, float, bool)) for v in vals):
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
        resources=_strings(raw["Resource"], "Resource", nulls=True) if "Resource" in raw else None,
        not_resources=_strings(raw["NotResource"], "NotResource", nulls=True) if "NotResource" in raw else None,
        principals=_principal(raw["Principal"]) if "Principal" in raw else None,
        not_principals=_principal(raw["NotPrincipal"]) if "NotPrincipal" in raw else None,
        conditions=_conditions(raw.get("Condition")),
        sid=raw.get("Sid"),
    )


def parse(document: str | Mapping[str, Any], *, resource_policy: bool = False) -> Policy:
    """A policy document (JSON text or parsed); MalformedPolicy when IAM would refuse it."""
    if isinstance(document, str):
        try:
            data = jsonlimits.loads(document)  # no RecursionError on deep nesting: TooDeep is a ValueError
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


@functools.lru_cache(maxsize=256)
def _action_index(patterns: tuple[str, ...]) -> tuple[bool, frozenset[str], Mapping[str, tuple[str, ...]]]:
    """(whether ``*`` is there, the wildcard-free patterns lowercased, the other patterns by their
    lowercased service prefix — ``""`` for those whose service part has a wildcard)."""
    exact: set[str] = set()
    by_service: dict[str, list[str]] = {}
    for p in patterns:
        if p == "*":
            return True, frozenset(), {}
        lowered = p.lower()
        if "*" not in lowered and "?" not in lowered:
            exact.add(lowered)
            continue
        head, colon, _ = lowered.partition(":")
        key = head if colon and "*" not in head and "?" not in head else ""
        by_service.setdefault(key, []).append(p)
    return False, frozenset(exact), {k: tuple(v) for k, v in by_service.items()}


def action_matches(patterns: Sequence[str], action: str) -> bool:
    """Actions compare case-insensitively, with * and ? wildcards.

    The patterns are indexed once per list (and the index kept for the lists seen last): a pattern
    without wildcards is looked up, one with them is only tried on actions of its own service. AWS
    managed policies list thousands of actions (ReadOnlyAccess about 3,000), and trying each of them
    as a regular expression on every request is slow."""
    star, exact, by_service = _action_index(tuple(patterns))
    if star:
        return True
    lowered = action.lower()
    if lowered in exact:
        return True
    service = lowered.partition(":")[0]
    return any(_like(p, action, ignore_case=True) for key in (service, "") for p in by_service.get(key, ()))


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


def _account_named(pid: str) -> str:
    """The account an ``AWS`` principal value names as a whole: a bare 12-digit id or
    ``arn:aws:iam::<id>:root`` ('' for anything else)."""
    if len(pid) == 12 and pid.isdigit():
        return pid
    parts = pid.split(":")
    if len(parts) == 6 and parts[:4] == ["arn", "aws", "iam", ""] and parts[5] == "root" and parts[4].isdigit():
        return parts[4]
    return ""


def _names_role(arn: str) -> bool:
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/")


def principal_match(principals: Mapping[str, tuple[str, ...]], ctx: RequestContext) -> Match:
    """How a Principal element names the caller of ``ctx`` (Match.NONE: not at all).

    Values are compared whole, as IAM does (no wildcards inside an ARN; ``*`` alone is everyone):
    the caller's own ARN, one of its aliases (a session's role ARN), or its account. A value that
    merely starts like the caller's ARN names somebody else.
    """
    if "*" in principals:
        return Match.ACCOUNT
    best = Match.NONE
    for kind, ids in principals.items():
        if kind != ctx.principal_type:
            continue
        for pid in ids:
            if pid == "*":
                best = max(best, Match.ACCOUNT)
            elif pid == ctx.principal_arn or pid in ctx.principal_aliases:
                best = max(best, Match.ROLE if _names_role(pid) else Match.SELF)
            elif kind == "AWS" and ctx.principal_account and _account_named(pid) == ctx.principal_account:
                best = max(best, Match.ACCOUNT)
    return best


def principal_matches(principals: Mapping[str, tuple[str, ...]], ctx: RequestContext) -> bool:
    return principal_match(principals, ctx) is not Match.NONE


def _principal_levels(ctx: RequestContext) -> list[str]:
    """What NotPrincipal must list to exempt the caller: its account, then (for a role session) its
    role, then itself (IAM User Guide, NotPrincipal: "AWS might validate the account first, then the
    role, and then the assumed-role user")."""
    levels = [f"arn:aws:iam::{ctx.principal_account}:root"] if ctx.principal_account else []
    for arn in (*ctx.principal_aliases, ctx.principal_arn):
        if arn and arn not in levels:
            levels.append(arn)
    return levels


def not_principal_exempts(principals: Mapping[str, tuple[str, ...]], ctx: RequestContext) -> bool:
    """Whether a NotPrincipal element leaves the caller out: every level of the caller must be named
    (an account named alone exempts only its root, not its users or roles), and a caller with a
    permissions boundary is never exempt (IAM User Guide, NotPrincipal)."""
    if "*" in principals:
        return True
    ids = principals.get(ctx.principal_type, ())
    if "*" in ids:
        return True
    if ctx.principal_type != "AWS":
        return ctx.principal_arn in ids
    if ctx.principal_has_boundary:
        return False
    levels = _principal_levels(ctx)
    if not levels:
        return False
    for level in levels:
        account = _account_named(level)
        if not any(pid == level or (account and _account_named(pid) == account) for pid in ids):
            return False
    return True


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
        if not values:
            return False
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


def _applies_without_principal(stmt: Statement, ctx: RequestContext, variables: bool) -> bool:
    if stmt.actions is not None and not action_matches(stmt.actions, ctx.action):
        return False
    if stmt.not_actions is not None and action_matches(stmt.not_actions, ctx.action):
        return False
    if stmt.resources is not None and not resource_matches(stmt.resources, ctx.resource, ctx, variables):
        return False
    if stmt.not_resources is not None and resource_matches(stmt.not_resources, ctx.resource, ctx, variables):
        return False
    return conditions_hold(stmt, ctx, variables)


def statement_match(stmt: Statement, ctx: RequestContext, variables: bool) -> Match:
    """How a resource policy's statement applies to the request: Match.NONE when it does not; else
    how its Principal names the caller (a NotPrincipal statement that applies counts as naming the
    account: it names nobody in particular)."""
    if stmt.principals is not None:
        match = principal_match(stmt.principals, ctx)
    elif stmt.not_principals is not None:
        match = Match.NONE if not_principal_exempts(stmt.not_principals, ctx) else Match.ACCOUNT
    else:
        match = Match.ACCOUNT
    if match is Match.NONE or not _applies_without_principal(stmt, ctx, variables):
        return Match.NONE
    return match


def statement_applies(stmt: Statement, ctx: RequestContext, variables: bool, resource_policy: bool) -> bool:
    if resource_policy:
        return statement_match(stmt, ctx, variables) is not Match.NONE
    return _applies_without_principal(stmt, ctx, variables)


def resource_policy_outcome(policy: Policy, ctx: RequestContext) -> tuple[Outcome, Match]:
    """A resource policy's outcome and, when it allows, the strongest way an applying Allow
    statement names the caller."""
    best = Match.NONE
    for stmt in policy.statements:
        match = statement_match(stmt, ctx, policy.variables_enabled)
        if match is Match.NONE:
            continue
        if stmt.effect is Effect.DENY:
            return Outcome.EXPLICIT_DENY, Match.NONE
        best = max(best, match)
    return (Outcome.ALLOW, best) if best is not Match.NONE else (Outcome.NOT_APPLICABLE, Match.NONE)


def evaluate_policy(policy: Policy, ctx: RequestContext, *, resource_policy: bool = False) -> Outcome:
    if resource_policy:
        return resource_policy_outcome(policy, ctx)[0]
    allowed = False
    for stmt in policy.statements:
        if _applies_without_principal(stmt, ctx, policy.variables_enabled):
            if stmt.effect is Effect.DENY:
                return Outcome.EXPLICIT_DENY
            allowed = True
    return Outcome.ALLOW if allowed else Outcome.NOT_APPLICABLE


def _combine(policies: Sequence[Policy], ctx: RequestContext) -> Outcome:
    result = Outcome.NOT_APPLICABLE
    for p in policies:
        outcome = evaluate_policy(p, ctx)
        if outcome is Outcome.EXPLICIT_DENY:
            return outcome
        if outcome is Outcome.ALLOW:
            result = Outcome.ALLOW
    return result


def _combine_resource(policies: Sequence[Policy], ctx: RequestContext) -> tuple[Outcome, Match]:
    result, best = Outcome.NOT_APPLICABLE, Match.NONE
    for p in policies:
        outcome, match = resource_policy_outcome(p, ctx)
        if outcome is Outcome.EXPLICIT_DENY:
            return outcome, Match.NONE
        if outcome is Outcome.ALLOW:
            result, best = Outcome.ALLOW, max(best, match)
    return result, best


# actions whose resource policy is a role's trust policy: it must allow them whatever the caller's
# own policies say (IAM User Guide: "IAM role trust policies ... must explicitly allow access")
TRUST_ACTIONS = frozenset(
    {"sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity", "sts:tagsession",
     "sts:setsourceidentity"}
)  # fmt: skip


def is_trust_action(action: str) -> bool:
    return action.lower() in TRUST_ACTIONS


def evaluate_full(
    ctx: RequestContext,
    *,
    identity: Sequence[Policy] = (),
    resource: Sequence[Policy] = (),
    boundaries: Sequence[Policy] | None = None,
    session: Sequence[Policy] | None = None,
    resource_account: str = "",
    resource_required: bool = False,
) -> Evaluation:
    """IAM's decision for one request ("Policy evaluation logic", single and cross account), with
    the kind of policy that denied it.

    Any explicit deny wins. Within one account, identity policies (capped by the permissions
    boundary and the session policies, when there are any) grant; so does a resource policy, by
    how it names the caller (see Match): the caller itself — on its own; the role of a role session
    — within the boundary and session policies; the account — not on its own (the identity policies
    must allow). Across accounts both the identity side and the resource policy must allow.
    ``resource_required``: the resource policy is a trust policy, which must allow in any case.
    """
    identity_out = _combine(identity, ctx)
    resource_out, match = _combine_resource(resource, ctx)
    boundary_out = _combine(boundaries, ctx) if boundaries is not None else None
    session_out = _combine(session, ctx) if session is not None else None
    for kind, outcome in (
        (DeniedBy.RESOURCE, resource_out),
        (DeniedBy.IDENTITY, identity_out),
        (DeniedBy.BOUNDARY, boundary_out),
        (DeniedBy.SESSION, session_out),
    ):
        if outcome is Outcome.EXPLICIT_DENY:
            return Evaluation(Decision.EXPLICIT_DENY, kind)
    bounded = boundary_out in (None, Outcome.ALLOW)
    in_session = session_out in (None, Outcome.ALLOW)
    identity_grants = identity_out is Outcome.ALLOW and bounded and in_session
    resource_allows = resource_out is Outcome.ALLOW
    same_account = not resource_account or resource_account == ctx.principal_account
    if same_account:
        resource_grants = match is Match.SELF or (match is Match.ROLE and bounded and in_session)
        allowed = identity_grants or resource_grants
        if resource_required:
            allowed = allowed and resource_allows
    else:
        allowed = identity_grants and resource_allows
    if allowed:
        return Evaluation(Decision.ALLOW)
    if (resource_required or not same_account) and not resource_allows:
        missing = DeniedBy.RESOURCE
    elif identity_out is not Outcome.ALLOW:
        missing = DeniedBy.IDENTITY
    elif not bounded:
        missing = DeniedBy.BOUNDARY
    elif not in_session:
        missing = DeniedBy.SESSION
    else:
        missing = DeniedBy.RESOURCE
    return Evaluation(Decision.IMPLICIT_DENY, missing)


def evaluate(
    ctx: RequestContext,
    *,
    identity: Sequence[Policy] = (),
    resource: Sequence[Policy] = (),
    boundaries: Sequence[Policy] | None = None,
    session: Sequence[Policy] | None = None,
    resource_account: str = "",
    resource_required: bool = False,
) -> Decision:
    """IAM's decision for one request (see evaluate_full)."""
    return evaluate_full(
        ctx,
        identity=identity,
        resource=resource,
        boundaries=boundaries,
        session=session,
        resource_account=resource_account,
        resource_required=resource_required,
    ).decision
