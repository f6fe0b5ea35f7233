"""ListUsers ``Filter``: ``"AttributeName Filter-Type \\"AttributeValue\\""`` (Cognito API Reference, ListUsers).

Filter types: ``=`` (exact) and ``^=`` (starts with). Searchable attributes: username (case-insensitive),
email, phone_number, name, given_name, family_name, preferred_username, cognito:user_status (called
status in the console, case-insensitive), status (enabled or disabled: "Enabled"/"Disabled"), sub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEARCHABLE = frozenset(
    {
        "username",
        "email",
        "phone_number",
        "name",
        "given_name",
        "family_name",
        "preferred_username",
        "cognito:user_status",
        "status",
        "sub",
    }
)

_FILTER = re.compile(r'^\s*([\w:]+)\s*(=|\^=)\s*"((?:[^"\\]|\\.)*)"\s*$')


class FilterError(ValueError):
    pass


@dataclass(frozen=True)
class UserFilter:
    attribute: str
    prefix: bool
    value: str

    def matches(self, actual: str | None) -> bool:
        if actual is None:
            return False
        if self.attribute in ("username", "cognito:user_status", "status"):
            actual, wanted = actual.lower(), self.value.lower()
        else:
            wanted = self.value
        return actual.startswith(wanted) if self.prefix else actual == wanted


def parse(text: str) -> UserFilter | None:
    """None for an empty filter; FilterError for one AWS would refuse."""
    if not text.strip():
        return None
    m = _FILTER.match(text)
    if m is None:
        raise FilterError("Error while parsing filter.")
    attribute, op, raw = m.groups()
    if attribute not in SEARCHABLE:
        raise FilterError(f"Invalid search attribute: {attribute}")
    value = re.sub(r"\\(.)", r"\1", raw)
    return UserFilter(attribute=attribute, prefix=op == "^=", value=value)
