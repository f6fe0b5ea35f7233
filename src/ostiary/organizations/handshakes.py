"""Invitations of existing accounts: InviteAccountToOrganization, AcceptHandshake, DeclineHandshake,
CancelHandshake, DescribeHandshake, ListHandshakesForAccount, ListHandshakesForOrganization (AWS
Organizations API Reference, "Inviting an AWS account to join your organization").

The management account invites an account by its id (Ostiary's accounts have no e-mail address, so
an EMAIL party is refused); the invited account accepts (it joins the root, with the AWS managed
``FullAWSAccess`` when SCPs are enabled, and the invitation's tags) or declines; the management account
may cancel. An open handshake expires after 15 days. Only the two parties see a handshake; to anyone
else it does not exist. An invited account keeps its own credentials and gets no
``OrganizationAccountAccessRole`` (AWS creates none for invited accounts).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ostiary.access import service_control
from ostiary.audit import recorder as audit
from ostiary.organizations import structure as s
from ostiary.organizations import tagging
from ostiary.organizations.errors import (
    DuplicateHandshakeException,
    HandshakeAlreadyInStateException,
    HandshakeConstraintViolationException,
    HandshakeNotFoundException,
    InvalidHandshakeTransitionException,
    InvalidInputException,
)
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

LIFETIME = dt.timedelta(days=15)
BAD_TRANSITION = "You can't perform the operation on the handshake in its current state."
NOT_FOUND = "We can't find a handshake with the HandshakeId that you specified."
ALREADY_IN = "The account is already a member of an organization."
OPEN = "OPEN"


def _state(row: Any, now: dt.datetime) -> str:
    if row.state == OPEN and utc(row.expires_at) <= now:
        return "EXPIRED"
    return str(row.state)


def _shape(conn: Connection, row: Any, now: dt.datetime) -> dict[str, Any]:
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
    return {
        "Id": row.handshake_id,
        "Arn": f"arn:aws:organizations::{mgmt}:handshake/{row.org_id}/{row.action.lower()}/{row.handshake_id}",
        "Parties": [
            {"Id": row.org_id.removeprefix("o-"), "Type": "ORGANIZATION"},
            {"Id": row.target_account_id, "Type": "ACCOUNT"},
        ],
        "State": _state(row, now),
        "RequestedTimestamp": row.requested_at,
        "ExpirationTimestamp": row.expires_at,
        "Action": row.action,
        "Resources": resources,
    }


def _visible(conn: Connection, ctx: RequestContext, handshake_id: str) -> Any:
    """A handshake the caller is a party of: the invited account, or the organization's management
    account."""
    h = t.org_handshakes.c
    row = conn.execute(select(t.org_handshakes).where(h.handshake_id == handshake_id)).first()
    if row is None:
        raise HandshakeNotFoundException(NOT_FOUND)
    if row.target_account_id == ctx.account_id:
        return row
    mgmt = conn.execute(
        select(t.org_organizations.c.management_account_id).where(t.org_organizations.c.org_id == row.org_id)
    ).scalar()
    if mgmt != ctx.account_id:
        raise HandshakeNotFoundException(NOT_FOUND)
    return row


@operation("organizations", "InviteAccountToOrganization")
def invite_account_to_organization(ctx: RequestContext, params: Params) -> Result:
    target = params["Target"]
    if target.get("Type") != "ACCOUNT" or not str(target.get("Id", "")).isdigit() or len(target["Id"]) != 12:
        raise InvalidInputException(
            "You specified the wrong type for the handshake party: Ostiary invites accounts by their 12-digit id.",
            Reason="INVALID_PARTY_TYPE_TARGET",
        )
    account_id = str(target["Id"])
    with ctx.store.tx() as conn:
        org = s.management(conn, ctx)
        if s.node_kind(conn, org, account_id) == s.ACCOUNT:
            raise HandshakeConstraintViolationException(ALREADY_IN, Reason="ALREADY_IN_AN_ORGANIZATION")
        h = t.org_handshakes.c
        pending = conn.execute(
            select(t.org_handshakes).where(
                h.org_id == org.org_id, h.target_account_id == account_id, h.action == "INVITE", h.state == OPEN
            )
        ).all()
        if any(_state(row, ctx.now) == OPEN for row in pending):
            raise DuplicateHandshakeException("A handshake with the same action and target already exists.")
        handshake_id = s.new_handshake_id()
        conn.execute(
            insert(t.org_handshakes).values(
                handshake_id=handshake_id,
                org_id=org.org_id,
                action="INVITE",
                target_account_id=account_id,
                notes=params.get("Notes"),
                tags=list(params.get("Tags") or []),
                state=OPEN,
                requested_at=ctx.now,
                expires_at=ctx.now + LIFETIME,
            )
        )
        row = conn.execute(select(t.org_handshakes).where(h.handshake_id == handshake_id)).first()
        audit.record(conn, ctx, params, resource=("AWS::Organizations::Handshake", handshake_id))
        return {"Handshake": _shape(conn, row, ctx.now)}


def _transition(conn: Connection, ctx: RequestContext, row: Any, to: str) -> None:
    state = _state(row, ctx.now)
    if state == to:
        raise HandshakeAlreadyInStateException("The specified handshake is already in the requested state.")
    if state != OPEN:
        raise InvalidHandshakeTransitionException(
            "You can't perform the operation on the handshake in its current state."
        )
    conn.execute(update(t.org_handshakes).where(t.org_handshakes.c.handshake_id == row.handshake_id).values(state=to))


def _as_target(conn: Connection, ctx: RequestContext, handshake_id: str) -> Any:
    row = _visible(conn, ctx, handshake_id)
    if row.target_account_id != ctx.account_id:  # the organization's side cannot accept or decline
        raise InvalidHandshakeTransitionException(
            "You can't perform the operation on the handshake in its current state."
        )
    return row


@operation("organizations", "AcceptHandshake")
def accept_handshake(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _as_target(conn, ctx, params["HandshakeId"])
        state = _state(row, ctx.now)
        if state == OPEN and s.of_account(conn, ctx.account_id) is not None:
            raise HandshakeConstraintViolationException(ALREADY_IN, Reason="ALREADY_IN_AN_ORGANIZATION")
        _transition(conn, ctx, row, "ACCEPTED")
        root_id = conn.execute(
            select(t.org_organizations.c.root_id).where(t.org_organizations.c.org_id == row.org_id)
        ).scalar_one()
        conn.execute(
            insert(t.org_accounts).values(
                account_id=ctx.account_id,
                org_id=row.org_id,
                parent_id=root_id,
                joined_method="INVITED",
                joined_at=ctx.now,
                status="ACTIVE",
            )
        )
        org = s.member(conn, ctx)
        if s.SCP in org.policy_types:
            conn.execute(
                insert(t.org_policy_attachments).values(
                    org_id=org.org_id,
                    policy_id=service_control.FULL_AWS_ACCESS_ID,
                    target_id=ctx.account_id,
                    policy_type=s.SCP,
                )
            )
        if row.tags:
            tagging.write(conn, org, s.account_arn(org.mgmt, org.org_id, ctx.account_id), row.tags)
        s.changed(conn)
        audit.record(conn, ctx, params)
        row = conn.execute(select(t.org_handshakes).where(t.org_handshakes.c.handshake_id == row.handshake_id)).first()
        return {"Handshake": _shape(conn, row, ctx.now)}


@operation("organizations", "DeclineHandshake")
def decline_handshake(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _as_target(conn, ctx, params["HandshakeId"])
        _transition(conn, ctx, row, "DECLINED")
        row = conn.execute(select(t.org_handshakes).where(t.org_handshakes.c.handshake_id == row.handshake_id)).first()
        return {"Handshake": _shape(conn, row, ctx.now)}


@operation("organizations", "CancelHandshake")
def cancel_handshake(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _visible(conn, ctx, params["HandshakeId"])
        if row.target_account_id == ctx.account_id:  # the invited account declines; it cannot cancel
            raise InvalidHandshakeTransitionException(BAD_TRANSITION)
        _transition(conn, ctx, row, "CANCELED")
        row = conn.execute(select(t.org_handshakes).where(t.org_handshakes.c.handshake_id == row.handshake_id)).first()
        return {"Handshake": _shape(conn, row, ctx.now)}


@operation("organizations", "DescribeHandshake")
def describe_handshake(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = _visible(conn, ctx, params["HandshakeId"])
        return {"Handshake": _shape(conn, row, ctx.now)}


def _filtered(conn: Connection, ctx: RequestContext, query: Any, params: Params) -> dict[str, Any]:
    action = (params.get("Filter") or {}).get("ActionType")
    if action:
        query = query.where(t.org_handshakes.c.action == action)
    rows = conn.execute(query.order_by(t.org_handshakes.c.handshake_id)).all()
    items = [_shape(conn, row, ctx.now) for row in rows]
    chunk, token = s.page(items, params, lambda hs: str(hs["Id"]))
    return s.paged({}, "Handshakes", chunk, token)


@operation("organizations", "ListHandshakesForAccount")
def list_handshakes_for_account(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        query = select(t.org_handshakes).where(t.org_handshakes.c.target_account_id == ctx.account_id)
        return _filtered(conn, ctx, query, params)


@operation("organizations", "ListHandshakesForOrganization")
def list_handshakes_for_organization(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        query = select(t.org_handshakes).where(t.org_handshakes.c.org_id == org.org_id)
        return _filtered(conn, ctx, query, params)
