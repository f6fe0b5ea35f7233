"""IAM's list pagination: one helper for every List* operation of the IAM modules."""

from __future__ import annotations

from typing import Any

from ostiary.iam.errors import InvalidInputException
from ostiary.protocol.registry import Params


def page(items: list[Any], params: Params) -> tuple[list[Any], dict[str, Any]]:
    """IAM pagination: Marker (opaque) and MaxItems (default 100), IsTruncated always present."""
    start = 0
    marker = params.get("Marker")
    if marker:
        try:
            start = int(marker)
        except ValueError:
            raise InvalidInputException("Invalid Marker.") from None
    size = int(params.get("MaxItems") or 100)
    chunk = items[start : start + size]
    extra: dict[str, Any] = {"IsTruncated": start + size < len(items)}
    if extra["IsTruncated"]:
        extra["Marker"] = str(start + size)
    return chunk, extra
