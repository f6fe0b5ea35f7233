"""Attribute mappings (IAM Identity Center User Guide, "Attribute mappings" of applications): a value is
literal text with ``${…}`` references to the signed-in directory user, resolved when a response is made.

- ``${user:subject}`` the user's id, ``${user:preferredUsername}`` its UserName, ``${user:email}`` its
  primary e-mail address (else the first), ``${user:name}`` its formatted name (else DisplayName, else
  "given family"), ``${user:givenName}``, ``${user:familyName}``, ``${user:middleName}``,
  ``${user:displayName}``, ``${user:AD_GUID}`` (its first external id: ``ExternalIds`` of the document
  the caller hands in, ``sso.py`` reads them);
- ``${path:<attribute path>}``: any attribute of the user by its path in the identity store's User
  shape, spelled as AWS's attribute-based access control does: ``userName``, ``name.givenName``,
  ``emails[primary eq true].value``, ``addresses[type eq "work"].locality``, ``title``,
  ``enterprise.department`` (the enterprise extension's attributes)…;
- ``${user:groups}``: the names of the user's groups, one attribute value each.

A reference with nothing behind it resolves to nothing (the attribute is left out when every part is
empty); an unknown ``${user:…}`` is refused when the mapping is set.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import RowMapping

REFERENCE = re.compile(r"\$\{(user|path):([^}]{1,128})\}")
FILTER = re.compile(r'^([A-Za-z]+)\[([A-Za-z]+) eq ("?)([^"\]]*)\3\]$')
GROUPS = "groups"
ENTERPRISE = "aws:identitystore:enterprise"


def _first(items: Any, key: str = "Value") -> str:
    if not isinstance(items, list) or not items:
        return ""
    primary = [i for i in items if isinstance(i, dict) and i.get("Primary")]
    chosen = (primary or items)[0]
    return str(chosen.get(key) or "") if isinstance(chosen, dict) else ""


def _formatted(doc: dict[str, Any]) -> str:
    name = doc.get("Name") or {}
    if name.get("Formatted"):
        return str(name["Formatted"])
    if doc.get("DisplayName"):
        return str(doc["DisplayName"])
    return " ".join(str(p) for p in (name.get("GivenName"), name.get("FamilyName")) if p)


def _external(doc: dict[str, Any]) -> str:
    ids = doc.get("ExternalIds") or []
    return str(ids[0].get("Id") or "") if ids and isinstance(ids[0], dict) else ""


USER: dict[str, Callable[[RowMapping, dict[str, Any]], str]] = {
    "subject": lambda row, doc: str(row["user_id"]),
    "preferredUsername": lambda row, doc: str(row["user_name"]),
    "email": lambda row, doc: _first(doc.get("Emails")),
    "name": lambda row, doc: _formatted(doc),
    "givenName": lambda row, doc: str((doc.get("Name") or {}).get("GivenName") or ""),
    "familyName": lambda row, doc: str((doc.get("Name") or {}).get("FamilyName") or ""),
    "middleName": lambda row, doc: str((doc.get("Name") or {}).get("MiddleName") or ""),
    "displayName": lambda row, doc: str(doc.get("DisplayName") or ""),
    "AD_GUID": lambda row, doc: _external(doc),
}


def check(expression: str) -> None:
    """Refuse a mapping that names an unknown ``${user:…}`` (ConfigError from config.py's caller)."""
    for kind, name in REFERENCE.findall(expression):
        if kind == "user" and name not in USER and name != GROUPS:
            raise ValueError(f"Unknown attribute ${{user:{name}}} in the mapping {expression!r}.")


def _upper_first(name: str) -> str:
    return name[:1].upper() + name[1:]


def _path(row: RowMapping, doc: dict[str, Any], path: str) -> str:
    """The value at an attribute path of the User shape (SCIM-like spelling, first letter lower)."""
    if path == "userName":
        return str(row["user_name"])
    if path in ("id", "userId"):
        return str(row["user_id"])
    current: Any = doc
    parts = path.split(".")
    if parts[0] in ("enterprise", ENTERPRISE):  # the enterprise extension (``${path:enterprise.department}``)
        current = (doc.get("Extensions") or {}).get(ENTERPRISE)
        parts = parts[1:]
    for part in parts:
        if current is None:
            return ""
        found = FILTER.match(part)
        if found:
            attr, key, _, wanted = found.groups()
            items = current.get(_upper_first(attr)) if isinstance(current, dict) else None
            if not isinstance(items, list):
                return ""
            match = [
                i for i in items if isinstance(i, dict) and str(i.get(_upper_first(key))).lower() == wanted.lower()
            ]
            current = match[0] if match else None
            continue
        if not isinstance(current, dict):
            return ""
        current = current.get(part) if part in current else current.get(_upper_first(part))
        if isinstance(current, list):
            current = current[0] if current else None
    if current is None or isinstance(current, (dict, list)):
        return ""
    return str(current).lower() if isinstance(current, bool) else str(current)


def resolve(expression: str, user_row: RowMapping, groups: list[str]) -> list[str]:
    """The attribute values of ``expression`` for the user: one string, or the group names for
    ``${user:groups}`` alone; [] when nothing is behind it."""
    doc = dict(user_row["document"] or {})
    if expression.strip() == "${user:groups}":
        return list(groups)

    def one(found: re.Match[str]) -> str:
        kind, name = found.group(1), found.group(2)
        if kind == "user":
            getter = USER.get(name)
            if getter is not None:
                return getter(user_row, doc)
            return ",".join(groups) if name == GROUPS else ""
        return _path(user_row, doc, name)

    references = REFERENCE.findall(expression)
    value = REFERENCE.sub(one, expression)
    if references and not value.strip():
        return []
    return [value]
