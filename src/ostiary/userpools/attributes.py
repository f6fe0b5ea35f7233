"""User attribute rules from the pool's schema (Cognito Developer Guide, "User pool attributes").

Checks names against the schema, mutability, developer-only attributes (writable only by signed
admin calls), string and number constraints, email and phone formats, required attributes.
"""

from __future__ import annotations

import re
from typing import Any

from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import InvalidParameterException

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_PHONE = re.compile(r"^\+[0-9]{4,15}$")
READ_ONLY = frozenset({"sub", "identities"})


def schema_name(name: str) -> str:
    """``dev:custom:x`` is stored under the schema entry ``dev:custom:x`` as Cognito lists it."""
    return name


def to_dict(attribute_list: list[dict[str, Any]] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in attribute_list or []:
        out[str(item["Name"])] = "" if item.get("Value") is None else str(item["Value"])
    return out


def _conform(prefix: str, problems: list[str]) -> InvalidParameterException:
    return InvalidParameterException(prefix + "Attributes did not conform to the schema: " + "; ".join(problems))


def check_values(
    pool: PoolView,
    values: dict[str, str],
    *,
    admin: bool,
    creating: bool,
    prefix: str = "",
    schema: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Refuse writes the schema does not allow (before anything is stored). ``schema``: the pool's
    ``pool.schema``, when the caller checks many users and has built it once (the CSV import)."""
    schema = pool.schema if schema is None else schema
    problems: list[str] = []
    for name, value in values.items():
        entry = schema.get(name)
        if entry is None and name in ("email_verified", "phone_number_verified"):
            entry = {"AttributeDataType": "Boolean", "Mutable": True}
        if entry is None:
            raise InvalidParameterException(f"{prefix}{name}: Attribute does not exist in the schema.")
        if name in READ_ONLY:
            raise InvalidParameterException(f"{prefix}Cannot modify the non-mutable attribute {name}")
        if (entry.get("DeveloperOnlyAttribute") or name.startswith("dev:")) and not admin:
            raise InvalidParameterException(f"{prefix}{name}: Cannot modify a developer-only attribute.")
        if not creating and entry.get("Mutable") is False:
            raise InvalidParameterException(f"{prefix}Cannot modify the non-mutable attribute {name}")
        kind = entry.get("AttributeDataType", "String")
        if kind == "String" and value != "":
            c = entry.get("StringAttributeConstraints") or {}
            if c.get("MaxLength") and len(value) > int(c["MaxLength"]):
                problems.append(f"{name}: String must be no longer than {c['MaxLength']} characters")
            if c.get("MinLength") and len(value) < int(c["MinLength"]):
                problems.append(f"{name}: String must be at least {c['MinLength']} characters")
        elif kind == "Number" and value != "":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{name}: Number is not valid")
                continue
            c = entry.get("NumberAttributeConstraints") or {}
            if c.get("MaxValue") not in (None, "") and number > float(c["MaxValue"]):
                problems.append(f"{name}: Number must be no more than {c['MaxValue']}")
            if c.get("MinValue") not in (None, "") and number < float(c["MinValue"]):
                problems.append(f"{name}: Number must be no less than {c['MinValue']}")
        elif kind == "Boolean" and value.lower() not in ("true", "false", ""):
            problems.append(f"{name}: Boolean value must be 'true' or 'false'")
        if name == "email" and value and not _EMAIL.match(value):
            raise InvalidParameterException(f"{prefix}Invalid email address format.")
        if name == "phone_number" and value and not _PHONE.match(value):
            raise InvalidParameterException(f"{prefix}Invalid phone number format.")
    if problems:
        raise _conform(prefix, problems)


def check_required(pool: PoolView, values: dict[str, str], prefix: str = "") -> None:
    missing = [
        name
        for name, entry in pool.schema.items()
        if entry.get("Required") and name not in READ_ONLY and not values.get(name)
    ]
    if missing:
        raise _conform(prefix, [f"{name}: The attribute {name} is required" for name in missing])


def normalize(values: dict[str, str]) -> dict[str, str]:
    """Booleans lower-cased; empty values dropped (an empty value deletes the attribute)."""
    out: dict[str, str] = {}
    for name, value in values.items():
        if name.endswith("_verified"):
            value = value.lower()
        if value != "":
            out[name] = value
    return out
