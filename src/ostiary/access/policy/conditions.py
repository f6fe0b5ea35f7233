"""Condition operators (IAM User Guide, "Condition operators"): String*, Numeric*, Date*, Bool,
Binary, IpAddress, Arn*, Null, …IfExists and the ForAllValues:/ForAnyValue: set prefixes."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
from operator import eq, ge, gt, le, lt
from typing import Any

from ostiary.access.policy.matching import Unresolved, arn_like, literal_aware_like, substitute
from ostiary.access.policy.model import MalformedPolicy, RequestContext, Statement

_NEGATED = {
    "StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NumericNotEquals", "DateNotEquals",
    "ArnNotEquals", "ArnNotLike", "NotIpAddress",
}  # fmt: skip


def parse_operator(name: str) -> tuple[str, str, bool]:
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
    "StringLike": lambda p, v: literal_aware_like(str(p), v),
    "StringNotLike": lambda p, v: literal_aware_like(str(p), v),
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
    "ArnEquals": lambda p, v: arn_like(str(p), v),
    "ArnLike": lambda p, v: arn_like(str(p), v),
    "ArnNotEquals": lambda p, v: arn_like(str(p), v),
    "ArnNotLike": lambda p, v: arn_like(str(p), v),
}


def _policy_values(values: tuple[Any, ...], ctx: RequestContext, variables: bool) -> list[Any]:
    out = []
    for v in values:
        if isinstance(v, bool):
            v = "true" if v else "false"
        if variables and isinstance(v, str) and "${" in v:
            try:
                v = substitute(v, ctx)
            except Unresolved:
                continue
        out.append(v)
    return out


def condition_holds(operator: str, key: str, values: tuple[Any, ...], ctx: RequestContext, variables: bool) -> bool:
    prefix, base, if_exists = parse_operator(operator)
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
