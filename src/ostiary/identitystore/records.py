"""Writes and shapes of an identity store's users, groups and memberships, on a connection the caller
holds: the identitystore operations and the SCIM endpoint both go through here, so a user created
over SCIM is an identitystore user and the same checks hold for both. No operations.

Ids are AWS's: ``<the store's 10 hex>-<uuid>``; ARNs ``arn:aws:identitystore:::user/<id>`` (``group/``,
``membership/``). ``Revision`` grows by one with every change of a user or group (a member added or
removed is a change of the group: SCIM's ETag of a group covers its members); a write given a
revision is made only if the row still has it (ConflictException ``CONCURRENT_MODIFICATION``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from ostiary.identitystore import directory, documents
from ostiary.ssoadmin.errors import ConflictException, ResourceNotFoundException
from ostiary.store import tables as t

USER, GROUP = "USER", "GROUP"

users = t.identitystore_users
groups = t.identitystore_groups
memberships = t.identitystore_memberships
external_ids = t.identitystore_external_ids


def new_id(store_id: str) -> str:
    return f"{store_id.removeprefix('d-')}-{uuid.uuid4()}"


def user_arn(user_id: str) -> str:
    return f"arn:aws:identitystore:::user/{user_id}"


def group_arn(group_id: str) -> str:
    return f"arn:aws:identitystore:::group/{group_id}"


def membership_arn(membership_id: str) -> str:
    return f"arn:aws:identitystore:::membership/{membership_id}"


def user_not_found(user_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException("USER not found.", ResourceType="USER", ResourceId=user_id)


def group_not_found(group_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException("GROUP not found.", ResourceType="GROUP", ResourceId=group_id)


def membership_not_found(membership_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        "GROUP_MEMBERSHIP not found.", ResourceType="GROUP_MEMBERSHIP", ResourceId=membership_id
    )


def _conflict(message: str) -> ConflictException:
    return ConflictException(message, Reason="UNIQUENESS_CONSTRAINT_VIOLATION")


def _stale() -> ConflictException:
    return ConflictException("The resource was modified since the given revision.", Reason="CONCURRENT_MODIFICATION")


def _audit(row: RowMapping) -> dict[str, Any]:
    out: dict[str, Any] = {"CreatedAt": row["created_at"], "UpdatedAt": row["updated_at"]}
    if row["created_by"]:
        out["CreatedBy"] = row["created_by"]
    if row["updated_by"]:
        out["UpdatedBy"] = row["updated_by"]
    return out


# ---------------------------------------------------------------------------------------------
# external ids


def external_ids_of(conn: Connection, kind: str, ids: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """resource id -> its ExternalIds, in their order."""
    wanted = list(ids)
    if not wanted:
        return {}
    col = external_ids.c.user_id if kind == USER else external_ids.c.group_id
    rows = conn.execute(
        select(col, external_ids.c.issuer, external_ids.c.external_id)
        .where(col.in_(wanted))
        .order_by(col, external_ids.c.position)
    )
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for rid, issuer, ext in rows:
        out[rid].append({"Issuer": issuer, "Id": ext})
    return out


def set_external_ids(conn: Connection, store_id: str, kind: str, resource_id: str, ids: list[dict[str, str]]) -> None:
    """Replaces a user's or group's ExternalIds; one already on another resource is a conflict."""
    col = external_ids.c.user_id if kind == USER else external_ids.c.group_id
    conn.execute(delete(external_ids).where(col == resource_id))
    for position, ext in enumerate(ids):
        taken = conn.execute(
            select(external_ids.c.id).where(
                external_ids.c.identity_store_id == store_id,
                external_ids.c.resource_type == kind,
                external_ids.c.issuer == ext["Issuer"],
                external_ids.c.external_id == ext["Id"],
            )
        ).first()
        if taken is not None:
            raise _conflict("Duplicate ExternalId")
        conn.execute(
            insert(external_ids).values(
                identity_store_id=store_id,
                resource_type=kind,
                user_id=resource_id if kind == USER else None,
                group_id=resource_id if kind == GROUP else None,
                issuer=ext["Issuer"],
                external_id=ext["Id"],
                position=position,
            )
        )


def by_external_id(conn: Connection, store_id: str, kind: str, issuer: str, ext_id: str) -> str | None:
    col = external_ids.c.user_id if kind == USER else external_ids.c.group_id
    return conn.execute(
        select(col).where(
            external_ids.c.identity_store_id == store_id,
            external_ids.c.resource_type == kind,
            external_ids.c.issuer == issuer,
            external_ids.c.external_id == ext_id,
        )
    ).scalar()


# ---------------------------------------------------------------------------------------------
# users


def user_shape(
    row: RowMapping, ext_ids: list[dict[str, str]] | None = None, extensions: list[str] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "IdentityStoreId": row["identity_store_id"],
        "UserId": row["user_id"],
        "UserArn": user_arn(row["user_id"]),
        "Revision": str(row["revision"]),
        **documents.with_extensions(row["document"], extensions),
        **_audit(row),
    }
    if ext_ids:
        out["ExternalIds"] = ext_ids
    return out


def get_user(conn: Connection, store_id: str, user_id: str) -> RowMapping:
    row = directory.user(conn, store_id, user_id)
    if row is None:
        raise user_not_found(user_id)
    return row


def _name_taken(conn: Connection, store_id: str, key: str, but: str | None) -> bool:
    query = select(users.c.user_id).where(users.c.identity_store_id == store_id, users.c.user_name_key == key)
    if but:
        query = query.where(users.c.user_id != but)
    return conn.execute(query).first() is not None


def create_user(
    conn: Connection, store_id: str, doc: dict[str, Any], actor: str | None, now: dt.datetime
) -> tuple[str, int]:
    """Inserts a user (its document checked); (user id, revision)."""
    documents.check_user(doc)
    key = directory.name_key(doc["UserName"])
    if _name_taken(conn, store_id, key, None):
        raise _conflict("Duplicate UserName")
    user_id = new_id(store_id)
    try:
        conn.execute(
            insert(users).values(
                user_id=user_id,
                identity_store_id=store_id,
                user_name=doc["UserName"],
                user_name_key=key,
                document=doc,
                email_key=documents.email_key(doc),
                revision=1,
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
            )
        )
    except IntegrityError:  # a concurrent insert of the same name
        raise _conflict("Duplicate UserName") from None
    return user_id, 1


def update_user(
    conn: Connection,
    row: RowMapping,
    doc: dict[str, Any],
    actor: str | None,
    now: dt.datetime,
    revision: str | None = None,
) -> int:
    """Writes a user's new document (checked) if unchanged since ``row`` (and ``revision``, when
    given); the new revision."""
    documents.check_user(doc)
    if revision is not None and str(row["revision"]) != revision:
        raise _stale()
    key = directory.name_key(doc["UserName"])
    if key != row["user_name_key"] and _name_taken(conn, row["identity_store_id"], key, row["user_id"]):
        raise _conflict("Duplicate UserName")
    new_revision = int(row["revision"]) + 1
    try:
        result = conn.execute(
            update(users)
            .where(users.c.user_id == row["user_id"], users.c.revision == row["revision"])
            .values(
                user_name=doc["UserName"],
                user_name_key=key,
                document=doc,
                email_key=documents.email_key(doc),
                revision=new_revision,
                updated_at=now,
                updated_by=actor,
            )
        )
    except IntegrityError:
        raise _conflict("Duplicate UserName") from None
    if result.rowcount != 1:
        raise _stale()
    return new_revision


def delete_user(conn: Connection, store_id: str, user_id: str, revision: str | None = None) -> bool:
    """Deletes a user (its memberships and external ids go with it); False if there was none."""
    query = delete(users).where(users.c.identity_store_id == store_id, users.c.user_id == user_id)
    if revision is not None:
        row = directory.user(conn, store_id, user_id)
        if row is not None and str(row["revision"]) != revision:
            raise _stale()
        query = query.where(users.c.revision == int(revision))
    return bool(conn.execute(query).rowcount)


# ---------------------------------------------------------------------------------------------
# groups


def group_shape(row: RowMapping, ext_ids: list[dict[str, str]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "IdentityStoreId": row["identity_store_id"],
        "GroupId": row["group_id"],
        "GroupArn": group_arn(row["group_id"]),
        "Revision": str(row["revision"]),
        **row["document"],
        **_audit(row),
    }
    if ext_ids:
        out["ExternalIds"] = ext_ids
    return out


def get_group(conn: Connection, store_id: str, group_id: str) -> RowMapping:
    row = directory.group(conn, store_id, group_id)
    if row is None:
        raise group_not_found(group_id)
    return row


def group_by_name(conn: Connection, store_id: str, display_name: str) -> RowMapping | None:
    return (
        conn.execute(
            select(groups).where(
                groups.c.identity_store_id == store_id, groups.c.display_name_key == directory.name_key(display_name)
            )
        )
        .mappings()
        .first()
    )


def create_group(
    conn: Connection, store_id: str, doc: dict[str, Any], actor: str | None, now: dt.datetime
) -> tuple[str, int]:
    documents.check_group(doc)
    if group_by_name(conn, store_id, doc["DisplayName"]) is not None:
        raise _conflict("Duplicate GroupDisplayName")
    group_id = new_id(store_id)
    try:
        conn.execute(
            insert(groups).values(
                group_id=group_id,
                identity_store_id=store_id,
                display_name=doc["DisplayName"],
                display_name_key=directory.name_key(doc["DisplayName"]),
                document=doc,
                revision=1,
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
            )
        )
    except IntegrityError:
        raise _conflict("Duplicate GroupDisplayName") from None
    return group_id, 1


def update_group(
    conn: Connection,
    row: RowMapping,
    doc: dict[str, Any],
    actor: str | None,
    now: dt.datetime,
    revision: str | None = None,
) -> int:
    documents.check_group(doc)
    if revision is not None and str(row["revision"]) != revision:
        raise _stale()
    key = directory.name_key(doc["DisplayName"])
    if key != row["display_name_key"]:
        other = group_by_name(conn, row["identity_store_id"], doc["DisplayName"])
        if other is not None and other["group_id"] != row["group_id"]:
            raise _conflict("Duplicate GroupDisplayName")
    new_revision = int(row["revision"]) + 1
    try:
        result = conn.execute(
            update(groups)
            .where(groups.c.group_id == row["group_id"], groups.c.revision == row["revision"])
            .values(
                display_name=doc["DisplayName"],
                display_name_key=key,
                document=doc,
                revision=new_revision,
                updated_at=now,
                updated_by=actor,
            )
        )
    except IntegrityError:
        raise _conflict("Duplicate GroupDisplayName") from None
    if result.rowcount != 1:
        raise _stale()
    return new_revision


def delete_group(conn: Connection, store_id: str, group_id: str, revision: str | None = None) -> bool:
    query = delete(groups).where(groups.c.identity_store_id == store_id, groups.c.group_id == group_id)
    if revision is not None:
        row = directory.group(conn, store_id, group_id)
        if row is not None and str(row["revision"]) != revision:
            raise _stale()
        query = query.where(groups.c.revision == int(revision))
    return bool(conn.execute(query).rowcount)


def _touch_group(conn: Connection, group_id: str) -> None:
    conn.execute(update(groups).where(groups.c.group_id == group_id).values(revision=groups.c.revision + 1))


# ---------------------------------------------------------------------------------------------
# memberships


def membership_shape(row: RowMapping) -> dict[str, Any]:
    return {
        "IdentityStoreId": row["identity_store_id"],
        "MembershipId": row["membership_id"],
        "MembershipArn": membership_arn(row["membership_id"]),
        "GroupId": row["group_id"],
        "MemberId": {"UserId": row["user_id"]},
        **_audit(row),
    }


def membership(conn: Connection, store_id: str, membership_id: str) -> RowMapping:
    row = (
        conn.execute(
            select(memberships).where(
                memberships.c.identity_store_id == store_id, memberships.c.membership_id == membership_id
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise membership_not_found(membership_id)
    return row


def membership_of(conn: Connection, store_id: str, group_id: str, user_id: str) -> RowMapping | None:
    return (
        conn.execute(
            select(memberships).where(
                memberships.c.identity_store_id == store_id,
                memberships.c.group_id == group_id,
                memberships.c.user_id == user_id,
            )
        )
        .mappings()
        .first()
    )


def add_member(
    conn: Connection, store_id: str, group_id: str, user_id: str, actor: str | None, now: dt.datetime
) -> str:
    """Makes a user a member of a group (both of this store); the membership id."""
    if directory.user(conn, store_id, user_id) is None:
        raise user_not_found(user_id)
    get_group(conn, store_id, group_id)
    if membership_of(conn, store_id, group_id, user_id) is not None:
        raise _conflict("Member and Group relationship already exists.")
    membership_id = new_id(store_id)
    try:
        conn.execute(
            insert(memberships).values(
                membership_id=membership_id,
                identity_store_id=store_id,
                group_id=group_id,
                user_id=user_id,
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
            )
        )
    except IntegrityError:
        raise _conflict("Member and Group relationship already exists.") from None
    _touch_group(conn, group_id)
    return membership_id


def remove_membership(conn: Connection, store_id: str, membership_id: str) -> bool:
    row = (
        conn.execute(
            select(memberships.c.group_id).where(
                memberships.c.identity_store_id == store_id, memberships.c.membership_id == membership_id
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return False
    conn.execute(delete(memberships).where(memberships.c.membership_id == membership_id))
    _touch_group(conn, row["group_id"])
    return True
