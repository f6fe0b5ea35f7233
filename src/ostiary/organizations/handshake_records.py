"""Handshakes' rows, shapes and state changes, shared by the invitations (``handshakes.py``) and the
ENABLE_ALL_FEATURES process (``feature_sets.py``); no operations here.

A handshake has two parties, the organization and one account (the invited account, a member asked
to approve all features, or the management account that finalises); only those two see it (the
organization through its management account): to anyone else it does not exist. An OPEN handshake
past its expiry answers EXPIRED.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ostiary.organizations import structure as s
from ostiary.organizations.errors import (
    HandshakeAlreadyInStateException,
    HandshakeNotFoundException,
    InvalidHandshakeTransitionException,
)
from ostiary.protocol.context import RequestContext
from ostiary.store import tables as t
from ostiary.store.db import utc

BAD_TRANSITION = "You can't perform the operation on the handshake in its current state."
NOT_FOUND = "We can't find a handshake with the HandshakeId that you specified."
ALREADY_IN = "The account is already a member of an organization."
OPEN, ACCEPTED, DECLINED, CANCELED = "OPEN", "ACCEPTED", "DECLINED", "CANCELED"
INVITE, ENABLE, APPROVE = "INVITE", "ENABLE_ALL_FEATURES", "APPROVE_ALL_FEATURES"


def state(row: Any, now: dt.datetime) -> str:
    if row.state == OPEN and utc(row.expires_at) <= now:
        return "EXPIRED"
    return str(row.state)


def fetch(conn: Connection, handshake_id: str) -> Any:
    return conn.execute(select(t.org_handshakes).where(t.org_handshakes.c.handshake_id == handshake_id)).first()


def insert_handshake(
    conn: Connection,
    org: s.Org,
    action: str,
    target: str,
    now: dt.datetime,
    lifetime: dt.timedelta,
    *,
    notes: str | None = None,
    tags: list[Any] | None = None,
    parent: str | None = None,
) -> str:
    handshake_id = s.new_handshake_id()
    conn.execute(
        insert(t.org_handshakes).values(
            handshake_id=handshake_id,
            org_id=org.org_id,
            action=action,
            target_account_id=target,
            notes=notes,
            tags=list(tags or []),
            state=OPEN,
            requested_at=now,
            expires_at=now + lifetime,
            parent_handshake_id=parent,
        )
    )
    return handshake_id


def shape(conn: Connection, row: Any, now: dt.datetime) -> dict[str, Any]:
    o = t.org_organizations.c
    org = conn.execute(select(o.org_id, o.management_account_id, o.feature_set).where(o.org_id == row.org_id)).first()
    mgmt = str(org.management_account_id) if org is not None else ""
    organization: dict[str, Any] = {"Type": "ORGANIZATION", "Value": row.org_id}
    if org is not None:
        organization["Resources"] = [
            {"Type": "MASTER_NAME", "Value": s.account_name(conn, mgmt)},
            {"Type": "ORGANIZATION_FEATURE_SET", "Value": org.feature_set},
        ]
    resources = [organization, {"Type": "ACCOUNT", "Value": row.target_account_id}]
    if row.notes:
        resources.append({"Type": "NOTES", "Value": row.notes})
    if row.parent_handshake_id:
        resources.append({"Type": "PARENT_HANDSHAKE", "Value": row.parent_handshake_id})
    return {
        "Id": row.handshake_id,
        "Arn": f"arn:aws:organizations::{mgmt}:handshake/{row.org_id}/{row.action.lower()}/{row.handshake_id}",
        "Parties": [
            {"Id": row.org_id.removeprefix("o-"), "Type": "ORGANIZATION"},
            {"Id": row.target_account_id, "Type": "ACCOUNT"},
        ],
        "State": state(row, now),
        "RequestedTimestamp": row.requested_at,
        "ExpirationTimestamp": row.expires_at,
        "Action": row.action,
        "Resources": resources,
    }


def management_of(conn: Connection, org_id: str) -> str | None:
    o = t.org_organizations.c
    found = conn.execute(select(o.management_account_id).where(o.org_id == org_id)).scalar()
    return None if found is None else str(found)


def visible(conn: Connection, ctx: RequestContext, handshake_id: str) -> Any:
    """A handshake the caller is a party of: its target account, or the organization's management
    account."""
    row = fetch(conn, handshake_id)
    if row is None:
        raise HandshakeNotFoundException(NOT_FOUND)
    if row.target_account_id == ctx.account_id:
        return row
    if management_of(conn, row.org_id) != ctx.account_id:
        raise HandshakeNotFoundException(NOT_FOUND)
    return row


def as_target(conn: Connection, ctx: RequestContext, handshake_id: str) -> Any:
    """A handshake the caller may accept or decline: one addressed to its account."""
    row = visible(conn, ctx, handshake_id)
    if row.target_account_id != ctx.account_id:  # the organization's side cannot answer for the account
        raise InvalidHandshakeTransitionException(BAD_TRANSITION)
    return row


def transition(conn: Connection, now: dt.datetime, row: Any, to: str) -> None:
    current = state(row, now)
    if current == to:
        raise HandshakeAlreadyInStateException("The specified handshake is already in the requested state.")
    if current != OPEN:
        raise InvalidHandshakeTransitionException(BAD_TRANSITION)
    conn.execute(update(t.org_handshakes).where(t.org_handshakes.c.handshake_id == row.handshake_id).values(state=to))
