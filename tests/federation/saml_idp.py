"""A real SAML 2.0 identity provider for tests: pysaml2's IdP side (signing with xmlsec1), served
on loopback. ``GET /metadata`` answers its metadata; ``GET /sso?user=…`` answers an IdP-initiated
HTML form that posts a signed SAMLResponse to AWS's ACS URL, as ADFS, Okta or Keycloak do."""

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
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def metadata(self) -> str:
        from saml2.metadata import create_metadata_string

        return str(create_metadata_string(None, config=self.config, sign=False).decode())

    def response(self, user: str, *, sign_assertion: bool = True, sign_response: bool = False) -> str:
        """A base64 SAMLResponse for ``user`` (with the attributes registered in ``users``)."""
        from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID

        resp = self.server.create_authn_response(
            identity=self.users[user],
            in_response_to=None,
            destination="https://signin.aws.amazon.com/saml",
            sp_entity_id="urn:amazon:webservices",
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=f"{user}-persistent-id"),
            sign_assertion=sign_assertion,
            sign_response=sign_response,
            userid=user,
            sign_alg=SHA256_RSA,
            digest_alg=SHA256,
        )
        return base64.b64encode(str(resp).encode()).decode()

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
                    user = parse_qs(url.query)["user"][0]
                    saml_response = html.escape(idp.response(user))
                    body = (
                        '<html><body onload="document.forms[0].submit()">'
                        '<form method="post" action="https://signin.aws.amazon.com/saml">'
                        f'<input type="hidden" name="SAMLResponse" value="{saml_response}"/>'
                        "</form></body></html>"
                    ).encode()
                    ctype = "text/html"
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


def saml_response_from_form(page: str) -> str:
    """The SAMLResponse value of an IdP's auto-post form."""
    found = re.search(r'name="SAMLResponse" value="([^"]+)"', page)
    assert found is not None
    return html.unescape(found.group(1))
