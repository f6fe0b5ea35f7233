"""Bounded JSON parsing: nesting depth is limited before anything walks the document.

Python's ``json`` recurses once per nesting level (a deeply nested document raises RecursionError,
which no ``except ValueError`` catches) and orjson stops only at 1024 levels. No input of the
services Ostiary speaks nests deeper than a dozen levels; 64 leaves ample room.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64


class TooDeep(ValueError):
    """Raised for a document nested deeper than allowed (a ValueError: malformed input)."""


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that refuses documents nested deeper than ``max_depth`` (TooDeep)."""
    opened = data.count(b"[") + data.count(b"{") if isinstance(data, bytes) else data.count("[") + data.count("{")
    try:
        value = json.loads(data)
    except RecursionError:
        raise TooDeep(f"JSON nesting exceeds the maximum depth of {max_depth}") from None
    if opened > max_depth and depth_exceeds(value, max_depth):
        raise TooDeep(f"JSON nesting exceeds the maximum depth of {max_depth}")
    return value


def depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether ``value`` nests lists/objects deeper than ``max_depth`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
