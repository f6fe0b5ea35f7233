"""SCIM's discovery resources (RFC 7644 §4, RFC 7643 §5-7): ServiceProviderConfig, ResourceTypes and
Schemas, describing what this endpoint does (the attributes the identity store keeps)."""

from __future__ import annotations

from typing import Any

from ostiary.identitystore.scim.filters import CORE_GROUP, CORE_USER, ENTERPRISE_USER
from ostiary.identitystore.scim.service import MAX_COUNT

SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


def _attr(
    name: str,
    kind: str = "string",
    *,
    multi: bool = False,
    required: bool = False,
    case_exact: bool = False,
    mutability: str = "readWrite",
    uniqueness: str = "none",
    subs: list[dict[str, Any]] | None = None,
    refs: list[str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": name,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    }
    if subs is not None:
        out["subAttributes"] = subs
    if kind == "reference":
        out["referenceTypes"] = refs or ["external"]
    return out


def _multi(name: str, *extra: str) -> dict[str, Any]:
    subs = [_attr("value"), _attr("type"), _attr("primary", "boolean")] + [_attr(e) for e in extra]
    return _attr(name, "complex", multi=True, subs=subs)


USER_ATTRIBUTES = [
    _attr("userName", required=True, uniqueness="server"),
    _attr(
        "name",
        "complex",
        required=True,
        subs=[
            _attr("formatted"),
            _attr("familyName", required=True),
            _attr("givenName", required=True),
            _attr("middleName"),
            _attr("honorificPrefix"),
            _attr("honorificSuffix"),
        ],
    ),
    _attr("displayName", required=True),
    _attr("nickName"),
    _attr("profileUrl", "reference"),
    _attr("title"),
    _attr("userType"),
    _attr("preferredLanguage"),
    _attr("locale"),
    _attr("timezone"),
    _attr("active", "boolean"),
    _multi("emails"),
    _multi("phoneNumbers"),
    _attr(
        "addresses",
        "complex",
        multi=True,
        subs=[_attr(s) for s in ("formatted", "streetAddress", "locality", "region", "postalCode", "country", "type")]
        + [_attr("primary", "boolean")],
    ),
    _multi("photos", "display"),
    _multi("roles"),
]

GROUP_ATTRIBUTES = [
    _attr("displayName", required=True, uniqueness="server"),
    _attr(
        "members",
        "complex",
        multi=True,
        subs=[
            _attr("value", case_exact=True, mutability="immutable"),
            _attr("$ref", "reference", mutability="immutable", refs=["User"]),  # groups do not nest
            _attr("display", mutability="readOnly"),
        ],
    ),
]

ENTERPRISE_ATTRIBUTES = [
    _attr("employeeNumber"),
    _attr("costCenter"),
    _attr("organization"),
    _attr("division"),
    _attr("department"),
    _attr(
        "manager",
        "complex",
        subs=[_attr("value"), _attr("$ref", "reference", refs=["User"]), _attr("displayName", mutability="readOnly")],
    ),
]


def _schema(urn: str, name: str, attributes: list[dict[str, Any]], base: str) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA],
        "id": urn,
        "name": name,
        "description": name,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{urn}"},
    }


def schemas(base: str) -> list[dict[str, Any]]:
    return [
        _schema(CORE_USER, "User", USER_ATTRIBUTES, base),
        _schema(CORE_GROUP, "Group", GROUP_ATTRIBUTES, base),
        _schema(ENTERPRISE_USER, "EnterpriseUser", ENTERPRISE_ATTRIBUTES, base),
    ]


def resource_types(base: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RESOURCE_TYPE],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": CORE_USER,
            "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
        },
        {
            "schemas": [RESOURCE_TYPE],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": CORE_GROUP,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"},
        },
    ]


def service_provider_config(base: str) -> dict[str, Any]:
    return {
        "schemas": [SPC],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_COUNT},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A SCIM access token of the instance (ostiary scim token create)",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"},
    }
