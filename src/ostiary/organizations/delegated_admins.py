"""Delegated administrators: RegisterDelegatedAdministrator, DeregisterDelegatedAdministrator,
ListDelegatedAdministrators, ListDelegatedServicesForAccount (AWS Organizations API Reference).

The management account registers a member account as the administrator of a service that has trusted
access (``service_access.py``). As AWS: it "grants read-only access to Organizations service data" —
a delegated administrator may call the operations that read the organization (``structure.reader``);
what it may do in the service itself is the service's IAM permissions. A delegated administrator
cannot leave or be removed until it is deregistered; the management account cannot be one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select

from ostiary.audit import recorder as audit
from ostiary.organizations import structure as s
from ostiary.organizations.accounts import ACCOUNT_NOT_FOUND, account_shape
from ostiary.organizations.errors import (
    AccountAlreadyRegisteredException,
    AccountNotFoundException,
    AccountNotRegisteredException,
    ConstraintViolationException,
)
from ostiary.organizations.service_access import service_principal
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t

NOT_REGISTERED = "The provided account is not a registered delegated administrator for your organization."


def _member_account(conn: Any, org: s.Org, account_id: str) -> Any:
    a = t.org_accounts.c
    row = conn.execute(
        select(t.org_accounts, t.accounts.c.name)
        .select_from(t.org_accounts.join(t.accounts, t.accounts.c.id == a.account_id))
        .where(a.account_id == account_id, a.org_id == org.org_id)
    ).first()
    if row is None:
        raise AccountNotFoundException(ACCOUNT_NOT_FOUND)
    return row


@operation("organizations", "RegisterDelegatedAdministrator", resource=s.resource("AccountId"))
def register_delegated_administrator(ctx: RequestContext, params: Params) -> Result:
    principal = service_principal(params)
    with ctx.store.tx() as conn:
        org = s.require_all_features(s.management(conn, ctx))
        row = _member_account(conn, org, params["AccountId"])
        if row.account_id == org.mgmt:
            raise ConstraintViolationException(
                "You can't register the management account as a delegated administrator.",
                Reason="CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR",
            )
        if row.status != "ACTIVE":
            raise ConstraintViolationException(
                "You can't register a suspended account as a delegated administrator.",
                Reason="CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR",
            )
        sa = t.org_service_access.c
        trusted = conn.execute(
            select(sa.service_principal).where(sa.org_id == org.org_id, sa.service_principal == principal)
        ).first()
        if trusted is None:
            raise ConstraintViolationException(
                "You must enable trusted access for the service before you register a delegated administrator.",
                Reason="SERVICE_ACCESS_NOT_ENABLED",
            )
        d = t.org_delegated_admins.c
        taken = conn.execute(
            select(d.account_id).where(d.account_id == row.account_id, d.service_principal == principal)
        ).first()
        if taken is not None:
            raise AccountAlreadyRegisteredException(
                "The provided account is already a delegated administrator for your organization."
            )
        conn.execute(
            insert(t.org_delegated_admins).values(
                account_id=row.account_id, service_principal=principal, org_id=org.org_id, enabled_at=ctx.now
            )
        )
        audit.record(conn, ctx, params)
    return {}


@operation("organizations", "DeregisterDelegatedAdministrator", resource=s.resource("AccountId"))
def deregister_delegated_administrator(ctx: RequestContext, params: Params) -> Result:
    principal = service_principal(params)
    with ctx.store.tx() as conn:
        org = s.management(conn, ctx)
        row = _member_account(conn, org, params["AccountId"])
        d = t.org_delegated_admins.c
        gone = conn.execute(
            delete(t.org_delegated_admins).where(
                d.account_id == row.account_id, d.service_principal == principal, d.org_id == org.org_id
            )
        ).rowcount
        if not gone:
            raise AccountNotRegisteredException(NOT_REGISTERED)
        audit.record(conn, ctx, params)
    return {}


@operation("organizations", "ListDelegatedAdministrators")
def list_delegated_administrators(ctx: RequestContext, params: Params) -> Result:
    d = t.org_delegated_admins.c
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        query = select(d.account_id, d.enabled_at).where(d.org_id == org.org_id)
        if params.get("ServicePrincipal"):
            query = query.where(d.service_principal == params["ServicePrincipal"])
        first: dict[str, Any] = {}
        for r in conn.execute(query.order_by(d.account_id, d.enabled_at)):
            first.setdefault(r.account_id, r.enabled_at)  # the earliest delegation of each account
        items = []
        for account_id, enabled_at in sorted(first.items()):
            row = _member_account(conn, org, account_id)
            items.append({**account_shape(org, row, row.name), "DelegationEnabledDate": enabled_at})
    chunk, token = s.page(items, params, lambda item: str(item["Id"]))
    return s.paged({}, "DelegatedAdministrators", chunk, token)


@operation("organizations", "ListDelegatedServicesForAccount", resource=s.resource("AccountId"))
def list_delegated_services_for_account(ctx: RequestContext, params: Params) -> Result:
    d = t.org_delegated_admins.c
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        row = _member_account(conn, org, params["AccountId"])
        rows = conn.execute(
            select(d.service_principal, d.enabled_at)
            .where(d.account_id == row.account_id, d.org_id == org.org_id)
            .order_by(d.service_principal)
        ).all()
    if not rows:
        raise AccountNotRegisteredException(NOT_REGISTERED)
    items = [{"ServicePrincipal": r.service_principal, "DelegationEnabledDate": r.enabled_at} for r in rows]
    chunk, token = s.page(items, params, lambda item: str(item["ServicePrincipal"]))
    return s.paged({}, "DelegatedServices", chunk, token)
