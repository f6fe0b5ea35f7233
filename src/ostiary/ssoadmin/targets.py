"""Which accounts an instance may provision into: the rule every account assignment and
ProvisionPermissionSet applies before anything is written in the target account.

AWS: an organization instance (in the management account) reaches the accounts of its organization;
an account instance reaches only its own account. Ostiary applies the same: the instance owner's own
account always; another account only when it is a member of an organization whose management
account owns the instance. Any other account, existing or not, is refused (the request FAILS), so an
instance can never create a role in an account that did not join its owner's organization.
"""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.engine import RowMapping

from ostiary.store import tables as t


def account_exists(conn: Connection, account_id: str) -> bool:
    return conn.execute(select(t.accounts.c.id).where(t.accounts.c.id == account_id)).first() is not None


def refusal(conn: Connection, instance: RowMapping, account_id: str) -> str | None:
    """Why ``instance`` may not provision into ``account_id`` (None: it may)."""
    if not account_exists(conn, account_id):
        return f"The target account {account_id} does not exist."
    if account_id == instance["account_id"]:
        return None
    return (
        f"The target account {account_id} is not a member of the organization of the instance's "
        f"owner {instance['account_id']}."
    )
