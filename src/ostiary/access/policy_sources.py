"""Where the policies that apply to a caller are stored, read-only: a user's, group's or role's
inline policies and attached managed policies (their default versions), and the groups of a user.
The authorizer and the policy simulator read them; IAM's operation modules write those tables
(iam/inline.py, iam/attachments.py, iam/groups.py) and import the reads from here. Every lookup is
scoped by the calling account: another account's customer managed policy is never read."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ostiary.access import aws_managed
from ostiary.store import tables as t


def inline_documents(conn: Connection, account: str, principal_type: str, key: str) -> list[str]:
    """The documents of the inline policies of one of ``account``'s users, groups or roles."""
    p = t.iam_inline_policies.c
    rows = conn.execute(
        select(p.document).where(p.account_id == account, p.principal_type == principal_type, p.principal_key == key)
    ).all()
    return [r.document for r in rows]


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


def groups_of(conn: Connection, account: str, user_key: str) -> list[str]:
    """Name keys of the groups a user belongs to."""
    m = t.iam_group_members.c
    rows = conn.execute(select(m.group_key).where(m.account_id == account, m.user_key == user_key)).all()
    return [r.group_key for r in rows]
