"""Opaque pagination tokens (keyset: the sort key of the last item returned)."""

from __future__ import annotations

import base64
import binascii
import json
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
