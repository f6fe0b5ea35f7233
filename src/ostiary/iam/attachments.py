"""Managed policies as other IAM modules see them: whether an ARN names a policy an account may use,
the name an attachment shows, and removing the attachments of a user, group or role. No operations
(those are in iam/managed.py). Reading what applies to a caller (default documents, attached ARNs)
is access/policy_sources.py. Every lookup is scoped by the calling account: another account's
customer managed policy is never read (see iam/managed.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from ostiary.access import aws_managed
from ostiary.store import tables as t


def customer_policy(conn: Connection, arn: str, account: str) -> Any:
    """The iam_policies row of ``arn`` if it is ``account``'s own customer managed policy, else None."""
    return conn.execute(
        select(t.iam_policies).where(t.iam_policies.c.arn == arn, t.iam_policies.c.account_id == account)
    ).first()


def exists(conn: Connection, arn: str, account: str) -> bool:
    """Whether ``arn`` names a policy ``account`` may use: an AWS managed policy or its own."""
    if arn in aws_managed.BY_ARN:
        return True
    found = conn.execute(
        select(t.iam_policies.c.arn).where(t.iam_policies.c.arn == arn, t.iam_policies.c.account_id == account)
    ).first()
    return found is not None


def attached_name(conn: Connection, arn: str, account: str) -> tuple[str, str]:
    """(PolicyName, Path) of a policy attached to one of ``account``'s entities. A row that names no
    policy ``account`` may use (another account's, written before attachments were scoped) is shown
    by what its own ARN says, so that it can be found and detached; nothing is read from elsewhere."""
    aws = aws_managed.BY_ARN.get(arn)
    if aws is not None:
        return aws.name, aws.path
    row = customer_policy(conn, arn, account)
    if row is not None:
        return str(row.name), str(row.path)
    resource = arn.split(":", 5)[-1].removeprefix("policy")
    path, _, name = resource.rpartition("/")
    return name, path + "/"


def detach_all(conn: Connection, account: str, principal_type: str, key: str) -> None:
    a = t.iam_attachments.c
    conn.execute(
        delete(t.iam_attachments).where(
            a.account_id == account, a.principal_type == principal_type, a.principal_key == key
        )
    )


def attach(conn: Connection, account: str, principal_type: str, key: str, arn: str) -> None:
    """Attach ``arn`` to a user, group or role (the caller checked that the policy exists for
    ``account`` and that it is not attached yet)."""
    conn.execute(
        insert(t.iam_attachments).values(
            account_id=account, principal_type=principal_type, principal_key=key, policy_arn=arn
        )
    )
