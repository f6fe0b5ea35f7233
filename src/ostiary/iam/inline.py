"""Inline policies of users, groups and roles: one table, one set of helpers (reading the documents
that apply to a caller is access/policy_sources.py)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, delete, insert, select

from ostiary.store import tables as t


def _where(account: str, principal_type: str, key: str, name: str | None = None) -> list[ColumnElement[bool]]:
    p = t.iam_inline_policies.c
    clauses = [p.account_id == account, p.principal_type == principal_type, p.principal_key == key]
    if name is not None:
        clauses.append(p.policy_name == name)
    return clauses


def put(conn: Connection, account: str, principal_type: str, key: str, name: str, document: str) -> None:
    conn.execute(delete(t.iam_inline_policies).where(*_where(account, principal_type, key, name)))
    conn.execute(
        insert(t.iam_inline_policies).values(
            account_id=account, principal_type=principal_type, principal_key=key, policy_name=name, document=document
        )
    )


def get(conn: Connection, account: str, principal_type: str, key: str, name: str) -> str | None:
    row = conn.execute(
        select(t.iam_inline_policies.c.document).where(*_where(account, principal_type, key, name))
    ).first()
    return None if row is None else str(row.document)


def names(conn: Connection, account: str, principal_type: str, key: str) -> list[str]:
    rows = conn.execute(
        select(t.iam_inline_policies.c.policy_name)
        .where(*_where(account, principal_type, key))
        .order_by(t.iam_inline_policies.c.policy_name)
    ).all()
    return [r.policy_name for r in rows]


def remove(conn: Connection, account: str, principal_type: str, key: str, name: str) -> bool:
    return bool(conn.execute(delete(t.iam_inline_policies).where(*_where(account, principal_type, key, name))).rowcount)
