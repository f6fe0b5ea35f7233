"""Attributes for access control (sso-admin): Create/Describe/Update/DeleteInstanceAccessControl-
AttributeConfiguration; and ``session_tags``, the session tags a directory user's role session
carries (the portal API's GetRoleCredentials applies them).

IAM Identity Center User Guide, "Attributes for access control": each attribute is a key (the
session tag's key, ``aws:PrincipalTag/<key>`` in policies) and one source, a path into the user's
identity store attributes, ``${path:<attribute>}``: ``userName``, ``displayName``, ``nickName``,
``title``, ``name.givenName``…, ``emails[primary eq true].value``, ``addresses[primary eq
true].locality``…, ``phoneNumbers[primary eq true].value``, ``enterprise.department``…
(``enterprise`` is the identity store's ``aws:identitystore:enterprise`` extension). An attribute the
user lacks is left out of the session. Sources from an external IdP's directory (``${dir:…}``) do not
apply to an identity store and are refused.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ostiary.audit import recorder as audit
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import instances
from ostiary.ssoadmin.errors import ConflictException, ResourceNotFoundException, ValidationException
from ostiary.store import tables as t

ENTERPRISE = "aws:identitystore:enterprise"
_SOURCE = re.compile(r"^\$\{path:([A-Za-z.]+|(?:emails|addresses|phoneNumbers)\[primary eq true\]\.[A-Za-z]+)\}$")
_TOP = {
    "username": "UserName",
    "displayname": "DisplayName",
    "nickname": "NickName",
    "profileurl": "ProfileUrl",
    "title": "Title",
    "usertype": "UserType",
    "preferredlanguage": "PreferredLanguage",
    "locale": "Locale",
    "timezone": "Timezone",
}
_NAME = {"formatted", "familyname", "givenname", "middlename", "honorificprefix", "honorificsuffix"}
_MULTI = {
    "emails": ("Emails", {"value", "type"}),
    "addresses": (
        "Addresses",
        {"streetaddress", "locality", "region", "postalcode", "country", "formatted", "type"},
    ),
    "phonenumbers": ("PhoneNumbers", {"value", "type"}),
}
_ENTERPRISE = {"employeenumber", "costcenter", "organization", "division", "department", "manager"}


def _path(source: str) -> list[str]:
    """The attribute path of a source, checked (ValidationException when Ostiary cannot resolve it)."""
    match = _SOURCE.match(source)
    if match is None:
        raise ValidationException(
            f"Invalid attribute source {source}: use ${{path:<attribute>}} of the identity store's user."
        )
    path = match.group(1).replace("[primary eq true]", "").lower().split(".")
    ok = (
        (len(path) == 1 and path[0] in _TOP)
        or (len(path) == 2 and path[0] == "name" and path[1] in _NAME)
        or (len(path) == 2 and path[0] in _MULTI and path[1] in _MULTI[path[0]][1])
        or (len(path) in (2, 3) and path[0] == "enterprise" and path[1] in _ENTERPRISE)
    )
    if not ok:
        raise ValidationException(f"Invalid attribute source {source}: not an attribute of an identity store user.")
    return path


def _get(mapping: Any, key: str) -> Any:
    """A document member by name, ignoring case (how the identity store matches attribute names)."""
    if not isinstance(mapping, dict):
        return None
    for k, v in mapping.items():
        if k.lower() == key.lower():
            return v
    return None


def _resolve(path: list[str], user_name: str, document: dict[str, Any]) -> str | None:
    head = path[0]
    if head == "username":
        value: Any = user_name
    elif head in _TOP:
        value = _get(document, _TOP[head])
    elif head == "name":
        value = _get(_get(document, "Name"), path[1])
    elif head in _MULTI:
        items = _get(document, _MULTI[head][0]) or []
        primary = next((i for i in items if isinstance(i, dict) and _get(i, "Primary") is True), None)
        value = _get(primary, path[1])
    else:  # enterprise
        value = _get(_get(_get(document, "Extensions"), ENTERPRISE), path[1])
        if len(path) == 3 or isinstance(value, dict):
            value = _get(value, path[2] if len(path) == 3 else "value")
    return value if isinstance(value, str) and value else None


def _check(attributes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = [a["Key"] for a in attributes]
    if len({k.lower() for k in keys}) != len(keys):
        raise ValidationException("Duplicate keys in the attributes for access control.")
    for attribute in attributes:
        for source in attribute["Value"]["Source"]:
            _path(source)
    return [{"Key": a["Key"], "Value": {"Source": list(a["Value"]["Source"])}} for a in attributes]


def session_tags(conn: Connection, instance_arn: str, user_id: str) -> dict[str, str]:
    """The session tags of ``user_id``'s role sessions: each configured attribute the user has."""
    config = conn.execute(
        select(t.sso_access_control.c.attributes).where(t.sso_access_control.c.instance_arn == instance_arn)
    ).first()
    if config is None or not config.attributes:
        return {}
    u = t.identitystore_users.c
    user = conn.execute(
        select(u.user_name, u.document)
        .select_from(
            t.identitystore_users.join(t.sso_instances, t.sso_instances.c.identity_store_id == u.identity_store_id)
        )
        .where(t.sso_instances.c.instance_arn == instance_arn, u.user_id == user_id)
    ).first()
    if user is None:
        return {}
    tags: dict[str, str] = {}
    for attribute in config.attributes:
        for source in attribute["Value"]["Source"]:
            value = _resolve(_path(source), user.user_name, dict(user.document or {}))
            if value is not None:
                tags[attribute["Key"]] = value[:256]
    return tags


def _resource(ctx: RequestContext, params: Params) -> str:
    return str(params["InstanceArn"])


def _configuration(conn: Connection, instance_arn: str) -> Any:
    return conn.execute(select(t.sso_access_control).where(t.sso_access_control.c.instance_arn == instance_arn)).first()


@operation("sso-admin", "CreateInstanceAccessControlAttributeConfiguration", resource=_resource)
def create_configuration(ctx: RequestContext, params: Params) -> Result:
    attributes = _check(list(params["InstanceAccessControlAttributeConfiguration"]["AccessControlAttributes"]))
    with ctx.store.tx() as conn:
        instance = instances.find(conn, params["InstanceArn"], ctx.account_id)
        if _configuration(conn, instance["instance_arn"]) is not None:
            raise ConflictException("The instance already has attributes for access control configured.")
        conn.execute(
            insert(t.sso_access_control).values(
                instance_arn=instance["instance_arn"], attributes=attributes, updated_at=ctx.now
            )
        )
        audit.record(conn, ctx, params)
    return {}


@operation("sso-admin", "DescribeInstanceAccessControlAttributeConfiguration", resource=_resource)
def describe_configuration(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        instance = instances.find(conn, params["InstanceArn"], ctx.account_id)
        row = _configuration(conn, instance["instance_arn"])
    if row is None:
        raise ResourceNotFoundException("The instance has no attributes for access control configured.")
    return {
        "Status": "ENABLED",
        "InstanceAccessControlAttributeConfiguration": {"AccessControlAttributes": list(row.attributes)},
    }


@operation("sso-admin", "UpdateInstanceAccessControlAttributeConfiguration", resource=_resource)
def update_configuration(ctx: RequestContext, params: Params) -> Result:
    attributes = _check(list(params["InstanceAccessControlAttributeConfiguration"]["AccessControlAttributes"]))
    with ctx.store.tx() as conn:
        instance = instances.find(conn, params["InstanceArn"], ctx.account_id)
        if _configuration(conn, instance["instance_arn"]) is None:
            raise ResourceNotFoundException("The instance has no attributes for access control configured.")
        conn.execute(
            update(t.sso_access_control)
            .where(t.sso_access_control.c.instance_arn == instance["instance_arn"])
            .values(attributes=attributes, updated_at=ctx.now)
        )
        audit.record(conn, ctx, params)
    return {}


@operation("sso-admin", "DeleteInstanceAccessControlAttributeConfiguration", resource=_resource)
def delete_configuration(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        instance = instances.find(conn, params["InstanceArn"], ctx.account_id)
        gone = conn.execute(
            delete(t.sso_access_control).where(t.sso_access_control.c.instance_arn == instance["instance_arn"])
        ).rowcount
        if not gone:
            raise ResourceNotFoundException("The instance has no attributes for access control configured.")
        audit.record(conn, ctx, params)
    return {}
