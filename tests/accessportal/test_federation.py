"""Sign-in through an external SAML 2.0 IdP when it is the instance's identity source (pysaml2's IdP of
tests/federation): the portal sends an AuthnRequest, the IdP posts a signed Response to the portal's
ACS, the NameID names the directory user; a replayed, tampered or unsolicited answer, an unknown user,
and password sign-in while the source is external are refused."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.accessportal.conftest import add_user, cli, hidden_fields, start_url
from tests.conftest import Server
from tests.federation.saml_idp import SamlIdp, auto_post_form
from tests.ssoadmin.conftest import Instance, new_instance


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamlIdp]:
    found = SamlIdp(tmp_path_factory.mktemp("portal-idp"))
    found.users["erin"] = {"email": ["erin@idp.example.com"]}
    found.users["zed"] = {"email": ["zed@idp.example.com"]}
    yield found
    found.close()


@pytest.fixture(scope="module")
def federated(server: Server, idp: SamlIdp, tmp_path_factory: pytest.TempPathFactory) -> Instance:
    instance = new_instance(server, "federated-" + secrets.token_hex(2))
    ids = instance.client("identitystore")
    ids.create_user(
        IdentityStoreId=instance.identity_store_id,
        UserName="erin-persistent-id",  # the IdP's NameID for erin
        DisplayName="Erin",
        Name={"GivenName": "Erin", "FamilyName": "Idp"},
    )
    metadata = Path(tmp_path_factory.mktemp("metadata")) / "idp.xml"
    metadata.write_text(idp.metadata())
    out = cli(
        server,
        "sso",
        "identity-source",
        "--identity-store-id",
        instance.identity_store_id,
        "--saml-metadata",
        str(metadata),
    )
    assert out.returncode == 0, out.stderr
    assert f"{start_url(instance)}/federation/acs" in out.stderr
    return instance


def to_idp(web: httpx.Client, instance: Instance, idp: SamlIdp, user: str) -> tuple[str, dict[str, str]]:
    idp.next_user = user
    first = web.get(start_url(instance))
    assert first.status_code == 303, first.text
    sso = first.headers["location"]
    assert sso.startswith(idp.base + "/sso?") and "SAMLRequest=" in sso and "RelayState=" in sso
    return auto_post_form(web.get(sso).text)


def test_sign_in_through_the_idp(federated: Instance, idp: SamlIdp) -> None:
    with httpx.Client() as web:
        action, fields = to_idp(web, federated, idp, "erin")
        assert action == f"{start_url(federated)}/federation/acs"
        done = web.post(action, data=fields)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/start/{federated.identity_store_id}"
        home = web.get(start_url(federated))
        assert "Signed in as <strong>erin-persistent-id</strong>" in home.text
        replay = web.post(action, data=fields)
        assert replay.status_code == 400
        assert "already used" in replay.text


def test_refusals(federated: Instance, idp: SamlIdp) -> None:
    with httpx.Client() as web:
        action, fields = to_idp(web, federated, idp, "zed")
        unknown = web.post(action, data=fields)
        assert unknown.status_code == 400
        assert "directory" in unknown.text
        action, fields = to_idp(web, federated, idp, "erin")
        xml = base64.b64decode(fields["SAMLResponse"]).decode()
        tampered = {**fields, "SAMLResponse": base64.b64encode(xml.replace("erin-", "zeds-").encode()).decode()}
        assert web.post(action, data=tampered).status_code == 400
        no_relay = {k: v for k, v in fields.items() if k != "RelayState"}
        assert web.post(action, data=no_relay).status_code == 400
        unsolicited = idp.response_for(
            "erin", audience=f"{start_url(federated)}/federation", acs_url=action, in_response_to=None
        )
        assert web.post(action, data={**fields, "SAMLResponse": unsolicited}).status_code == 400
        assert not web.cookies.get(f"ostiary-portal-{federated.identity_store_id}")


def portal_of(instance: Instance) -> Instance:
    """Another instance on the same server, whose sign-in page gives this browser a CSRF cookie and token."""
    return new_instance(instance.server, "plain-" + secrets.token_hex(2))


def test_no_password_sign_in_and_sp_metadata(federated: Instance, idp: SamlIdp) -> None:
    person = add_user(federated)
    with httpx.Client() as web:
        signed_out = web.get(start_url(federated), params={"info": "signedout"})
        assert signed_out.status_code == 200
        assert "You have been signed out" in signed_out.text and 'name="password"' not in signed_out.text
        page = web.get(start_url(portal_of(federated)))  # a password form of any portal, posted to this one
        fields = hidden_fields(page.text)
        fields.update(username=person.user_name, password="Any-Passw0rd!")
        answer = web.post(f"{start_url(federated)}/signin", data=fields)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith(idp.base + "/sso?")
        metadata = web.get(f"{start_url(federated)}/federation/metadata")
    assert metadata.status_code == 200
    assert f'Location="{start_url(federated)}/federation/acs"' in metadata.text
