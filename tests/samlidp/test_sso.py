"""Ostiary's SAML IdP and a pysaml2 SERVICE PROVIDER that trusts the instance's metadata: SP-initiated
sign-in (HTTP-Redirect and HTTP-POST bindings, signed requests), IdP-initiated sign-in (the portal's
tile), through the real server with a browser's cookies; the SP's ``parse_authn_request_response``
accepts the response (signed Response and Assertion, RSA-SHA256); refusals for unassigned users,
unknown applications, other ACS URLs; a tampered response rejected by the SP."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from lxml import etree
from saml2 import BINDING_HTTP_ARTIFACT, BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.response import StatusNoPassive
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT
from saml2.sigver import SignatureError
from sqlalchemy import update

from ostiary.accessportal import urls
from ostiary.ssooidc import tokens
from ostiary.store import tables as t
from ostiary.store.db import Store
from tests.conftest import Server
from tests.samlidp.portal import add_user, assign, browser, make_application, post_form, service_provider
from tests.ssoadmin.conftest import Instance, new_instance
from tests.ssoadmin.directory import add_group

ACS = "https://app.example.test/saml/acs"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
NS = {"ds": "http://www.w3.org/2000/09/xmldsig#", "saml": "urn:oasis:names:tc:SAML:2.0:assertion"}


@pytest.fixture(scope="module")
def inst(server: Server) -> Instance:
    return new_instance(server, "saml-apps")


@pytest.fixture(scope="module")
def idp_metadata(server: Server, inst: Instance) -> str:
    got = httpx.get(urls.saml_metadata_url(server.url, inst.identity_store_id))
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/samlmetadata+xml")
    return got.text


@pytest.fixture
def entity(server: Server, inst: Instance) -> str:
    return urls.saml_entity_id(server.url, inst.identity_store_id)


def _settings(sp_entity: str, **extra: Any) -> dict[str, Any]:
    return {
        "acs_url": ACS,
        "sp_entity_id": sp_entity,
        "name_id_format": "persistent",
        "attributes": [
            {"name": "email", "value": "${user:email}"},
            {"name": "displayName", "value": "${user:name}"},
            {"name": "given", "value": "${path:name.givenName}"},
            {"name": "groups", "value": "${user:groups}"},
            {"name": "greeting", "value": "Hello ${user:givenName}", "format": "basic"},
        ],
        **extra,
    }


@pytest.fixture
def app_user(inst: Instance, store: Store, tmp_path: Path, idp_metadata: str) -> Iterator[dict[str, Any]]:
    sp_entity = f"https://app.example.test/{tmp_path.name}"
    arn = make_application(inst, store, _settings(sp_entity, relay_state="https://app.example.test/home"))
    user = add_user(inst, "ann-" + tmp_path.name[-6:].lower(), "ann@example.test")
    group = add_group(inst, "engineers-" + tmp_path.name[-6:].lower(), [user])
    assign(inst, arn, user)
    sp = service_provider(tmp_path, idp_metadata, sp_entity, ACS)
    yield {"arn": arn, "user": user, "group": group, "sp": sp, "sp_entity": sp_entity}


def _signature_methods(encoded: str) -> list[str]:
    root = etree.fromstring(base64.b64decode(encoded))
    return [m.get("Algorithm") for m in root.iter("{http://www.w3.org/2000/09/xmldsig#}SignatureMethod")]


def _redirect_request(sp: Any, entity: str, relay_state: str) -> tuple[str, str]:
    request_id, info = sp.prepare_for_authenticate(
        entityid=entity, relay_state=relay_state, binding=BINDING_HTTP_REDIRECT
    )
    location = dict(info["headers"])["Location"]
    return request_id, location


def test_sp_initiated_redirect(
    server: Server, inst: Instance, store: Store, entity: str, app_user: dict[str, Any]
) -> None:
    sp = app_user["sp"]
    request_id, location = _redirect_request(sp, entity, "state-123")
    assert location.startswith(entity + "?")
    with browser(server.url, store, inst, app_user["user"]) as web:
        page = web.get(location)
    assert page.status_code == 200, page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "form-action https://app.example.test" in csp
    assert '<script src="/saml/autopost.js"' in page.text and "<noscript>" in page.text
    action, fields = post_form(page.text)
    assert action == ACS and fields["RelayState"] == "state-123"
    assert _signature_methods(fields["SAMLResponse"]) == [RSA_SHA256, RSA_SHA256]  # the Response's and the Assertion's

    response = sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"})
    assert response.in_response_to == request_id
    assert response.response.signature is not None and response.assertion.signature is not None
    assert response.assertion.issuer.text == entity
    name_id = response.assertion.subject.name_id
    assert name_id.format == NAMEID_FORMAT_PERSISTENT and name_id.text != app_user["user"]
    ava = response.get_identity()
    assert ava["email"] == ["ann@example.test"]
    assert ava["displayName"][0].endswith("Tester") and ava["given"] == [ava["greeting"][0].removeprefix("Hello ")]
    assert len(ava["groups"]) == 1 and ava["groups"][0].startswith("engineers-")
    [audience] = response.assertion.conditions.audience_restriction[0].audience
    assert audience.text == app_user["sp_entity"]
    confirmation = response.assertion.subject.subject_confirmation[0]
    assert confirmation.subject_confirmation_data.recipient == ACS
    assert response.assertion.authn_statement[0].session_index

    # the persistent NameID is stable for the user and this application
    request_id, location = _redirect_request(sp, entity, "again")
    with browser(server.url, store, inst, app_user["user"]) as web:
        _, fields = post_form(web.get(location).text)
    again = sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"})
    assert again.assertion.subject.name_id.text == name_id.text

    # the script the page loads is served
    script = httpx.get(server.url + "/saml/autopost.js")
    assert script.status_code == 200 and "submit()" in script.text


def test_sp_initiated_post(server: Server, inst: Instance, store: Store, entity: str, app_user: dict[str, Any]) -> None:
    sp = app_user["sp"]
    request_id, request = sp.create_authn_request(entity, binding=BINDING_HTTP_POST)
    encoded = base64.b64encode(str(request).encode()).decode()
    with browser(server.url, store, inst, app_user["user"]) as web:
        page = web.post(entity, data={"SAMLRequest": encoded, "RelayState": "post-state"})
    assert page.status_code == 200, page.text
    action, fields = post_form(page.text)
    assert action == ACS and fields["RelayState"] == "post-state"
    response = sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"})
    assert response.in_response_to == request_id


def test_sign_in_first_then_back(
    server: Server, inst: Instance, store: Store, entity: str, app_user: dict[str, Any]
) -> None:
    sp = app_user["sp"]
    request_id, location = _redirect_request(sp, entity, "after-signin")
    with browser(server.url, store, inst, None) as web:
        bounced = web.get(location)
    assert bounced.status_code == 303
    target = urlsplit(bounced.headers["location"])
    assert target.path == urls.start_url("", inst.identity_store_id)
    back = parse_qs(target.query)["next"][0]
    assert back.startswith(f"/start/{inst.identity_store_id}/saml/continue?state=")
    with browser(server.url, store, inst, app_user["user"]) as web:  # signed in now
        page = web.get(back)
    _, fields = post_form(page.text)
    assert fields["RelayState"] == "after-signin"
    response = sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"})
    assert response.in_response_to == request_id
    # the state is sealed: altered, it is refused
    with browser(server.url, store, inst, app_user["user"]) as web:
        altered = web.get(back[:-6] + ("AAAAAA" if not back.endswith("AAAAAA") else "BBBBBB"))
    assert altered.status_code == 400 and "SAMLResponse" not in altered.text


def test_idp_initiated(server: Server, inst: Instance, store: Store, app_user: dict[str, Any]) -> None:
    tile = urls.saml_application_url(server.url, inst.identity_store_id, app_user["arn"].rsplit("/", 1)[-1])
    with browser(server.url, store, inst, app_user["user"]) as web:
        page = web.get(tile)
    assert page.status_code == 200, page.text
    action, fields = post_form(page.text)
    assert action == ACS and fields["RelayState"] == "https://app.example.test/home"
    response = app_user["sp"].parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={})
    assert response.in_response_to is None and response.get_identity()["email"] == ["ann@example.test"]


def test_unassigned_user_refused(
    server: Server, inst: Instance, store: Store, entity: str, app_user: dict[str, Any]
) -> None:
    outsider = add_user(inst, "outsider-" + app_user["sp_entity"][-6:].lower())
    _, location = _redirect_request(app_user["sp"], entity, "x")
    with browser(server.url, store, inst, outsider) as web:
        page = web.get(location)
        tile = web.get(urls.saml_application_url("", inst.identity_store_id, app_user["arn"].rsplit("/", 1)[-1]))
    for refused in (page, tile):
        assert refused.status_code == 403
        assert "You do not have access to" in refused.text and "SAMLResponse" not in refused.text
    # access through a group assignment
    assign(inst, app_user["arn"], add_group(inst, "g-" + outsider[-8:], [outsider]), "GROUP")
    with browser(server.url, store, inst, outsider) as web:
        assert web.get(location).status_code == 200


def test_tampered_response_rejected(
    server: Server, inst: Instance, store: Store, entity: str, app_user: dict[str, Any]
) -> None:
    sp = app_user["sp"]
    request_id, location = _redirect_request(sp, entity, "t")
    with browser(server.url, store, inst, app_user["user"]) as web:
        _, fields = post_form(web.get(location).text)
    document = base64.b64decode(fields["SAMLResponse"]).replace(b"ann@example.test", b"eve@example.test")
    tampered = base64.b64encode(document).decode()
    with pytest.raises(SignatureError):
        sp.parse_authn_request_response(tampered, BINDING_HTTP_POST, outstanding={request_id: "/"})


def test_requests_checked(
    server: Server,
    inst: Instance,
    store: Store,
    entity: str,
    tmp_path: Path,
    idp_metadata: str,
    app_user: dict[str, Any],
) -> None:
    user = app_user["user"]
    # an issuer no application has
    stranger = service_provider(tmp_path, idp_metadata, "https://stranger.example.test/sp", ACS)
    _, location = _redirect_request(stranger, entity, "x")
    # an ACS URL other than the application's
    other_acs = service_provider(tmp_path, idp_metadata, app_user["sp_entity"], "https://evil.example.test/acs")
    _, evil = _redirect_request(other_acs, entity, "x")
    with browser(server.url, store, inst, user) as web:
        unknown = web.get(location)
        wrong_acs = web.get(evil)
        garbage = web.get(entity, params={"SAMLRequest": "not base64 !!"})
        missing = web.get(entity)
    assert unknown.status_code == 400 and "No application of this portal" in unknown.text
    assert wrong_acs.status_code == 400 and "evil.example.test" not in wrong_acs.text
    assert garbage.status_code == 400 and missing.status_code == 400


def test_signed_requests(
    server: Server, inst: Instance, store: Store, entity: str, tmp_path: Path, idp_metadata: str
) -> None:
    sp_entity = "https://signed.example.test/" + tmp_path.name
    sp = service_provider(tmp_path, idp_metadata, sp_entity, ACS, sign_requests=True)
    cert = Path(sp.config.cert_file).read_text()
    arn = make_application(inst, store, _settings(sp_entity, sp_certificates=[cert], name_id_format="emailAddress"))
    user = add_user(inst, "signer-" + tmp_path.name[-6:].lower(), "signer@example.test")
    assign(inst, arn, user)
    request_id, info = sp.prepare_for_authenticate(
        entityid=entity, relay_state="signed", binding=BINDING_HTTP_REDIRECT, sign=True, sigalg=RSA_SHA256
    )
    location = dict(info["headers"])["Location"]
    assert "Signature=" in location
    unsigned = location.split("&SigAlg=")[0]
    with browser(server.url, store, inst, user) as web:
        page = web.get(location)
        refused = web.get(unsigned)
    assert page.status_code == 200, page.text
    _, fields = post_form(page.text)
    response = sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"})
    name_id = response.assertion.subject.name_id
    assert (name_id.format, name_id.text) == (NAMEID_FORMAT_EMAILADDRESS, "signer@example.test")
    assert refused.status_code == 400 and "must be signed" in refused.text


def test_cli_saml_config(server: Server, inst: Instance, store: Store, tmp_path: Path) -> None:
    arn = make_application(inst, store, _settings("https://before.example.test/" + tmp_path.name))
    metadata = tmp_path / "sp.xml"
    metadata.write_text(
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://cli.example.test/sp">'
        '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"
        '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
        'Location="https://cli.example.test/acs" index="0" isDefault="true"/>'
        "</md:SPSSODescriptor></md:EntityDescriptor>"
    )
    common = ["--database-url", server.database_url, "--data-dir", str(server.data_dir)]
    ostiary = [sys.executable, "-m", "ostiary.cli", "sso", "app", "saml-config", arn, *common]
    done = subprocess.run(
        [
            *ostiary,
            "--sp-metadata",
            str(metadata),
            "--attribute",
            "mail=${user:email};uri",
            "--relay-state",
            "https://cli.example.test/",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"acs_url": "https://cli.example.test/acs"' in done.stdout
    assert '"name_id_format": "emailAddress"' in done.stdout and '"format": "uri"' in done.stdout
    bad = subprocess.run([*ostiary, "--attribute", "x=${user:nope}"], capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and "Unknown attribute" in bad.stderr
    shown = subprocess.run(ostiary, capture_output=True, text=True, check=False)
    assert shown.returncode == 0 and "https://cli.example.test/sp" in shown.stdout


def test_passive_request_and_bindings(
    server: Server, inst: Instance, store: Store, entity: str, app_user: dict[str, Any]
) -> None:
    sp = app_user["sp"]
    # IsPassive from a browser not signed in: a signed NoPassive status, no sign-in page
    request_id, request = sp.create_authn_request(entity, binding=BINDING_HTTP_POST, is_passive="true")
    encoded = base64.b64encode(str(request).encode()).decode()
    with browser(server.url, store, inst, None) as web:
        page = web.post(entity, data={"SAMLRequest": encoded, "RelayState": "quiet"})
    assert page.status_code == 200, page.text
    action, fields = post_form(page.text)
    assert action == ACS and fields["RelayState"] == "quiet"
    with pytest.raises(StatusNoPassive):
        sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"})
    # signed in: IsPassive is answered as any request
    with browser(server.url, store, inst, app_user["user"]) as web:
        _, fields = post_form(web.post(entity, data={"SAMLRequest": encoded}).text)
    assert sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"})
    # responses go by HTTP-POST only
    _, artifact = sp.create_authn_request(entity, binding=BINDING_HTTP_ARTIFACT)
    with browser(server.url, store, inst, app_user["user"]) as web:
        refused = web.post(entity, data={"SAMLRequest": base64.b64encode(str(artifact).encode()).decode()})
    assert refused.status_code == 400 and "HTTP-POST" in refused.text


def test_sign_ins_audited(server: Server, inst: Instance, store: Store, app_user: dict[str, Any]) -> None:
    """Each answer and each refusal is a ``Federate`` event (sso.amazonaws.com) in the owner's account."""
    outsider = add_user(inst, "audited-" + app_user["sp_entity"][-6:].lower())
    tile = urls.saml_application_url(server.url, inst.identity_store_id, app_user["arn"].rsplit("/", 1)[-1])
    with browser(server.url, store, inst, app_user["user"]) as web:
        assert web.get(tile).status_code == 200
    with browser(server.url, store, inst, outsider) as web:
        assert web.get(tile).status_code == 403
    trail = inst.client("cloudtrail")
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Federate"}])
    mine = [
        json.loads(e["CloudTrailEvent"])
        for e in events["Events"]
        if any(r.get("ResourceName") == app_user["arn"] for r in e.get("Resources", []))
    ]
    by_user = {(m["additionalEventData"]["userId"], m.get("errorCode") is None) for m in mine}
    assert (app_user["user"], True) in by_user and (outsider, False) in by_user
    assert all(m["eventSource"] == "sso.amazonaws.com" for m in mine)


def test_enterprise_attributes(server: Server, inst: Instance, store: Store, tmp_path: Path, idp_metadata: str) -> None:
    """``${path:…}`` reaches the stored user: the enterprise extension and other attributes."""
    sp_entity = "https://ent.example.test/" + tmp_path.name
    settings = _settings(sp_entity, name_id_format="unspecified", subject="${user:preferredUsername}")
    settings["attributes"] = [
        {"name": "department", "value": "${path:enterprise.department}"},
        {"name": "title", "value": "${path:title}"},
        {"name": "nickname", "value": "${path:nickName}"},  # not set: left out
    ]
    arn = make_application(inst, store, settings)
    name = "ent-" + tmp_path.name[-6:].lower()
    user = inst.client("identitystore").create_user(
        IdentityStoreId=inst.identity_store_id,
        UserName=name,
        DisplayName="Ent User",
        Name={"GivenName": "Ent", "FamilyName": "User"},
        Title="Architect",
        Extensions={"aws:identitystore:enterprise": {"department": "Research"}},
    )["UserId"]
    assign(inst, arn, user)
    sp = service_provider(tmp_path, idp_metadata, sp_entity, ACS)
    with browser(server.url, store, inst, user) as web:
        page = web.get(urls.saml_application_url(server.url, inst.identity_store_id, arn.rsplit("/", 1)[-1]))
    _, fields = post_form(page.text)
    response = sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={})
    assert response.get_identity() == {"department": ["Research"], "title": ["Architect"]}
    assert response.assertion.subject.name_id.text == name


def test_signed_post_requests(
    server: Server, inst: Instance, store: Store, entity: str, tmp_path: Path, idp_metadata: str
) -> None:
    sp_entity = "https://signed-post.example.test/" + tmp_path.name
    sp = service_provider(tmp_path, idp_metadata, sp_entity, ACS, sign_requests=True)
    arn = make_application(inst, store, _settings(sp_entity, sp_certificates=[Path(sp.config.cert_file).read_text()]))
    user = add_user(inst, "post-signer-" + tmp_path.name[-6:].lower(), "ps@example.test")
    assign(inst, arn, user)
    request_id, signed = sp.create_authn_request(entity, binding=BINDING_HTTP_POST, sign=True, sign_alg=RSA_SHA256)
    _, unsigned = sp.create_authn_request(entity, binding=BINDING_HTTP_POST, sign=False)
    document = str(signed)
    assert "Signature" in document
    instant = re.search(r'IssueInstant="([^"]+)"', document)
    assert instant is not None
    tampered = document.replace(instant.group(1), "2001-01-01T00:00:00Z")  # signed content changed
    with browser(server.url, store, inst, user) as web:
        ok = web.post(entity, data={"SAMLRequest": base64.b64encode(document.encode()).decode()})
        refused = web.post(entity, data={"SAMLRequest": base64.b64encode(str(unsigned).encode()).decode()})
        broken = web.post(entity, data={"SAMLRequest": base64.b64encode(tampered.encode()).decode()})
    assert ok.status_code == 200, ok.text
    _, fields = post_form(ok.text)
    assert sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"})
    assert refused.status_code == 400 and "must be signed" in refused.text
    assert broken.status_code == 400 and "does not verify" in broken.text


def test_force_authn(server: Server, inst: Instance, store: Store, entity: str, app_user: dict[str, Any]) -> None:
    """ForceAuthn: a portal session older than five minutes is ended and the user signs in again; a
    fresh one is answered at once."""
    sp = app_user["sp"]
    request_id, request = sp.create_authn_request(entity, binding=BINDING_HTTP_POST, force_authn="true")
    encoded = base64.b64encode(str(request).encode()).decode()
    with browser(server.url, store, inst, app_user["user"]) as web:
        fresh = web.post(entity, data={"SAMLRequest": encoded})
        assert fresh.status_code == 200 and "SAMLResponse" in fresh.text
        token = web.cookies[f"ostiary-portal-{inst.identity_store_id}"]
        with store.tx() as conn:  # the session began ten minutes ago
            sessions = t.sso_oidc_sessions
            found = tokens.session_of(conn, token, dt.datetime.now(dt.UTC))
            assert found is not None
            conn.execute(
                update(sessions)
                .where(sessions.c.session_id == found.session_id)
                .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
            )
        stale = web.post(entity, data={"SAMLRequest": encoded})
        assert stale.status_code == 303 and "SAMLResponse" not in stale.text
        back = parse_qs(urlsplit(stale.headers["location"]).query)["next"][0]
        with store.read() as conn:
            assert tokens.session_of(conn, token, dt.datetime.now(dt.UTC)) is None  # signed out
    with browser(server.url, store, inst, app_user["user"]) as web:  # signed in again
        page = web.get(back)
    _, fields = post_form(page.text)
    response = sp.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"})
    assert response.in_response_to == request_id


def test_request_for_another_idp(
    server: Server, inst: Instance, store: Store, entity: str, app_user: dict[str, Any]
) -> None:
    """A request whose Destination is another identity provider's is refused."""
    _, request = app_user["sp"].create_authn_request("https://other-idp.example.test/sso", binding=BINDING_HTTP_POST)
    encoded = base64.b64encode(str(request).encode()).decode()
    with browser(server.url, store, inst, app_user["user"]) as web:
        refused = web.post(entity, data={"SAMLRequest": encoded})
    assert refused.status_code == 400 and "another identity provider" in refused.text
