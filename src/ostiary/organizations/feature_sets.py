"""Feature sets: EnableAllFeatures and the ENABLE_ALL_FEATURES handshakes (AWS Organizations API
Reference, EnableAllFeatures, Handshake; User Guide, "Enabling all features in your organization").

An organization made with ``FeatureSet=CONSOLIDATED_BILLING`` cannot use policies, trusted access,
delegated administrators nor a resource policy (each operation refuses as AWS does). EnableAllFeatures,
called by its management account, starts a handshake process:

- the management account gets an ENABLE_ALL_FEATURES handshake (EnableAllFeatures answers it);
- every *invited* member account gets an ENABLE_ALL_FEATURES handshake naming the first as its
  PARENT_HANDSHAKE; accounts the organization created approve implicitly (AWS: "approval is
  inferred"), so they get none;
- once every invited member that is still in the organization has accepted (at once when there is
  none), Organizations sends the management account an APPROVE_ALL_FEATURES handshake;
- the management account finalises by accepting its ENABLE_ALL_FEATURES handshake (or the
  APPROVE_ALL_FEATURES one): the organization's FeatureSet becomes ALL. Policy types stay disabled
  until EnablePolicyType, as AWS documents. Finalising before every invited member approved is refused
  (InvalidHandshakeTransitionException); a member that declines blocks the change until the management
  account removes it from the organization or cancels the process (CancelHandshake of its handshake,
  which cancels the members' open ones) and starts again.

While the process is open no invitation is sent or accepted (HandshakeConstraintViolationException,
INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES) and a second EnableAllFeatures is refused
(ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION). The handshakes expire after 90 days.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select, update

from ostiary.audit import recorder as audit
from ostiary.organizations import handshake_records as hs
from ostiary.organizations import structure as s
from ostiary.organizations.errors import HandshakeConstraintViolationException, InvalidHandshakeTransitionException
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

LIFETIME = dt.timedelta(days=90)
ALL = "ALL"
NOT_ALL_APPROVED = (
    "You can't finalize enabling all features until every invited member account has approved the change."
)


def _process(conn: Connection, org: s.Org, now: dt.datetime) -> Any:
    """The open ENABLE_ALL_FEATURES handshake of ``org``'s management account, or None."""
    h = t.org_handshakes.c
    rows = conn.execute(
        select(t.org_handshakes).where(
            h.org_id == org.org_id,
            h.action == hs.ENABLE,
            h.target_account_id == org.mgmt,
            h.parent_handshake_id.is_(None),
            h.state == hs.OPEN,
        )
    ).all()
    return next((row for row in rows if hs.state(row, now) == hs.OPEN), None)


def no_pending_migration(
    conn: Connection, org: s.Org, now: dt.datetime, *, reason: str = "INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES"
) -> None:
    if _process(conn, org, now) is not None:
        raise HandshakeConstraintViolationException(
            "You can't invite an account while the organization is enabling all features.", Reason=reason
        )


@operation("organizations", "EnableAllFeatures")
def enable_all_features(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        org = s.management(conn, ctx)
        if org.feature_set == ALL:
            raise HandshakeConstraintViolationException(
                "This organization already has all features enabled.", Reason="ORGANIZATION_ALREADY_HAS_ALL_FEATURES"
            )
        if _process(conn, org, ctx.now) is not None:
            raise HandshakeConstraintViolationException(
                "This organization is already in the process of enabling all features.",
                Reason="ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION",
            )
        parent = hs.insert_handshake(conn, org, hs.ENABLE, org.mgmt, ctx.now, LIFETIME)
        for account_id in _invited(conn, org):
            hs.insert_handshake(conn, org, hs.ENABLE, account_id, ctx.now, LIFETIME, parent=parent)
        _maybe_approved(conn, org, parent, ctx.now)
        audit.record(conn, ctx, params, resource=("AWS::Organizations::Handshake", parent))
        return {"Handshake": hs.shape(conn, hs.fetch(conn, parent), ctx.now)}


def _invited(conn: Connection, org: s.Org) -> list[str]:
    a = t.org_accounts.c
    return [
        str(v)
        for v in conn.execute(
            select(a.account_id)
            .where(a.org_id == org.org_id, a.joined_method == "INVITED", a.account_id != org.mgmt)
            .order_by(a.account_id)
        ).scalars()
    ]


def _all_approved(conn: Connection, org: s.Org, parent: str) -> bool:
    """Whether every invited member still in ``org`` accepted its handshake of the process ``parent``."""
    h = t.org_handshakes.c
    accepted = set(
        conn.execute(
            select(h.target_account_id).where(
                h.parent_handshake_id == parent, h.action == hs.ENABLE, h.state == hs.ACCEPTED
            )
        ).scalars()
    )
    return all(account_id in accepted for account_id in _invited(conn, org))


def _maybe_approved(conn: Connection, org: s.Org, parent: str, now: dt.datetime) -> None:
    """Send the management account its APPROVE_ALL_FEATURES handshake once every member approved."""
    h = t.org_handshakes.c
    sent = conn.execute(select(h.handshake_id).where(h.parent_handshake_id == parent, h.action == hs.APPROVE)).first()
    if sent is None and _all_approved(conn, org, parent):
        expires = conn.execute(select(h.expires_at).where(h.handshake_id == parent)).scalar_one()
        hs.insert_handshake(conn, org, hs.APPROVE, org.mgmt, now, utc(expires) - now, parent=parent)


def accept(conn: Connection, ctx: RequestContext, row: Any) -> None:
    """AcceptHandshake of an ENABLE_ALL_FEATURES or APPROVE_ALL_FEATURES handshake (the caller is its
    target: ``handshake_records.as_target``)."""
    org = s.of_account(conn, ctx.account_id)
    if org is None or org.org_id != row.org_id:  # a former member: its approval no longer counts
        raise InvalidHandshakeTransitionException(hs.BAD_TRANSITION)
    if row.action == hs.ENABLE and row.parent_handshake_id:  # a member approves
        hs.transition(conn, ctx.now, row, hs.ACCEPTED)
        _maybe_approved(conn, org, str(row.parent_handshake_id), ctx.now)
        return
    # the management account finalises, through its ENABLE_ALL_FEATURES or APPROVE_ALL_FEATURES handshake
    parent = str(row.parent_handshake_id or row.handshake_id)
    if hs.state(row, ctx.now) == hs.OPEN and not _all_approved(conn, org, parent):
        raise InvalidHandshakeTransitionException(NOT_ALL_APPROVED)
    hs.transition(conn, ctx.now, row, hs.ACCEPTED)
    h = t.org_handshakes.c
    conn.execute(
        update(t.org_handshakes)
        .where(
            (h.handshake_id == parent) | ((h.parent_handshake_id == parent) & (h.action == hs.APPROVE)),
            h.state == hs.OPEN,
        )
        .values(state=hs.ACCEPTED)
    )
    conn.execute(update(t.org_organizations).where(t.org_organizations.c.org_id == org.org_id).values(feature_set=ALL))
    s.changed(conn)


def ended(conn: Connection, now: dt.datetime, row: Any) -> None:
    """A handshake of the process was declined or cancelled. The management account's ends the process:
    its members' open handshakes are cancelled. A member's ends only its own approval."""
    if row.action == hs.ENABLE and row.parent_handshake_id:
        return
    parent = str(row.parent_handshake_id or row.handshake_id)
    h = t.org_handshakes.c
    conn.execute(
        update(t.org_handshakes)
        .where((h.handshake_id == parent) | (h.parent_handshake_id == parent), h.state == hs.OPEN)
        .values(state=hs.CANCELED)
    )


def member_gone(conn: Connection, org: s.Org, account_id: str, now: dt.datetime) -> None:
    """A member left or was removed: its open approval handshake is cancelled, and the process may now
    be complete (AWS: remove the accounts that do not approve, then finalise)."""
    process = _process(conn, org, now)
    if process is None:
        return
    h = t.org_handshakes.c
    conn.execute(
        update(t.org_handshakes)
        .where(h.parent_handshake_id == process.handshake_id, h.target_account_id == account_id, h.state == hs.OPEN)
        .values(state=hs.CANCELED)
    )
    _maybe_approved(conn, org, str(process.handshake_id), now)
