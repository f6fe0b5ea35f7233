"""The SCIM 2.0 service of one identity store (RFC 7644): Users and Groups (list with filter and
paging, get, create, replace, patch, delete), each on a connection the caller holds (reads in
``store.read()``, writes in one ``store.tx()``). Everything goes through ``records.py``, so a user or
group written over SCIM is the same row the identitystore API reads, with the same checks.

Paging is ``startIndex`` (1-based) and ``count`` (at most MAX_COUNT); ``userName eq``, ``displayName
eq``, ``externalId eq`` and ``id eq`` are answered by an index, other filters are evaluated over the
store's resources. ETags are the resources' revisions (``W/"<n>"``); ``If-Match`` makes a write
conditional (412 when stale).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import RowMapping

from ostiary.audit import recorder as audit
from ostiary.identitystore import directory, records
from ostiary.identitystore.scim import filters, mapping, patch
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import ServiceError
from ostiary.ssoadmin.errors import ConflictException, ResourceNotFoundException, ValidationException
from ostiary.store import tables as t

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MAX_COUNT = 100
ACTOR = "SCIM"  # CreatedBy/UpdatedBy of what the SCIM endpoint writes


class ScimError(Exception):
    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemas": [ERROR], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            out["scimType"] = self.scim_type
        return out


@dataclass(frozen=True)
class Endpoint:
    """One store's SCIM endpoint as a request sees it."""

    store_id: str
    base: str  # <public URL>/scim/<store id>/v2
    now: dt.datetime
    account_id: str = ""  # the instance owner's: its audit events
    ctx: RequestContext | None = None  # the request, as the audit recorder sees it (None: not audited)

    @property
    def issuer(self) -> str:
        """The Issuer of the ExternalIds SCIM's ``externalId`` is kept as."""
        return self.base

    def location(self, kind: str, rid: str) -> str:
        return f"{self.base}/{kind}/{rid}"


@contextmanager
def translated() -> Iterator[None]:
    """The identity store's errors as SCIM errors."""
    try:
        yield
    except ValidationException as e:
        raise ScimError(400, e.message, "invalidValue") from None
    except ConflictException as e:
        if e.fields.get("Reason") == "CONCURRENT_MODIFICATION":
            raise ScimError(412, "The resource was modified concurrently; retry.") from None
        raise ScimError(409, e.message, "uniqueness") from None
    except ResourceNotFoundException as e:
        raise ScimError(404, e.message) from None
    except (mapping.MappingError, patch.PatchError) as e:
        raise ScimError(400, str(e), getattr(e, "scim_type", "invalidValue")) from None
    except filters.FilterError as e:
        raise ScimError(400, str(e), "invalidFilter") from None
    except ServiceError as e:  # pragma: no cover - any other identity store error
        raise ScimError(400, e.message) from None


def _check_etag(if_match: str | None, revision: int) -> None:
    if if_match is None:
        return
    wanted = [v.strip().removeprefix("W/").strip('"') for v in if_match.split(",")]
    if "*" not in wanted and str(revision) not in wanted:
        raise ScimError(412, "The resource has changed (If-Match does not match its ETag).")


def _external_id(conn: Connection, ep: Endpoint, kind: str, rid: str) -> str | None:
    for ext in records.external_ids_of(conn, kind, [rid]).get(rid, []):
        if ext["Issuer"] == ep.issuer:
            return ext["Id"]
    return None


def _set_external_id(conn: Connection, ep: Endpoint, kind: str, rid: str, value: str | None) -> None:
    others = [e for e in records.external_ids_of(conn, kind, [rid]).get(rid, []) if e["Issuer"] != ep.issuer]
    mine = [{"Issuer": ep.issuer, "Id": value}] if value else []
    records.set_external_ids(conn, ep.store_id, kind, rid, others + mine)


def search_params(body: dict[str, Any]) -> dict[str, str]:
    """A SearchRequest (POST ``…/.search``, RFC 7644 §3.4.3) as the query parameters of a GET."""
    out: dict[str, str] = {}
    for name in ("filter", "startIndex", "count", "attributes", "excludedAttributes"):
        value = filters.get_ci(body, name)
        if value is None:
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        out[name] = str(value)
    return out


def _paging(params: Mapping[str, str]) -> tuple[int, int]:
    try:
        start = int(params.get("startIndex", "1"))
        count = int(params.get("count", str(MAX_COUNT)))
    except ValueError:
        raise ScimError(400, "startIndex and count must be integers", "invalidValue") from None
    return max(start, 1), min(max(count, 0), MAX_COUNT)


def _project(resource: dict[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
    """``attributes`` / ``excludedAttributes`` (top-level names; id, schemas and meta always kept)."""
    always = {"id", "schemas", "meta"}
    wanted = params.get("attributes")
    if wanted:
        keep = {a.strip().split(".")[0].casefold() for a in wanted.split(",")} | always
        return {k: v for k, v in resource.items() if k.casefold() in keep}
    excluded = params.get("excludedAttributes")
    if excluded:
        drop = {a.strip().split(".")[0].casefold() for a in excluded.split(",")} - always
        return {k: v for k, v in resource.items() if k.casefold() not in drop}
    return resource


def _list_response(resources: list[dict[str, Any]], total: int, start: int) -> dict[str, Any]:
    return {
        "schemas": [LIST],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start,
        "Resources": resources,
    }


def _equality(f: filters.Filter | None, names: tuple[str, ...]) -> tuple[str, str] | None:
    """(attribute, value) when the filter is one ``<attr> eq "<string>"`` on an indexed attribute."""
    if not isinstance(f, filters.Compare) or f.op != "eq" or not isinstance(f.value, str):
        return None
    if f.path.schema is None and f.path.sub is None and f.path.attr.casefold() in names:
        return f.path.attr.casefold(), f.value
    return None


# ---------------------------------------------------------------------------------------------
# users


def _user(conn: Connection, ep: Endpoint, row: RowMapping, ext: str | None = None) -> dict[str, Any]:
    return mapping.user_resource(row, ext, ep.location("Users", row["user_id"]))


def _user_rows(conn: Connection, ep: Endpoint, f: filters.Filter | None) -> list[RowMapping]:
    u = t.identitystore_users
    eq = _equality(f, ("username", "id", "externalid"))
    if eq is None:
        query = select(u).where(u.c.identity_store_id == ep.store_id).order_by(u.c.created_at, u.c.user_id)
        return list(conn.execute(query).mappings().all())
    attr, value = eq
    if attr == "username":
        row = directory.user_by_name(conn, ep.store_id, value)
    elif attr == "id":
        row = directory.user(conn, ep.store_id, value)
    else:
        rid = records.by_external_id(conn, ep.store_id, records.USER, ep.issuer, value)
        row = directory.user(conn, ep.store_id, rid) if rid else None
    return [row] if row is not None else []


def list_users(conn: Connection, ep: Endpoint, params: Mapping[str, str]) -> dict[str, Any]:
    start, count = _paging(params)
    with translated():
        f = filters.parse(params["filter"]) if params.get("filter") else None
    if f is None:  # one page of the store, in SQL
        u = t.identitystore_users
        total = _count(conn, u, ep.store_id)
        query = select(u).where(u.c.identity_store_id == ep.store_id).order_by(u.c.created_at, u.c.user_id)
        rows = list(conn.execute(query.offset(start - 1).limit(count)).mappings().all()) if count else []
    else:
        rows = _user_rows(conn, ep, f)
    ext = records.external_ids_of(conn, records.USER, [r["user_id"] for r in rows])

    def external(rid: str) -> str | None:
        return next((e["Id"] for e in ext.get(rid, []) if e["Issuer"] == ep.issuer), None)

    resources = [_user(conn, ep, r, external(r["user_id"])) for r in rows]
    if f is None:
        return _list_response([_project(r, params) for r in resources], total, start)
    resources = [r for r in resources if filters.matches(f, r)]
    page = resources[start - 1 : start - 1 + count]
    return _list_response([_project(r, params) for r in page], len(resources), start)


def _count(conn: Connection, table: Any, store_id: str) -> int:
    return int(
        conn.execute(select(func.count()).select_from(table).where(table.c.identity_store_id == store_id)).scalar_one()
    )


def get_user(conn: Connection, ep: Endpoint, user_id: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
    with translated():
        row = records.get_user(conn, ep.store_id, user_id)
    return _project(_user(conn, ep, row, _external_id(conn, ep, records.USER, user_id)), params or {})


def create_user(conn: Connection, ep: Endpoint, body: dict[str, Any]) -> dict[str, Any]:
    with translated():
        doc = mapping.user_document(body)
        ext = mapping.external_id(body)
        user_id, _ = records.create_user(conn, ep.store_id, doc, ACTOR, ep.now)
        if ext:
            _set_external_id(conn, ep, records.USER, user_id, ext)
    return get_user(conn, ep, user_id)


def _write_user(
    conn: Connection, ep: Endpoint, row: RowMapping, resource: dict[str, Any], old_ext: str | None
) -> dict[str, Any]:
    with translated():
        doc = mapping.user_document(resource, keep=row["document"])
        ext = mapping.external_id(resource)
        if doc != row["document"]:
            records.update_user(conn, row, doc, ACTOR, ep.now)
        if ext != old_ext:
            _set_external_id(conn, ep, records.USER, row["user_id"], ext)
    return get_user(conn, ep, row["user_id"])


def replace_user(
    conn: Connection, ep: Endpoint, user_id: str, body: dict[str, Any], if_match: str | None
) -> dict[str, Any]:
    with translated():
        row = records.get_user(conn, ep.store_id, user_id)
    _check_etag(if_match, int(row["revision"]))
    return _write_user(conn, ep, row, body, _external_id(conn, ep, records.USER, user_id))


def patch_user(conn: Connection, ep: Endpoint, user_id: str, body: Any, if_match: str | None) -> dict[str, Any]:
    with translated():
        row = records.get_user(conn, ep.store_id, user_id)
        _check_etag(if_match, int(row["revision"]))
        old_ext = _external_id(conn, ep, records.USER, user_id)
        current = _user(conn, ep, row, old_ext)
        changed = patch.apply(current, patch.operations(body))
    return _write_user(conn, ep, row, changed, old_ext)


def delete_user(conn: Connection, ep: Endpoint, user_id: str, if_match: str | None) -> None:
    row = directory.user(conn, ep.store_id, user_id)
    if row is None:
        raise ScimError(404, "USER not found.")
    _check_etag(if_match, int(row["revision"]))
    records.delete_user(conn, ep.store_id, user_id)


# ---------------------------------------------------------------------------------------------
# groups


def _members(conn: Connection, ep: Endpoint, group_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    if not group_ids:
        return {}
    m = t.identitystore_memberships
    rows = conn.execute(
        select(m.c.group_id, m.c.user_id)
        .where(m.c.identity_store_id == ep.store_id, m.c.group_id.in_(group_ids))
        .order_by(m.c.group_id, m.c.created_at, m.c.user_id)
    )
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for gid, uid in rows:
        out[gid].append({"value": uid, "$ref": ep.location("Users", uid)})
    return out


def _group(ep: Endpoint, row: RowMapping, ext: str | None, members: list[dict[str, str]] | None) -> dict[str, Any]:
    return mapping.group_resource(row, ext, members, ep.location("Groups", row["group_id"]))


def _group_rows(conn: Connection, ep: Endpoint, f: filters.Filter | None) -> list[RowMapping]:
    g = t.identitystore_groups
    eq = _equality(f, ("displayname", "id", "externalid"))
    if eq is None:
        query = select(g).where(g.c.identity_store_id == ep.store_id).order_by(g.c.created_at, g.c.group_id)
        return list(conn.execute(query).mappings().all())
    attr, value = eq
    if attr == "displayname":
        row = records.group_by_name(conn, ep.store_id, value)
    elif attr == "id":
        row = directory.group(conn, ep.store_id, value)
    else:
        rid = records.by_external_id(conn, ep.store_id, records.GROUP, ep.issuer, value)
        row = directory.group(conn, ep.store_id, rid) if rid else None
    return [row] if row is not None else []


def _mentions_members(f: filters.Filter | None) -> bool:
    if f is None:
        return False
    if isinstance(f, filters.Logical):
        return _mentions_members(f.left) or _mentions_members(f.right)
    if isinstance(f, filters.Not):
        return _mentions_members(f.inner)
    return f.path.attr.casefold() == "members"


def list_groups(conn: Connection, ep: Endpoint, params: Mapping[str, str]) -> dict[str, Any]:
    start, count = _paging(params)
    with translated():
        f = filters.parse(params["filter"]) if params.get("filter") else None
    total: int | None = None
    if f is None:  # one page of the store, in SQL
        g = t.identitystore_groups
        total = _count(conn, g, ep.store_id)
        query = select(g).where(g.c.identity_store_id == ep.store_id).order_by(g.c.created_at, g.c.group_id)
        rows = list(conn.execute(query.offset(start - 1).limit(count)).mappings().all()) if count else []
    else:
        rows = _group_rows(conn, ep, f)
    ext = records.external_ids_of(conn, records.GROUP, [r["group_id"] for r in rows])

    def external(rid: str) -> str | None:
        return next((e["Id"] for e in ext.get(rid, []) if e["Issuer"] == ep.issuer), None)

    members = _members(conn, ep, [r["group_id"] for r in rows]) if _mentions_members(f) else None
    resources = [
        (r, _group(ep, r, external(r["group_id"]), members.get(r["group_id"], []) if members is not None else []))
        for r in rows
    ]
    if f is not None:
        resources = [(row, res) for row, res in resources if filters.matches(f, res)]
        total = len(resources)
        page = resources[start - 1 : start - 1 + count]
    else:
        page = resources
    excluded = {a.strip().casefold() for a in params.get("excludedAttributes", "").split(",")}
    if "members" not in excluded and members is None:
        members = _members(conn, ep, [row["group_id"] for row, _ in page])
        for row, res in page:
            res["members"] = members.get(row["group_id"], [])
    return _list_response([_project(res, params) for _, res in page], total or 0, start)


def get_group(conn: Connection, ep: Endpoint, group_id: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
    with translated():
        row = records.get_group(conn, ep.store_id, group_id)
    members = _members(conn, ep, [group_id]).get(group_id, [])
    resource = _group(ep, row, _external_id(conn, ep, records.GROUP, group_id), members)
    return _project(resource, params or {})


def _add_members(conn: Connection, ep: Endpoint, group_id: str, user_ids: list[str]) -> None:
    for user_id in user_ids:
        if records.membership_of(conn, ep.store_id, group_id, user_id) is not None:
            continue  # adding a member twice changes nothing (RFC 7644 §3.5.2.1)
        try:
            membership_id = records.add_member(conn, ep.store_id, group_id, user_id, ACTOR, ep.now)
        except ResourceNotFoundException:
            raise ScimError(
                400, f"The member {user_id} is not a user of this identity store.", "invalidValue"
            ) from None
        _audit(conn, ep, audit.Event.CREATE_GROUP_MEMBERSHIP, group_id, user_id, membership_id)


def _audit(conn: Connection, ep: Endpoint, event: audit.Event, group_id: str, user_id: str, membership_id: str) -> None:
    """A membership change is audited as the API's is (it gives or takes the group's access)."""
    if ep.ctx is None:
        return
    params = {"IdentityStoreId": ep.store_id, "GroupId": group_id, "MemberId": {"UserId": user_id}}
    audit.record(
        conn,
        ep.ctx,
        {**params, "MembershipId": membership_id},
        event=event,
        account_id=ep.account_id,
        resource=("AWS::IdentityStore::GroupMembership", membership_id),
        details={"invokedBy": "SCIM"},
    )


def _remove_members(conn: Connection, ep: Endpoint, group_id: str, user_ids: list[str] | None) -> None:
    """Removes these members (every member for None)."""
    m = t.identitystore_memberships
    query = select(m.c.membership_id, m.c.user_id).where(m.c.identity_store_id == ep.store_id, m.c.group_id == group_id)
    for membership_id, user_id in conn.execute(query).all():
        if (user_ids is None or user_id in user_ids) and records.remove_membership(conn, ep.store_id, membership_id):
            _audit(conn, ep, audit.Event.DELETE_GROUP_MEMBERSHIP, group_id, user_id, membership_id)


def _set_members(conn: Connection, ep: Endpoint, group_id: str, user_ids: list[str]) -> None:
    current = {
        u
        for _, u in conn.execute(
            select(t.identitystore_memberships.c.group_id, t.identitystore_memberships.c.user_id).where(
                t.identitystore_memberships.c.group_id == group_id
            )
        ).all()
    }
    _remove_members(conn, ep, group_id, [u for u in current if u not in user_ids])
    _add_members(conn, ep, group_id, [u for u in user_ids if u not in current])


def create_group(conn: Connection, ep: Endpoint, body: dict[str, Any]) -> dict[str, Any]:
    with translated():
        doc = mapping.group_document(body)
        ext = mapping.external_id(body)
        members = mapping.member_ids(filters.get_ci(body, "members"))
        group_id, _ = records.create_group(conn, ep.store_id, doc, ACTOR, ep.now)
        if ext:
            _set_external_id(conn, ep, records.GROUP, group_id, ext)
        _add_members(conn, ep, group_id, members)
    return get_group(conn, ep, group_id)


def replace_group(
    conn: Connection, ep: Endpoint, group_id: str, body: dict[str, Any], if_match: str | None
) -> dict[str, Any]:
    """PUT: displayName and externalId replaced; members replaced when the body has them."""
    with translated():
        row = records.get_group(conn, ep.store_id, group_id)
        _check_etag(if_match, int(row["revision"]))
        doc = mapping.group_document(body, keep=row["document"])
        if doc != row["document"]:
            records.update_group(conn, row, doc, ACTOR, ep.now)
        ext = mapping.external_id(body)
        if ext != _external_id(conn, ep, records.GROUP, group_id):
            _set_external_id(conn, ep, records.GROUP, group_id, ext)
        if filters.get_ci(body, "members") is not None:
            _set_members(conn, ep, group_id, mapping.member_ids(filters.get_ci(body, "members")))
    return get_group(conn, ep, group_id)


def patch_group(conn: Connection, ep: Endpoint, group_id: str, body: Any, if_match: str | None) -> dict[str, Any]:
    """PATCH: ``members`` operations become memberships (add, remove by value or by
    ``members[value eq "…"]``, replace); the rest is applied to the group's representation."""
    with translated():
        row = records.get_group(conn, ep.store_id, group_id)
        _check_etag(if_match, int(row["revision"]))
        ops = patch.operations(body)
        member_ops: list[Callable[[], None]] = []
        other: list[tuple[str, str | None, Any]] = []
        for op, path, value in ops:
            if path is None and isinstance(value, dict):
                rest = {k: v for k, v in value.items() if k.casefold() not in ("members", "id")}
                members = filters.get_ci(value, "members")
                if members is not None:
                    member_ops.append(_member_op(conn, ep, group_id, op, None, members))
                if rest:
                    other.append((op, None, rest))
            elif path is not None and path.casefold().startswith("members"):
                member_ops.append(_member_op(conn, ep, group_id, op, path, value))
            else:
                other.append((op, path, value))
        old_ext = _external_id(conn, ep, records.GROUP, group_id)
        if other:
            current = _group(ep, row, old_ext, None)
            changed = patch.apply(current, other)
            doc = mapping.group_document(changed, keep=row["document"])
            if doc != row["document"]:
                records.update_group(conn, row, doc, ACTOR, ep.now)
            ext = mapping.external_id(changed)
            if ext != old_ext:
                _set_external_id(conn, ep, records.GROUP, group_id, ext)
        for run in member_ops:
            run()
    return get_group(conn, ep, group_id)


def _member_op(
    conn: Connection, ep: Endpoint, group_id: str, op: str, path: str | None, value: Any
) -> Callable[[], None]:
    where: filters.Filter | None = None
    if path is not None and path.casefold() != "members":
        parsed = filters.parse_path(path)
        if parsed.path.attr.casefold() != "members" or parsed.where is None or parsed.sub is not None:
            raise patch.PatchError(f"Invalid path {path}", "invalidPath")
        where = parsed.where
    ids = mapping.member_ids(value) if value is not None else None

    def run() -> None:
        if op == "add":
            if ids is None:
                raise patch.PatchError("add of members needs a value", "invalidValue")
            _add_members(conn, ep, group_id, ids)
        elif op == "replace" and where is None:
            _set_members(conn, ep, group_id, ids or [])
        elif op == "remove" or op == "replace":
            if where is not None:
                current = _members(conn, ep, [group_id]).get(group_id, [])
                chosen = [m["value"] for m in current if filters.matches(where, m)]
                _remove_members(conn, ep, group_id, chosen)
                if op == "replace" and ids:
                    _add_members(conn, ep, group_id, ids)
            else:
                _remove_members(conn, ep, group_id, ids)

    return run


def delete_group(conn: Connection, ep: Endpoint, group_id: str, if_match: str | None) -> None:
    row = directory.group(conn, ep.store_id, group_id)
    if row is None:
        raise ScimError(404, "GROUP not found.")
    _check_etag(if_match, int(row["revision"]))
    records.delete_group(conn, ep.store_id, group_id)
