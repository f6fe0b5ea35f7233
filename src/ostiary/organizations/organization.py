"""The organization itself: CreateOrganization, DescribeOrganization, DeleteOrganization,
LeaveOrganization (AWS Organizations API Reference).

The caller's account becomes the management account. With all features (the default) the service
control policy type is enabled in the new root and the AWS managed ``FullAWSAccess`` SCP is attached
to the root and to the management account, as AWS does; with consolidated billing only, no policy
type is available.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, func, insert, select

from ostiary.access import service_control
from ostiary.audit import recorder as audit
from ostiary.organizations import feature_sets
from ostiary.organizations import structure as s
from ostiary.organizations.errors import (
    AlreadyInOrganizationException,
    ConstraintViolationException,
    MasterCannotLeaveOrganizationException,
    OrganizationNotEmptyException,
)
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t

MASTER_CANNOT_LEAVE = (
    "You can't remove a management account from an organization. If you want the management account to "
    "become a member account in another organization, you must first delete the current organization of "
    "the management account."
)


@operation("organizations", "CreateOrganization")
def create_organization(ctx: RequestContext, params: Params) -> Result:
    feature_set = params.get("FeatureSet") or "ALL"
    with ctx.store.tx() as conn:
        if s.of_account(conn, ctx.account_id) is not None:
            raise AlreadyInOrganizationException("The provided account is already a member of an organization.")
        org_id, root_id = s.new_org_id(), s.new_root_id()
        types = [s.SCP] if feature_set == "ALL" else []
        conn.execute(
            insert(t.org_organizations).values(
                org_id=org_id,
                management_account_id=ctx.account_id,
                feature_set=feature_set,
                root_id=root_id,
                policy_types=types,
                created_at=ctx.now,
            )
        )
        conn.execute(
            insert(t.org_accounts).values(
                account_id=ctx.account_id,
                org_id=org_id,
                parent_id=root_id,
                joined_method="CREATED",
                joined_at=ctx.now,
                status="ACTIVE",
            )
        )
        if types:
            for target in (root_id, ctx.account_id):
                conn.execute(
                    insert(t.org_policy_attachments).values(
                        org_id=org_id, policy_id=service_control.FULL_AWS_ACCESS_ID, target_id=target, policy_type=s.SCP
                    )
                )
        s.changed(conn)
        org = s.member(conn, ctx)
        audit.record(conn, ctx, params, resource=("AWS::Organizations::Organization", org.org_id))
    return {"Organization": org.shape()}


@operation("organizations", "DescribeOrganization")
def describe_organization(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.member(conn, ctx)
    return {"Organization": org.shape()}


@operation("organizations", "DeleteOrganization")
def delete_organization(ctx: RequestContext, params: Params) -> Result:
    """Only when the management account is its only account; its OUs, policies and their tags go
    with it."""
    with ctx.store.tx() as conn:
        org = s.management(conn, ctx)
        others = conn.execute(
            select(func.count()).where(t.org_accounts.c.org_id == org.org_id, t.org_accounts.c.account_id != org.mgmt)
        ).scalar()
        if others:
            raise OrganizationNotEmptyException(
                "To delete an organization you must first remove all member accounts (except the master)."
            )
        prefix = f"arn:aws:organizations::{org.mgmt}:"
        conn.execute(delete(t.tags).where(t.tags.c.account_id == org.mgmt, t.tags.c.resource_arn.startswith(prefix)))
        conn.execute(delete(t.org_organizations).where(t.org_organizations.c.org_id == org.org_id))
        s.changed(conn)
        audit.record(conn, ctx, params, resource=("AWS::Organizations::Organization", org.org_id))
    return {}


@operation("organizations", "LeaveOrganization")
def leave_organization(ctx: RequestContext, params: Params) -> Result:
    """A member account leaves (the management account cannot: it deletes the organization)."""
    with ctx.store.tx() as conn:
        org = s.member(conn, ctx)
        if org.mgmt == ctx.account_id:
            raise MasterCannotLeaveOrganizationException(MASTER_CANNOT_LEAVE)
        remove_account(conn, org, ctx.account_id, ctx.now)
        audit.record(conn, ctx, params, resource=("AWS::Organizations::Organization", org.org_id))
    return {}


def remove_account(conn: Connection, org: s.Org, account_id: str, now: dt.datetime) -> None:
    """Take a member account out of ``org``: its membership, the policies attached to it, its tags.
    A delegated administrator must be deregistered first."""
    if s.is_delegated_admin(conn, org, account_id):
        raise ConstraintViolationException(
            "You can't remove a delegated administrator from the organization: deregister it first.",
            Reason="CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG",
        )
    conn.execute(
        delete(t.org_policy_attachments).where(
            t.org_policy_attachments.c.org_id == org.org_id, t.org_policy_attachments.c.target_id == account_id
        )
    )
    conn.execute(delete(t.tags).where(t.tags.c.resource_arn == s.account_arn(org.mgmt, org.org_id, account_id)))
    conn.execute(delete(t.org_accounts).where(t.org_accounts.c.account_id == account_id))
    feature_sets.member_gone(conn, org, account_id, now)
    s.changed(conn)
