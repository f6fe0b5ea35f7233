"""Opaque pagination tokens (keyset: the sort key of the last item returned)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from ostiary.userpools.errors import InvalidParameterException


def encode(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(token: str | None, field: str = "NextToken") -> list[Any] | None:
    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidParameterException(f"Invalid {field}.") from None
    if not isinstance(value, list):
        raise InvalidParameterException(f"Invalid {field}.")
    return value


def slice_after(
    items: list[Any], key: Callable[[Any], str], token: str | None, limit: int, field: str = "NextToken"
) -> tuple[list[Any], str | None]:
    """A page of ``items`` (already in order) after the item a token names, and the next token."""
    after = decode(token, field)
    keys = [key(item) for item in items]
    start = keys.index(after[0]) + 1 if after and after[0] in keys else 0
    chunk = items[start : start + limit]
    return chunk, encode([key(chunk[-1])]) if chunk and start + limit < len(items) else None
