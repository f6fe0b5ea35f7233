"""Provisioning a permission set into an account (sso-admin): ProvisionPermissionSet,
DescribePermissionSetProvisioningStatus, ListPermissionSetProvisioningStatus, and the IAM work
itself, which CreateAccountAssignment also does (``assignments.py``).

In each target account IAM Identity Center keeps (IAM Identity Center User Guide, "Permission sets"
and "Referencing permission sets in resource policies"):

- a SAML provider ``AWSSSO_<16 hex>_DO_NOT_DELETE`` holding the instance's IdP metadata (the hex is
  the instance's id), created on the first provisioning into the account and left in place;
- for each permission set provisioned there, a role ``AWSReservedSSO_<permission set>_<16 hex>`` at
  ``/aws-reserved/sso.amazonaws.com/`` (``/aws-reserved/sso.amazonaws.com/<region>/`` for an
  instance outside us-east-1), trusting that provider for ``sts:AssumeRoleWithSAML`` and
  ``sts:TagSession`` with ``SAML:aud`` AWS's sign-in endpoint; its policies are the permission set's:
  the AWS managed policies attached, the customer managed policies attached by name and path (each
  must exist in the account, or the provisioning FAILS and nothing changes there), the inline policy
  as ``AwsSSOInlinePolicy``, the permissions boundary, MaxSessionDuration the set's SessionDuration.

The work is done in the caller's transaction, so a request's status is final (SUCCEEDED or FAILED)
when it answers; IN_PROGRESS is never observed. The roles are protected in IAM (UnmodifiableEntity,
``iam/roles.py``): they change only through their permission set. IAM reads roles and their
policies per request (its caches hold a caller's policies for their usual few seconds), so a
re-provisioned role takes effect as any IAM change does.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update
from sqlalchemy.engine import RowMapping

from ostiary.access import aws_managed
from ostiary.audit import recorder as audit
from ostiary.config import Settings
from ostiary.crypto.secrets import SecretBox
from ostiary.federation import saml
from ostiary.iam import attachments, inline, roles
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import instances, paging, permission_sets, targets
from ostiary.ssoadmin.errors import ResourceNotFoundException, ValidationException
from ostiary.store import tables as t

ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
INLINE_POLICY_NAME = "AwsSSOInlinePolicy"
SAML_AUDIENCE = "https://signin.aws.amazon.com/saml"  # as AWS writes it in the roles' trust policies


@dataclass(frozen=True)
class Target:
    """Where provisioning happens: the instance, the server's region and settings, the time."""

    instance: RowMapping
    region: str
    settings: Settings
    box: SecretBox
    now: Any


def target(ctx: RequestContext, instance: RowMapping) -> Target:
    return Target(instance, ctx.settings.region, ctx.settings, ctx.box, ctx.now)


def role_path(region: str) -> str:
    return ROLE_PATH if region == "us-east-1" else f"{ROLE_PATH}{region}/"


def saml_provider_name(instance_arn: str) -> str:
    return f"AWSSSO_{instance_arn.rsplit('-', 1)[-1]}_DO_NOT_DELETE"


def saml_provider_arn(account_id: str, instance_arn: str) -> str:
    return f"arn:aws:iam::{account_id}:saml-provider/{saml_provider_name(instance_arn)}"


def trust_policy(account_id: str, instance_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": saml_provider_arn(account_id, instance_arn)},
                    "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                    "Condition": {"StringEquals": {"SAML:aud": SAML_AUDIENCE}},
                }
            ],
        },
        separators=(",", ":"),
    )


def customer_policy_arn(account_id: str, reference: dict[str, Any]) -> str:
    return f"arn:aws:iam::{account_id}:policy{reference.get('Path') or '/'}{reference['Name']}"


# The instance's SAML IdP metadata is made by ``ostiary.samlidp`` (its signing key and URLs), which
# imports this package (applications); so it hands its function in rather than being imported
# (no package cycle): ``provisioning.METADATA.append(identity.idp_metadata)`` when samlidp loads.
MetadataSource = Callable[[Connection, SecretBox, Settings, RowMapping], str]
METADATA: list[MetadataSource] = []


def idp_metadata(conn: Connection, target: Target) -> str:
    """The instance's SAML IdP metadata, kept in each account's AWSSSO_… provider. Without samlidp
    loaded: an entity with no signing key, which no assertion verifies against."""
    if METADATA:
        return METADATA[-1](conn, target.box, target.settings, target.instance)
    return (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'entityID="{target.settings.effective_public_url}/start/{target.instance["identity_store_id"]}">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>'
        "</md:EntityDescriptor>"
    )


def _ensure_saml_provider(conn: Connection, target: Target, account_id: str) -> None:
    arn = saml_provider_arn(account_id, target.instance["instance_arn"])
    metadata = idp_metadata(conn, target)
    found = roles_saml_provider(conn, arn)
    try:
        valid_until = saml.parse_metadata(metadata).valid_until
    except saml.SamlError:  # the placeholder without samlidp: it verifies nothing
        valid_until = None
    if found is None:
        conn.execute(
            insert(t.iam_saml_providers).values(
                arn=arn,
                account_id=account_id,
                name=saml_provider_name(target.instance["instance_arn"]),
                metadata_document=metadata,
                valid_until=valid_until,
                tags=[],
                created_at=target.now,
            )
        )
    elif found.metadata_document != metadata:
        conn.execute(
            update(t.iam_saml_providers)
            .where(t.iam_saml_providers.c.arn == arn)
            .values(metadata_document=metadata, valid_until=valid_until)
        )


def roles_saml_provider(conn: Connection, arn: str) -> Any:
    return conn.execute(select(t.iam_saml_providers).where(t.iam_saml_providers.c.arn == arn)).first()


def provisioned(conn: Connection, permission_set_arn: str, account_id: str) -> RowMapping | None:
    return (
        conn.execute(
            select(t.sso_provisioned).where(
                t.sso_provisioned.c.permission_set_arn == permission_set_arn,
                t.sso_provisioned.c.account_id == account_id,
            )
        )
        .mappings()
        .first()
    )


def failure_in(conn: Connection, instance: RowMapping, ps: RowMapping, account_id: str) -> str | None:
    """Why the permission set cannot be provisioned into ``account_id`` (None: it can): an account
    the instance may not reach (``targets.py``), a customer managed policy missing there."""
    refused = targets.refusal(conn, instance, account_id)
    if refused:
        return refused
    references = [dict(r) for r in ps["customer_policies"]]
    boundary = ps["permissions_boundary"] or {}
    if boundary.get("CustomerManagedPolicyReference"):
        references.append(dict(boundary["CustomerManagedPolicyReference"]))
    for reference in references:
        arn = customer_policy_arn(account_id, reference)
        if attachments.customer_policy(conn, arn, account_id) is None:
            return f"Received a 404 status error: Not supported policy {arn}."
    return None


def provision(conn: Connection, target: Target, ps: RowMapping, account_id: str) -> str | None:
    """Write the permission set's role into ``account_id`` as the set is now; the reason it failed,
    or None. A failure changes nothing in the account."""
    reason = failure_in(conn, target.instance, ps, account_id)
    if reason is not None:
        return reason
    instance_arn = target.instance["instance_arn"]
    _ensure_saml_provider(conn, target, account_id)
    current = provisioned(conn, ps["permission_set_arn"], account_id)
    name = current["role_name"] if current else f"AWSReservedSSO_{ps['name']}_{secrets.token_hex(8)}"
    path = current["role_path"] if current else role_path(target.region)
    boundary = ps["permissions_boundary"] or {}
    boundary_arn = boundary.get("ManagedPolicyArn") or (
        customer_policy_arn(account_id, boundary["CustomerManagedPolicyReference"])
        if boundary.get("CustomerManagedPolicyReference")
        else None
    )
    seconds = permission_sets.session_seconds(ps["session_duration"])
    key = name.lower()
    role = conn.execute(
        select(t.iam_roles.c.name_key).where(t.iam_roles.c.account_id == account_id, t.iam_roles.c.name_key == key)
    ).first()
    trust = trust_policy(account_id, instance_arn)
    if role is not None:  # re-provisioned: the same role (sessions of it stay valid), its policies the set's
        roles.reset_role(
            conn,
            account_id,
            key,
            trust_policy=trust,
            max_session_duration=seconds,
            permissions_boundary=boundary_arn,
        )
    else:
        roles.insert_role(
            conn,
            account_id,
            name,
            path=path,
            trust_policy=trust,
            max_session_duration=seconds,
            now=target.now,
            permissions_boundary=boundary_arn,
        )
    if ps["inline_policy"]:
        inline.put(conn, account_id, "role", key, INLINE_POLICY_NAME, ps["inline_policy"])
    arns = [a for a in ps["managed_policies"] if a in aws_managed.BY_ARN]
    arns += [customer_policy_arn(account_id, dict(r)) for r in ps["customer_policies"]]
    for arn in dict.fromkeys(arns):
        attachments.attach(conn, account_id, "role", key, arn)
    values = {"revision": ps["revision"], "provisioned_at": target.now}
    if current is None:
        conn.execute(
            insert(t.sso_provisioned).values(
                permission_set_arn=ps["permission_set_arn"],
                account_id=account_id,
                instance_arn=instance_arn,
                role_name=name,
                role_path=path,
                **values,
            )
        )
    else:
        conn.execute(
            update(t.sso_provisioned)
            .where(
                t.sso_provisioned.c.permission_set_arn == ps["permission_set_arn"],
                t.sso_provisioned.c.account_id == account_id,
            )
            .values(**values)
        )
    return None


def unprovision(conn: Connection, permission_set_arn: str, account_id: str) -> None:
    """Remove the permission set's role from the account (its last assignment there went); the SAML
    provider stays, as AWS leaves it."""
    current = provisioned(conn, permission_set_arn, account_id)
    if current is None:
        return
    roles.drop_role(conn, account_id, current["role_name"].lower())
    conn.execute(
        delete(t.sso_provisioned).where(
            t.sso_provisioned.c.permission_set_arn == permission_set_arn, t.sso_provisioned.c.account_id == account_id
        )
    )


def record(conn: Connection, instance_arn: str, kind: str, failure: str | None, now: Any, **fields: Any) -> RowMapping:
    """Keep the status of a request (kind CREATE, DELETE or PROVISION) and return it."""
    request_id = str(uuid.uuid4())
    conn.execute(
        insert(t.sso_operations).values(
            request_id=request_id,
            instance_arn=instance_arn,
            kind=kind,
            status="FAILED" if failure else "SUCCEEDED",
            failure_reason=failure,
            created_at=now,
            **fields,
        )
    )
    return conn.execute(select(t.sso_operations).where(t.sso_operations.c.request_id == request_id)).mappings().one()


def operation_row(conn: Connection, instance_arn: str, kind: str, request_id: str) -> RowMapping:
    row = (
        conn.execute(
            select(t.sso_operations).where(
                t.sso_operations.c.request_id == request_id,
                t.sso_operations.c.instance_arn == instance_arn,
                t.sso_operations.c.kind == kind,
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise ResourceNotFoundException(f"Could not find a request with id {request_id}.")
    return row


def list_operations(ctx: RequestContext, params: Params, kind: str, key: str) -> Result:
    """A page of the instance's requests of one kind, oldest first (statuses' metadata); the token is
    the last one's (time, id)."""
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    o = t.sso_operations.c
    status = (params.get("Filter") or {}).get("Status")
    with ctx.store.read() as conn:
        instances.find(conn, params["InstanceArn"], ctx.account_id)
        query = select(o.request_id, o.status, o.created_at).where(
            o.instance_arn == params["InstanceArn"], o.kind == kind
        )
        if status:
            query = query.where(o.status == status)
        if after:
            if len(after) != 2:
                raise ValidationException("The NextToken is invalid.")
            try:
                when = dt.datetime.fromisoformat(str(after[0]))
            except ValueError:
                raise ValidationException("The NextToken is invalid.") from None
            query = query.where(or_(o.created_at > when, and_(o.created_at == when, o.request_id > str(after[1]))))
        rows = conn.execute(query.order_by(o.created_at, o.request_id).limit(limit + 1)).all()
    out: dict[str, Any] = {
        key: [{"Status": r.status, "RequestId": r.request_id, "CreatedDate": r.created_at} for r in rows[:limit]]
    }
    if len(rows) > limit:
        last = rows[limit - 1]
        out["NextToken"] = paging.encode([last.created_at.isoformat(), last.request_id])
    return out


def _status(row: RowMapping) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Status": row["status"],
        "RequestId": row["request_id"],
        "PermissionSetArn": row["permission_set_arn"],
        "CreatedDate": row["created_at"],
    }
    if row["target_id"]:
        out["AccountId"] = row["target_id"]
    if row["failure_reason"]:
        out["FailureReason"] = row["failure_reason"]
    return out


@operation("sso-admin", "ProvisionPermissionSet", resource=permission_sets.resource)
def provision_permission_set(ctx: RequestContext, params: Params) -> Result:
    kind = params["TargetType"]
    account = params.get("TargetId")
    if kind == "AWS_ACCOUNT" and not account:
        raise ValidationException("TargetId is required when TargetType is AWS_ACCOUNT.")
    if kind == "ALL_PROVISIONED_ACCOUNTS" and account:
        raise ValidationException("TargetId must not be given when TargetType is ALL_PROVISIONED_ACCOUNTS.")
    with ctx.store.tx() as conn:
        ps = permission_sets.find(conn, ctx, params["InstanceArn"], params["PermissionSetArn"], lock=True)
        where = target(ctx, instances.find(conn, params["InstanceArn"], ctx.account_id))
        if account:
            accounts = [account]
        else:
            accounts = list(
                conn.execute(
                    select(t.sso_provisioned.c.account_id)
                    .where(t.sso_provisioned.c.permission_set_arn == ps["permission_set_arn"])
                    .order_by(t.sso_provisioned.c.account_id)
                ).scalars()
            )
        # every account is checked before any is written: a failing request changes no account
        failure = next((f for f in (failure_in(conn, where.instance, ps, each) for each in accounts) if f), None)
        if failure is None:
            for each in accounts:
                provision(conn, where, ps, each)
        row = record(
            conn,
            ps["instance_arn"],
            "PROVISION",
            failure,
            ctx.now,
            permission_set_arn=ps["permission_set_arn"],
            target_id=account,
            target_type=kind,
        )
        details = {"requestId": row["request_id"], "status": row["status"]}
        if failure:
            details["failureReason"] = failure
        audit.record(conn, ctx, params, details=details)
    return {"PermissionSetProvisioningStatus": _status(row)}


@operation("sso-admin", "DescribePermissionSetProvisioningStatus", resource=permission_sets.resource)
def describe_provisioning_status(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        instances.find(conn, params["InstanceArn"], ctx.account_id)
        row = operation_row(conn, params["InstanceArn"], "PROVISION", params["ProvisionPermissionSetRequestId"])
    return {"PermissionSetProvisioningStatus": _status(row)}


@operation("sso-admin", "ListPermissionSetProvisioningStatus", resource=permission_sets.resource)
def list_provisioning_status(ctx: RequestContext, params: Params) -> Result:
    return list_operations(ctx, params, "PROVISION", "PermissionSetsProvisioningStatus")
