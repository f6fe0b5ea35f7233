"""The device flow approved on the access portal's real page (``/start/device``), as a person does it
after ``aws-sso-util login`` or the CLI prints the code: the page, sign-in to the request's portal,
"Authorize request", allow; then the client's poll gets its token and the portal API answers it. A
denial on the page is the client's AccessDeniedException; a user of another instance cannot decide."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from sqlalchemy import delete

from ostiary.store import tables as t
from ostiary.store.db import Store
from tests.accessportal.conftest import form_action, hidden_fields, portal_user
from tests.conftest import Server
from tests.ssoadmin.conftest import Instance, new_instance
from tests.ssooidc.helpers import ACCOUNT_ACCESS, code_of, poll, register, start


def _to_consent(web: httpx.Client, inst: Instance, user_code: str, verification: str) -> httpx.Response:
    person = portal_user(inst)
    first = web.get(verification)
    assert first.status_code == 303, first.text
    page = web.get(inst.server.url + first.headers["location"])
    fields = hidden_fields(page.text)
    fields.update(username=person.user_name, password=person.password)
    signed = web.post(inst.server.url + form_action(page.text), data=fields)
    assert signed.status_code == 303, signed.text
    shown = web.get(inst.server.url + signed.headers["location"])
    assert shown.status_code == 200, shown.text
    assert "test-cli" in shown.text and user_code in shown.text
    return shown


def _decide(web: httpx.Client, inst: Instance, shown: httpx.Response, decision: str) -> httpx.Response:
    fields = hidden_fields(shown.text)
    fields["decision"] = decision
    return web.post(inst.server.url + form_action(shown.text), data=fields)


def test_allowed_on_the_page(oidc: Any, server: Server, instance: Instance) -> None:
    client = register(oidc, scopes=[ACCOUNT_ACCESS])
    auth = start(oidc, client, server, instance)
    with pytest.raises(ClientError) as err:
        poll(oidc, client, auth)
    assert code_of(err.value) == "AuthorizationPendingException"
    with httpx.Client() as web:
        shown = _to_consent(web, instance, auth["userCode"], auth["verificationUriComplete"])
        done = _decide(web, instance, shown, "allow")
    assert done.status_code == 200 and "approved" in done.text.lower(), done.text
    got = poll(oidc, client, auth)
    assert got["accessToken"] and got["refreshToken"]
    assert server.client("sso").list_accounts(accessToken=got["accessToken"])["accountList"] == []


def test_denied_on_the_page(oidc: Any, server: Server, instance: Instance) -> None:
    client = register(oidc)
    auth = start(oidc, client, server, instance)
    with httpx.Client() as web:
        shown = _to_consent(web, instance, auth["userCode"], auth["verificationUriComplete"])
        done = _decide(web, instance, shown, "deny")
    assert done.status_code == 200 and "denied" in done.text.lower(), done.text
    with pytest.raises(ClientError) as err:
        poll(oidc, client, auth)
    assert code_of(err.value) == "AccessDeniedException"


def test_user_of_another_instance_cannot_decide(oidc: Any, server: Server, instance: Instance) -> None:
    """Signed in to another instance's portal, the request (of ``instance``) still asks for a sign-in
    to its own portal."""
    other = new_instance(server, "oidc-other")
    client = register(oidc)
    auth = start(oidc, client, server, instance)
    with httpx.Client() as web:
        person = portal_user(other)
        page = web.get(f"{server.url}/start/{other.identity_store_id}")
        fields = hidden_fields(page.text)
        fields.update(username=person.user_name, password=person.password)
        assert web.post(server.url + form_action(page.text), data=fields).status_code == 303
        first = web.get(auth["verificationUriComplete"])
    assert first.status_code == 303
    assert first.headers["location"].startswith(f"/start/{instance.identity_store_id}?")
    with pytest.raises(ClientError) as err:
        poll(oidc, client, auth)
    assert code_of(err.value) == "AuthorizationPendingException"


def test_guessing_user_codes_is_bounded(server: Server, store: Store) -> None:
    """The page looks codes up at most 30 times per address in 10 minutes; then even a valid code is
    refused from that address until the window ends (a guesser's odds stay ~30 in 20^8 per window)."""
    with store.tx() as conn:  # this test's address starts with a clean window
        conn.execute(delete(t.counters).where(t.counters.c.key == "sso-oidc:user-code:127.0.0.1"))
    with httpx.Client() as web:
        answers = [
            web.get(f"{server.url}/start/device", params={"user_code": f"BCDF-{guess}"}).text
            for guess in ("GHJK", "GHJL", "GHJM", "GHJN", "GHJP", "GHJQ") * 5
        ]
        assert all("not valid" in a for a in answers)
        refused = web.get(f"{server.url}/start/device", params={"user_code": "BCDF-GHJR"})
    assert refused.status_code == 400 and "Too many codes" in refused.text
    with store.tx() as conn:
        conn.execute(delete(t.counters).where(t.counters.c.key == "sso-oidc:user-code:127.0.0.1"))
