"""A user's and a group's attributes: the stored document ↔ the model's shapes, UpdateUser/UpdateGroup's
attribute operations, and the checks AWS makes of a user or group after every change.

The stored document is the model's shape under the model's member names (``UserName``, ``Name`` with
``GivenName``…, ``Emails`` [{``Value``, ``Type``, ``Primary``}]…) minus ids, revision, external ids and
audit fields; a user's extensions are under ``Extensions`` (``aws:identitystore:enterprise``: the
SCIM enterprise user attributes). Attribute paths (``displayName``, ``name.givenName``,
``aws:identitystore:enterprise.costCenter``) and the keys of document values are matched ignoring
case, as AWS matches them; values are then checked against the model's shapes (lengths, patterns,
list sizes), so what UpdateUser stores is exactly what CreateUser would accept.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from botocore.model import ListShape, Shape, StructureShape

from ostiary.protocol import models
from ostiary.ssoadmin.errors import ValidationException

__all__ = [
    "ENTERPRISE",
    "RESERVED_USER_NAMES",
    "apply_operations",
    "check_group",
    "check_user",
    "email_key",
    "extension_value",
    "group_document",
    "normalize",
    "user_document",
    "with_extensions",
]

ENTERPRISE = "aws:identitystore:enterprise"
# the SCIM enterprise user's attributes (RFC 7643 §4.3), the only extension an identity store has
ENTERPRISE_ATTRIBUTES = ("employeeNumber", "costCenter", "organization", "division", "department", "manager")
# "Administrator" and "AWSAdministrators" cannot be user names in an Identity Center directory
RESERVED_USER_NAMES = frozenset({"administrator", "awsadministrators"})

# members of User/Group that are not attributes a caller sets
_SYSTEM = frozenset(
    {
        "IdentityStoreId",
        "UserId",
        "UserArn",
        "GroupId",
        "GroupArn",
        "Revision",
        "ExternalIds",
        "CreatedAt",
        "CreatedBy",
        "UpdatedAt",
        "UpdatedBy",
        "Extensions",
    }
)
_MAX_TEXT = 1024


@functools.cache
def _shape(name: str) -> StructureShape:
    shape = models.service_model("identitystore").shape_for(name)
    assert isinstance(shape, StructureShape)
    return shape


@functools.cache
def _attributes(kind: str) -> dict[str, str]:
    """casefolded attribute name -> member name of the User or Group shape."""
    return {m.casefold(): m for m in _shape(kind).members if m not in _SYSTEM}


def _normalize(shape: Shape, value: Any, path: str, strict: bool = True) -> Any:
    """A document value with its structures' keys spelled as the model's members."""
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise ValidationException(f"The attribute {path} must be an object")
        members = {m.casefold(): m for m in shape.members}
        out: dict[str, Any] = {}
        for key, item in value.items():
            member = members.get(str(key).casefold())
            if member is None:
                if not strict:  # SCIM's sub-attributes the identity store does not keep (display, $ref)
                    continue
                raise ValidationException(f"The attribute {path}.{key} is not a valid attribute")
            if item is not None:
                out[member] = _normalize(shape.members[member], item, f"{path}.{key}", strict)
        return out
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise ValidationException(f"The attribute {path} must be a list")
        return [_normalize(shape.member, item, path, strict) for item in value]
    if shape.type_name == "boolean" and not isinstance(value, bool):
        raise ValidationException(f"The attribute {path} must be a boolean")
    if shape.type_name == "string" and not isinstance(value, str):
        raise ValidationException(f"The attribute {path} must be a string")
    return value


def _extension_value(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationException(f"The extension {path} must be an object")
    names = {a.casefold(): a for a in ENTERPRISE_ATTRIBUTES}
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = names.get(str(key).casefold())
        if name is None:
            raise ValidationException(f"The attribute {path}.{key} is not a valid attribute")
        if item is None:
            continue
        if name == "manager":
            # SCIM's manager (RFC 7643 §4.3): value, $ref, displayName
            keys = {"value": "value", "$ref": "$ref", "displayname": "displayName"}
            if not isinstance(item, dict) or {str(k).casefold() for k in item} - set(keys):
                raise ValidationException(f"The attribute {path}.manager must be an object with a value")
            manager = {keys[str(k).casefold()]: v for k, v in item.items() if v is not None}
            if not manager:
                continue
            for key, value in manager.items():
                if not isinstance(value, str) or not 0 < len(value) <= _MAX_TEXT:
                    raise ValidationException(f"The attribute {path}.manager.{key} must be a string")
            item = manager
        elif not isinstance(item, str) or not 0 < len(item) <= _MAX_TEXT:
            raise ValidationException(f"The attribute {path}.{name} must be a string of 1 to 1024 characters")
        out[name] = item
    return out


def _extensions(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationException("Extensions must be a map")
    out: dict[str, Any] = {}
    for name, doc in value.items():
        if name != ENTERPRISE:
            raise ValidationException(f"The extension {name} is not supported")
        ext = _extension_value(doc, name)
        if ext:
            out[name] = ext
    return out


def normalize(kind: str, doc: dict[str, Any], strict: bool = True) -> dict[str, Any]:
    """A document whose attribute names and value keys may be spelled in any case (SCIM's camelCase),
    spelled as the model's members; an attribute the shape does not have is refused (a key inside a
    value too, unless not ``strict``: SCIM's ``display`` or ``$ref`` of a multi-valued attribute)."""
    shape = _shape(kind)
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "Extensions":
            out[key] = value
            continue
        member = _attributes(kind).get(key.casefold())
        if member is None:
            raise ValidationException(f"The attribute {key} is not a valid attribute")
        out[member] = _normalize(shape.members[member], value, _lower_first(member), strict)
    return out


def extension_value(value: Any) -> dict[str, Any]:
    """The enterprise extension's attributes, checked (names matched ignoring case)."""
    return _extension_value(value, ENTERPRISE)


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def user_document(params: dict[str, Any]) -> dict[str, Any]:
    """The stored document of CreateUser's parameters (already valid against the request shape)."""
    doc: dict[str, Any] = {m: copy.deepcopy(params[m]) for m in _attributes("User").values() if m in params}
    doc.setdefault("UserStatus", "ENABLED")
    if params.get("Extensions"):
        ext = _extensions(params["Extensions"])
        if ext:
            doc["Extensions"] = ext
    return doc


def group_document(params: dict[str, Any]) -> dict[str, Any]:
    return {m: params[m] for m in _attributes("Group").values() if m in params}


def check_user(doc: dict[str, Any]) -> None:
    """What AWS requires of a user after any change: a user name that is not reserved, a display
    name, a given and a family name; each value within its shape."""
    if not doc.get("UserName"):
        raise ValidationException("userName is a required attribute")
    if str(doc["UserName"]).casefold() in RESERVED_USER_NAMES:
        raise ValidationException(f"The user name {doc['UserName']} is reserved")
    missing = []
    if not doc.get("DisplayName"):
        missing.append("displayname")
    name = doc.get("Name")
    if not name:
        missing.append("name")
    else:
        if not name.get("GivenName"):
            missing.append("givenname")
        if not name.get("FamilyName"):
            missing.append("familyname")
    if missing:
        raise ValidationException(", ".join(f"{a}: The attribute {a} is required" for a in missing))
    _validate("CreateUserRequest", {k: v for k, v in doc.items() if k not in ("UserStatus", "Extensions")})
    if doc.get("UserStatus") not in ("ENABLED", "DISABLED"):
        raise ValidationException("userStatus must be ENABLED or DISABLED")


def check_group(doc: dict[str, Any]) -> None:
    if not doc.get("DisplayName"):
        raise ValidationException("displayName is a required attribute")
    _validate("CreateGroupRequest", doc)


def _validate(request_shape: str, doc: dict[str, Any]) -> None:
    message = models.validate(_shape(request_shape), {"IdentityStoreId": "d-0000000000", **doc})
    if message:
        raise ValidationException(message)


def apply_operations(kind: str, doc: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """The document after UpdateUser's or UpdateGroup's operations: each replaces the attribute at its
    path with its value, or removes it when the value is absent or null."""
    out = copy.deepcopy(doc)
    shape = _shape(kind)
    for op in operations:
        path = str(op["AttributePath"])
        value = op.get("AttributeValue")
        if kind == "User" and path.casefold().startswith(ENTERPRISE.casefold()):
            _apply_extension(out, path, value)
            continue
        parts = path.split(".")
        member = _attributes(kind).get(parts[0].casefold())
        if member is None:
            raise ValidationException(f"The attribute {path} is not a valid attribute path")
        target: dict[str, Any] = out
        member_shape = shape.members[member]
        for part in parts[1:]:
            if not isinstance(member_shape, StructureShape):
                raise ValidationException(f"The attribute {path} is not a valid attribute path")
            sub = target.get(member)
            if not isinstance(sub, dict):
                if value is None:
                    break
                sub = target[member] = {}
            target = sub
            names = {m.casefold(): m for m in member_shape.members}
            next_member = names.get(part.casefold())
            if next_member is None:
                raise ValidationException(f"The attribute {path} is not a valid attribute path")
            member, member_shape = next_member, member_shape.members[next_member]
        else:
            if value is None:
                target.pop(member, None)
            else:
                target[member] = _normalize(member_shape, value, path)
    if isinstance(out.get("Name"), dict) and not out["Name"]:
        del out["Name"]
    return out


def _apply_extension(doc: dict[str, Any], path: str, value: Any) -> None:
    name, _, rest = path.partition(".")
    if name.casefold() != ENTERPRISE.casefold():
        raise ValidationException(f"The extension {name} is not supported")
    extensions: dict[str, Any] = doc.setdefault("Extensions", {})
    current: dict[str, Any] = dict(extensions.get(ENTERPRISE) or {})
    if not rest:
        current = {} if value is None else _extension_value(value, ENTERPRISE)
    else:
        head, _, sub = rest.partition(".")
        if sub and head.casefold() != "manager":
            raise ValidationException(f"The attribute {path} is not a valid attribute path")
        if sub:
            if sub.casefold() != "value":
                raise ValidationException(f"The attribute {path} is not a valid attribute path")
            value = None if value is None else {"value": value}
        current.update(_extension_value({head: value}, ENTERPRISE))
        if value is None:
            names = {a.casefold(): a for a in ENTERPRISE_ATTRIBUTES}
            current.pop(names.get(head.casefold(), head), None)
    if current:
        extensions[ENTERPRISE] = current
    else:
        extensions.pop(ENTERPRISE, None)
    if not extensions:
        doc.pop("Extensions", None)


def with_extensions(doc: dict[str, Any], requested: list[str] | None) -> dict[str, Any]:
    """The attributes of a User output: extensions only when the request names them."""
    out = {k: v for k, v in doc.items() if k != "Extensions"}
    if requested:
        for name in requested:
            if name != ENTERPRISE:
                raise ValidationException(f"The extension {name} is not supported")
        chosen = {n: v for n, v in (doc.get("Extensions") or {}).items() if n in requested}
        if chosen:
            out["Extensions"] = chosen
    return out


def email_key(doc: dict[str, Any]) -> str | None:
    """The key GetUserId's ``emails.value`` looks a user up by: its e-mail address, case ignored."""
    emails = doc.get("Emails") or []
    value = emails[0].get("Value") if emails and isinstance(emails[0], dict) else None
    return str(value).casefold()[:1024] if value else None
