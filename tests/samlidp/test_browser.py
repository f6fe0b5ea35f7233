"""The SAML IdP in a real browser (Playwright + Chromium): an application's SP-initiated sign-in goes to
the portal's sign-in page (password set by the CLI), comes back, and the response page submits itself
(the script file, under the page's CSP) to the application's ACS, a small HTTP server here; the pysaml2
SP accepts what arrived. Screenshots in ``screenshots/samlidp-*.png``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from playwright.sync_api import expect
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

from ostiary.accessportal import urls
from ostiary.store.db import Store
from tests.accessportal.conftest import portal_user
from tests.conftest import Server
from tests.oauth.test_browser import browser, page, shot  # noqa: F401 - fixtures
from tests.samlidp.portal import assign, make_application, service_provider
from tests.samlidp.test_aws_signin import Setup, setup  # noqa: F401 - the /saml IdP and roles fixture
from tests.ssoadmin.conftest import new_instance


class Acs:
    """An application's Assertion Consumer Service on loopback: keeps what is posted to it."""

    def __init__(self) -> None:
        self.posted: list[dict[str, str]] = []
        acs = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                acs.posted.append({k: v[0] for k, v in parse_qs(body).items()})
                answer = b"<!doctype html><title>app</title><h1>Signed in to the app</h1>"
                self.send_response(200)
                self.send_header("content-type", "text/html")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/saml/acs"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def acs() -> Iterator[Acs]:
    found = Acs()
    yield found
    found.close()


def test_sp_initiated_in_browser(page: Any, server: Server, store: Store, acs: Acs, tmp_path: Path) -> None:  # noqa: F811
    inst = new_instance(server, "saml-browser")
    metadata = httpx.get(urls.saml_metadata_url(server.url, inst.identity_store_id)).text
    entity = urls.saml_entity_id(server.url, inst.identity_store_id)
    sp_entity = "https://browser-app.example.test/sp"
    arn = make_application(
        inst,
        store,
        {
            "acs_url": acs.url,
            "sp_entity_id": sp_entity,
            "name_id_format": "emailAddress",
            "attributes": [{"name": "user", "value": "${user:preferredUsername}"}],
        },
        name="Browser App",
    )
    person = portal_user(inst, "saml")
    assign(inst, arn, person.user_id)
    sp = service_provider(tmp_path, metadata, sp_entity, acs.url)
    request_id, info = sp.prepare_for_authenticate(
        entityid=entity, relay_state="deep/link", binding=BINDING_HTTP_REDIRECT
    )

    page.goto(dict(info["headers"])["Location"])
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "samlidp-signin")
    page.get_by_label("Username").fill(person.user_name)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Signed in to the app")).to_be_visible()  # the form submitted itself
    shot(page, "samlidp-app")

    [posted] = acs.posted
    assert posted["RelayState"] == "deep/link"
    response = sp.parse_authn_request_response(posted["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"})
    assert response.assertion.subject.name_id.text == person.email
    assert response.get_identity()["user"] == [person.user_name]

    # signed in already: the portal's application tile (IdP-initiated) goes straight to the app
    page.goto(urls.start_url(server.url, inst.identity_store_id))
    tile = page.get_by_role("link", name="Browser App")
    tile_url = urls.saml_application_url(server.url, inst.identity_store_id, arn.rsplit("/", 1)[-1])
    expect(tile).to_have_attribute("href", tile_url)
    shot(page, "samlidp-portal-tile")
    tile.click()
    expect(page.get_by_role("heading", name="Signed in to the app")).to_be_visible()
    assert len(acs.posted) == 2 and "RelayState" not in acs.posted[1]


def test_without_javascript_the_button_posts(
    browser: Any,  # noqa: F811
    server: Server,
    store: Store,
    acs: Acs,
) -> None:
    inst = new_instance(server, "saml-nojs")
    arn = make_application(inst, store, {"acs_url": acs.url, "sp_entity_id": "https://nojs.example.test/sp"})
    person = portal_user(inst, "nojs")
    assign(inst, arn, person.user_id)
    context = browser.new_context(java_script_enabled=False)
    try:
        pg = context.new_page()
        pg.goto(urls.start_url(server.url, inst.identity_store_id))
        pg.get_by_label("Username").fill(person.user_name)
        pg.get_by_label("Password").fill(person.password)
        pg.get_by_role("button", name="Sign in").click()
        pg.goto(urls.saml_application_url(server.url, inst.identity_store_id, arn.rsplit("/", 1)[-1]))
        expect(pg.get_by_role("heading", name="Signing in to")).to_be_visible()
        assert acs.posted == []
        shot(pg, "samlidp-nojs")
        pg.get_by_role("button", name="Continue").click()
        expect(pg.get_by_role("heading", name="Signed in to the app")).to_be_visible()
        assert len(acs.posted) == 1 and acs.posted[0]["SAMLResponse"]
    finally:
        context.close()


def test_aws_saml_signin_role_choice(page: Any, server: Server, setup: Setup) -> None:  # noqa: F811
    """An IdP's page posts the SAMLResponse to ``/saml``; the user picks a role by its label and gets
    its credentials."""
    response = setup.idp.response("many")
    page.set_content(
        f'<form method="post" action="{server.url}/saml"><input type="hidden" name="SAMLResponse" value="{response}">'
        '<button type="submit">Go</button></form>'
    )
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_role("heading", name="Select a role")).to_be_visible()
    expect(page.get_by_role("group", name=f"Account: {setup.accounts['a']}")).to_be_visible()
    shot(page, "samlidp-aws-roles")
    page.get_by_label("ReadOnly").check()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Credentials for ReadOnly")).to_be_visible()
    expect(page.locator("#env")).to_contain_text("export AWS_SESSION_TOKEN=")
    shot(page, "samlidp-aws-credentials")
