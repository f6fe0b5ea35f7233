"""``/start/device`` over HTTP: a user of another identity store cannot approve a request (sent to the
request's own portal to sign in; a forged decision is not taken), an unknown code, CSRF, and denial
answered to the CLI as AccessDeniedException."""

from __future__ import annotations

from typing import Any

import boto3
import httpx
import pytest

from tests.accessportal.conftest import form_action, hidden_fields, portal_user, sign_in, start_url
from tests.conftest import REGION, Server
from tests.ssoadmin.conftest import Instance, new_instance

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def oidc(server: Server) -> Any:
    client = boto3.client("sso-oidc", endpoint_url=server.url, region_name=REGION)
    yield client
    client.close()


def start(oidc: Any, instance: Instance) -> tuple[dict[str, Any], dict[str, Any]]:
    client = oidc.register_client(clientName="device-test", clientType="public")
    auth = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=start_url(instance)
    )
    return client, auth


def poll(oidc: Any, client: dict[str, Any], auth: dict[str, Any]) -> Any:
    return oidc.create_token(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        grantType=DEVICE_GRANT,
        deviceCode=auth["deviceCode"],
    )


def test_another_stores_user_cannot_approve(server: Server, portal: Instance, oidc: Any) -> None:
    target = new_instance(server, "device-target")
    client, auth = start(oidc, target)
    intruder = portal_user(portal)  # signed in, but to another instance's portal
    with httpx.Client() as web:
        assert sign_in(web, portal, intruder).status_code == 303
        seen = web.get(auth["verificationUriComplete"])
        assert seen.status_code == 303
        assert seen.headers["location"].startswith(f"/start/{target.identity_store_id}?next=")
        # a forged decision (a valid CSRF token of this browser, the other store's session) is not taken
        code_page = web.get(f"{server.url}/start/device")
        forged = web.post(
            f"{server.url}/start/device",
            data={"_csrf": hidden_fields(code_page.text)["_csrf"], "user_code": auth["userCode"], "decision": "allow"},
        )
        assert forged.status_code in (303, 403)
    with pytest.raises(oidc.exceptions.AuthorizationPendingException):
        poll(oidc, client, auth)


def test_unknown_code_and_denial(portal: Instance, oidc: Any) -> None:
    person = portal_user(portal)
    client, auth = start(oidc, portal)
    with httpx.Client() as web:
        unknown = web.get(f"{portal.server.url}/start/device", params={"user_code": "BCDF-GHJK"})
        assert unknown.status_code == 400
        assert "That code is not valid or has expired." in unknown.text
        entry = web.get(f"{portal.server.url}/start/device")
        fields = hidden_fields(entry.text)
        fields["user_code"] = auth["userCode"].lower().replace("-", "")  # typed loosely
        typed = web.post(portal.server.url + form_action(entry.text), data=fields)
        assert typed.status_code == 303
        signin = web.get(portal.server.url + typed.headers["location"])
        assert signin.status_code == 303  # not signed in: to the request's portal
        page = web.get(portal.server.url + signin.headers["location"])
        fields = hidden_fields(page.text)
        fields.update(username=person.user_name, password=person.password)
        back = web.post(portal.server.url + form_action(page.text), data=fields)
        consent = web.get(portal.server.url + back.headers["location"])
        assert "Authorize request: device-test" in consent.text
        decision = hidden_fields(consent.text)
        no_csrf = web.post(portal.server.url + "/start/device", data={**decision, "_csrf": "", "decision": "allow"})
        assert no_csrf.status_code == 403
        denied = web.post(portal.server.url + form_action(consent.text), data={**decision, "decision": "deny"})
        assert denied.status_code == 200
        assert "Request denied" in denied.text
        again = web.post(portal.server.url + form_action(consent.text), data={**decision, "decision": "allow"})
        assert again.status_code == 400  # decided already
    with pytest.raises(oidc.exceptions.AccessDeniedException):
        poll(oidc, client, auth)


def test_a_clients_token_is_not_a_portal_session(portal: Instance, oidc: Any) -> None:
    """The access token CreateToken gives a CLI works for the portal API, not as the web portal's cookie."""
    person = portal_user(portal)
    client, auth = start(oidc, portal)
    with httpx.Client() as web:
        assert sign_in(web, portal, person).status_code == 303
        consent = web.get(auth["verificationUriComplete"])
        fields = {**hidden_fields(consent.text), "decision": "allow"}
        assert web.post(portal.server.url + form_action(consent.text), data=fields).status_code == 200
    token = poll(oidc, client, auth)["accessToken"]
    cookie = f"ostiary-portal-{portal.identity_store_id}"
    with httpx.Client(cookies={cookie: token}) as web:
        page = web.get(start_url(portal))
        assert 'name="password"' in page.text
