"""An identity store's users and groups as SCIM resources (RFC 7643 §4), and back.

SCIM attribute names are the identitystore members' names with a lower-case first letter
(``userName`` ↔ ``UserName``, ``name.givenName`` ↔ ``Name.GivenName``, ``emails[].value`` ↔
``Emails[].Value``); ``active`` is ``UserStatus``; ``externalId`` is an ExternalId whose issuer is
the store's SCIM endpoint; the enterprise extension is ``aws:identitystore:enterprise``. Attributes
the identity store does not keep are ignored, as AWS's SCIM endpoint ignores them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.engine import RowMapping

from ostiary.identitystore import documents
from ostiary.identitystore.scim.filters import CORE_GROUP, CORE_USER, ENTERPRISE_USER, get_ci

MAX_MEMBERS = 1000  # member values in one request (a POST, PUT or one PATCH operation)

# the SCIM user attributes kept in the document (the rest of the User shape has no SCIM attribute)
_USER_ATTRIBUTES = (
    "UserName",
    "Name",
    "DisplayName",
    "NickName",
    "ProfileUrl",
    "Emails",
    "Addresses",
    "PhoneNumbers",
    "UserType",
    "Title",
    "PreferredLanguage",
    "Locale",
    "Timezone",
    "Photos",
    "Roles",
)
_BY_SCIM = {a.casefold(): a for a in _USER_ATTRIBUTES}


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _to_scim(value: Any) -> Any:
    if isinstance(value, dict):
        return {_lower_first(k): _to_scim(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_scim(v) for v in value]
    return value


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def etag(revision: int) -> str:
    return f'W/"{revision}"'


def _meta(kind: str, row: RowMapping, location: str) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "created": _iso(row["created_at"]),
        "lastModified": _iso(row["updated_at"]),
        "version": etag(int(row["revision"])),
        "location": location,
    }


def user_resource(row: RowMapping, external_id: str | None, location: str) -> dict[str, Any]:
    doc = row["document"]
    out: dict[str, Any] = {"schemas": [CORE_USER], "id": row["user_id"]}
    if external_id:
        out["externalId"] = external_id
    for attr in _USER_ATTRIBUTES:
        if attr in doc:
            out[_lower_first(attr)] = _to_scim(doc[attr])
    out["active"] = doc.get("UserStatus", "ENABLED") == "ENABLED"
    enterprise = (doc.get("Extensions") or {}).get(documents.ENTERPRISE)
    if enterprise:
        out["schemas"].append(ENTERPRISE_USER)
        out[ENTERPRISE_USER] = dict(enterprise)
    out["meta"] = _meta("User", row, location)
    return out


def group_resource(
    row: RowMapping, external_id: str | None, members: list[dict[str, str]] | None, location: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"schemas": [CORE_GROUP], "id": row["group_id"], "displayName": row["display_name"]}
    if external_id:
        out["externalId"] = external_id
    if members is not None:
        out["members"] = members
    out["meta"] = _meta("Group", row, location)
    return out


def _bool(value: Any) -> bool | None:
    """SCIM booleans; Azure AD sends ``"True"``/``"False"`` strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.casefold() in ("true", "false"):
        return value.casefold() == "true"
    return None


class MappingError(ValueError):
    """A SCIM value that is not what its attribute holds (SCIM ``invalidValue``)."""


def user_document(body: dict[str, Any], keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """The identity store document of a SCIM user (a PUT replaces every attribute SCIM carries;
    ``keep``'s attributes that SCIM has no name for, such as ``Website``, stay)."""
    doc: dict[str, Any] = {k: v for k, v in (keep or {}).items() if k not in _USER_ATTRIBUTES}
    doc.pop("Extensions", None)
    for key, value in body.items():
        attr = _BY_SCIM.get(key.casefold())
        if attr is None or value is None or value == [] or value == {}:
            continue
        doc[attr] = value  # member names inside values are matched ignoring case by check_user's normalization
    doc = documents.normalize("User", doc, strict=False)
    active = get_ci(body, "active")
    if active is None:
        doc["UserStatus"] = (keep or {}).get("UserStatus", "ENABLED")
    else:
        flag = _bool(active)
        if flag is None:
            raise MappingError("active must be a boolean")
        doc["UserStatus"] = "ENABLED" if flag else "DISABLED"
    enterprise = get_ci(body, ENTERPRISE_USER)
    if isinstance(enterprise, dict):
        manager = get_ci(enterprise, "manager")
        if isinstance(manager, str):  # Azure AD sends the manager's id as a string
            enterprise = {**enterprise, "manager": {"value": manager}}
        ext = documents.extension_value(
            {k: v for k, v in enterprise.items() if k.casefold() not in ("schemas", "$ref")}
        )
        if ext:
            doc["Extensions"] = {documents.ENTERPRISE: ext}
    return doc


def group_document(body: dict[str, Any], keep: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = dict(keep or {})
    name = get_ci(body, "displayName")
    if name is not None:
        doc["DisplayName"] = name
    return doc


def external_id(body: dict[str, Any]) -> str | None:
    value = get_ci(body, "externalId")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 256:
        raise MappingError("externalId must be a string of at most 256 characters")
    return value


def member_ids(value: Any) -> list[str]:
    """The user ids of a ``members`` value (``[{"value": id}, …]``)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_MEMBERS:
        raise MappingError(f"At most {MAX_MEMBERS} members per request")
    out = []
    for item in items:
        member = get_ci(item, "value") if isinstance(item, dict) else item
        if not isinstance(member, str) or not member:
            raise MappingError("members must be a list of objects with a value")
        out.append(member)
    return out
