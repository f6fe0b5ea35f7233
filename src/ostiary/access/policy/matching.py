"""Matching one element of a statement: actions (case-insensitive globs, indexed per list), resources
(ARN globs, with policy variables), principals (Principal and NotPrincipal), and the policy
variables themselves (``substitute``)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

from ostiary.access.policy.model import Match, RequestContext


def _like(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if pattern == "*":
        return True
    escaped = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(escaped, value, flags) is not None


_VAR = re.compile(r"\$\{([^}]*)\}")


class Unresolved(Exception):
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
        raise Unresolved(name)

    return _VAR.sub(one, text)


def literal_aware_like(pattern: str, value: str, ignore_case: bool = False) -> bool:
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
        except Unresolved:
            continue
        if arn_like(pattern, resource):
            return True
    return False


def arn_like(pattern: str, arn: str) -> bool:
    """ARN matching: the first five components separately (wildcards don't cross ':'), the rest as a glob."""
    pp = pattern.split(":", 5)
    ap = arn.split(":", 5)
    if len(pp) != 6 or len(ap) != 6:
        return literal_aware_like(pattern, arn)
    return all(literal_aware_like(p, a) for p, a in zip(pp, ap, strict=True))


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
