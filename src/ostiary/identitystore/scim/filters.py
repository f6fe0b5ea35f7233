"""SCIM filters and PATCH paths (RFC 7644 §3.4.2.2, §3.5.2): parsed into a small typed tree and
evaluated against a resource's SCIM representation.

Supported: ``eq ne co sw ew gt ge lt le pr``, ``and``/``or`` (``and`` binding tighter), ``not (…)``,
parentheses, value paths (``emails[type eq "work"]``), attribute names with a schema URN prefix
(``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department``), string, number,
boolean and null values. String comparisons ignore case (``caseExact`` false) except for ``id``,
``externalId`` and ``value`` of ``members``. Inputs are bounded: MAX_LENGTH characters, MAX_DEPTH
nested groups.

A hand-written recursive-descent parser rather than ``scim2-filter-parser``: that package is untyped
(mypy --strict), built on ``sly`` and aimed at transpiling to SQL text; what Ostiary needs is this one
typed tree, bounded, evaluated in Python and by ``query.py`` as SQL for the common equality.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 2048
MAX_DEPTH = 16

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_CORE = (CORE_USER.casefold(), CORE_GROUP.casefold())
_CASE_EXACT = frozenset({"id", "externalid", "members.value"})
_COMPARE = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})


class FilterError(ValueError):
    """A filter or path that cannot be parsed (SCIM ``invalidFilter`` / ``invalidPath``)."""


@dataclass(frozen=True)
class AttrPath:
    """``[schema:]attr[.sub]``; ``schema`` is the extension URN (None for the core schema)."""

    schema: str | None
    attr: str
    sub: str | None = None

    @property
    def key(self) -> str:
        return self.attr.casefold() + ("." + self.sub.casefold() if self.sub else "")


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str
    value: Any


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class Logical:
    op: str  # and | or
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    inner: Filter


@dataclass(frozen=True)
class ValuePath:
    """``attr[filter]``: some value of a multi-valued attribute matches the filter."""

    path: AttrPath
    inner: Filter


Filter = Compare | Present | Logical | Not | ValuePath


@dataclass(frozen=True)
class PatchPath:
    """A PATCH operation's path: ``attr``, ``attr.sub``, ``attr[filter]`` or ``attr[filter].sub``."""

    path: AttrPath
    where: Filter | None = None
    sub: str | None = None


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<lpar>\() | (?P<rpar>\)) | (?P<lbr>\[) | (?P<rbr>\])
      | (?P<word>[A-Za-z0-9_$:.+\-]+)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    if len(text) > MAX_LENGTH:
        raise FilterError(f"The filter is longer than {MAX_LENGTH} characters")
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise FilterError(f"Unexpected character at {pos}: {text[pos : pos + 10]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _attr_path(word: str) -> AttrPath:
    schema: str | None = None
    name = word
    if word.casefold().startswith("urn:"):
        schema, _, name = word.rpartition(":")
        if not schema or not name:
            raise FilterError(f"Invalid attribute path {word!r}")
        if schema.casefold() in _CORE:
            schema = None
    attr, _, sub = name.partition(".")
    if not re.fullmatch(r"[A-Za-z$][A-Za-z0-9_$\-]*", attr) or (sub and not re.fullmatch(r"[A-Za-z][\w\-]*", sub)):
        raise FilterError(f"Invalid attribute path {word!r}")
    return AttrPath(schema, attr, sub or None)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (kind is not None and token[0] != kind):
            raise FilterError("Unexpected end of filter" if token is None else f"Unexpected {token[1]!r}")
        self.i += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].casefold() in words:
            self.i += 1
            return token[1].casefold()
        return None

    def filter(self, depth: int = 0) -> Filter:
        if depth > MAX_DEPTH:
            raise FilterError(f"The filter nests deeper than {MAX_DEPTH}")
        left = self.conjunction(depth)
        while self.keyword("or"):
            left = Logical("or", left, self.conjunction(depth))
        return left

    def conjunction(self, depth: int) -> Filter:
        left = self.term(depth)
        while self.keyword("and"):
            left = Logical("and", left, self.term(depth))
        return left

    def term(self, depth: int) -> Filter:
        if self.keyword("not"):
            self.take("lpar")
            inner = self.filter(depth + 1)
            self.take("rpar")
            return Not(inner)
        token = self.peek()
        if token is not None and token[0] == "lpar":
            self.take()
            inner = self.filter(depth + 1)
            self.take("rpar")
            return inner
        path = _attr_path(self.take("word")[1])
        token = self.peek()
        if token is not None and token[0] == "lbr":
            self.take()
            inner = self.filter(depth + 1)
            self.take("rbr")
            return ValuePath(path, inner)
        op = self.take("word")[1].casefold()
        if op == "pr":
            return Present(path)
        if op not in _COMPARE:
            raise FilterError(f"Unknown operator {op!r}")
        return Compare(path, op, self.value())

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            try:
                return json.loads(text)
            except ValueError:
                raise FilterError(f"Invalid string {text}") from None
        if kind == "word":
            low = text.casefold()
            if low in ("true", "false"):
                return low == "true"
            if low == "null":
                return None
            try:
                return float(text) if any(c in text for c in ".eE") else int(text)
            except ValueError:
                pass
        raise FilterError(f"Invalid value {text!r}")


def parse(text: str) -> Filter:
    parser = _Parser(text)
    if parser.peek() is None:
        raise FilterError("The filter is empty")
    out = parser.filter()
    if parser.peek() is not None:
        raise FilterError(f"Unexpected {parser.peek()[1]!r}")  # type: ignore[index]
    return out


def parse_path(text: str) -> PatchPath:
    """A PATCH path (RFC 7644 §3.5.2's PATH)."""
    parser = _Parser(text)
    path = _attr_path(parser.take("word")[1])
    where: Filter | None = None
    sub: str | None = None
    if parser.peek() is not None:
        parser.take("lbr")
        where = parser.filter(1)
        parser.take("rbr")
        if parser.peek() is not None:
            word = parser.take("word")[1]
            if not re.fullmatch(r"\.[A-Za-z][\w\-]*", word):
                raise FilterError(f"Invalid path {text!r}")
            sub = word[1:]
    if parser.peek() is not None:
        raise FilterError(f"Invalid path {text!r}")
    if where is not None and path.sub:
        raise FilterError(f"Invalid path {text!r}")
    return PatchPath(path, where, sub)


# ---------------------------------------------------------------------------------------------
# evaluation


def get_ci(obj: dict[str, Any], name: str) -> Any:
    """A JSON object's member, its name compared ignoring case (SCIM attribute names are)."""
    if name in obj:
        return obj[name]
    low = name.casefold()
    for key, value in obj.items():
        if key.casefold() == low:
            return value
    return None


def container(resource: dict[str, Any], schema: str | None) -> dict[str, Any]:
    if schema is None:
        return resource
    value = get_ci(resource, schema)
    return value if isinstance(value, dict) else {}


def values_at(resource: dict[str, Any], path: AttrPath) -> list[Any]:
    """The values at a path: a multi-valued attribute's every value (or their sub-attribute)."""
    value = get_ci(container(resource, path.schema), path.attr)
    items = value if isinstance(value, list) else [] if value is None else [value]
    if path.sub is None:
        return items
    out = []
    for item in items:
        if isinstance(item, dict):
            sub = get_ci(item, path.sub)
            if sub is not None:
                out.append(sub)
    return out


def _compare(actual: Any, op: str, expected: Any, exact: bool) -> bool:
    if isinstance(actual, dict):  # a complex value compared as its "value" (members eq "id")
        actual = get_ci(actual, "value")
    if actual is None:
        return False
    if isinstance(actual, bool) or isinstance(expected, bool):
        return op in ("eq", "ne") and (actual == expected) == (op == "eq")
    if isinstance(actual, str) and isinstance(expected, str):
        a, e = (actual, expected) if exact else (actual.casefold(), expected.casefold())
    elif isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        a, e = actual, expected  # type: ignore[assignment]
    else:
        return op == "ne"
    if op == "eq":
        return a == e
    if op == "ne":
        return a != e
    if op == "co":
        return isinstance(a, str) and isinstance(e, str) and e in a
    if op == "sw":
        return isinstance(a, str) and isinstance(e, str) and a.startswith(e)
    if op == "ew":
        return isinstance(a, str) and isinstance(e, str) and a.endswith(e)
    try:
        if op == "gt":
            return bool(a > e)
        if op == "ge":
            return bool(a >= e)
        if op == "lt":
            return bool(a < e)
        return bool(a <= e)
    except TypeError:
        return False


def matches(f: Filter, resource: dict[str, Any], prefix: str = "") -> bool:
    if isinstance(f, Logical):
        if f.op == "and":
            return matches(f.left, resource, prefix) and matches(f.right, resource, prefix)
        return matches(f.left, resource, prefix) or matches(f.right, resource, prefix)
    if isinstance(f, Not):
        return not matches(f.inner, resource, prefix)
    if isinstance(f, Present):
        return any(v not in (None, "", [], {}) for v in values_at(resource, f.path))
    if isinstance(f, ValuePath):
        items = values_at(resource, AttrPath(f.path.schema, f.path.attr))
        return any(isinstance(i, dict) and matches(f.inner, i, f.path.attr.casefold() + ".") for i in items)
    exact = (prefix + f.path.key) in _CASE_EXACT
    found = values_at(resource, f.path)
    if f.op == "ne":
        return all(_compare(v, "ne", f.value, exact) for v in found) if found else f.value is not None
    return any(_compare(v, f.op, f.value, exact) for v in found)
