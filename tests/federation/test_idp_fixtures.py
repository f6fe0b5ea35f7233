"""Self-tests of the test identity providers, without Ostiary: SP-initiated SSO at the pysaml2 IdP
(HTTP-Redirect AuthnRequest → auto-post form) and the authorization-code flow of oidc-provider's
confidential client ``ostiary-pool`` (login, code, token endpoint with client_secret_basic/_post,
userinfo)."""

from __future__ import annotations

import base64
import datetime as dt
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.etree import ElementTree as ET

import httpx
import jwt
import pytest

from tests.federation.conftest import POOL_CLIENT_ID, POOL_CLIENT_SECRET, sign_in_code_flow
from tests.federation.saml_idp import SamlIdp, auto_post_form

SP = "urn:amazon:cognito:sp:us-east-1_Test"
ACS = "http://127.0.0.1:1/_domain/x/saml2/idpresponse"
IDP_RESPONSE = "http://127.0.0.1:1/_domain/x/oauth2/idpresponse"
NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol", "saml": "urn:oasis:names:tc:SAML:2.0:assertion"}
DS = "{http://www.w3.org/2000/09/xmldsig#}Signature"


@pytest.fixture
def saml_idp(tmp_path: Path) -> Iterator[SamlIdp]:
    idp = SamlIdp(tmp_path)
    idp.users["carla"] = {"email": ["carla@example.com"]}
    yield idp
    idp.close()


def _redirect_request(request_id: str = "_abc", destination: str | None = None) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    dest = f' Destination="{destination}"' if destination else ""
    xml = (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{request_id}" Version="2.0" '
        f'IssueInstant="{now}"{dest} AssertionConsumerServiceURL="{ACS}" '
        'ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">'
        f"<saml:Issuer>{SP}</saml:Issuer></samlp:AuthnRequest>"
    )
    deflater = zlib.compressobj(wbits=-15)
    return base64.b64encode(deflater.compress(xml.encode()) + deflater.flush()).decode()


def test_saml_metadata_has_the_redirect_sso_endpoint(saml_idp: SamlIdp) -> None:
    metadata = httpx.get(saml_idp.base + "/metadata").text
    assert 'SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"' in metadata
    assert f'Location="{saml_idp.base}/sso"' in metadata


def test_saml_sp_initiated_sso(saml_idp: SamlIdp) -> None:
    query = {"SAMLRequest": _redirect_request(destination=saml_idp.base + "/sso"), "RelayState": 'st&"<>1'}
    resp = httpx.get(saml_idp.base + "/sso?" + urlencode(query))
    assert resp.status_code == 200, resp.text
    action, fields = auto_post_form(resp.text)
    assert action == ACS
    assert fields["RelayState"] == 'st&"<>1'
    assert saml_idp.last_request is not None and saml_idp.last_request["RelayState"] == 'st&"<>1'
    doc = ET.fromstring(base64.b64decode(fields["SAMLResponse"]))
    assert doc.get("InResponseTo") == "_abc" and doc.get("Destination") == ACS
    assertion = doc.find("saml:Assertion", NS)
    assert assertion is not None and assertion.find(DS) is not None  # the assertion is signed
    assert [a.text for a in assertion.iterfind(".//saml:Audience", NS)] == [SP]
    confirmation = assertion.find(".//saml:SubjectConfirmationData", NS)
    assert confirmation is not None
    assert confirmation.get("InResponseTo") == "_abc" and confirmation.get("Recipient") == ACS
    name_id = assertion.find(".//saml:NameID", NS)
    assert name_id is not None and name_id.text == "carla-persistent-id"
    values = [v.text for v in assertion.iterfind(".//saml:AttributeValue", NS)]
    assert values == ["carla@example.com"]


def test_saml_next_user_and_forged_variants(saml_idp: SamlIdp) -> None:
    saml_idp.users["dino"] = {"email": ["dino@example.com"]}
    query = {"SAMLRequest": _redirect_request("_two")}
    assert httpx.get(saml_idp.base + "/sso?" + urlencode(query)).status_code == 400  # who? two users
    saml_idp.next_user = "dino"
    _, fields = auto_post_form(httpx.get(saml_idp.base + "/sso?" + urlencode(query)).text)
    assert "RelayState" not in fields
    assert b"dino-persistent-id" in base64.b64decode(fields["SAMLResponse"])

    unsigned = saml_idp.response_for(
        "dino", audience="urn:wrong", acs_url=ACS, in_response_to="_x", sign_assertion=False
    )
    doc = ET.fromstring(base64.b64decode(unsigned))
    assertion = doc.find("saml:Assertion", NS)
    assert assertion is not None and assertion.find(DS) is None and doc.find(DS) is None
    assert [a.text for a in assertion.iterfind(".//saml:Audience", NS)] == ["urn:wrong"]


def test_saml_idp_initiated_still_works(saml_idp: SamlIdp) -> None:
    action, fields = auto_post_form(httpx.get(saml_idp.base + "/sso", params={"user": "carla"}).text)
    assert action == "https://signin.aws.amazon.com/saml" and list(fields) == ["SAMLResponse"]


@pytest.fixture
def redirector(oidc_issuer: str) -> Iterator[str]:
    """A stand-in for a user pool's /oauth2/authorize: 302 to the issuer's /auth with the same query."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", oidc_issuer + "/auth?" + urlsplit(self.path).query)
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/oauth2/authorize"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("auth", ["client_secret_basic", "client_secret_post"])
def test_oidc_code_flow_for_the_pool_client(oidc_issuer: str, redirector: str, auth: str) -> None:
    params = {
        "client_id": POOL_CLIENT_ID,
        "response_type": "code",
        "scope": "openid email profile",
        "redirect_uri": IDP_RESPONSE,
        "state": "st-1",
        "nonce": "n-1",
    }
    with httpx.Client(timeout=10) as web:
        resp = sign_in_code_flow(web, redirector + "?" + urlencode(params), "lena")
    assert resp.headers["location"].startswith(IDP_RESPONSE + "?")
    query = parse_qs(urlsplit(resp.headers["location"]).query)
    assert query["state"] == ["st-1"] and "error" not in query
    form = {"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": IDP_RESPONSE}
    if auth == "client_secret_basic":
        tokens = httpx.post(oidc_issuer + "/token", data=form, auth=(POOL_CLIENT_ID, POOL_CLIENT_SECRET))
    else:
        form |= {"client_id": POOL_CLIENT_ID, "client_secret": POOL_CLIENT_SECRET}
        tokens = httpx.post(oidc_issuer + "/token", data=form)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()

    jwks = jwt.PyJWKClient(oidc_issuer + "/jwks")
    claims = jwt.decode(
        body["id_token"],
        jwks.get_signing_key_from_jwt(body["id_token"]).key,
        algorithms=["RS256"],
        audience=POOL_CLIENT_ID,
        issuer=oidc_issuer,
    )
    assert claims["sub"] == "lena" and claims["nonce"] == "n-1"
    assert claims["email"] == "lena@example.com" and claims["email_verified"] is True
    assert claims["given_name"] == "lena" and claims["name"] == "lena Example"

    userinfo = httpx.get(oidc_issuer + "/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json()["email"] == "lena@example.com"


def test_oidc_pool_client_refuses_other_redirect_uris(oidc_issuer: str) -> None:
    for uri in ("http://evil.example.com/oauth2/idpresponse", "http://127.0.0.1:1/_domain/x/oauth2/other"):
        resp = httpx.get(
            oidc_issuer + "/auth",
            params={"client_id": POOL_CLIENT_ID, "response_type": "code", "scope": "openid", "redirect_uri": uri},
        )
        assert resp.status_code == 400 and "redirect_uri" in resp.text, resp.text[:300]
