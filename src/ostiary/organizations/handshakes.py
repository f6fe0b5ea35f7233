"""Invitations of existing accounts: InviteAccountToOrganization, AcceptHandshake, DeclineHandshake,
CancelHandshake, DescribeHandshake, ListHandshakesForAccount, ListHandshakesForOrganization (AWS
Organizations API Reference, "Inviting an AWS account to join your organization").

The management account invites an account by its id (Ostiary's accounts have no e-mail address, so
an EMAIL party is refused); the invited account accepts (it joins the root, with the AWS managed
``FullAWSAccess`` when SCPs are enabled, and the invitation's tags) or declines; the management account
may cancel. An open handshake expires after 15 days. Only the two parties see a handshake; to anyone
else it does not exist. An invited account keeps its own credentials and gets no
``OrganizationAccountAccessRole`` (AWS creates none for invited accounts). No invitation is sent, nor
accepted, while the organization is enabling all features. The handshakes of that process
(ENABLE_ALL_FEATURES, APPROVE_ALL_FEATURES) are accepted, declined and cancelled through the same
operations; what they do is ``feature_sets.py``; rows and shapes are ``handshake_records.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select

from ostiary.audit import recorder as audit
from ostiary.organizations import feature_sets, tagging
from ostiary.organizations import handshake_records as hs
from ostiary.organizations import structure as s
from ostiary.organizations.errors import (
    DuplicateHandshakeException,
    HandshakeConstraintViolationException,
    InvalidHandshakeTransitionException,
    InvalidInputException,
)
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t

LIFETIME = dt.timedelta(days=15)


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
        feature_sets.no_pending_migration(conn, org, ctx.now)
        if s.node_kind(conn, org, account_id) == s.ACCOUNT:
            raise HandshakeConstraintViolationException(hs.ALREADY_IN, Reason="ALREADY_IN_AN_ORGANIZATION")
        h = t.org_handshakes.c
        pending = conn.execute(
            select(t.org_handshakes).where(
                h.org_id == org.org_id, h.target_account_id == account_id, h.action == hs.INVITE, h.state == hs.OPEN
            )
        ).all()
        if any(hs.state(row, ctx.now) == hs.OPEN for row in pending):
            raise DuplicateHandshakeException("A handshake with the same action and target already exists.")
        handshake_id = hs.insert_handshake(
            conn, org, hs.INVITE, account_id, ctx.now, LIFETIME, notes=params.get("Notes"), tags=params.get("Tags")
        )
        audit.record(conn, ctx, params, resource=("AWS::Organizations::Handshake", handshake_id))
        return {"Handshake": hs.shape(conn, hs.fetch(conn, handshake_id), ctx.now)}


@operation("organizations", "AcceptHandshake")
def accept_handshake(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = hs.as_target(conn, ctx, params["HandshakeId"])
        if row.action != hs.INVITE:
            feature_sets.accept(conn, ctx, row)
        else:
            _join(conn, ctx, row)
        audit.record(conn, ctx, params)
        return {"Handshake": hs.shape(conn, hs.fetch(conn, row.handshake_id), ctx.now)}


def _join(conn: Connection, ctx: RequestContext, row: Any) -> None:
    """The invited account accepts: it joins the organization's root."""
    if hs.state(row, ctx.now) == hs.OPEN and s.of_account(conn, ctx.account_id) is not None:
        raise HandshakeConstraintViolationException(hs.ALREADY_IN, Reason="ALREADY_IN_AN_ORGANIZATION")
    hs.transition(conn, ctx.now, row, hs.ACCEPTED)
    o = t.org_organizations.c
    mgmt = conn.execute(select(o.management_account_id).where(o.org_id == row.org_id)).scalar_one()
    inviting = s.of_account(conn, str(mgmt))
    if inviting is None:
        raise InvalidHandshakeTransitionException(hs.BAD_TRANSITION)
    feature_sets.no_pending_migration(conn, inviting, ctx.now, reason="INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES")
    conn.execute(
        insert(t.org_accounts).values(
            account_id=ctx.account_id,
            org_id=row.org_id,
            parent_id=inviting.root_id,
            joined_method="INVITED",
            joined_at=ctx.now,
            status="ACTIVE",
        )
    )
    org = s.member(conn, ctx)
    s.attach_defaults(conn, org, ctx.account_id, ctx.now)
    if row.tags:
        tagging.write(conn, org, s.account_arn(org.mgmt, org.org_id, ctx.account_id), row.tags)
    s.changed(conn)


@operation("organizations", "DeclineHandshake")
def decline_handshake(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = hs.as_target(conn, ctx, params["HandshakeId"])
        hs.transition(conn, ctx.now, row, hs.DECLINED)
        if row.action != hs.INVITE:
            feature_sets.ended(conn, ctx.now, row)
        return {"Handshake": hs.shape(conn, hs.fetch(conn, row.handshake_id), ctx.now)}


@operation("organizations", "CancelHandshake")
def cancel_handshake(ctx: RequestContext, params: Params) -> Result:
    """The organization's side withdraws a handshake: an invitation, or the ENABLE_ALL_FEATURES process
    (its management account's handshake, which it is the party of)."""
    with ctx.store.tx() as conn:
        row = hs.visible(conn, ctx, params["HandshakeId"])
        ours = hs.management_of(conn, row.org_id) == ctx.account_id
        if not ours:  # the invited account declines; it cannot cancel
            raise InvalidHandshakeTransitionException(hs.BAD_TRANSITION)
        hs.transition(conn, ctx.now, row, hs.CANCELED)
        if row.action != hs.INVITE:
            feature_sets.ended(conn, ctx.now, row)
        return {"Handshake": hs.shape(conn, hs.fetch(conn, row.handshake_id), ctx.now)}


@operation("organizations", "DescribeHandshake")
def describe_handshake(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = hs.visible(conn, ctx, params["HandshakeId"])
        return {"Handshake": hs.shape(conn, row, ctx.now)}


def _filtered(conn: Connection, ctx: RequestContext, query: Any, params: Params) -> dict[str, Any]:
    action = (params.get("Filter") or {}).get("ActionType")
    if action:
        query = query.where(t.org_handshakes.c.action == action)
    rows = conn.execute(query.order_by(t.org_handshakes.c.handshake_id)).all()
    items = [hs.shape(conn, row, ctx.now) for row in rows]
    chunk, token = s.page(items, params, lambda shaped: str(shaped["Id"]))
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
