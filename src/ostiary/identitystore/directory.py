"""Read-only queries of an identity store, for the other Identity Center parts (sso-admin's account
assignments, the access portal, the SAML IdP, the portal API). No operations, no imports of operation
modules; the signatures are stable.

Every function takes the identity store id, so a user or group of another store is never returned.
"""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.engine import RowMapping

from ostiary.store import tables as t

__all__ = ["enabled", "group", "groups_of_user", "name_key", "user", "user_by_name"]


def name_key(name: str) -> str:
    """The key a unique name (UserName, a group's DisplayName) is compared by: case ignored."""
    return name.casefold()


def user(conn: Connection, store_id: str, user_id: str) -> RowMapping | None:
    """The ``identitystore_users`` row of a user of this store (``document`` holds the User shape
    but ids and audit fields), or None."""
    users = t.identitystore_users
    return (
        conn.execute(select(users).where(users.c.identity_store_id == store_id, users.c.user_id == user_id))
        .mappings()
        .first()
    )


def enabled(user_row: RowMapping) -> bool:
    """Whether a user may sign in: its ``UserStatus`` is not ``DISABLED`` (UpdateUser's ``userStatus``,
    SCIM's ``active: false``)."""
    return (user_row["document"] or {}).get("UserStatus") != "DISABLED"


def group(conn: Connection, store_id: str, group_id: str) -> RowMapping | None:
    """The ``identitystore_groups`` row of a group of this store, or None."""
    groups = t.identitystore_groups
    return (
        conn.execute(select(groups).where(groups.c.identity_store_id == store_id, groups.c.group_id == group_id))
        .mappings()
        .first()
    )


def user_by_name(conn: Connection, store_id: str, user_name: str) -> RowMapping | None:
    """A user of this store by UserName, case ignored (as AWS compares user names), or None."""
    users = t.identitystore_users
    return (
        conn.execute(
            select(users).where(users.c.identity_store_id == store_id, users.c.user_name_key == name_key(user_name))
        )
        .mappings()
        .first()
    )


def groups_of_user(conn: Connection, store_id: str, user_id: str) -> list[str]:
    """The ids of the groups this user is a direct member of (Identity Center groups do not nest)."""
    m = t.identitystore_memberships
    rows = conn.execute(
        select(m.c.group_id).where(m.c.identity_store_id == store_id, m.c.user_id == user_id).order_by(m.c.group_id)
    )
    return [r[0] for r in rows]
