"""The portal's home (the AWS accounts, each with the permission sets the user may use, and application
tiles), the programmatic-access panel and sign-out.

Accounts, roles and credentials come from the ``sso`` service's operation functions (ListAccounts,
ListAccountRoles, GetRoleCredentials), called with the portal session's token as ``accessToken``: the
same code path as the AWS SDKs' calls, so what a user sees on the page and gets from the API agree, and
the token's checks are the API's. The credentials panel is a POST form per role (no JavaScript).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from starlette.requests import Request
from starlette.responses import Response

from ostiary.accessportal import credentials, session, urls
from ostiary.accessportal.pages import Portal
from ostiary.accessportal.session import SignedIn
from ostiary.oauth.authorize_request import ErrorPage
from ostiary.protocol import registry
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import ServiceError
from ostiary.ssoadmin import applications as applications_of_instance
from ostiary.store import tables as t

INFO = {"mfa": "Your authenticator app is registered. You will be asked for a code when you sign in."}
PAGE_LIMIT = 100  # accounts and roles read per call
MAX_PAGES = 20


def _context(portal: Portal, request: Request, operation: str) -> RequestContext:
    """The context of an ``sso`` call the page makes on the browser's behalf (unsigned, as the API's)."""
    return RequestContext(
        runtime=portal.runtime,
        request_id=str(uuid.uuid4()),
        service="sso",
        operation=operation,
        region=portal.runtime.settings.region,
        principal=None,
        source_ip=portal.address(request),
        user_agent=request.headers.get("user-agent"),
    )


def call(portal: Portal, request: Request, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run an ``sso`` operation function; its ServiceError propagates."""
    op = registry.lookup("sso", operation)
    if op is None:
        raise ErrorPage("Unavailable", "The AWS access portal's API is not available.", "not_implemented", 501)
    return op.func(_context(portal, request, operation), params) or {}


def _all(portal: Portal, request: Request, operation: str, params: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        page = call(
            portal, request, operation, {**params, "maxResults": PAGE_LIMIT, **({"nextToken": token} if token else {})}
        )
        items += page.get(key) or []
        token = page.get("nextToken")
        if not token:
            break
    return items


def accounts(portal: Portal, request: Request, signed: SignedIn) -> list[dict[str, Any]]:
    """Every account of the user with its roles (permission sets), as ListAccounts/ListAccountRoles."""
    found = _all(portal, request, "ListAccounts", {"accessToken": signed.access_token}, "accountList")
    for account in found:
        params = {"accessToken": signed.access_token, "accountId": account["accountId"]}
        account["roles"] = _all(portal, request, "ListAccountRoles", params, "roleList")
    return sorted(found, key=lambda a: (str(a.get("accountName") or "").casefold(), a["accountId"]))


def page(portal: Portal, request: Request, instance: RowMapping, signed: SignedIn) -> Response:
    store_id = signed.store_id
    base = portal.home_path(store_id)
    try:
        found = accounts(portal, request, signed)
    except ServiceError as err:
        if err.code == "UnauthorizedException":  # the session ended meanwhile
            return portal.redirect(portal.sign_in_url(store_id, base))
        raise
    with portal.runtime.store.read() as conn:
        creds = credentials.get(conn, portal.runtime.box, store_id, signed.user_id)
    mfa_url = None if creds is not None and creds.has_totp else f"{base}/mfa-setup"
    return portal.render(
        request,
        "home.html",
        form="home",  # one token for the page's forms: sign-out and one credentials form per role
        user_name=signed.user_name,
        accounts=found,
        applications=applications(portal, instance, signed),
        signout_url=f"{base}/signout",
        credentials_url=f"{base}/credentials",
        mfa_url=mfa_url,
        info=INFO.get(request.query_params.get("info", "")),
    )


def applications(portal: Portal, instance: RowMapping, signed: SignedIn) -> list[dict[str, str]]:
    """The application tiles: the instance's enabled, visible applications the user may use
    (``ssoadmin.applications.user_may_use``). A tile starts the IdP-initiated SAML sign-in
    (``samlidp``, ``urls.saml_application_url``), or opens the application's own URL when its sign-in
    starts there (``SignInOptions.Origin`` ``APPLICATION``: the only tile of an OAuth application)."""
    apps = t.sso_applications.c
    public = portal.runtime.settings.effective_public_url
    with portal.runtime.store.read() as conn:
        rows = conn.execute(
            select(t.sso_applications)
            .where(apps.instance_arn == instance["instance_arn"], apps.status == "ENABLED")
            .order_by(apps.name)
        ).mappings()
        tiles = []
        for row in rows:
            options = row["portal_options"] or {}
            sign_in = options.get("SignInOptions") or {}
            if options.get("Visibility", "ENABLED") != "ENABLED":
                continue
            if not applications_of_instance.user_may_use(conn, row["application_arn"], signed.user_id):
                continue
            if sign_in.get("Origin") == "APPLICATION" and sign_in.get("ApplicationUrl"):
                url = str(sign_in["ApplicationUrl"])
            elif row["provider_arn"] != applications_of_instance.CUSTOM_SAML:
                continue  # an OAuth application without a URL of its own has no SAML sign-in to start
            else:
                application_id = str(row["application_arn"]).rsplit("/", 1)[-1]
                url = urls.saml_application_url(public, signed.store_id, application_id)
            tiles.append({"name": row["name"], "url": url})
    return tiles


def credentials_post(portal: Portal, request: Request, form: dict[str, str], signed: SignedIn) -> Response:
    """The programmatic-access panel of one role: GetRoleCredentials, shown as environment variables, a
    credentials-file profile and an ``sso-session`` configuration."""
    portal.check_csrf(request, form, "home")
    account_id, role_name = form.get("account_id", "")[:12], form.get("role_name", "")[:32]
    params = {"accessToken": signed.access_token, "accountId": account_id, "roleName": role_name}
    base = portal.home_path(signed.store_id)
    try:
        answer = call(portal, request, "GetRoleCredentials", params)
    except ServiceError as err:
        if err.code == "UnauthorizedException":
            return portal.redirect(portal.sign_in_url(signed.store_id, base))
        raise ErrorPage(
            "Access denied", "You are not assigned this permission set in this account.", err.code, 403
        ) from None
    role = answer["roleCredentials"]
    names = {
        a["accountId"]: a.get("accountName") or a["accountId"]
        for a in _all(portal, request, "ListAccounts", {"accessToken": signed.access_token}, "accountList")
    }
    expires = dt.datetime.fromtimestamp(int(role["expiration"]) / 1000, dt.UTC)
    public = portal.runtime.settings.effective_public_url
    return portal.render(
        request,
        "credentials.html",
        account_id=account_id,
        account_name=names.get(account_id, account_id),
        role_name=role_name,
        access_key_id=role["accessKeyId"],
        secret_access_key=role["secretAccessKey"],
        session_token=role["sessionToken"],
        expires_iso=expires.isoformat(),
        expires_text=expires.strftime("%Y-%m-%d %H:%M:%S UTC"),
        start_url=urls.start_url(public, signed.store_id),
        region=portal.runtime.settings.region,
        endpoint_url=public,
        session_name=f"ostiary-{signed.store_id}",
        home_url=base,
    )


def signout(portal: Portal, request: Request, form: dict[str, str]) -> Response:
    store_id = request.path_params["store_id"]
    portal.check_csrf(request, form, "home")
    response = portal.redirect(f"{portal.home_path(store_id)}?info=signedout")
    session.end(portal, request, response, store_id)
    return response
