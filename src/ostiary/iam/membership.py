"""Which instance profiles hold a role. Queries only, no operations (instance profiles are in
iam/instance_profiles.py; the groups of a user, which authorization reads, are
access/policy_sources.groups_of)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ostiary.store import tables as t


def profiles_of_role(conn: Connection, account: str, role_key: str) -> list[str]:
    """Names of the instance profiles that hold a role (DeleteRole refuses while there are any)."""
    p = t.iam_instance_profiles.c
    rows = conn.execute(
        select(p.name).where(p.account_id == account, p.role_key == role_key).order_by(p.name_key)
    ).all()
    return [r.name for r in rows]
