"""Managed policies as other modules see them: whether an ARN names a policy an account may use,
its default document, and the attachments of users, groups and roles (one table, one set of
helpers). Queries only, no operations (those are in iam/managed.py). Every lookup is scoped by the
calling account: another account's customer managed policy is never read (see iam/managed.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select

from ostiary.iam import aws_managed
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


def default_document(conn: Connection, arn: str, account: str) -> str | None:
    """The default version's document of an AWS managed policy or of ``account``'s own customer
    managed policy; None for anything else (another account's policy is never read for ``account``)."""
    aws = aws_managed.BY_ARN.get(arn)
    if aws is not None:
        return aws.document
    row = conn.execute(
        select(t.iam_policy_versions.c.document)
        .select_from(
            t.iam_policies.join(
                t.iam_policy_versions,
                (t.iam_policy_versions.c.arn == t.iam_policies.c.arn)
                & (t.iam_policy_versions.c.version_id == t.iam_policies.c.default_version),
            )
        )
        .where(t.iam_policies.c.arn == arn, t.iam_policies.c.account_id == account)
    ).first()
    return None if row is None else str(row.document)


def attached_arns(conn: Connection, account: str, principal_type: str, key: str) -> list[str]:
    a = t.iam_attachments.c
    rows = conn.execute(
        select(a.policy_arn)
        .where(a.account_id == account, a.principal_type == principal_type, a.principal_key == key)
        .order_by(a.policy_arn)
    ).all()
    return [r.policy_arn for r in rows]


def attached_documents(conn: Connection, account: str, principal_type: str, key: str) -> list[str]:
    docs = (default_document(conn, arn, account) for arn in attached_arns(conn, account, principal_type, key))
    return [d for d in docs if d is not None]


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
