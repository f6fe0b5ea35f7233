"""Permission sets (sso-admin): Create/Describe/Update/Delete/ListPermissionSets; AWS managed
policies (Attach/Detach/ListManagedPolicies…), customer managed policy references (Attach/Detach/
ListCustomerManagedPolicyReferences…), the inline policy (Put/Get/DeleteInlinePolicy…) and the
permissions boundary (Put/Get/DeletePermissionsBoundary…).

A permission set is a template: nothing changes in any account until it is provisioned
(``provisioning.py``). Every change here raises the set's ``revision``, so the accounts that hold an
older one are ``LATEST_PERMISSION_SET_NOT_PROVISIONED`` until ProvisionPermissionSet. Quotas are
AWS's (IAM Identity Center User Guide, "Quotas"): 20 AWS managed and 20 customer managed policies
per permission set, an inline policy of at most 32,768 characters, a session of 1 to 12 hours.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping

from ostiary.access import aws_managed
from ostiary.audit import recorder as audit
from ostiary.iam import grammar
from ostiary.iam.documents import check_document
from ostiary.iam.errors import MalformedPolicyDocumentException
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import instances, paging
from ostiary.ssoadmin.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationException,
)
from ostiary.store import tables as t

ARN_PREFIX = "arn:aws:sso:::permissionSet/"
DEFAULT_SESSION = "PT1H"
MAX_MANAGED = 20
MAX_CUSTOMER = 20
MAX_PERMISSION_SETS = 2000  # per instance, AWS's default quota
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def session_seconds(duration: str) -> int:
    """The seconds of an ISO 8601 duration as IAM Identity Center takes it (``PT1H``, ``PT8H30M``…)."""
    match = _DURATION.match(duration)
    if match is None or not any(match.groups()):
        raise ValidationException(f"Invalid SessionDuration {duration}: the format is ISO 8601, e.g. PT1H.")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if not 3600 <= total <= 12 * 3600:
        raise ValidationException("The session duration must be between 1 hour and 12 hours.")
    return total


def resource(ctx: RequestContext, params: Params) -> str:
    """The ARN an operation on a permission set is authorized against."""
    return str(params.get("PermissionSetArn") or params.get("InstanceArn") or "*")


def shape(row: RowMapping) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Name": row["name"],
        "PermissionSetArn": row["permission_set_arn"],
        "CreatedDate": row["created_at"],
        "SessionDuration": row["session_duration"],
    }
    if row["description"]:
        out["Description"] = row["description"]
    if row["relay_state"]:
        out["RelayState"] = row["relay_state"]
    return out


def find(
    conn: Connection, ctx: RequestContext, instance_arn: str, permission_set_arn: str, *, lock: bool = False
) -> RowMapping:
    """The permission set of the caller's instance (another account's instance, or a set of another
    instance, is not found). ``lock``: held until commit (PostgreSQL ``FOR UPDATE``; SQLite's write
    transactions are serial already), so that changes of one set and of its provisioning are serial."""
    instances.find(conn, instance_arn, ctx.account_id)
    query = select(t.sso_permission_sets).where(
        t.sso_permission_sets.c.permission_set_arn == permission_set_arn,
        t.sso_permission_sets.c.instance_arn == instance_arn,
    )
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise ResourceNotFoundException(f"Could not find PermissionSet with PermissionSetArn {permission_set_arn}.")
    return row


def _change(conn: Connection, ctx: RequestContext, params: Params, row: RowMapping, **values: Any) -> None:
    """Change a permission set (an audit event of the request): its revision grows, so its
    provisioned accounts become outdated."""
    audit.record(conn, ctx, params)
    conn.execute(
        update(t.sso_permission_sets)
        .where(t.sso_permission_sets.c.permission_set_arn == row["permission_set_arn"])
        .values(revision=t.sso_permission_sets.c.revision + 1, **values)
    )


def _tags(conn: Connection, arn: str, account_id: str, tags: list[dict[str, str]]) -> None:
    for tag in tags:
        conn.execute(insert(t.tags).values(resource_arn=arn, account_id=account_id, key=tag["Key"], value=tag["Value"]))


@operation("sso-admin", "CreatePermissionSet", resource=resource)
def create_permission_set(ctx: RequestContext, params: Params) -> Result:
    duration = params.get("SessionDuration") or DEFAULT_SESSION
    session_seconds(duration)
    tags = list(params.get("Tags") or [])
    if len({tag["Key"] for tag in tags}) != len(tags):
        raise ValidationException("Duplicate tag keys are not allowed.")
    with ctx.store.tx() as conn:
        instance = instances.find(conn, params["InstanceArn"], ctx.account_id)
        ps = t.sso_permission_sets.c
        count = conn.execute(
            select(func.count()).select_from(t.sso_permission_sets).where(ps.instance_arn == instance["instance_arn"])
        ).scalar_one()
        if count >= MAX_PERMISSION_SETS:
            raise ServiceQuotaExceededException("The maximum number of permission sets has been reached.")
        taken = conn.execute(
            select(ps.name).where(ps.instance_arn == instance["instance_arn"], ps.name == params["Name"])
        ).first()
        if taken is not None:
            raise ConflictException(f"PermissionSet with name {params['Name']} already exists.")
        instance_id = instance["instance_arn"].rsplit("/", 1)[-1]
        arn = f"{ARN_PREFIX}{instance_id}/ps-{secrets.token_hex(8)}"
        conn.execute(
            insert(t.sso_permission_sets).values(
                permission_set_arn=arn,
                instance_arn=instance["instance_arn"],
                name=params["Name"],
                description=params.get("Description"),
                session_duration=duration,
                relay_state=params.get("RelayState"),
                inline_policy=None,
                managed_policies=[],
                customer_policies=[],
                permissions_boundary=None,
                revision=1,
                created_at=ctx.now,
            )
        )
        _tags(conn, arn, ctx.account_id, tags)
        row = find(conn, ctx, instance["instance_arn"], arn)
        audit.record(conn, ctx, params, resource=("AWS::SSO::PermissionSet", arn))
    return {"PermissionSet": shape(row)}


@operation("sso-admin", "DescribePermissionSet", resource=resource)
def describe_permission_set(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        return {"PermissionSet": shape(find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"]))}


@operation("sso-admin", "ListPermissionSets", resource=resource)
def list_permission_sets(ctx: RequestContext, params: Params) -> Result:
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    ps = t.sso_permission_sets.c
    with ctx.store.read() as conn:
        instances.find(conn, params["InstanceArn"], ctx.account_id)
        query = select(ps.permission_set_arn).where(ps.instance_arn == params["InstanceArn"])
        if after:
            query = query.where(ps.permission_set_arn > str(after[0]))
        arns = list(conn.execute(query.order_by(ps.permission_set_arn).limit(limit + 1)).scalars())
    out: dict[str, Any] = {"PermissionSets": arns[:limit]}
    if len(arns) > limit:
        out["NextToken"] = paging.encode([arns[limit - 1]])
    return out


@operation("sso-admin", "UpdatePermissionSet", resource=resource)
def update_permission_set(ctx: RequestContext, params: Params) -> Result:
    values: dict[str, Any] = {}
    if "SessionDuration" in params:
        session_seconds(params["SessionDuration"])
        values["session_duration"] = params["SessionDuration"]
    if "Description" in params:
        values["description"] = params["Description"]
    if "RelayState" in params:
        values["relay_state"] = params["RelayState"]
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"], lock=True)
        if values:
            _change(conn, ctx, params, row, **values)
    return {}


@operation("sso-admin", "DeletePermissionSet", resource=resource)
def delete_permission_set(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"], lock=True)
        arn = row["permission_set_arn"]
        provisioned = conn.execute(
            select(t.sso_provisioned.c.account_id).where(t.sso_provisioned.c.permission_set_arn == arn).limit(1)
        ).first()
        if provisioned is not None:
            raise ConflictException(
                "The permission set is provisioned to one or more accounts. Remove its account assignments "
                "before deleting it."
            )
        conn.execute(delete(t.tags).where(t.tags.c.resource_arn == arn))
        conn.execute(delete(t.sso_permission_sets).where(t.sso_permission_sets.c.permission_set_arn == arn))
        audit.record(conn, ctx, params)
    return {}


# --- AWS managed policies ------------------------------------------------------------------------


@operation("sso-admin", "AttachManagedPolicyToPermissionSet", resource=resource)
def attach_managed_policy(ctx: RequestContext, params: Params) -> Result:
    arn = params["ManagedPolicyArn"]
    if arn not in aws_managed.BY_ARN:
        raise ResourceNotFoundException(f"Policy {arn} does not exist or is not attachable.")
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"], lock=True)
        current = list(row["managed_policies"])
        if arn in current:
            raise ConflictException(f"Permission set already has the managed policy {arn} attached.")
        if len(current) >= MAX_MANAGED:
            raise ServiceQuotaExceededException(
                f"The permission set already has the maximum of {MAX_MANAGED} AWS managed policies."
            )
        _change(conn, ctx, params, row, managed_policies=[*current, arn])
    return {}


@operation("sso-admin", "DetachManagedPolicyFromPermissionSet", resource=resource)
def detach_managed_policy(ctx: RequestContext, params: Params) -> Result:
    arn = params["ManagedPolicyArn"]
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"], lock=True)
        current = list(row["managed_policies"])
        if arn not in current:
            raise ResourceNotFoundException(f"Could not find ManagedPolicy with arn {arn} in the permission set.")
        _change(conn, ctx, params, row, managed_policies=[a for a in current if a != arn])
    return {}


@operation("sso-admin", "ListManagedPoliciesInPermissionSet", resource=resource)
def list_managed_policies(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"])
    items = [{"Name": aws_managed.BY_ARN[a].name, "Arn": a} for a in row["managed_policies"] if a in aws_managed.BY_ARN]
    return _page(items, params, "AttachedManagedPolicies")


def _page(items: list[Any], params: Params, key: str) -> dict[str, Any]:
    """A page of a short list held whole (the token is the offset)."""
    after = paging.decode(params.get("NextToken"))
    start = int(after[0]) if after and isinstance(after[0], int) else 0
    limit = paging.limit(params)
    out: dict[str, Any] = {key: items[start : start + limit]}
    if start + limit < len(items):
        out["NextToken"] = paging.encode([start + limit])
    return out


# --- customer managed policy references ----------------------------------------------------------


def _reference(params: Params) -> dict[str, str]:
    ref = params["CustomerManagedPolicyReference"]
    return {"Name": ref["Name"], "Path": ref.get("Path") or "/"}


@operation("sso-admin", "AttachCustomerManagedPolicyReferenceToPermissionSet", resource=resource)
def attach_customer_reference(ctx: RequestContext, params: Params) -> Result:
    ref = _reference(params)
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"], lock=True)
        current = [dict(r) for r in row["customer_policies"]]
        if ref in current:
            raise ConflictException(
                f"Permission set already has the customer managed policy reference {ref['Path']}{ref['Name']}."
            )
        if len(current) >= MAX_CUSTOMER:
            raise ServiceQuotaExceededException(
                f"The permission set already has the maximum of {MAX_CUSTOMER} customer managed policy references."
            )
        _change(conn, ctx, params, row, customer_policies=[*current, ref])
    return {}


@operation("sso-admin", "DetachCustomerManagedPolicyReferenceFromPermissionSet", resource=resource)
def detach_customer_reference(ctx: RequestContext, params: Params) -> Result:
    ref = _reference(params)
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"], lock=True)
        current = [dict(r) for r in row["customer_policies"]]
        if ref not in current:
            raise ResourceNotFoundException(
                f"Could not find the customer managed policy reference {ref['Path']}{ref['Name']} "
                "in the permission set."
            )
        _change(conn, ctx, params, row, customer_policies=[r for r in current if r != ref])
    return {}


@operation("sso-admin", "ListCustomerManagedPolicyReferencesInPermissionSet", resource=resource)
def list_customer_references(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"])
    return _page([dict(r) for r in row["customer_policies"]], params, "CustomerManagedPolicyReferences")


# --- inline policy -------------------------------------------------------------------------------


@operation("sso-admin", "PutInlinePolicyToPermissionSet", resource=resource)
def put_inline_policy(ctx: RequestContext, params: Params) -> Result:
    document = params["InlinePolicy"]
    try:
        check_document(document, grammar.Kind.INLINE)
    except MalformedPolicyDocumentException as err:
        raise ValidationException(f"The inline policy is not valid: {err.message}") from None
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"], lock=True)
        _change(conn, ctx, params, row, inline_policy=document)
    return {}


@operation("sso-admin", "GetInlinePolicyForPermissionSet", resource=resource)
def get_inline_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"])
    return {"InlinePolicy": row["inline_policy"]} if row["inline_policy"] else {}


@operation("sso-admin", "DeleteInlinePolicyFromPermissionSet", resource=resource)
def delete_inline_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"], lock=True)
        if row["inline_policy"] is not None:
            _change(conn, ctx, params, row, inline_policy=None)
    return {}


# --- permissions boundary ------------------------------------------------------------------------


@operation("sso-admin", "PutPermissionsBoundaryToPermissionSet", resource=resource)
def put_permissions_boundary(ctx: RequestContext, params: Params) -> Result:
    boundary = params["PermissionsBoundary"]
    managed = boundary.get("ManagedPolicyArn")
    reference = boundary.get("CustomerManagedPolicyReference")
    if bool(managed) == bool(reference):
        raise ValidationException(
            "A permissions boundary is either a ManagedPolicyArn or a CustomerManagedPolicyReference."
        )
    if managed and managed not in aws_managed.BY_ARN:
        raise ResourceNotFoundException(f"Policy {managed} does not exist or is not attachable.")
    value: dict[str, Any] = (
        {"ManagedPolicyArn": managed}
        if managed
        else {"CustomerManagedPolicyReference": {"Name": reference["Name"], "Path": reference.get("Path") or "/"}}
    )
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"], lock=True)
        _change(conn, ctx, params, row, permissions_boundary=value)
    return {}


@operation("sso-admin", "GetPermissionsBoundaryForPermissionSet", resource=resource)
def get_permissions_boundary(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"])
    if not row["permissions_boundary"]:
        raise ResourceNotFoundException("The permission set has no permissions boundary.")
    return {"PermissionsBoundary": dict(row["permissions_boundary"])}


@operation("sso-admin", "DeletePermissionsBoundaryFromPermissionSet", resource=resource)
def delete_permissions_boundary(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"], lock=True)
        if not row["permissions_boundary"]:
            raise ResourceNotFoundException("The permission set has no permissions boundary.")
        _change(conn, ctx, params, row, permissions_boundary=None)
    return {}
