"""NextToken/MaxResults of the Identity Center services (sso-admin, identitystore, sso): an opaque
keyset token, the sort key of the last item returned."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ostiary.ssoadmin.errors import ValidationException


def encode(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(token: str | None) -> list[Any] | None:
    """The key a NextToken carries (None for the first page); a token Ostiary did not issue is a
    ValidationException, as AWS answers it."""
    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValidationException("The NextToken is invalid.") from None
    if not isinstance(value, list):
        raise ValidationException("The NextToken is invalid.")
    return value


def limit(params: dict[str, Any], default: int = 100) -> int:
    value = params.get("MaxResults")
    return int(value) if isinstance(value, int) and value > 0 else default
