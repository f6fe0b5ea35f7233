"""Applications (sso-admin): ListApplicationProviders, DescribeApplicationProvider,
Create/Describe/Update/Delete/ListApplications, application assignments (Create/Delete/Describe/
ListApplicationAssignments, ListApplicationAssignmentsForPrincipal) and the assignment configuration
(Get/PutApplicationAssignmentConfiguration); and, for the SAML identity provider and the access
portal, ``application`` and ``user_may_use``.

Ostiary's catalogue of application providers is the one it honours: the custom SAML 2.0 application
(``arn:aws:sso::aws:applicationProvider/custom-saml``), signed in through ``ostiary.samlidp``, and the
customer managed OAuth 2.0 application (``…/custom``), whose tokens CreateTokenWithIAM issues. An
application's SAML settings (ACS URL, audience, attribute mappings), which AWS sets in its console,
are the SAML identity provider's. What an application accepts for trusted identity propagation (its
grants, access scopes, authentication methods, session configuration) is ``application_grants.py``
and ``application_config.py``.

As in AWS, a new application requires assignment (``AssignmentRequired`` true): only the users and
groups assigned to it may use it; with ``AssignmentRequired`` false every user of the instance's
directory may. A DISABLED application is used by no one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, tuple_, update
from sqlalchemy.engine import RowMapping

from ostiary.audit import recorder as audit
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import instances, paging
from ostiary.ssoadmin.assignments import groups_of_user, principal_exists
from ostiary.ssoadmin.errors import ResourceNotFoundException, ServiceQuotaExceededException, ValidationException
from ostiary.store import tables as t

MAX_APPLICATIONS = 3000  # per instance, AWS's default quota


@dataclass(frozen=True)
class Provider:
    arn: str
    protocol: str
    display_name: str
    description: str


CUSTOM_SAML = "arn:aws:sso::aws:applicationProvider/custom-saml"
# a customer managed OAuth 2.0 application: its users' tokens come from CreateTokenWithIAM (trusted
# identity propagation); it has no SAML sign-in, and its portal tile is its own URL, when it has one
CUSTOM_OAUTH = "arn:aws:sso::aws:applicationProvider/custom"
PROVIDERS = {
    p.arn: p
    for p in (
        Provider(
            CUSTOM_SAML,
            "SAML",
            "Custom SAML 2.0 application",
            "Add a SAML 2.0 application that is not in the application catalog.",
        ),
        Provider(
            CUSTOM_OAUTH,
            "OAUTH",
            "Customer managed application",
            "An OAuth 2.0 application of your own that uses trusted identity propagation.",
        ),
    )
}


def _provider_shape(p: Provider) -> dict[str, Any]:
    return {
        "ApplicationProviderArn": p.arn,
        "FederationProtocol": p.protocol,
        "DisplayData": {"DisplayName": p.display_name, "Description": p.description},
    }


def identity_store_arn(account_id: str, identity_store_id: str) -> str:
    return f"arn:aws:identitystore::{account_id}:identitystore/{identity_store_id}"


def resource(ctx: RequestContext, params: Params) -> str:
    return str(params.get("ApplicationArn") or params.get("InstanceArn") or "*")


# --- for the SAML identity provider and the portal -----------------------------------------------


def application(conn: Connection, application_arn: str) -> RowMapping | None:
    """The application's row (``sso_applications``), or None."""
    return (
        conn.execute(select(t.sso_applications).where(t.sso_applications.c.application_arn == application_arn))
        .mappings()
        .first()
    )


def _store_of(conn: Connection, instance_arn: str) -> str | None:
    found = conn.execute(
        select(t.sso_instances.c.identity_store_id).where(t.sso_instances.c.instance_arn == instance_arn)
    ).first()
    return None if found is None else str(found.identity_store_id)


def user_may_use(conn: Connection, application_arn: str, user_id: str) -> bool:
    """Whether the directory user may sign in to the application: it is ENABLED, the user is in its
    instance's directory, and (assignment required) the user or one of its groups is assigned."""
    app = application(conn, application_arn)
    if app is None or app["status"] != "ENABLED":
        return False
    store = _store_of(conn, app["instance_arn"])
    if store is None or not principal_exists(conn, store, "USER", user_id):
        return False
    if not app["assignment_required"]:
        return True
    principals = [("USER", user_id)] + [("GROUP", g) for g in groups_of_user(conn, store, user_id)]
    a = t.sso_application_assignments.c
    found = conn.execute(
        select(a.principal_id)
        .where(a.application_arn == application_arn, tuple_(a.principal_type, a.principal_id).in_(principals))
        .limit(1)
    ).first()
    return found is not None


# --- providers -----------------------------------------------------------------------------------


@operation("sso-admin", "ListApplicationProviders", resource=lambda ctx, p: "*")
def list_application_providers(ctx: RequestContext, params: Params) -> Result:
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    arns = sorted(a for a in PROVIDERS if not after or a > str(after[0]))
    out: dict[str, Any] = {"ApplicationProviders": [_provider_shape(PROVIDERS[a]) for a in arns[:limit]]}
    if len(arns) > limit:
        out["NextToken"] = paging.encode([arns[limit - 1]])
    return out


@operation("sso-admin", "DescribeApplicationProvider", resource=lambda ctx, p: str(p["ApplicationProviderArn"]))
def describe_application_provider(ctx: RequestContext, params: Params) -> Result:
    provider = PROVIDERS.get(params["ApplicationProviderArn"])
    if provider is None:
        raise ResourceNotFoundException(f"Application provider {params['ApplicationProviderArn']} does not exist.")
    return _provider_shape(provider)


# --- applications --------------------------------------------------------------------------------


def find(conn: Connection, ctx: RequestContext, application_arn: str) -> RowMapping:
    """The caller's application (another account's is not found)."""
    row = application(conn, application_arn)
    if row is None or row["account_id"] != ctx.account_id:
        raise ResourceNotFoundException(f"Application {application_arn} does not exist.")
    return row


def _shape(row: RowMapping, identity_store_id: str, region: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ApplicationArn": row["application_arn"],
        "ApplicationProviderArn": row["provider_arn"],
        "Name": row["name"],
        "ApplicationAccount": row["account_id"],
        "InstanceArn": row["instance_arn"],
        "IdentityStoreArn": identity_store_arn(row["account_id"], identity_store_id),
        "Status": row["status"],
        "PortalOptions": dict(row["portal_options"]),
        "CreatedDate": row["created_at"],
        "CreatedFrom": region,
    }
    if row["description"]:
        out["Description"] = row["description"]
    return out


def _portal_options(options: dict[str, Any] | None) -> dict[str, Any]:
    options = dict(options or {})
    sign_in = dict(options.get("SignInOptions") or {"Origin": "IDENTITY_CENTER"})
    if sign_in.get("Origin") == "APPLICATION" and not sign_in.get("ApplicationUrl"):
        raise ValidationException("ApplicationUrl is required when the sign-in Origin is APPLICATION.")
    return {"SignInOptions": sign_in, "Visibility": options.get("Visibility") or "ENABLED"}


@operation("sso-admin", "CreateApplication", resource=resource)
def create_application(ctx: RequestContext, params: Params) -> Result:
    provider = params["ApplicationProviderArn"]
    if provider not in PROVIDERS:
        raise ResourceNotFoundException(f"Application provider {provider} does not exist.")
    options = _portal_options(params.get("PortalOptions"))
    tags = list(params.get("Tags") or [])
    if len({tag["Key"] for tag in tags}) != len(tags):
        raise ValidationException("Duplicate tag keys are not allowed.")
    with ctx.store.tx() as conn:
        instance = instances.find(conn, params["InstanceArn"], ctx.account_id)
        apps = t.sso_applications.c
        token = params.get("ClientToken")
        if token:
            again = (
                conn.execute(
                    select(t.sso_applications).where(
                        apps.instance_arn == instance["instance_arn"], apps.client_token == token
                    )
                )
                .mappings()
                .first()
            )
            if again is not None:  # an idempotent retry
                return _created(again, instance)
        count = len(
            conn.execute(
                select(apps.application_arn)
                .where(apps.instance_arn == instance["instance_arn"])
                .limit(MAX_APPLICATIONS)
            ).all()
        )
        if count >= MAX_APPLICATIONS:
            raise ServiceQuotaExceededException("The maximum number of applications has been reached.")
        instance_id = instance["instance_arn"].rsplit("/", 1)[-1]
        arn = f"arn:aws:sso::{ctx.account_id}:application/{instance_id}/apl-{secrets.token_hex(8)}"
        conn.execute(
            insert(t.sso_applications).values(
                application_arn=arn,
                instance_arn=instance["instance_arn"],
                account_id=ctx.account_id,
                provider_arn=provider,
                name=params["Name"],
                description=params.get("Description"),
                status=params.get("Status") or "ENABLED",
                portal_options=options,
                assignment_required=True,
                client_token=token,
                created_at=ctx.now,
            )
        )
        for tag in tags:
            conn.execute(
                insert(t.tags).values(resource_arn=arn, account_id=ctx.account_id, key=tag["Key"], value=tag["Value"])
            )
        row = find(conn, ctx, arn)
        audit.record(conn, ctx, params, resource=("AWS::SSO::Application", arn))
    return _created(row, instance)


def _created(row: RowMapping, instance: RowMapping) -> dict[str, Any]:
    return {
        "ApplicationArn": row["application_arn"],
        "InstanceArn": row["instance_arn"],
        "IdentityStoreArn": identity_store_arn(row["account_id"], instance["identity_store_id"]),
    }


@operation("sso-admin", "DescribeApplication", resource=resource)
def describe_application(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = find(conn, ctx, params["ApplicationArn"])
        store = _store_of(conn, row["instance_arn"]) or ""
    return _shape(row, store, ctx.settings.region)


@operation("sso-admin", "UpdateApplication", resource=resource)
def update_application(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["ApplicationArn"])
        values: dict[str, Any] = {}
        for member, column in (("Name", "name"), ("Description", "description"), ("Status", "status")):
            if member in params:
                values[column] = params[member]
        if params.get("PortalOptions", {}).get("SignInOptions"):
            current = dict(row["portal_options"])
            values["portal_options"] = _portal_options(
                {**current, "SignInOptions": params["PortalOptions"]["SignInOptions"]}
            )
        if values:
            conn.execute(
                update(t.sso_applications)
                .where(t.sso_applications.c.application_arn == row["application_arn"])
                .values(**values)
            )
            audit.record(conn, ctx, params)
    return {}


@operation("sso-admin", "DeleteApplication", resource=resource)
def delete_application(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["ApplicationArn"])
        conn.execute(delete(t.tags).where(t.tags.c.resource_arn == row["application_arn"]))
        conn.execute(delete(t.sso_applications).where(t.sso_applications.c.application_arn == row["application_arn"]))
        audit.record(conn, ctx, params)
    return {}


@operation("sso-admin", "ListApplications", resource=resource)
def list_applications(ctx: RequestContext, params: Params) -> Result:
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    wanted = params.get("Filter") or {}
    apps = t.sso_applications.c
    with ctx.store.read() as conn:
        instance = instances.find(conn, params["InstanceArn"], ctx.account_id)
        query = select(t.sso_applications).where(apps.instance_arn == instance["instance_arn"])
        if wanted.get("ApplicationAccount"):
            query = query.where(apps.account_id == wanted["ApplicationAccount"])
        if wanted.get("ApplicationProvider"):
            query = query.where(apps.provider_arn == wanted["ApplicationProvider"])
        if after:
            query = query.where(apps.application_arn > str(after[0]))
        rows = conn.execute(query.order_by(apps.application_arn).limit(limit + 1)).mappings().all()
    out: dict[str, Any] = {
        "Applications": [_shape(r, instance["identity_store_id"], ctx.settings.region) for r in rows[:limit]]
    }
    if len(rows) > limit:
        out["NextToken"] = paging.encode([rows[limit - 1]["application_arn"]])
    return out


# --- assignment configuration --------------------------------------------------------------------


@operation("sso-admin", "GetApplicationAssignmentConfiguration", resource=resource)
def get_assignment_configuration(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = find(conn, ctx, params["ApplicationArn"])
    return {"AssignmentRequired": bool(row["assignment_required"])}


@operation("sso-admin", "PutApplicationAssignmentConfiguration", resource=resource)
def put_assignment_configuration(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["ApplicationArn"])
        conn.execute(
            update(t.sso_applications)
            .where(t.sso_applications.c.application_arn == row["application_arn"])
            .values(assignment_required=bool(params["AssignmentRequired"]))
        )
        audit.record(conn, ctx, params)
    return {}


# --- application assignments ---------------------------------------------------------------------


def _assignment_where(params: Params) -> list[Any]:
    a = t.sso_application_assignments.c
    return [
        a.application_arn == params["ApplicationArn"],
        a.principal_type == params["PrincipalType"],
        a.principal_id == params["PrincipalId"],
    ]


def _assignment_shape(application_arn: str, principal_type: str, principal_id: str) -> dict[str, Any]:
    return {"ApplicationArn": application_arn, "PrincipalType": principal_type, "PrincipalId": principal_id}


@operation("sso-admin", "CreateApplicationAssignment", resource=resource)
def create_application_assignment(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = find(conn, ctx, params["ApplicationArn"])
        store = _store_of(conn, row["instance_arn"]) or ""
        if not principal_exists(conn, store, params["PrincipalType"], params["PrincipalId"]):
            kind = "User" if params["PrincipalType"] == "USER" else "Group"
            raise ResourceNotFoundException(f"{kind} {params['PrincipalId']} does not exist in the identity store.")
        if conn.execute(select(t.sso_application_assignments).where(*_assignment_where(params))).first() is None:
            conn.execute(
                insert(t.sso_application_assignments).values(
                    application_arn=row["application_arn"],
                    principal_type=params["PrincipalType"],
                    principal_id=params["PrincipalId"],
                    created_at=ctx.now,
                )
            )
            audit.record(conn, ctx, params)
    return {}


@operation("sso-admin", "DeleteApplicationAssignment", resource=resource)
def delete_application_assignment(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        find(conn, ctx, params["ApplicationArn"])
        gone = conn.execute(delete(t.sso_application_assignments).where(*_assignment_where(params))).rowcount
        if not gone:
            raise ResourceNotFoundException("The application assignment does not exist.")
        audit.record(conn, ctx, params)
    return {}


@operation("sso-admin", "DescribeApplicationAssignment", resource=resource)
def describe_application_assignment(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        find(conn, ctx, params["ApplicationArn"])
        found = conn.execute(select(t.sso_application_assignments).where(*_assignment_where(params))).first()
    if found is None:
        raise ResourceNotFoundException("The application assignment does not exist.")
    return _assignment_shape(params["ApplicationArn"], params["PrincipalType"], params["PrincipalId"])


def _assignment_page(conn: Connection, params: Params, *clauses: Any) -> dict[str, Any]:
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    a = t.sso_application_assignments.c
    order = (a.application_arn, a.principal_type, a.principal_id)
    query = select(*order).where(*clauses)
    if after and len(after) == len(order):
        query = query.where(tuple_(*order) > tuple_(*[str(v) for v in after]))
    rows = conn.execute(query.order_by(*order).limit(limit + 1)).all()
    out: dict[str, Any] = {"ApplicationAssignments": [_assignment_shape(*r) for r in rows[:limit]]}
    if len(rows) > limit:
        out["NextToken"] = paging.encode(list(rows[limit - 1]))
    return out


@operation("sso-admin", "ListApplicationAssignments", resource=resource)
def list_application_assignments(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = find(conn, ctx, params["ApplicationArn"])
        return _assignment_page(conn, params, t.sso_application_assignments.c.application_arn == row["application_arn"])


@operation("sso-admin", "ListApplicationAssignmentsForPrincipal", resource=resource)
def list_application_assignments_for_principal(ctx: RequestContext, params: Params) -> Result:
    a, apps = t.sso_application_assignments.c, t.sso_applications.c
    with ctx.store.read() as conn:
        instance = instances.find(conn, params["InstanceArn"], ctx.account_id)
        mine = select(apps.application_arn).where(apps.instance_arn == instance["instance_arn"])
        clauses = [
            a.application_arn.in_(mine),
            a.principal_type == params["PrincipalType"],
            a.principal_id == params["PrincipalId"],
        ]
        wanted = (params.get("Filter") or {}).get("ApplicationArn")
        if wanted:
            clauses.append(a.application_arn == wanted)
        return _assignment_page(conn, params, *clauses)
