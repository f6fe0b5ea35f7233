"""Checks of what an IAM operation is asked to store: identity policy documents (IAM's grammar) and
permissions boundaries (an existing managed policy), shared by the user, group, role and managed
policy operations. No operations of its own."""

from __future__ import annotations

from sqlalchemy import Connection, Table, update

from ostiary.access import policy
from ostiary.iam import attachments, grammar
from ostiary.iam.errors import MalformedPolicyDocumentException, NoSuchEntityException


def check_document(document: str, kind: grammar.Kind = grammar.Kind.INLINE) -> None:
    """An identity policy as IAM's grammar has it (iam/grammar): inline by default, ``Kind.MANAGED``
    for CreatePolicy and CreatePolicyVersion."""
    try:
        grammar.validate(document, kind)
    except policy.MalformedPolicy as err:
        raise MalformedPolicyDocumentException(str(err)) from None


def check_boundary(conn: Connection, arn: str, account: str) -> None:
    """A permissions boundary must be an existing managed policy: an AWS managed one or ``account``'s
    own (another account's policy does not exist for it)."""
    if not attachments.exists(conn, arn, account):
        raise NoSuchEntityException(f"Policy {arn} does not exist or is not attachable.")


def set_boundary(conn: Connection, table: Table, account: str, name_key: str, arn: str | None) -> None:
    """Put (an existing managed policy) or delete (None) the permissions boundary of a user or role."""
    if arn is not None:
        check_boundary(conn, arn, account)
    conn.execute(
        update(table)
        .where(table.c.account_id == account, table.c.name_key == name_key)
        .values(permissions_boundary=arn)
    )
