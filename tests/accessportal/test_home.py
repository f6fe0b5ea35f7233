"""The portal's home over HTTP: application tiles (only the applications the user may use; IdP-initiated
SAML sign-in, or the application's own URL), and the programmatic-access panel refusing a role the user
is not assigned and a form without its CSRF token."""

from __future__ import annotations

import html
import re

import httpx

from tests.accessportal.conftest import form_action, hidden_fields, portal_user, sign_in, start_url
from tests.ssoadmin.conftest import Instance

CUSTOM_SAML = "arn:aws:sso::aws:applicationProvider/custom-saml"


def tiles(web: httpx.Client, instance: Instance) -> dict[str, str]:
    page = web.get(start_url(instance))
    assert page.status_code == 200, page.text
    found = re.findall(r'<a class="tile" href="([^"]+)">.*?</span>([^<]+)</a>', page.text)
    return {name: html.unescape(href) for href, name in found}


def test_application_tiles(portal: Instance) -> None:
    admin = portal.client("sso-admin")
    wiki = admin.create_application(InstanceArn=portal.instance_arn, ApplicationProviderArn=CUSTOM_SAML, Name="Wiki")[
        "ApplicationArn"
    ]
    admin.create_application(
        InstanceArn=portal.instance_arn,
        ApplicationProviderArn=CUSTOM_SAML,
        Name="Hidden",
        PortalOptions={"Visibility": "DISABLED"},
    )
    crm = admin.create_application(
        InstanceArn=portal.instance_arn,
        ApplicationProviderArn=CUSTOM_SAML,
        Name="CRM",
        PortalOptions={"SignInOptions": {"Origin": "APPLICATION", "ApplicationUrl": "https://crm.example.com/login"}},
    )["ApplicationArn"]
    assigned, other = portal_user(portal), portal_user(portal)
    for app in (wiki, crm):
        admin.create_application_assignment(ApplicationArn=app, PrincipalId=assigned.user_id, PrincipalType="USER")
    with httpx.Client() as web:
        assert sign_in(web, portal, assigned).status_code == 303
        shown = tiles(web, portal)
    apl = wiki.rsplit("/", 1)[1]
    assert shown == {
        "CRM": "https://crm.example.com/login",
        "Wiki": f"{portal.server.url}/start/{portal.identity_store_id}/saml/applications/{apl}",
    }
    with httpx.Client() as web:
        assert sign_in(web, portal, other).status_code == 303
        assert tiles(web, portal) == {}


def test_credentials_panel_refusals(portal: Instance) -> None:
    person = portal_user(portal)
    with httpx.Client() as web:
        assert sign_in(web, portal, person).status_code == 303
        home = web.get(start_url(portal))
        token = hidden_fields(home.text)["_csrf"]
        url = f"{start_url(portal)}/credentials"
        not_assigned = web.post(url, data={"_csrf": token, "account_id": portal.account_id, "role_name": "Admin"})
        assert not_assigned.status_code == 403
        assert "You are not assigned this permission set" in not_assigned.text
        assert "AWS_SECRET_ACCESS_KEY" not in not_assigned.text
        no_csrf = web.post(url, data={"account_id": portal.account_id, "role_name": "Admin"})
        assert no_csrf.status_code == 403
        assert "The form has expired" in no_csrf.text
    with httpx.Client() as anonymous:  # no session: back to the sign-in page
        answer = anonymous.post(url, data={"account_id": portal.account_id, "role_name": "Admin"})
        assert answer.status_code == 303
        assert answer.headers["location"].startswith(f"/start/{portal.identity_store_id}?next=")
    assert form_action(home.text).endswith("/signout")
