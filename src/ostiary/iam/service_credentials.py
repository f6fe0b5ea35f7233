"""IAM service-specific credentials and service-linked roles (IAM API Reference):
CreateServiceSpecificCredential, ListServiceSpecificCredentials, ResetServiceSpecificCredential,
UpdateServiceSpecificCredential, DeleteServiceSpecificCredential, CreateServiceLinkedRole,
DeleteServiceLinkedRole, GetServiceLinkedRoleDeletionStatus.

Service-specific credentials
    A user has at most two per service. The services IAM documents are CodeCommit and Amazon
    Keyspaces (a user name ``<user>-at-<account>`` — ``<user>+1-at-<account>`` for the second one —
    and a generated password) and the long-term API keys of Amazon Bedrock and CloudWatch Logs (an
    alias ``<user>-at-<account>-<suffix>`` and a secret, which may expire: ``CredentialAgeDays``).
    The password or secret is returned once, by Create and Reset; only its Argon2id hash is stored.
    Nothing in Ostiary consumes these credentials: they are kept so that tooling that manages them
    (Terraform, scripts, the console's workflows) works against Ostiary.

Service-linked roles
    AWS's catalogue of service-linked roles ships as data (access/data/service_linked_roles.json, see
    access/aws_managed.py): for a service in it, the role has the name AWS gives it (``acm.amazonaws.com``:
    ``AWSServiceRoleForCertificateManager``), AWS's managed policies attached (``aws-service-role/
    CertificateManagerServiceRolePolicy``), and a ``CustomSuffix`` is refused (InvalidInput, "Custom
    suffix is not allowed for <service>") unless AWS takes one for that service. Any other service
    principal ``<name>.amazonaws.com`` is accepted too, its role named ``AWSServiceRoleFor<Service>``
    (the principal's labels capitalised) with nothing attached. The role (``_<CustomSuffix>`` appended)
    is at the path ``/aws-service-role/<service principal>/``, trusts the service principal with
    ``sts:AssumeRole`` and has the Description given, if any (AWS sets none of its own when the role
    is made through IAM). DeleteRole refuses
    such roles (UnmodifiableEntity, iam/roles.py); DeleteServiceLinkedRole deletes the role with its
    inline and attached policies at once and records the task as SUCCEEDED — or as FAILED, with the
    instance profiles in ``RoleUsageList``, while an instance profile still holds the role.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import string
import uuid
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Row

from ostiary.access import aws_managed
from ostiary.iam import roles
from ostiary.iam.attachments import detach_all
from ostiary.iam.entities import caller_name, user_resource
from ostiary.iam.entities import get_user as get_user_row
from ostiary.iam.errors import (
    InvalidInputException,
    LimitExceededException,
    NoSuchEntityException,
)
from ostiary.iam.membership import profiles_of_role
from ostiary.iam.paging import page
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

_ID = string.ascii_uppercase + string.digits
_ALIAS = string.ascii_lowercase + string.digits

MAX_PER_USER_PER_SERVICE = 2
# services whose credential is a user name and password
PASSWORD_SERVICES = frozenset({"codecommit.amazonaws.com", "cassandra.amazonaws.com"})
# services whose credential is a long-term API key (alias and secret); the prefix of the secret
API_KEY_SERVICES = {"bedrock.amazonaws.com": "ABSK", "logs.amazonaws.com": ""}
SUPPORTED_SERVICES = PASSWORD_SERVICES | API_KEY_SERVICES.keys()

SLR_PATH = "/aws-service-role/"
SLR_PREFIX = "AWSServiceRoleFor"
_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.amazonaws\.com$")
# the role names AWS gives some well-known services' service-linked roles (others: capitalised labels)
_SLR_NAMES = {
    "autoscaling": "AutoScaling",
    "ec2fleet": "EC2Fleet",
    "ecs": "ECS",
    "eks": "AmazonEKS",
    "elasticbeanstalk": "ElasticBeanstalk",
    "elasticloadbalancing": "ElasticLoadBalancing",
    "es": "AmazonElasticsearchService",
    "opensearchservice": "AmazonOpenSearchService",
    "rds": "RDS",
    "spot": "EC2Spot",
    "spotfleet": "EC2SpotFleet",
    "trustedadvisor": "TrustedAdvisor",
}
_TASK_ID = re.compile(r"^task/aws-service-role/([^/]+)/([\w+=,.@-]+)/([0-9a-fA-F-]{36})$")


# --- service-specific credentials ---------------------------------------------------------------


def _no_credential(credential_id: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"No such credential {credential_id} exists")


def _check_service(service: str) -> None:
    """A service without service-specific credentials: IAM answers NoSuchEntity (not the model's
    NotSupportedService), in its own wording."""
    if service not in SUPPORTED_SERVICES:
        raise NoSuchEntityException(f"No such service {service} is supported for Service Specific Credentials")


def _status(row: Row[Any], now: dt.datetime) -> str:
    if row.expires_at is not None and utc(row.expires_at) <= now:
        return "Expired"
    return str(row.status)


def _metadata(row: Row[Any], user_name: str, now: dt.datetime) -> dict[str, Any]:
    out: dict[str, Any] = {
        "UserName": user_name,
        "Status": _status(row, now),
        "CreateDate": utc(row.created_at),
        "ServiceSpecificCredentialId": row.credential_id,
        "ServiceName": row.service_name,
    }
    if row.service_name in API_KEY_SERVICES:
        out["ServiceCredentialAlias"] = row.service_user_name
    else:
        out["ServiceUserName"] = row.service_user_name
    if row.expires_at is not None:
        out["ExpirationDate"] = utc(row.expires_at)
    return out


def _credential(row: Row[Any], user_name: str, secret: str, now: dt.datetime) -> dict[str, Any]:
    """The ServiceSpecificCredential of Create and Reset: the metadata and the secret, once."""
    out = _metadata(row, user_name, now)
    out["ServiceCredentialSecret" if row.service_name in API_KEY_SERVICES else "ServicePassword"] = secret
    return out


def _new_secret(service: str, alias: str) -> str:
    if service in API_KEY_SERVICES:
        token = f"{alias}:{base64.b64encode(secrets.token_bytes(30)).decode()}"
        return API_KEY_SERVICES[service] + base64.b64encode(token.encode()).decode()
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _credentials_of(conn: Connection, account: str, user_key: str | None = None) -> list[Row[Any]]:
    c = t.iam_service_specific_credentials.c
    query = select(t.iam_service_specific_credentials).where(c.account_id == account)
    if user_key is not None:
        query = query.where(c.user_key == user_key)
    return list(conn.execute(query.order_by(c.created_at, c.credential_id)).all())


def _owned(conn: Connection, ctx: RequestContext, params: Params) -> tuple[Row[Any], str]:
    """The credential named by ServiceSpecificCredentialId and its user's name. The credential must
    belong to UserName (the calling IAM user by default); the account root may name none."""
    credential_id = str(params["ServiceSpecificCredentialId"])
    name = caller_name(ctx, params)
    user = get_user_row(conn, ctx.account_id, name) if name is not None else None
    c = t.iam_service_specific_credentials.c
    row = conn.execute(
        select(t.iam_service_specific_credentials).where(
            c.account_id == ctx.account_id, c.credential_id == credential_id
        )
    ).first()
    if row is None or (user is not None and row.user_key != user.name_key):
        raise _no_credential(credential_id)
    if user is None:
        user = get_user_row(conn, ctx.account_id, row.user_key)
    return row, str(user.name)


@operation("iam", "CreateServiceSpecificCredential", resource=user_resource, offload=True)
def create_service_specific_credential(ctx: RequestContext, params: Params) -> Result:
    service = params["ServiceName"]
    age = params.get("CredentialAgeDays")
    with ctx.store.tx() as conn:
        user = get_user_row(conn, ctx.account_id, params["UserName"])  # the user first, then the service
        _check_service(service)
        if age is not None and service not in API_KEY_SERVICES:
            raise InvalidInputException("CredentialAgeDays is only valid for Bedrock and CloudWatch Logs API keys.")
        mine = [r for r in _credentials_of(conn, ctx.account_id, user.name_key) if r.service_name == service]
        if len(mine) >= MAX_PER_USER_PER_SERVICE:
            raise LimitExceededException(
                f"Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: {MAX_PER_USER_PER_SERVICE}"
            )
        if service in API_KEY_SERVICES:
            suffix = "".join(secrets.choice(_ALIAS) for _ in range(8))
            service_user = f"{user.name}-at-{ctx.account_id}-{suffix}"
        else:  # the first free of <user>-at-<account>, <user>+1-at-<account>
            taken = {r.service_user_name for r in mine}
            candidates = [f"{user.name}-at-{ctx.account_id}", f"{user.name}+1-at-{ctx.account_id}"]
            service_user = next(n for n in candidates if n not in taken)
        secret = _new_secret(service, service_user)
        credential_id = "ACCA" + "".join(secrets.choice(_ID) for _ in range(17))
        conn.execute(
            insert(t.iam_service_specific_credentials).values(
                account_id=ctx.account_id,
                credential_id=credential_id,
                user_key=user.name_key,
                service_name=service,
                service_user_name=service_user,
                password_hash=ctx.passwords.hash(secret),
                status="Active",
                created_at=ctx.now,
                expires_at=ctx.now + dt.timedelta(days=int(age)) if age is not None else None,
            )
        )
        c = t.iam_service_specific_credentials.c
        row = conn.execute(
            select(t.iam_service_specific_credentials).where(
                c.account_id == ctx.account_id, c.credential_id == credential_id
            )
        ).one()
    return {"ServiceSpecificCredential": _credential(row, user.name, secret, ctx.now)}


@operation("iam", "ListServiceSpecificCredentials", resource=user_resource)
def list_service_specific_credentials(ctx: RequestContext, params: Params) -> Result:
    service = params.get("ServiceName")
    all_users = bool(params.get("AllUsers"))
    if all_users and params.get("UserName"):
        raise InvalidInputException("AllUsers cannot be specified together with UserName.")
    with ctx.store.read() as conn:
        if params.get("UserName"):  # the user first, then the service
            get_user_row(conn, ctx.account_id, params["UserName"])
        if service:
            _check_service(service)
        names = {
            r.name_key: r.name
            for r in conn.execute(
                select(t.iam_users.c.name_key, t.iam_users.c.name).where(t.iam_users.c.account_id == ctx.account_id)
            )
        }
        if all_users:
            rows = _credentials_of(conn, ctx.account_id)
        else:
            name = caller_name(ctx, params)
            if name is None:  # the account root holds no service-specific credentials
                rows = []
            else:
                rows = _credentials_of(conn, ctx.account_id, get_user_row(conn, ctx.account_id, name).name_key)
    if all_users:
        rows.sort(key=lambda r: (r.user_key, utc(r.created_at), r.credential_id))
    items = [
        _metadata(r, names.get(r.user_key, r.user_key), ctx.now)
        for r in rows
        if not service or r.service_name == service
    ]
    if params.get("Marker") is None and params.get("MaxItems") is None:
        # asked for without pagination (as IAM was before it paginated this list), the answer is
        # the whole list with no IsTruncated, as IAM's is
        return {"ServiceSpecificCredentials": items}
    chunk, extra = page(items, params)
    return {"ServiceSpecificCredentials": chunk, **extra}


@operation("iam", "ResetServiceSpecificCredential", resource=user_resource, offload=True)
def reset_service_specific_credential(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row, user_name = _owned(conn, ctx, params)
        secret = _new_secret(row.service_name, row.service_user_name)
        c = t.iam_service_specific_credentials.c
        where = (c.account_id == ctx.account_id, c.credential_id == row.credential_id)
        conn.execute(
            update(t.iam_service_specific_credentials).where(*where).values(password_hash=ctx.passwords.hash(secret))
        )
        row = conn.execute(select(t.iam_service_specific_credentials).where(*where)).one()
    return {"ServiceSpecificCredential": _credential(row, user_name, secret, ctx.now)}


@operation("iam", "UpdateServiceSpecificCredential", resource=user_resource)
def update_service_specific_credential(ctx: RequestContext, params: Params) -> Result:
    status = params["Status"]
    if status not in ("Active", "Inactive"):  # the model's enum also has Expired, which only time sets
        raise InvalidInputException(f"Invalid status {status}: a credential's status is Active or Inactive.")
    with ctx.store.tx() as conn:
        row, _ = _owned(conn, ctx, params)
        c = t.iam_service_specific_credentials.c
        conn.execute(
            update(t.iam_service_specific_credentials)
            .where(c.account_id == ctx.account_id, c.credential_id == row.credential_id)
            .values(status=status)
        )
    return None


@operation("iam", "DeleteServiceSpecificCredential", resource=user_resource)
def delete_service_specific_credential(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row, _ = _owned(conn, ctx, params)
        c = t.iam_service_specific_credentials.c
        conn.execute(
            delete(t.iam_service_specific_credentials).where(
                c.account_id == ctx.account_id, c.credential_id == row.credential_id
            )
        )
    return None


# --- service-linked roles -----------------------------------------------------------------------


def is_service_linked(path: str) -> bool:
    return path.startswith(SLR_PATH)


def service_linked_role_name(service: str, suffix: str | None = None) -> str:
    """The role name AWS gives the service principal's service-linked role (its catalogue's, else
    ``AWSServiceRoleFor<Service>``), with ``_<suffix>``."""
    known = aws_managed.service_linked_roles().get(service)
    if known is not None:
        base = known.role_name
    else:
        label = service.removesuffix(".amazonaws.com")
        base = SLR_PREFIX + (
            _SLR_NAMES.get(label) or "".join(part[:1].upper() + part[1:] for part in re.split(r"[.-]", label))
        )
    return base + (f"_{suffix}" if suffix else "")


def _slr_resource(ctx: RequestContext, params: Params) -> str:
    service = str(params.get("AWSServiceName", ""))
    name = service_linked_role_name(service, params.get("CustomSuffix")) if service else "*"
    return f"arn:aws:iam::{ctx.account_id}:role{SLR_PATH}{service}/{name}"


@operation("iam", "CreateServiceLinkedRole", resource=_slr_resource)
def create_service_linked_role(ctx: RequestContext, params: Params) -> Result:
    service = params["AWSServiceName"]
    if not _SERVICE_PRINCIPAL.match(service):
        raise InvalidInputException(f"Invalid service name {service}: a service principal is <name>.amazonaws.com.")
    known = aws_managed.service_linked_roles().get(service)
    suffix = params.get("CustomSuffix")
    if suffix and known is not None and not known.custom_suffix:
        raise InvalidInputException(f"Custom suffix is not allowed for {service}")  # AWS's words
    name = service_linked_role_name(service, suffix)
    if len(name) > 64:
        raise InvalidInputException(f"The role name {name} is longer than 64 characters: use a shorter suffix.")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    # the AWS managed policies AWS attaches to this service's role (an upstream entry naming a
    # policy that is not in the policy catalogue is skipped)
    policies = [arn for arn in (known.policies if known else ()) if arn in aws_managed.BY_ARN]
    with ctx.store.tx() as conn:  # the role and its policies at once
        taken = conn.execute(
            select(t.iam_roles.c.name).where(
                t.iam_roles.c.account_id == ctx.account_id, t.iam_roles.c.name_key == name.lower()
            )
        ).first()
        if taken is not None:
            raise InvalidInputException(
                f"Service role name {name} has been taken in this account, please try a different suffix."
            )
        conn.execute(
            insert(t.iam_roles).values(
                account_id=ctx.account_id,
                name_key=name.lower(),
                name=name,
                role_id="AROA" + "".join(secrets.choice(_ID) for _ in range(17)),
                path=f"{SLR_PATH}{service}/",
                trust_policy=json.dumps(trust),
                description=params.get("Description") or None,
                max_session_duration=roles.DEFAULT_MAX_SESSION,
                tags=[],
                created_at=ctx.now,
                permissions_boundary=None,
            )
        )
        for arn in policies:
            conn.execute(
                insert(t.iam_attachments).values(
                    account_id=ctx.account_id, principal_type="role", principal_key=name.lower(), policy_arn=arn
                )
            )
        out = roles.role_type(roles.get_role(conn, ctx.account_id, name))
    out.pop("MaxSessionDuration", None)  # as CreateRole's answer, it has none
    return {"Role": out}


def _role_arn(ctx: RequestContext, params: Params) -> str:
    """The role's ARN (with its path) for DeleteServiceLinkedRole's authorization."""
    name = str(params.get("RoleName", "*"))
    with ctx.store.read() as conn:
        row = conn.execute(
            select(t.iam_roles.c.path).where(
                t.iam_roles.c.account_id == ctx.account_id, t.iam_roles.c.name_key == name.lower()
            )
        ).first()
    return roles.role_arn(ctx.account_id, row.path if row is not None else "/", name)


@operation("iam", "DeleteServiceLinkedRole", resource=_role_arn)
def delete_service_linked_role(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = roles.get_role(conn, ctx.account_id, params["RoleName"])
        if not is_service_linked(row.path):
            raise InvalidInputException(f"{row.name} is not a service-linked role.")
        service = row.path[len(SLR_PATH) :].strip("/")
        task_id = f"task/aws-service-role/{service}/{row.name}/{uuid.uuid4()}"
        held_by = profiles_of_role(conn, ctx.account_id, row.name_key)
        reason: dict[str, Any] | None = None
        if held_by:  # the role is in use: the task fails and the role stays
            reason = {
                "Reason": "The role is in use by instance profiles; remove it from them and try again.",
                "RoleUsageList": [
                    {
                        "Region": ctx.region,
                        "Resources": [f"arn:aws:iam::{ctx.account_id}:instance-profile/{p}" for p in held_by],
                    }
                ],
            }
        else:
            p = t.iam_inline_policies.c
            conn.execute(
                delete(t.iam_inline_policies).where(
                    p.account_id == ctx.account_id, p.principal_type == "role", p.principal_key == row.name_key
                )
            )
            detach_all(conn, ctx.account_id, "role", row.name_key)
            conn.execute(
                delete(t.iam_roles).where(
                    t.iam_roles.c.account_id == ctx.account_id, t.iam_roles.c.name_key == row.name_key
                )
            )
        conn.execute(
            insert(t.iam_deletion_tasks).values(
                account_id=ctx.account_id,
                task_id=task_id,
                role_name=row.name,
                status="FAILED" if reason else "SUCCEEDED",
                reason=reason,
                created_at=ctx.now,
            )
        )
    return {"DeletionTaskId": task_id}


def _task_resource(ctx: RequestContext, params: Params) -> str:
    """The role a deletion task is about: task/aws-service-role/<service>/<role>/<uuid> names it."""
    m = _TASK_ID.match(str(params.get("DeletionTaskId", "")))
    if m is None:
        return f"arn:aws:iam::{ctx.account_id}:role/*"
    return roles.role_arn(ctx.account_id, f"{SLR_PATH}{m.group(1)}/", m.group(2))


@operation("iam", "GetServiceLinkedRoleDeletionStatus", resource=_task_resource)
def get_service_linked_role_deletion_status(ctx: RequestContext, params: Params) -> Result:
    task_id = params["DeletionTaskId"]
    if _TASK_ID.match(task_id) is None:
        raise InvalidInputException(f"Invalid deletion task id {task_id}.")
    with ctx.store.read() as conn:
        row = conn.execute(
            select(t.iam_deletion_tasks).where(
                t.iam_deletion_tasks.c.account_id == ctx.account_id, t.iam_deletion_tasks.c.task_id == task_id
            )
        ).first()
    if row is None:
        raise NoSuchEntityException(f"Deletion task {task_id} cannot be found.")
    out: dict[str, Any] = {"Status": row.status}
    if row.reason:
        out["Reason"] = row.reason
    return out
