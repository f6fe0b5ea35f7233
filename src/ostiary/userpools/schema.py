"""The standard attribute schema of every user pool, and the rules for custom attributes.

Standard attributes as DescribeUserPool lists them (Cognito Developer Guide, "Standard
attributes"); custom attributes appear as ``custom:<name>`` and developer-only ones as
``dev:custom:<name>``. Names are at most 20 characters; a pool has at most 50 custom attributes;
custom attributes can't be removed or changed once added.
"""

from __future__ import annotations

import copy
from typing import Any

from ostiary.userpools.errors import InvalidParameterException

_STRING = {"MinLength": "0", "MaxLength": "2048"}


def _s(name: str, *, mutable: bool = True, required: bool = False, c: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "Name": name,
        "AttributeDataType": "String",
        "DeveloperOnlyAttribute": False,
        "Mutable": mutable,
        "Required": required,
        "StringAttributeConstraints": dict(c or _STRING),
    }


def _b(name: str) -> dict[str, Any]:
    return {
        "Name": name,
        "AttributeDataType": "Boolean",
        "DeveloperOnlyAttribute": False,
        "Mutable": True,
        "Required": False,
    }


STANDARD: list[dict[str, Any]] = [
    _s("sub", mutable=False, required=True, c={"MinLength": "1", "MaxLength": "2048"}),
    _s("name"),
    _s("given_name"),
    _s("family_name"),
    _s("middle_name"),
    _s("nickname"),
    _s("preferred_username"),
    _s("profile"),
    _s("picture"),
    _s("website"),
    _s("email"),
    _b("email_verified"),
    _s("gender"),
    _s("birthdate", c={"MinLength": "10", "MaxLength": "10"}),
    _s("zoneinfo"),
    _s("locale"),
    _s("phone_number"),
    _b("phone_number_verified"),
    _s("address"),
    {
        "Name": "updated_at",
        "AttributeDataType": "Number",
        "DeveloperOnlyAttribute": False,
        "Mutable": True,
        "Required": False,
        "NumberAttributeConstraints": {"MinValue": "0"},
    },
    {
        "Name": "identities",
        "AttributeDataType": "String",
        "DeveloperOnlyAttribute": False,
        "Mutable": True,
        "Required": False,
        "StringAttributeConstraints": {},
    },
]
STANDARD_NAMES = frozenset(a["Name"] for a in STANDARD)
MAX_CUSTOM = 50
MAX_NAME = 20
MAX_STRING = 2048  # the longest value of any string attribute
# AWS's answer to a custom attribute without (or with an empty) AttributeDataType
NO_DATA_TYPE = "Invalid AttributeDataType input, consider using the provided AttributeDataType enum."


def _constraints_ok(kind: str, attr: dict[str, Any], name: str, qualified: str | None = None) -> None:
    """Valid constraints for attribute ``name`` (``qualified``: as DescribeUserPool names it,
    ``custom:name`` for a custom attribute)."""
    qualified = qualified or name
    key = "StringAttributeConstraints" if kind == "String" else "NumberAttributeConstraints"
    other = "NumberAttributeConstraints" if kind == "String" else "StringAttributeConstraints"
    if attr.get(other) and kind in ("String", "Number"):
        raise InvalidParameterException(f"{other} is not valid for attribute {name} of type {kind}.")
    c = attr.get(key) or {}
    fields = ("MinLength", "MaxLength") if kind == "String" else ("MinValue", "MaxValue")
    values = {}
    for f in fields:
        if c.get(f) not in (None, ""):
            try:
                values[f] = int(c[f])
            except ValueError:
                raise InvalidParameterException(f"Invalid {key} for schema attribute {name}") from None
    lo, hi = values.get(fields[0]), values.get(fields[1])
    if kind == "String" and ((lo is not None and lo < 0) or (hi is not None and hi < 0)):
        raise InvalidParameterException(f"Invalid {key} for schema attribute {name}")
    if kind == "String" and ((lo is not None and lo > MAX_STRING) or (hi is not None and hi > MAX_STRING)):
        # MinLength as well as MaxLength: a value can never be longer than 2048 characters
        raise InvalidParameterException(
            f"user.{qualified}: String attributes cannot have a length of more than {MAX_STRING}"
        )
    if lo is not None and hi is not None and lo > hi:
        raise InvalidParameterException(f"Invalid {key} for schema attribute {name}")


def custom_entry(attr: dict[str, Any]) -> dict[str, Any]:
    """A custom attribute as DescribeUserPool shows it; validates the definition."""
    raw = str(attr.get("Name") or "")
    name = raw.removeprefix("custom:")
    if not name or len(name) > MAX_NAME:
        raise InvalidParameterException(f"Invalid custom attribute name {raw!r}: 1 to {MAX_NAME} characters.")
    kind = attr.get("AttributeDataType")
    if not kind:
        raise InvalidParameterException(NO_DATA_TYPE)
    developer = bool(attr.get("DeveloperOnlyAttribute", False))
    _constraints_ok(kind, attr, name, ("dev:custom:" if developer else "custom:") + name)
    entry: dict[str, Any] = {
        "Name": ("dev:custom:" if developer else "custom:") + name,
        "AttributeDataType": kind,
        "DeveloperOnlyAttribute": developer,
        "Mutable": bool(attr.get("Mutable", True)),
        "Required": False,
    }
    if attr.get("Required"):
        raise InvalidParameterException("Required custom attributes are not supported currently.")
    if kind == "String":
        entry["StringAttributeConstraints"] = dict(attr.get("StringAttributeConstraints") or {})
    elif kind == "Number":
        entry["NumberAttributeConstraints"] = dict(attr.get("NumberAttributeConstraints") or {})
    return entry


def build_schema(requested: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The schema of a new pool: the standard attributes (with requested Required/Mutable/constraints)
    followed by custom attributes."""
    schema = copy.deepcopy(STANDARD)
    by_name = {a["Name"]: a for a in schema}
    customs: list[dict[str, Any]] = []
    seen: set[str] = set()
    for attr in requested or []:
        name = str(attr.get("Name") or "")
        if name in seen:
            raise InvalidParameterException(f"Duplicate attribute name: {name}")
        seen.add(name)
        if name in STANDARD_NAMES:
            base = by_name[name]
            kind = attr.get("AttributeDataType")
            if (kind and kind != base["AttributeDataType"]) or attr.get("DeveloperOnlyAttribute"):
                raise InvalidParameterException(
                    "You can not change AttributeDataType or set developerOnlyAttribute for standard schema "
                    f"attribute {name}"
                )
            if name == "sub" and (attr.get("Mutable") or attr.get("Required") is False):
                raise InvalidParameterException("sub can not be mutable and must be required.")
            if "Mutable" in attr:
                base["Mutable"] = bool(attr["Mutable"])
            if "Required" in attr:
                base["Required"] = bool(attr["Required"])
            key = (
                "StringAttributeConstraints" if base["AttributeDataType"] == "String" else "NumberAttributeConstraints"
            )
            if attr.get(key):
                _constraints_ok(base["AttributeDataType"], attr, name)
                base[key] = dict(attr[key])
            continue
        customs.append(custom_entry(attr))
    if len(customs) > MAX_CUSTOM:
        raise InvalidParameterException(f"A user pool can have at most {MAX_CUSTOM} custom attributes.")
    return schema + customs


def add_custom(schema: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """AddCustomAttributes: the schema with ``new`` appended (names must be new)."""
    existing = {a["Name"] for a in schema}
    out = list(schema)
    for attr in new:
        entry = custom_entry(attr)
        bare = entry["Name"].removeprefix("dev:").removeprefix("custom:")
        if entry["Name"] in existing or f"custom:{bare}" in existing or f"dev:custom:{bare}" in existing:
            raise InvalidParameterException(f"Existing attribute already has name {entry['Name']}.")
        existing.add(entry["Name"])
        out.append(entry)
    if sum(1 for a in out if a["Name"] not in STANDARD_NAMES) > MAX_CUSTOM:
        raise InvalidParameterException(f"A user pool can have at most {MAX_CUSTOM} custom attributes.")
    return out
