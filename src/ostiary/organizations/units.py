"""The root and organizational units: ListRoots, CreateOrganizationalUnit, DescribeOrganizationalUnit,
UpdateOrganizationalUnit, DeleteOrganizationalUnit, ListOrganizationalUnitsForParent, ListParents,
ListChildren (AWS Organizations API Reference).

An OU's name is unique among its siblings; OUs nest at most five deep under the root. A new OU gets
the AWS managed ``FullAWSAccess`` SCP when the SCP type is enabled, as AWS attaches it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ostiary.organizations import structure as s
from ostiary.organizations import tagging
from ostiary.organizations.errors import (
    ChildNotFoundException,
    ConstraintViolationException,
    DuplicateOrganizationalUnitException,
    InvalidInputException,
    OrganizationalUnitNotEmptyException,
    OrganizationalUnitNotFoundException,
    ParentNotFoundException,
)
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t

PARENT_NOT_FOUND = "We can't find a root or OU with the ParentId that you specified."
OU_NOT_FOUND = "We can't find an OU with the OrganizationalUnitId that you specified."
DUPLICATE_OU = "An OU with the same name already exists."


def ou_shape(org: s.Org, row: Any) -> dict[str, Any]:
    return {"Id": row.ou_id, "Arn": s.ou_arn(org.mgmt, org.org_id, row.ou_id), "Name": row.name}


def parent(conn: Connection, org: s.Org, parent_id: str) -> str:
    """``parent_id`` if it names ``org``'s root or one of its OUs; ParentNotFoundException otherwise."""
    if s.node_kind(conn, org, parent_id) not in (s.ROOT, s.OU):
        raise ParentNotFoundException(PARENT_NOT_FOUND)
    return parent_id


def _ou(conn: Connection, org: s.Org, ou_id: str) -> Any:
    row = conn.execute(
        select(t.org_units).where(t.org_units.c.ou_id == ou_id, t.org_units.c.org_id == org.org_id)
    ).first()
    if row is None:
        raise OrganizationalUnitNotFoundException(OU_NOT_FOUND)
    return row


def _name_taken(conn: Connection, org: s.Org, parent_id: str, name: str) -> bool:
    u = t.org_units.c
    found = conn.execute(
        select(u.ou_id).where(u.org_id == org.org_id, u.parent_id == parent_id, u.name == name)
    ).first()
    return found is not None


@operation("organizations", "ListRoots")
def list_roots(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
    chunk, token = s.page([org.root_shape()], params, lambda r: str(r["Id"]))
    return s.paged({}, "Roots", chunk, token)


@operation("organizations", "CreateOrganizationalUnit", resource=s.resource("ParentId"))
def create_organizational_unit(ctx: RequestContext, params: Params) -> Result:
    name = params["Name"]
    try:
        with ctx.store.tx() as conn:
            org = s.management(conn, ctx)
            parent_id = parent(conn, org, params["ParentId"])
            if s.depth(conn, org, parent_id) >= s.MAX_OU_DEPTH:
                raise ConstraintViolationException(
                    "You attempted to create an OU tree that is too many levels deep.", Reason="OU_DEPTH_LIMIT_EXCEEDED"
                )
            if _name_taken(conn, org, parent_id, name):
                raise DuplicateOrganizationalUnitException(DUPLICATE_OU)
            ou_id = s.new_ou_id(org.root_id)
            conn.execute(
                insert(t.org_units).values(
                    ou_id=ou_id, org_id=org.org_id, parent_id=parent_id, name=name, created_at=ctx.now
                )
            )
            s.attach_defaults(conn, org, ou_id, ctx.now)
            if params.get("Tags"):
                tagging.write(conn, org, s.ou_arn(org.mgmt, org.org_id, ou_id), params["Tags"])
            row = _ou(conn, org, ou_id)
    except IntegrityError:  # a concurrent creation of the same name under the same parent
        raise DuplicateOrganizationalUnitException(DUPLICATE_OU) from None
    return {"OrganizationalUnit": ou_shape(org, row)}


@operation("organizations", "DescribeOrganizationalUnit", resource=s.resource("OrganizationalUnitId"))
def describe_organizational_unit(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        row = _ou(conn, org, params["OrganizationalUnitId"])
    return {"OrganizationalUnit": ou_shape(org, row)}


@operation("organizations", "UpdateOrganizationalUnit", resource=s.resource("OrganizationalUnitId"))
def update_organizational_unit(ctx: RequestContext, params: Params) -> Result:
    try:
        with ctx.store.tx() as conn:
            org = s.management(conn, ctx)
            row = _ou(conn, org, params["OrganizationalUnitId"])
            name = params.get("Name")
            if name is not None and name != row.name:
                if _name_taken(conn, org, row.parent_id, name):
                    raise DuplicateOrganizationalUnitException(DUPLICATE_OU)
                conn.execute(update(t.org_units).where(t.org_units.c.ou_id == row.ou_id).values(name=name))
            row = _ou(conn, org, row.ou_id)
    except IntegrityError:
        raise DuplicateOrganizationalUnitException(DUPLICATE_OU) from None
    return {"OrganizationalUnit": ou_shape(org, row)}


@operation("organizations", "DeleteOrganizationalUnit", resource=s.resource("OrganizationalUnitId"))
def delete_organizational_unit(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        org = s.management(conn, ctx)
        row = _ou(conn, org, params["OrganizationalUnitId"])
        if _children(conn, org, row.ou_id, s.OU) or _children(conn, org, row.ou_id, s.ACCOUNT):
            raise OrganizationalUnitNotEmptyException(
                "The specified OU is not empty. Move all accounts to another root or to other OUs, remove all "
                "child OUs, and try the operation again."
            )
        pa = t.org_policy_attachments.c
        conn.execute(delete(t.org_policy_attachments).where(pa.org_id == org.org_id, pa.target_id == row.ou_id))
        tagging.drop(conn, s.ou_arn(org.mgmt, org.org_id, row.ou_id))
        conn.execute(delete(t.org_units).where(t.org_units.c.ou_id == row.ou_id))
        s.changed(conn)
    return {}


def _children(conn: Connection, org: s.Org, parent_id: str, kind: str) -> list[str]:
    if kind == s.OU:
        u = t.org_units.c
        query = select(u.ou_id).where(u.org_id == org.org_id, u.parent_id == parent_id).order_by(u.ou_id)
    else:
        a = t.org_accounts.c
        query = select(a.account_id).where(a.org_id == org.org_id, a.parent_id == parent_id).order_by(a.account_id)
    return [str(v) for v in conn.execute(query).scalars()]


@operation("organizations", "ListOrganizationalUnitsForParent", resource=s.resource("ParentId"))
def list_organizational_units_for_parent(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        parent_id = parent(conn, org, params["ParentId"])
        u = t.org_units.c
        rows = conn.execute(
            select(t.org_units).where(u.org_id == org.org_id, u.parent_id == parent_id).order_by(u.ou_id)
        ).all()
    chunk, token = s.page([ou_shape(org, r) for r in rows], params, lambda ou: str(ou["Id"]))
    return s.paged({}, "OrganizationalUnits", chunk, token)


@operation("organizations", "ListParents", resource=s.resource("ChildId"))
def list_parents(ctx: RequestContext, params: Params) -> Result:
    child = params["ChildId"]
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        found = s.parent_of(conn, org, child)
    if found is None:
        raise ChildNotFoundException(
            "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified."
        )
    kind = s.ROOT if found == org.root_id else s.OU
    chunk, token = s.page([{"Id": found, "Type": kind}], params, lambda p: str(p["Id"]))
    return s.paged({}, "Parents", chunk, token)


@operation("organizations", "ListChildren", resource=s.resource("ParentId"))
def list_children(ctx: RequestContext, params: Params) -> Result:
    kind = params["ChildType"]
    if kind not in (s.OU, s.ACCOUNT):
        raise InvalidInputException("You specified an invalid value for ChildType.", Reason="INVALID_ENUM")
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        parent_id = parent(conn, org, params["ParentId"])
        ids = _children(conn, org, parent_id, kind)
    chunk, token = s.page([{"Id": i, "Type": kind} for i in ids], params, lambda c: str(c["Id"]))
    return s.paged({}, "Children", chunk, token)
