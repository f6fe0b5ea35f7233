"""Tables of the accessportal area (issue 14). Filled in by the work that builds it; see docs/architecture.md."""

from __future__ import annotations

__all__: list[str] = []
