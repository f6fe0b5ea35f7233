"""What an application accepts for trusted identity propagation (sso-admin): its session configuration
(Get/PutApplicationSessionConfiguration), its access scopes (Put/Get/Delete/ListApplicationAccessScopes)
and its authentication methods (Put/Get/Delete/ListApplicationAuthenticationMethods); and, for
CreateTokenWithIAM, ``actor_policy`` and ``scopes``.

IAM Identity Center API Reference and User Guide, "Trusted identity propagation":

- **Access scopes** name what a token of the application may be used for (AWS's services define them:
  ``sso:account:access``, ``redshift:connect``, ``lakeformation:query``, ``s3:access:read_write``,
  ``qapps:access``…; the model's pattern bounds them). A scope's ``AuthorizedTargets`` are the other
  applications (of the same instance) that accept the application's tokens for that scope through the
  token exchange grant.
- **The IAM authentication method** carries the ``ActorPolicy``: a resource-based policy saying which
  IAM principals may call CreateTokenWithIAM for the application. It is validated when put (IAM's
  grammar, ``iam/grammar.py``: each statement names its principals), stored as JSON text, and
  evaluated by the policy engine for each call, with the caller as principal (``actor_policy``).
- **User background sessions** (``UserBackgroundSessionApplicationStatus``): whether the application
  may keep acting for a user after the user's interactive session ends. Disabled unless put.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ostiary import jsonlimits
from ostiary.access import policy
from ostiary.audit import recorder as audit
from ostiary.iam import grammar
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import applications, paging
from ostiary.ssoadmin.errors import ResourceNotFoundException, ValidationException
from ostiary.store import tables as t

IAM = "IAM"
MAX_SCOPES = 10  # ListApplicationAccessScopes answers at most 10 per page (the model's bound)
MAX_POLICY_CHARS = 10240  # a resource-based policy's size, as AWS bounds them


# --- session configuration -----------------------------------------------------------------------


@operation("sso-admin", "GetApplicationSessionConfiguration", resource=applications.resource)
def get_session_configuration(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        s = t.sso_application_settings.c
        status = conn.execute(
            select(s.user_background_sessions).where(s.application_arn == app["application_arn"])
        ).scalar()
    return {"UserBackgroundSessionApplicationStatus": status or "DISABLED"}


@operation("sso-admin", "PutApplicationSessionConfiguration", resource=applications.resource)
def put_session_configuration(ctx: RequestContext, params: Params) -> Result:
    status = params.get("UserBackgroundSessionApplicationStatus")
    with ctx.store.tx() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        if status is None:
            return {}
        s = t.sso_application_settings.c
        changed = conn.execute(
            update(t.sso_application_settings)
            .where(s.application_arn == app["application_arn"])
            .values(user_background_sessions=status, updated_at=ctx.now)
        ).rowcount
        if not changed:
            conn.execute(
                insert(t.sso_application_settings).values(
                    application_arn=app["application_arn"], user_background_sessions=status, updated_at=ctx.now
                )
            )
    return {}


# --- access scopes -------------------------------------------------------------------------------


def _check_targets(conn: Connection, app: Any, targets: list[str]) -> None:
    """Each target is an application of the same instance, or the instance itself."""
    if len(set(targets)) != len(targets):
        raise ValidationException("AuthorizedTargets must not repeat a target.")
    apps = t.sso_applications.c
    others = [a for a in targets if a != app["instance_arn"]]
    if not others:
        return
    found = set(
        conn.execute(
            select(apps.application_arn).where(
                apps.application_arn.in_(others), apps.instance_arn == app["instance_arn"]
            )
        ).scalars()
    )
    missing = [a for a in others if a not in found]
    if missing:
        raise ValidationException(f"Target {missing[0]} is not an application of the instance {app['instance_arn']}.")


def _scope_shape(scope: str, targets: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"Scope": scope}
    if targets:
        out["AuthorizedTargets"] = list(targets)
    return out


@operation("sso-admin", "PutApplicationAccessScope", resource=applications.resource)
def put_access_scope(ctx: RequestContext, params: Params) -> Result:
    targets = list(params.get("AuthorizedTargets") or [])
    s = t.sso_application_scopes.c
    with ctx.store.tx() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        _check_targets(conn, app, targets)
        where = (s.application_arn == app["application_arn"], s.scope == params["Scope"])
        if conn.execute(
            update(t.sso_application_scopes).where(*where).values(targets=targets, updated_at=ctx.now)
        ).rowcount:
            audit.record(conn, ctx, params)
            return {}
        count = conn.execute(select(s.scope).where(s.application_arn == app["application_arn"])).all()
        if len(count) >= MAX_SCOPES:
            raise ValidationException(f"An application can have at most {MAX_SCOPES} access scopes.")
        conn.execute(
            insert(t.sso_application_scopes).values(
                application_arn=app["application_arn"], scope=params["Scope"], targets=targets, updated_at=ctx.now
            )
        )
        audit.record(conn, ctx, params)
    return {}


@operation("sso-admin", "GetApplicationAccessScope", resource=applications.resource)
def get_access_scope(ctx: RequestContext, params: Params) -> Result:
    s = t.sso_application_scopes.c
    with ctx.store.read() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        targets = conn.execute(
            select(s.targets).where(s.application_arn == app["application_arn"], s.scope == params["Scope"])
        ).scalar()
    if targets is None:
        raise ResourceNotFoundException(f"Access scope {params['Scope']} is not configured for the application.")
    return _scope_shape(params["Scope"], targets)


@operation("sso-admin", "DeleteApplicationAccessScope", resource=applications.resource)
def delete_access_scope(ctx: RequestContext, params: Params) -> Result:
    s = t.sso_application_scopes.c
    with ctx.store.tx() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        gone = conn.execute(
            delete(t.sso_application_scopes).where(
                s.application_arn == app["application_arn"], s.scope == params["Scope"]
            )
        ).rowcount
        if not gone:
            raise ResourceNotFoundException(f"Access scope {params['Scope']} is not configured for the application.")
        audit.record(conn, ctx, params)
    return {}


@operation("sso-admin", "ListApplicationAccessScopes", resource=applications.resource)
def list_access_scopes(ctx: RequestContext, params: Params) -> Result:
    after = paging.decode(params.get("NextToken"))
    limit = min(paging.limit(params, MAX_SCOPES), MAX_SCOPES)
    s = t.sso_application_scopes.c
    with ctx.store.read() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        query = select(s.scope, s.targets).where(s.application_arn == app["application_arn"])
        if after:
            query = query.where(s.scope > str(after[0]))
        rows = conn.execute(query.order_by(s.scope).limit(limit + 1)).all()
    out: dict[str, Any] = {"Scopes": [_scope_shape(r.scope, r.targets) for r in rows[:limit]]}
    if len(rows) > limit:
        out["NextToken"] = paging.encode([rows[limit - 1].scope])
    return out


def scopes(conn: Connection, application_arn: str) -> dict[str, list[str]]:
    """The application's access scopes and their authorized targets (for CreateTokenWithIAM)."""
    s = t.sso_application_scopes.c
    return {
        r.scope: list(r.targets or [])
        for r in conn.execute(select(s.scope, s.targets).where(s.application_arn == application_arn))
    }


# --- authentication methods ----------------------------------------------------------------------


def check_actor_policy(document: Any) -> str:
    """The ActorPolicy as JSON text, once IAM's grammar accepts it as a resource-based policy: each
    statement names its principals (Principal or NotPrincipal), the rest is an identity policy's
    grammar; a ValidationException with IAM's message otherwise."""
    if not isinstance(document, dict):
        raise ValidationException("The ActorPolicy must be a JSON policy document.")
    text = json.dumps(document, separators=(",", ":"))
    if len(text) > MAX_POLICY_CHARS:
        raise ValidationException(f"The ActorPolicy exceeds the maximum size of {MAX_POLICY_CHARS} characters.")
    statements = document.get("Statement")
    listed: list[dict[str, Any]] = [
        s for s in (statements if isinstance(statements, list) else [statements]) if isinstance(s, dict)
    ]
    if not listed or len(listed) != (len(statements) if isinstance(statements, list) else 1):
        raise ValidationException("Invalid ActorPolicy: Syntax errors in policy.")
    if not all("Principal" in s or "NotPrincipal" in s for s in listed):
        raise ValidationException("Invalid ActorPolicy: every statement of a resource-based policy names a principal.")
    stripped = dict(document)
    stripped["Statement"] = [{k: v for k, v in s.items() if k not in ("Principal", "NotPrincipal")} for s in listed]
    try:
        grammar.validate(json.dumps(stripped), grammar.Kind.INLINE)
        policy.parse(document, resource_policy=True)
    except policy.MalformedPolicy as err:
        raise ValidationException(f"Invalid ActorPolicy: {err}") from None
    return text


def _method_shape(actor_policy: str) -> dict[str, Any]:
    return {"Iam": {"ActorPolicy": json.loads(actor_policy)}}


@operation("sso-admin", "PutApplicationAuthenticationMethod", resource=applications.resource)
def put_authentication_method(ctx: RequestContext, params: Params) -> Result:
    iam = (params["AuthenticationMethod"] or {}).get("Iam")
    if params["AuthenticationMethodType"] != IAM or not isinstance(iam, dict):
        raise ValidationException("AuthenticationMethodType IAM takes an Iam AuthenticationMethod.")
    text = check_actor_policy(iam.get("ActorPolicy"))
    m = t.sso_application_auth_methods.c
    with ctx.store.tx() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        where = (m.application_arn == app["application_arn"], m.method_type == IAM)
        if not conn.execute(
            update(t.sso_application_auth_methods).where(*where).values(actor_policy=text, updated_at=ctx.now)
        ).rowcount:
            conn.execute(
                insert(t.sso_application_auth_methods).values(
                    application_arn=app["application_arn"], method_type=IAM, actor_policy=text, updated_at=ctx.now
                )
            )
        audit.record(conn, ctx, params)
    return {}


def _stored_policy(conn: Connection, application_arn: str) -> str | None:
    m = t.sso_application_auth_methods.c
    found = conn.execute(
        select(m.actor_policy).where(m.application_arn == application_arn, m.method_type == IAM)
    ).scalar()
    return None if found is None else str(found)


@operation("sso-admin", "GetApplicationAuthenticationMethod", resource=applications.resource)
def get_authentication_method(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        text = _stored_policy(conn, app["application_arn"]) if params["AuthenticationMethodType"] == IAM else None
    if text is None:
        raise ResourceNotFoundException("The authentication method is not configured for the application.")
    return {"AuthenticationMethod": _method_shape(text)}


@operation("sso-admin", "DeleteApplicationAuthenticationMethod", resource=applications.resource)
def delete_authentication_method(ctx: RequestContext, params: Params) -> Result:
    m = t.sso_application_auth_methods.c
    with ctx.store.tx() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        gone = conn.execute(
            delete(t.sso_application_auth_methods).where(
                m.application_arn == app["application_arn"], m.method_type == params["AuthenticationMethodType"]
            )
        ).rowcount
        if not gone:
            raise ResourceNotFoundException("The authentication method is not configured for the application.")
        audit.record(conn, ctx, params)
    return {}


@operation("sso-admin", "ListApplicationAuthenticationMethods", resource=applications.resource)
def list_authentication_methods(ctx: RequestContext, params: Params) -> Result:
    paging.decode(params.get("NextToken"))  # one method type: one page
    with ctx.store.read() as conn:
        app = applications.find(conn, ctx, params["ApplicationArn"])
        text = _stored_policy(conn, app["application_arn"])
    methods = [] if text is None else [{"AuthenticationMethodType": IAM, "AuthenticationMethod": _method_shape(text)}]
    return {"AuthenticationMethods": methods}


def actor_policy(conn: Connection, application_arn: str) -> policy.Policy | None:
    """The application's ActorPolicy, parsed for the policy engine (None: no IAM authentication
    method, so no IAM principal may obtain its tokens)."""
    text = _stored_policy(conn, application_arn)
    return None if text is None else policy.parse(jsonlimits.loads(text), resource_policy=True)
