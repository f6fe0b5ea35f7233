"""The gateway's and the S3 front's tables (issue 15, migration 0036)."""

from __future__ import annotations

__all__: list[str] = []
