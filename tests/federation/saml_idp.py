"""A real SAML 2.0 identity provider for tests: pysaml2's IdP side (signing with xmlsec1), served
on loopback. ``GET /metadata`` answers its metadata (SingleSignOnService with the HTTP-Redirect
binding at ``/sso``).

``GET /sso?user=…`` answers an IdP-initiated HTML form that posts a signed SAMLResponse to AWS's ACS
URL, as ADFS, Okta or Keycloak do.

``GET /sso?SAMLRequest=…&RelayState=…`` is SP-initiated SSO (HTTP-Redirect binding, as a Cognito user
pool sends): the AuthnRequest is parsed by pysaml2 (its signature, if any, is not checked) and answered
by an auto-posting form to the request's AssertionConsumerServiceURL with a SAMLResponse (signed
assertion, audience = the request's Issuer, InResponseTo = its ID) and the RelayState. The user is
``next_user``, or the only registered user. The SP needs no metadata at the IdP."""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

AWS_SP_METADATA = """<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:amazon:webservices">
 <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAssertionsSigned="true">
  <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
  <md:AssertionConsumerService index="1" isDefault="true"
      Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://signin.aws.amazon.com/saml"/>
 </md:SPSSODescriptor>
</md:EntityDescriptor>"""
SHA256_RSA = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


def write_key_pair(folder: Path, name: str = "idp") -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / f"{name}-key.pem", folder / f"{name}-cert.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


class SamlIdp:
    """pysaml2's IdP with its own key pair, answering over HTTP on 127.0.0.1."""

    def __init__(self, folder: Path, name: str = "idp") -> None:
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig
        from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT
        from saml2.server import Server

        self.users: dict[str, dict[str, list[str]]] = {}
        # SP-initiated SSO signs in this user (or, when None, the only one in ``users``).
        self.next_user: str | None = None
        # The query parameters of the last SP-initiated request (SAMLRequest, RelayState, SigAlg…).
        self.last_request: dict[str, str] | None = None
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        key_path, cert_path = write_key_pair(folder, name)
        self.config = IdPConfig()
        self.config.load(
            {
                "entityid": self.base + "/metadata",
                "service": {
                    "idp": {
                        "endpoints": {"single_sign_on_service": [(self.base + "/sso", BINDING_HTTP_REDIRECT)]},
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                        "policy": {
                            "default": {
                                "lifetime": {"minutes": 15},
                                "attribute_restrictions": None,
                                "name_form": NAME_FORMAT_URI,
                            }
                        },
                    }
                },
                "key_file": str(key_path),
                "cert_file": str(cert_path),
                "xmlsec_binary": "/usr/bin/xmlsec1",
                "metadata": {"inline": [AWS_SP_METADATA]},
            }
        )
        self.server = Server(config=self.config)
        # An unsigned response looks the SP up for an encryption certificate; SPs (user pools) are not
        # in the IdP's metadata: none.
        has_encrypt_cert = self.server.has_encrypt_cert_in_metadata

        def no_encrypt_cert_when_unknown(sp_entity_id: str | None) -> bool:
            try:
                return bool(has_encrypt_cert(sp_entity_id))
            except KeyError:
                return False

        self.server.has_encrypt_cert_in_metadata = no_encrypt_cert_when_unknown
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def metadata(self) -> str:
        from saml2.metadata import create_metadata_string

        return str(create_metadata_string(None, config=self.config, sign=False).decode())

    def response(self, user: str, *, sign_assertion: bool = True, sign_response: bool = False) -> str:
        """A base64 IdP-initiated SAMLResponse for ``user`` (with the attributes registered in ``users``),
        for AWS's own ACS (STS AssumeRoleWithSAML)."""
        return self.response_for(
            user,
            audience="urn:amazon:webservices",
            acs_url="https://signin.aws.amazon.com/saml",
            in_response_to=None,
            sign_assertion=sign_assertion,
            sign_response=sign_response,
        )

    def response_for(
        self,
        user: str,
        *,
        audience: str,
        acs_url: str,
        in_response_to: str | None,
        sign_assertion: bool = True,
        sign_response: bool = False,
        name_id: str | None = None,
    ) -> str:
        """A base64 SAMLResponse for ``user``: ``audience`` is the SP entity id (AudienceRestriction),
        ``acs_url`` the Destination and SubjectConfirmationData Recipient. The NameID (persistent) is
        ``name_id`` or ``<user>-persistent-id``. The SP need not be in the IdP's metadata."""
        from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID

        resp = self.server.create_authn_response(
            identity=self.users[user],
            in_response_to=in_response_to,
            destination=acs_url,
            sp_entity_id=audience,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=name_id or f"{user}-persistent-id"),
            sign_assertion=sign_assertion,
            sign_response=sign_response,
            userid=user,
            sign_alg=SHA256_RSA,
            digest_alg=SHA256,
        )
        return base64.b64encode(str(resp).encode()).decode()

    def sp_initiated(self, query: dict[str, str]) -> tuple[str, dict[str, str]]:
        """The (ACS URL, form fields) answering an HTTP-Redirect AuthnRequest's query parameters."""
        from saml2 import BINDING_HTTP_REDIRECT

        self.last_request = dict(query)
        request = self.server.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT).message
        acs_url = request.assertion_consumer_service_url
        if not acs_url:
            raise ValueError("the AuthnRequest has no AssertionConsumerServiceURL")
        user = self.next_user
        if user is None:
            if len(self.users) != 1:
                raise ValueError("set next_user: several users are registered")
            user = next(iter(self.users))
        fields = {
            "SAMLResponse": self.response_for(
                user, audience=request.issuer.text.strip(), acs_url=acs_url, in_response_to=request.id
            )
        }
        if "RelayState" in query:
            fields["RelayState"] = query["RelayState"]
        return acs_url, fields

    def _handler(self) -> Any:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/metadata":
                    body, ctype = idp.metadata().encode(), "application/samlmetadata+xml"
                elif url.path == "/sso":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    if "SAMLRequest" in query:
                        try:
                            action, fields = idp.sp_initiated(query)
                        except Exception as exc:  # a test IdP: answer what went wrong
                            body = f"bad AuthnRequest: {exc!r}".encode()
                            self.send_response(400)
                            self.send_header("Content-Type", "text/plain")
                            self.send_header("Content-Length", str(len(body)))
                            self.end_headers()
                            self.wfile.write(body)
                            return
                    else:
                        action = "https://signin.aws.amazon.com/saml"
                        fields = {"SAMLResponse": idp.response(query["user"])}
                    body, ctype = auto_post_page(action, fields).encode(), "text/html"
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def auto_post_page(action: str, fields: dict[str, str]) -> str:
    """An HTML page whose form posts ``fields`` to ``action`` on load."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}"/>'
        for name, value in fields.items()
    )
    return (
        '<html><body onload="document.forms[0].submit()">'
        f'<form method="post" action="{html.escape(action)}">{inputs}</form></body></html>'
    )


def auto_post_form(page: str) -> tuple[str, dict[str, str]]:
    """The (action URL, fields) of an auto-post form such as the IdP's."""
    action = re.search(r'<form[^>]*\saction="([^"]*)"', page)
    assert action is not None, page[:500]
    fields = {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', page)
    }
    return html.unescape(action.group(1)), fields


def saml_response_from_form(page: str) -> str:
    """The SAMLResponse value of an IdP's auto-post form."""
    found = re.search(r'name="SAMLResponse" value="([^"]+)"', page)
    assert found is not None
    return html.unescape(found.group(1))
