"""Account assignments (sso-admin): Create/DeleteAccountAssignment, ListAccountAssignments,
ListAccountAssignmentsForPrincipal, Describe/ListAccountAssignmentCreationStatus,
Describe/ListAccountAssignmentDeletionStatus, ListAccountsForProvisionedPermissionSet,
ListPermissionSetsProvisionedToAccount; and ``access_for_user``, what a directory user reaches
(the portal API and the access portal read it).

An assignment gives a user or a group of the instance's identity store a permission set in an
account. Creating one provisions the set into the account (``provisioning.py``) when it is not there
yet; deleting the last assignment of a set in an account removes its role there. Which accounts an
instance may target is ``targets.py``'s rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, tuple_
from sqlalchemy.engine import RowMapping

from ostiary.audit import recorder as audit
from ostiary.iam.roles import role_arn
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import instances, paging, permission_sets, provisioning, targets
from ostiary.ssoadmin.errors import ServiceQuotaExceededException
from ostiary.store import tables as t

MAX_ASSIGNMENTS_PER_ACCOUNT = 1000  # per account, AWS's default quota (all permission sets together)


@dataclass(frozen=True)
class Access:
    """One provisioned (account, permission set) a directory user reaches."""

    account_id: str
    permission_set_arn: str
    permission_set_name: str
    role_name: str  # AWSReservedSSO_<name>_<hex>
    role_arn: str
    session_duration_seconds: int


def groups_of_user(conn: Connection, identity_store_id: str, user_id: str) -> list[str]:
    m = t.identitystore_memberships.c
    return list(
        conn.execute(select(m.group_id).where(m.identity_store_id == identity_store_id, m.user_id == user_id)).scalars()
    )


def access_for_user(conn: Connection, instance_arn: str, user_id: str) -> list[Access]:
    """Every provisioned (account, permission set) of the instance that ``user_id`` reaches directly
    or through one of its groups, sorted by account, then permission set name."""
    instance = conn.execute(
        select(t.sso_instances.c.identity_store_id, t.sso_instances.c.account_id).where(
            t.sso_instances.c.instance_arn == instance_arn
        )
    ).first()
    if instance is None:
        return []
    principals = [("USER", user_id)] + [("GROUP", g) for g in groups_of_user(conn, instance.identity_store_id, user_id)]
    a, p, ps, r = t.sso_account_assignments.c, t.sso_provisioned.c, t.sso_permission_sets.c, t.iam_roles.c
    # the session length is the role's as provisioned (a changed set's new one applies once provisioned)
    rows = conn.execute(
        select(p.account_id, p.permission_set_arn, p.role_name, p.role_path, ps.name, r.max_session_duration)
        .distinct()
        .select_from(
            t.sso_account_assignments.join(
                t.sso_provisioned,
                (p.permission_set_arn == a.permission_set_arn) & (p.account_id == a.account_id),
            )
            .join(t.sso_permission_sets, ps.permission_set_arn == a.permission_set_arn)
            .join(t.iam_roles, (r.account_id == p.account_id) & (r.name_key == func.lower(p.role_name)))
        )
        .where(a.instance_arn == instance_arn, tuple_(a.principal_type, a.principal_id).in_(principals))
    ).all()
    reached = targets.reachable(conn, instance.account_id, {row.account_id for row in rows})
    found = [
        Access(
            account_id=row.account_id,
            permission_set_arn=row.permission_set_arn,
            permission_set_name=row.name,
            role_name=row.role_name,
            role_arn=role_arn(row.account_id, row.role_path, row.role_name),
            session_duration_seconds=int(row.max_session_duration),
        )
        for row in rows
        if row.account_id in reached  # an account that left the owner's organization is reached no more
    ]
    return sorted(found, key=lambda x: (x.account_id, x.permission_set_name, x.permission_set_arn))


def principal_exists(conn: Connection, identity_store_id: str, principal_type: str, principal_id: str) -> bool:
    if principal_type == "USER":
        u = t.identitystore_users.c
        query = select(u.user_id).where(u.identity_store_id == identity_store_id, u.user_id == principal_id)
    else:
        g = t.identitystore_groups.c
        query = select(g.group_id).where(g.identity_store_id == identity_store_id, g.group_id == principal_id)
    return conn.execute(query).first() is not None


def _assignment_fields(params: Params) -> dict[str, Any]:
    return {
        "permission_set_arn": params["PermissionSetArn"],
        "target_id": params["TargetId"],
        "target_type": params["TargetType"],
        "principal_type": params["PrincipalType"],
        "principal_id": params["PrincipalId"],
    }


def _audit_details(row: RowMapping) -> dict[str, Any]:
    """The request's result in its audit event (a FAILED request is a successful call)."""
    out = {"requestId": row["request_id"], "status": row["status"]}
    if row["failure_reason"]:
        out["failureReason"] = row["failure_reason"]
    return out


def _status(row: RowMapping) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Status": row["status"],
        "RequestId": row["request_id"],
        "TargetId": row["target_id"],
        "TargetType": row["target_type"],
        "PermissionSetArn": row["permission_set_arn"],
        "PrincipalType": row["principal_type"],
        "PrincipalId": row["principal_id"],
        "CreatedDate": row["created_at"],
    }
    if row["failure_reason"]:
        out["FailureReason"] = row["failure_reason"]
    return out


def _where(params: Params) -> list[Any]:
    a = t.sso_account_assignments.c
    return [
        a.permission_set_arn == params["PermissionSetArn"],
        a.account_id == params["TargetId"],
        a.principal_type == params["PrincipalType"],
        a.principal_id == params["PrincipalId"],
    ]


def _create_failure(
    conn: Connection, ctx: RequestContext, instance: RowMapping, ps: RowMapping, params: Params
) -> str | None:
    """Why the assignment cannot be made (None: it can; then it is made and provisioned)."""
    account = params["TargetId"]
    if not principal_exists(conn, instance["identity_store_id"], params["PrincipalType"], params["PrincipalId"]):
        kind = "User" if params["PrincipalType"] == "USER" else "Group"
        return f"{kind} {params['PrincipalId']} does not exist in the identity store {instance['identity_store_id']}."
    current = provisioning.provisioned(conn, ps["permission_set_arn"], account)
    if current is None or current["revision"] != ps["revision"]:
        failure = provisioning.failure_in(conn, instance, ps, account)
        if failure:
            return failure
        provisioning.provision(conn, provisioning.target(ctx, instance), ps, account)
    else:
        refused = targets.refusal(conn, instance, account)
        if refused:
            return refused
    if conn.execute(select(t.sso_account_assignments.c.account_id).where(*_where(params))).first() is None:
        conn.execute(
            insert(t.sso_account_assignments).values(
                permission_set_arn=ps["permission_set_arn"],
                account_id=account,
                principal_type=params["PrincipalType"],
                principal_id=params["PrincipalId"],
                instance_arn=instance["instance_arn"],
                created_at=ctx.now,
            )
        )
    return None


@operation("sso-admin", "CreateAccountAssignment", resource=permission_sets.resource)
def create_account_assignment(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        ps = permission_sets.find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"], lock=True)
        instance = instances.find(conn, params["InstanceArn"], ctx.account_id)
        a = t.sso_account_assignments.c
        in_account = conn.execute(
            select(a.principal_id)
            .where(a.instance_arn == instance["instance_arn"], a.account_id == params["TargetId"])
            .limit(MAX_ASSIGNMENTS_PER_ACCOUNT)
        ).all()
        if len(in_account) >= MAX_ASSIGNMENTS_PER_ACCOUNT:
            raise ServiceQuotaExceededException("The account already has the maximum number of assignments.")
        failure = _create_failure(conn, ctx, instance, ps, params)
        row = provisioning.record(
            conn, instance["instance_arn"], "CREATE", failure, ctx.now, **_assignment_fields(params)
        )
        audit.record(conn, ctx, params, details=_audit_details(row))
    return {"AccountAssignmentCreationStatus": _status(row)}


@operation("sso-admin", "DeleteAccountAssignment", resource=permission_sets.resource)
def delete_account_assignment(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        ps = permission_sets.find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"], lock=True)
        instance = instances.find(conn, params["InstanceArn"], ctx.account_id)
        gone = conn.execute(delete(t.sso_account_assignments).where(*_where(params))).rowcount
        failure = None
        if not gone:
            failure = "The account assignment does not exist."
        else:
            a = t.sso_account_assignments.c
            left = conn.execute(
                select(a.principal_id)
                .where(a.permission_set_arn == ps["permission_set_arn"], a.account_id == params["TargetId"])
                .limit(1)
            ).first()
            if left is None:
                provisioning.unprovision(conn, ps["permission_set_arn"], params["TargetId"])
        row = provisioning.record(
            conn, instance["instance_arn"], "DELETE", failure, ctx.now, **_assignment_fields(params)
        )
        audit.record(conn, ctx, params, details=_audit_details(row))
    return {"AccountAssignmentDeletionStatus": _status(row)}


@operation("sso-admin", "DescribeAccountAssignmentCreationStatus", resource=permission_sets.resource)
def describe_creation_status(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        instances.find(conn, params["InstanceArn"], ctx.account_id)
        row = provisioning.operation_row(
            conn, params["InstanceArn"], "CREATE", params["AccountAssignmentCreationRequestId"]
        )
    return {"AccountAssignmentCreationStatus": _status(row)}


@operation("sso-admin", "DescribeAccountAssignmentDeletionStatus", resource=permission_sets.resource)
def describe_deletion_status(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        instances.find(conn, params["InstanceArn"], ctx.account_id)
        row = provisioning.operation_row(
            conn, params["InstanceArn"], "DELETE", params["AccountAssignmentDeletionRequestId"]
        )
    return {"AccountAssignmentDeletionStatus": _status(row)}


@operation("sso-admin", "ListAccountAssignmentCreationStatus", resource=permission_sets.resource)
def list_creation_status(ctx: RequestContext, params: Params) -> Result:
    return provisioning.list_operations(ctx, params, "CREATE", "AccountAssignmentsCreationStatus")


@operation("sso-admin", "ListAccountAssignmentDeletionStatus", resource=permission_sets.resource)
def list_deletion_status(ctx: RequestContext, params: Params) -> Result:
    return provisioning.list_operations(ctx, params, "DELETE", "AccountAssignmentsDeletionStatus")


def _assignment_page(ctx: RequestContext, params: Params, *clauses: Any) -> tuple[list[Any], str | None]:
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    a = t.sso_account_assignments.c
    order = (a.account_id, a.permission_set_arn, a.principal_type, a.principal_id)
    query = select(*order).where(a.instance_arn == params["InstanceArn"], *clauses)
    if after and len(after) == len(order):
        query = query.where(tuple_(*order) > tuple_(*[str(v) for v in after]))
    with ctx.store.read() as conn:
        instances.find(conn, params["InstanceArn"], ctx.account_id)
        rows = conn.execute(query.order_by(*order).limit(limit + 1)).all()
    token = paging.encode(list(rows[limit - 1])) if len(rows) > limit else None
    return list(rows[:limit]), token


def _assignment(r: Any) -> dict[str, Any]:
    return {
        "AccountId": r.account_id,
        "PermissionSetArn": r.permission_set_arn,
        "PrincipalType": r.principal_type,
        "PrincipalId": r.principal_id,
    }


@operation("sso-admin", "ListAccountAssignments", resource=permission_sets.resource)
def list_account_assignments(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        permission_sets.find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"])
    a = t.sso_account_assignments.c
    rows, token = _assignment_page(
        ctx, params, a.account_id == params["AccountId"], a.permission_set_arn == params["PermissionSetArn"]
    )
    out: dict[str, Any] = {"AccountAssignments": [_assignment(r) for r in rows]}
    if token:
        out["NextToken"] = token
    return out


@operation("sso-admin", "ListAccountAssignmentsForPrincipal", resource=permission_sets.resource)
def list_account_assignments_for_principal(ctx: RequestContext, params: Params) -> Result:
    a = t.sso_account_assignments.c
    clauses = [a.principal_type == params["PrincipalType"], a.principal_id == params["PrincipalId"]]
    account = (params.get("Filter") or {}).get("AccountId")
    if account:
        clauses.append(a.account_id == account)
    rows, token = _assignment_page(ctx, params, *clauses)
    out: dict[str, Any] = {"AccountAssignments": [_assignment(r) for r in rows]}
    if token:
        out["NextToken"] = token
    return out


def _status_clause(params: Params, ps_revision: Any) -> list[Any]:
    wanted = params.get("ProvisioningStatus")
    p = t.sso_provisioned.c
    if wanted == "LATEST_PERMISSION_SET_PROVISIONED":
        return [p.revision == ps_revision]
    if wanted == "LATEST_PERMISSION_SET_NOT_PROVISIONED":
        return [p.revision != ps_revision]
    return []


@operation("sso-admin", "ListAccountsForProvisionedPermissionSet", resource=permission_sets.resource)
def list_accounts_for_provisioned_permission_set(ctx: RequestContext, params: Params) -> Result:
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    p = t.sso_provisioned.c
    with ctx.store.read() as conn:
        ps = permission_sets.find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"])
        query = select(p.account_id).where(
            p.permission_set_arn == ps["permission_set_arn"], *_status_clause(params, ps["revision"])
        )
        if after:
            query = query.where(p.account_id > str(after[0]))
        accounts = list(conn.execute(query.order_by(p.account_id).limit(limit + 1)).scalars())
    out: dict[str, Any] = {"AccountIds": accounts[:limit]}
    if len(accounts) > limit:
        out["NextToken"] = paging.encode([accounts[limit - 1]])
    return out


@operation("sso-admin", "ListPermissionSetsProvisionedToAccount", resource=permission_sets.resource)
def list_permission_sets_provisioned_to_account(ctx: RequestContext, params: Params) -> Result:
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    p, ps = t.sso_provisioned.c, t.sso_permission_sets.c
    wanted = params.get("ProvisioningStatus")
    query = (
        select(p.permission_set_arn)
        .select_from(t.sso_provisioned.join(t.sso_permission_sets, ps.permission_set_arn == p.permission_set_arn))
        .where(p.instance_arn == params["InstanceArn"], p.account_id == params["AccountId"])
    )
    if wanted == "LATEST_PERMISSION_SET_PROVISIONED":
        query = query.where(p.revision == ps.revision)
    elif wanted == "LATEST_PERMISSION_SET_NOT_PROVISIONED":
        query = query.where(p.revision != ps.revision)
    if after:
        query = query.where(p.permission_set_arn > str(after[0]))
    with ctx.store.read() as conn:
        instances.find(conn, params["InstanceArn"], ctx.account_id)
        arns = list(conn.execute(query.order_by(p.permission_set_arn).limit(limit + 1)).scalars())
    out: dict[str, Any] = {"PermissionSets": arns[:limit]}
    if len(arns) > limit:
        out["NextToken"] = paging.encode([arns[limit - 1]])
    return out
