"""Trusted access of AWS services to the organization: EnableAWSServiceAccess,
DisableAWSServiceAccess, ListAWSServiceAccessForOrganization (AWS Organizations API Reference).

The management account of an organization with all features keeps the list of service principals
(``<service>.amazonaws.com``) it trusts; enabling one already enabled, or disabling one that is not,
changes nothing, as AWS answers; disabling a service deregisters its delegated administrators
(``delegated_admins.py``). What a trusted service then does in the member accounts is that
service's own (Ostiary's IAM Identity Center reaches the organization's accounts in any case).
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, delete, insert, select

from ostiary.audit import recorder as audit
from ostiary.organizations import structure as s
from ostiary.organizations.errors import InvalidInputException
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t

_PRINCIPAL = re.compile(r"[a-z0-9][a-z0-9.-]{0,100}\.amazonaws\.com")


def _org_with_all_features(ctx: RequestContext, conn: Connection, *, read: bool = False) -> s.Org:
    return s.require_all_features(s.reader(conn, ctx) if read else s.management(conn, ctx))


def service_principal(params: Params) -> str:
    principal = str(params["ServicePrincipal"])
    if _PRINCIPAL.fullmatch(principal) is None:
        raise InvalidInputException(
            "You specified an unrecognized service principal.", Reason="UNRECOGNIZED_SERVICE_PRINCIPAL"
        )
    return principal


@operation("organizations", "EnableAWSServiceAccess")
def enable_aws_service_access(ctx: RequestContext, params: Params) -> Result:
    principal = service_principal(params)
    with ctx.store.tx() as conn:
        org = _org_with_all_features(ctx, conn)
        sa = t.org_service_access.c
        found = conn.execute(
            select(sa.service_principal).where(sa.org_id == org.org_id, sa.service_principal == principal)
        ).first()
        if found is None:
            conn.execute(
                insert(t.org_service_access).values(org_id=org.org_id, service_principal=principal, enabled_at=ctx.now)
            )
            audit.record(conn, ctx, params, resource=("AWS::Organizations::Organization", org.org_id))
    return {}


@operation("organizations", "DisableAWSServiceAccess")
def disable_aws_service_access(ctx: RequestContext, params: Params) -> Result:
    principal = service_principal(params)
    with ctx.store.tx() as conn:
        org = _org_with_all_features(ctx, conn)
        sa = t.org_service_access.c
        gone = conn.execute(
            delete(t.org_service_access).where(sa.org_id == org.org_id, sa.service_principal == principal)
        ).rowcount
        d = t.org_delegated_admins.c  # the service's delegated administrators go with its access
        conn.execute(delete(t.org_delegated_admins).where(d.org_id == org.org_id, d.service_principal == principal))
        if gone:
            audit.record(conn, ctx, params, resource=("AWS::Organizations::Organization", org.org_id))
    return {}


@operation("organizations", "ListAWSServiceAccessForOrganization")
def list_aws_service_access_for_organization(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = _org_with_all_features(ctx, conn, read=True)
        sa = t.org_service_access.c
        rows = conn.execute(
            select(sa.service_principal, sa.enabled_at).where(sa.org_id == org.org_id).order_by(sa.service_principal)
        ).all()
    items = [{"ServicePrincipal": r.service_principal, "DateEnabled": r.enabled_at} for r in rows]
    chunk, token = s.page(items, params, lambda item: str(item["ServicePrincipal"]))
    return s.paged({}, "EnabledServicePrincipals", chunk, token)
