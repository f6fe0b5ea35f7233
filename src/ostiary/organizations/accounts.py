"""The organization's accounts: CreateAccount, DescribeCreateAccountStatus, ListCreateAccountStatus,
ListAccounts, ListAccountsForParent, DescribeAccount, MoveAccount, RemoveAccountFromOrganization,
CloseAccount (AWS Organizations API Reference).

CreateAccount makes a new Ostiary account in the same transaction, with the role AWS creates in it
(``OrganizationAccountAccessRole`` or the RoleName given): trusting the management account, with the
AWS managed ``AdministratorAccess`` attached. The new account's root has no credentials (as AWS's): it
is reached through that role. The request completes at once (its state is SUCCEEDED, or FAILED with
EMAIL_ALREADY_EXISTS); DescribeCreateAccountStatus and ListCreateAccountStatus answer it as AWS does.

CloseAccount suspends the account (Status and State SUSPENDED): every principal of a suspended
account is denied everything (``access.service_control``), as a closed AWS account can use no
service; it stays in the organization until removed.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ostiary.access.accounts import insert_account
from ostiary.audit import recorder as audit
from ostiary.iam.attachments import attach
from ostiary.iam.roles import insert_role
from ostiary.organizations import organization, tagging
from ostiary.organizations import structure as s
from ostiary.organizations.errors import (
    AccountAlreadyClosedException,
    AccountNotFoundException,
    ConstraintViolationException,
    CreateAccountStatusNotFoundException,
    DestinationParentNotFoundException,
    DuplicateAccountException,
    InvalidInputException,
    MasterCannotLeaveOrganizationException,
    SourceParentNotFoundException,
)
from ostiary.organizations.units import parent
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t

DEFAULT_ROLE = "OrganizationAccountAccessRole"
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
ACCOUNT_NOT_FOUND = "You specified an account that doesn't exist."
_ROLE_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-")


def account_shape(org: s.Org, row: Any, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Id": row.account_id,
        "Arn": s.account_arn(org.mgmt, org.org_id, row.account_id),
        "Name": name,
        "Status": row.status,
        "State": row.status,
        "JoinedMethod": row.joined_method,
        "JoinedTimestamp": row.joined_at,
    }
    if row.email:
        out["Email"] = row.email
    return out


def _accounts(conn: Connection, org: s.Org, parent_id: str | None = None) -> list[dict[str, Any]]:
    a = t.org_accounts.c
    query = (
        select(t.org_accounts, t.accounts.c.name)
        .select_from(t.org_accounts.join(t.accounts, t.accounts.c.id == a.account_id))
        .where(a.org_id == org.org_id)
    )
    if parent_id is not None:
        query = query.where(a.parent_id == parent_id)
    return [account_shape(org, row, row.name) for row in conn.execute(query.order_by(a.account_id))]


def _account(conn: Connection, org: s.Org, account_id: str) -> Any:
    a = t.org_accounts.c
    row = conn.execute(
        select(t.org_accounts, t.accounts.c.name)
        .select_from(t.org_accounts.join(t.accounts, t.accounts.c.id == a.account_id))
        .where(a.account_id == account_id, a.org_id == org.org_id)
    ).first()
    if row is None:
        raise AccountNotFoundException(ACCOUNT_NOT_FOUND)
    return row


def _status_shape(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Id": row.request_id,
        "AccountName": row.account_name,
        "State": row.state,
        "RequestedTimestamp": row.requested_at,
    }
    if row.completed_at is not None:
        out["CompletedTimestamp"] = row.completed_at
    if row.account_id:
        out["AccountId"] = row.account_id
    if row.failure_reason:
        out["FailureReason"] = row.failure_reason
    return out


def _trust(mgmt: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{mgmt}:root"}, "Action": "sts:AssumeRole"}
            ],
        }
    )


@operation("organizations", "CreateAccount")
def create_account(ctx: RequestContext, params: Params) -> Result:
    email, name = str(params["Email"]), str(params["AccountName"])
    role = str(params.get("RoleName") or DEFAULT_ROLE)
    if not set(role) <= _ROLE_CHARS or not 1 <= len(role) <= 64:
        raise InvalidInputException("You provided a role name that isn't valid.", Reason="INVALID_ROLE_NAME")
    if "@" not in email:
        raise InvalidInputException(
            "You provided an email address that isn't valid.", Reason="INVALID_EMAIL_ADDRESS_TARGET"
        )
    with ctx.store.tx() as conn:
        org = s.management(conn, ctx)
        request_id = s.new_request_id()
        a = t.org_accounts.c
        taken = conn.execute(select(a.account_id).where(a.org_id == org.org_id, a.email_key == email.lower())).first()
        values: dict[str, Any] = {
            "request_id": request_id,
            "org_id": org.org_id,
            "account_name": name,
            "requested_at": ctx.now,
            "completed_at": ctx.now,
        }
        if taken is not None:
            values.update(state="FAILED", failure_reason="EMAIL_ALREADY_EXISTS")
        else:
            account_id = insert_account(conn, name)
            conn.execute(
                insert(t.org_accounts).values(
                    account_id=account_id,
                    org_id=org.org_id,
                    parent_id=org.root_id,
                    email=email,
                    email_key=email.lower(),
                    joined_method="CREATED",
                    joined_at=ctx.now,
                    status="ACTIVE",
                )
            )
            insert_role(
                conn,
                account_id,
                role,
                path="/",
                trust_policy=_trust(org.mgmt),
                max_session_duration=3600,
                now=ctx.now,
            )
            attach(conn, account_id, "role", role.lower(), ADMINISTRATOR_ACCESS)
            s.attach_defaults(conn, org, account_id, ctx.now)
            if params.get("Tags"):
                tagging.write(conn, org, s.account_arn(org.mgmt, org.org_id, account_id), params["Tags"])
            values.update(state="SUCCEEDED", account_id=account_id)
            s.changed(conn)
        conn.execute(insert(t.org_create_account_requests).values(**values))
        audit.record(
            conn,
            ctx,
            {"AccountName": name, "RoleName": role},
            resource=("AWS::Organizations::Account", values.get("account_id") or request_id),
            details={"createAccountRequestId": request_id, "state": values["state"]},
        )
        row = conn.execute(
            select(t.org_create_account_requests).where(t.org_create_account_requests.c.request_id == request_id)
        ).first()
    return {"CreateAccountStatus": _status_shape(row)}


@operation("organizations", "DescribeCreateAccountStatus")
def describe_create_account_status(ctx: RequestContext, params: Params) -> Result:
    r = t.org_create_account_requests.c
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        row = conn.execute(
            select(t.org_create_account_requests).where(
                r.request_id == params["CreateAccountRequestId"], r.org_id == org.org_id
            )
        ).first()
    if row is None:
        raise CreateAccountStatusNotFoundException(
            "We can't find an create account request with the CreateAccountRequestId that you specified."
        )
    return {"CreateAccountStatus": _status_shape(row)}


@operation("organizations", "ListCreateAccountStatus")
def list_create_account_status(ctx: RequestContext, params: Params) -> Result:
    r = t.org_create_account_requests.c
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        query = select(t.org_create_account_requests).where(r.org_id == org.org_id)
        if params.get("States"):
            query = query.where(r.state.in_([str(v) for v in params["States"]]))
        rows = conn.execute(query.order_by(r.request_id)).all()
    chunk, token = s.page([_status_shape(row) for row in rows], params, lambda st: str(st["Id"]))
    return s.paged({}, "CreateAccountStatuses", chunk, token)


@operation("organizations", "ListAccounts")
def list_accounts(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        items = _accounts(conn, org)
    chunk, token = s.page(items, params, lambda acct: str(acct["Id"]))
    return s.paged({}, "Accounts", chunk, token)


@operation("organizations", "ListAccountsForParent", resource=s.resource("ParentId"))
def list_accounts_for_parent(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        parent_id = parent(conn, org, params["ParentId"])
        items = _accounts(conn, org, parent_id)
    chunk, token = s.page(items, params, lambda acct: str(acct["Id"]))
    return s.paged({}, "Accounts", chunk, token)


@operation("organizations", "DescribeAccount", resource=s.resource("AccountId"))
def describe_account(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        org = s.reader(conn, ctx)
        row = _account(conn, org, params["AccountId"])
    return {"Account": account_shape(org, row, row.name)}


@operation("organizations", "MoveAccount", resource=s.resource("AccountId"))
def move_account(ctx: RequestContext, params: Params) -> Result:
    source, destination = params["SourceParentId"], params["DestinationParentId"]
    with ctx.store.tx() as conn:
        org = s.management(conn, ctx)
        row = _account(conn, org, params["AccountId"])
        if s.node_kind(conn, org, source) not in (s.ROOT, s.OU):
            raise SourceParentNotFoundException(
                "We can't find a source root or OU with the ParentId that you specified."
            )
        if s.node_kind(conn, org, destination) not in (s.ROOT, s.OU):
            raise DestinationParentNotFoundException(
                "We can't find the destination container (a root or OU) with the ParentId that you specified."
            )
        if row.parent_id != source:
            raise AccountNotFoundException(ACCOUNT_NOT_FOUND)  # not in the source parent
        if row.parent_id == destination:
            raise DuplicateAccountException("That account is already present in the specified destination.")
        conn.execute(
            update(t.org_accounts).where(t.org_accounts.c.account_id == row.account_id).values(parent_id=destination)
        )
        s.changed(conn)
        audit.record(conn, ctx, params)
    return {}


@operation("organizations", "RemoveAccountFromOrganization", resource=s.resource("AccountId"))
def remove_account_from_organization(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        org = s.management(conn, ctx)
        row = _account(conn, org, params["AccountId"])
        if row.account_id == org.mgmt:
            raise MasterCannotLeaveOrganizationException(organization.MASTER_CANNOT_LEAVE)
        organization.remove_account(conn, org, row.account_id, ctx.now)
        audit.record(conn, ctx, params)
    return {}


@operation("organizations", "CloseAccount", resource=s.resource("AccountId"))
def close_account(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        org = s.management(conn, ctx)
        row = _account(conn, org, params["AccountId"])
        if row.account_id == org.mgmt:
            raise ConstraintViolationException(
                "You can't close the management account with this operation.", Reason="CANNOT_CLOSE_MANAGEMENT_ACCOUNT"
            )
        if row.status != "ACTIVE":
            raise AccountAlreadyClosedException("You provided an account that is already closed.")
        conn.execute(
            update(t.org_accounts).where(t.org_accounts.c.account_id == row.account_id).values(status="SUSPENDED")
        )
        s.changed(conn)
        audit.record(conn, ctx, params)
    return {}
