"""Which accounts an instance may provision into and give access to: the rule every account
assignment and ProvisionPermissionSet applies before anything is written in the target account, and
``assignments.access_for_user`` applies to what a user reaches.

AWS: an organization instance (in the management account) reaches the accounts of its organization;
an account instance reaches only its own account. Ostiary applies the same: the instance owner's own
account always; another account only while it is an ACTIVE member of the organization whose
management account owns the instance (``org_accounts``, Organizations). Any other account, existing
or not, is refused (the request FAILS), so an instance can never create a role in an account that did
not join its owner's organization; an account that leaves it is no longer reached.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select
from sqlalchemy.engine import RowMapping

from ostiary.store import tables as t


def account_exists(conn: Connection, account_id: str) -> bool:
    return conn.execute(select(t.accounts.c.id).where(t.accounts.c.id == account_id)).first() is not None


def reachable(conn: Connection, owner_account_id: str, account_ids: Iterable[str]) -> set[str]:
    """Those of ``account_ids`` an instance owned by ``owner_account_id`` reaches."""
    wanted = set(account_ids)
    found = {owner_account_id} & wanted
    others = wanted - found
    if others:
        o, a = t.org_organizations.c, t.org_accounts.c
        members = conn.execute(
            select(a.account_id)
            .select_from(t.org_accounts.join(t.org_organizations, o.org_id == a.org_id))
            .where(o.management_account_id == owner_account_id, a.status == "ACTIVE", a.account_id.in_(sorted(others)))
        ).scalars()
        found |= set(members)
    return found


def refusal(conn: Connection, instance: RowMapping, account_id: str) -> str | None:
    """Why ``instance`` may not provision into ``account_id`` (None: it may)."""
    if not account_exists(conn, account_id):
        return f"The target account {account_id} does not exist."
    if reachable(conn, instance["account_id"], [account_id]):
        return None
    return (
        f"The target account {account_id} is not a member of the organization of the instance's "
        f"owner {instance['account_id']}."
    )
