"""Who belongs to what: users in groups, roles in instance profiles. Queries only, no operations
(GroupMembership operations are in iam/groups.py, instance profiles in iam/instance_profiles.py)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ostiary.store import tables as t


def groups_of(conn: Connection, account: str, user_key: str) -> list[str]:
    """Name keys of the groups a user belongs to."""
    m = t.iam_group_members.c
    rows = conn.execute(select(m.group_key).where(m.account_id == account, m.user_key == user_key)).all()
    return [r.group_key for r in rows]


def profiles_of_role(conn: Connection, account: str, role_key: str) -> list[str]:
    """Names of the instance profiles that hold a role (DeleteRole refuses while there are any)."""
    p = t.iam_instance_profiles.c
    rows = conn.execute(
        select(p.name).where(p.account_id == account, p.role_key == role_key).order_by(p.name_key)
    ).all()
    return [r.name for r in rows]
