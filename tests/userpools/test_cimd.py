"""Client ID metadata documents: the CIMD policy operations through boto3, and a public client named by
an https URL signing a user in with authorization code + PKCE through the hosted pages, its document
served by a real HTTPS server on loopback (a test CA the server trusts through egress_ca_bundle).
Then the attacks: each document or URL below is refused, and nothing is recorded for it."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import Server
from tests.oauth.conftest import CALLBACK, Hosted, add_user, make_hosted, pkce_pair, query_of, sign_in_over_http

PASSWORD = "Corr3ct-Horse!"


# -- a real HTTPS server on loopback ---------------------------------------------------------------


def _tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate for 127.0.0.1 it signed: (CA file, certificate file, key file)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ostiary test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


@dataclass
class DocumentServer:
    """Serves ``routes``: path → (status, headers, body); counts the requests of each path."""

    httpd: ThreadingHTTPServer
    ca: Path
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.httpd.server_address[1]}"

    def serve(self, path: str, document: Any, status: int = 200, **headers: str) -> str:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.routes[path] = (status, {"Content-Type": "application/json", **headers}, body)
        return self.base + path


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocumentServer]:
    ca, cert, key = _tls_files(tmp_path_factory.mktemp("cimd-tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    holder: dict[str, DocumentServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served = holder["server"]
            served.hits[self.path] = served.hits.get(self.path, 0) + 1
            status, headers, body = served.routes.get(self.path, (404, {}, b""))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    holder["server"] = server = DocumentServer(httpd, ca)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope="module")
def cimd_server(server_factory: Any, documents: DocumentServer) -> Server:
    srv: Server = server_factory(env={"OSTIARY_EGRESS_CA_BUNDLE": str(documents.ca)})
    return srv


@pytest.fixture(scope="module")
def hosted(cimd_server: Server) -> Hosted:
    h = make_hosted(cimd_server)
    add_user(h, "alice", PASSWORD, email="alice@example.com")
    return h


def _document(url: str, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "client_id": url,
        "client_name": "Example MCP client",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


def _policy(h: Hosted, documents: DocumentServer, *patterns: str) -> str:
    out = h.idp.create_cimd_policy(
        UserPoolId=h.pool_id,
        ClientId=h.client_id,
        PolicyName="external",
        URLPatterns=list(patterns) or [documents.base + "/clients/*"],
    )["CIMDPolicy"]
    return str(out["CIMDPolicyId"])


def _urls(h: Hosted, policy_id: str) -> list[dict[str, Any]]:
    return list(h.idp.list_client_metadata_urls(UserPoolId=h.pool_id, CIMDPolicyId=policy_id)["ClientMetadataURLs"])


# -- the policy operations -------------------------------------------------------------------------


def test_policy_operations_follow_the_model(hosted: Hosted, documents: DocumentServer) -> None:
    idp, pool = hosted.idp, hosted.pool_id
    created = idp.create_cimd_policy(
        UserPoolId=pool,
        ClientId=hosted.client_id,
        PolicyName="partners",
        CacheDuration=172800,
        URLPatterns=["https://*.example.com/clients/*"],
    )["CIMDPolicy"]
    pid = created["CIMDPolicyId"]
    assert created["UserPoolId"] == pool and created["ClientId"] == hosted.client_id
    assert created["PolicyName"] == "partners" and created["CacheDuration"] == 172800
    assert created["URLPatterns"] == ["https://*.example.com/clients/*"]
    assert idp.describe_cimd_policy(UserPoolId=pool, CIMDPolicyId=pid)["CIMDPolicy"] == created
    listed = idp.list_cimd_policies(UserPoolId=pool)["CIMDPolicies"]
    assert [p["CIMDPolicyId"] for p in listed] == [pid] and "URLPatterns" not in listed[0]
    updated = idp.update_cimd_policy(
        UserPoolId=pool, CIMDPolicyId=pid, ClientId=hosted.second_client_id, URLPatterns=["https://a.example.com/c/*"]
    )["CIMDPolicy"]
    assert updated["ClientId"] == hosted.second_client_id and updated["PolicyName"] == "partners"
    assert "CacheDuration" not in updated and updated["URLPatterns"] == ["https://a.example.com/c/*"]

    def refused(code: str, call: Any, **kwargs: Any) -> None:
        with pytest.raises(ClientError) as caught:
            call(**kwargs)
        assert caught.value.response["Error"]["Code"] == code, caught.value.response

    refused(
        "ResourceNotFoundException",
        idp.create_cimd_policy,
        UserPoolId=pool,
        ClientId="nosuchclient1",
        PolicyName="x",
        URLPatterns=["https://a.example.com/*"],
    )
    refused(
        "InvalidParameterException",
        idp.create_cimd_policy,
        UserPoolId=pool,
        ClientId=hosted.client_id,
        PolicyName="x",
        URLPatterns=["http://a.example.com/*"],
    )  # the model's https pattern
    refused("ResourceNotFoundException", idp.describe_cimd_policy, UserPoolId=pool, CIMDPolicyId="abc123")
    refused(
        "CachedCIMDURLDoesNotExistException",
        idp.update_client_metadata_url_state,
        UserPoolId=pool,
        CIMDPolicyId=pid,
        URL="https://a.example.com/c/never.json",
        Action="REFRESH",
    )
    idp.delete_cimd_policy(UserPoolId=pool, CIMDPolicyId=pid)
    refused("ResourceNotFoundException", idp.delete_cimd_policy, UserPoolId=pool, CIMDPolicyId=pid)
    assert idp.list_cimd_policies(UserPoolId=pool)["CIMDPolicies"] == []


# -- a CIMD client signs a user in --------------------------------------------------------------------


def _token(h: Hosted, form: dict[str, str], **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{h.base}/oauth2/token", data=form, timeout=30, **kwargs)


def _authorize(h: Hosted, client_id: str, challenge: str, redirect: str = CALLBACK) -> dict[str, str]:
    return {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect,
        "scope": "openid email",
        "state": "s1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def test_a_client_named_by_its_metadata_url_signs_a_user_in_with_pkce(
    hosted: Hosted, documents: DocumentServer
) -> None:
    pid = _policy(hosted, documents)
    try:
        url = documents.base + "/clients/app.json"
        documents.serve("/clients/app.json", _document(url), Cache_Control="public, max-age=172800")
        verifier, challenge = pkce_pair()
        with httpx.Client(timeout=30) as web:
            location = sign_in_over_http(web, hosted, _authorize(hosted, url, challenge), "alice", PASSWORD)
        answer = query_of(location)
        assert location.startswith(CALLBACK) and answer["state"] == "s1"
        form = {
            "grant_type": "authorization_code",
            "client_id": url,
            "code": answer["code"],
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        }
        tokens = _token(hosted, form)
        assert tokens.status_code == 200, tokens.text
        body = tokens.json()
        assert "refresh_token" not in body  # a public client named by a URL extends no lineage
        claims = jwt.decode(body["access_token"], options={"verify_signature": False})
        assert claims["client_id"] == hosted.client_id and claims["username"] == "alice"
        assert documents.hits["/clients/app.json"] == 1  # fetched once: the pages and the token used the cache
        # the URL is recorded with its cache state; Cache-Control's max-age (2 days) set its expiry
        (entry,) = _urls(hosted, pid)
        assert entry["URL"] == url
        assert entry["ExpirationDate"] - entry["CachedDate"] == dt.timedelta(seconds=172800)
        # the code was single use, and a refresh grant is not the client's
        again = _token(hosted, form)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        # INVALIDATE drops the document: listed without a cache state, fetched again by the next request
        hosted.idp.update_client_metadata_url_state(
            UserPoolId=hosted.pool_id, CIMDPolicyId=pid, URL=url, Action="INVALIDATE"
        )
        (entry,) = _urls(hosted, pid)
        assert "CachedDate" not in entry and "ExpirationDate" not in entry
        hosted.idp.update_client_metadata_url_state(
            UserPoolId=hosted.pool_id, CIMDPolicyId=pid, URL=url, Action="REFRESH"
        )
        assert documents.hits["/clients/app.json"] == 2
        assert "CachedDate" in _urls(hosted, pid)[0]
    finally:
        hosted.idp.delete_cimd_policy(UserPoolId=hosted.pool_id, CIMDPolicyId=pid)


def test_codes_of_a_cimd_client_and_of_its_app_client_are_not_interchangeable(
    hosted: Hosted, documents: DocumentServer
) -> None:
    pid = _policy(hosted, documents)
    try:
        url = documents.base + "/clients/swap.json"
        documents.serve("/clients/swap.json", _document(url))
        verifier, challenge = pkce_pair()
        with httpx.Client(timeout=30) as web:
            location = sign_in_over_http(web, hosted, _authorize(hosted, url, challenge), "alice", PASSWORD)
        code = query_of(location)["code"]
        form = {
            "grant_type": "authorization_code",
            "client_id": hosted.client_id,
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        }
        stolen = _token(hosted, form)
        assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
        # the app client's own code cannot be redeemed by the URL client either
        verifier, challenge = pkce_pair()
        with httpx.Client(timeout=30) as web:
            location = sign_in_over_http(
                web, hosted, _authorize(hosted, hosted.client_id, challenge), "alice", PASSWORD
            )
        form = {
            "grant_type": "authorization_code",
            "client_id": url,
            "code": query_of(location)["code"],
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        }
        assert _token(hosted, form).json()["error"] == "invalid_grant"
        # nor can it refresh or revoke the app client's refresh tokens
        verifier, challenge = pkce_pair()
        with httpx.Client(timeout=30) as web:
            location = sign_in_over_http(
                web, hosted, _authorize(hosted, hosted.client_id, challenge), "alice", PASSWORD
            )
        form.update(client_id=hosted.client_id, code=query_of(location)["code"], code_verifier=verifier)
        refresh = _token(hosted, form).json()["refresh_token"]
        grant = {"grant_type": "refresh_token", "client_id": url, "refresh_token": refresh}
        assert _token(hosted, grant).json()["error"] == "unauthorized_client"
        revoked = httpx.post(f"{hosted.base}/oauth2/revoke", data={"token": refresh, "client_id": url}, timeout=30)
        assert revoked.status_code == 200
        grant["client_id"] = hosted.client_id
        assert "access_token" in _token(hosted, grant).json()  # still alive
        # a secret is not accepted for a URL client
        form["client_secret"] = "anything"
        assert _token(hosted, form).json()["error"] == "invalid_client"
    finally:
        hosted.idp.delete_cimd_policy(UserPoolId=hosted.pool_id, CIMDPolicyId=pid)


# -- attacks: each refused, nothing recorded -----------------------------------------------------------


def _refused_at_authorize(h: Hosted, client_id: str, redirect: str = CALLBACK) -> None:
    _, challenge = pkce_pair()
    answer = httpx.get(f"{h.base}/oauth2/authorize", params=_authorize(h, client_id, challenge, redirect), timeout=30)
    assert answer.status_code == 400, (answer.status_code, answer.headers.get("location"))
    assert "location" not in answer.headers


@pytest.mark.parametrize(
    "case",
    [
        "client_id_differs",
        "client_secret",
        "no_auth_method",
        "client_credentials",
        "huge",
        "redirect_to_private",
        "not_json",
        "outside_patterns",
    ],
)
def test_bad_documents_are_refused(hosted: Hosted, documents: DocumentServer, case: str) -> None:
    pid = _policy(hosted, documents)
    try:
        path = f"/clients/{case}.json"
        url = documents.base + path
        if case == "client_id_differs":
            documents.serve(path, _document(documents.base + "/clients/other.json"))
        elif case == "client_secret":
            documents.serve(path, _document(url, client_secret="s3cret"))
        elif case == "no_auth_method":
            documents.serve(path, _document(url, token_endpoint_auth_method=None))
        elif case == "client_credentials":
            documents.serve(path, _document(url, grant_types=["authorization_code", "client_credentials"]))
        elif case == "huge":
            documents.serve(path, _document(url, client_name="x" * 6000))
        elif case == "redirect_to_private":
            documents.serve(path, b"", status=302, Location="https://10.0.0.1/clients/app.json")
        elif case == "not_json":
            documents.serve(path, b"<html></html>", Content_Type="text/html")
        else:
            path = "/elsewhere/app.json"
            url = documents.base + path
            documents.serve(path, _document(url))
        _refused_at_authorize(hosted, url)
        _refused_at_authorize(hosted, url)
        assert _urls(hosted, pid) == []
        # never fetched outside the patterns; else fetched once: the refusal is kept a while
        assert documents.hits.get(path, 0) == (0 if case == "outside_patterns" else 1)
    finally:
        hosted.idp.delete_cimd_policy(UserPoolId=hosted.pool_id, CIMDPolicyId=pid)


def test_a_redirect_uri_not_in_the_document_is_refused(hosted: Hosted, documents: DocumentServer) -> None:
    pid = _policy(hosted, documents)
    try:
        url = documents.base + "/clients/narrow.json"
        documents.serve("/clients/narrow.json", _document(url))
        _refused_at_authorize(hosted, url, redirect="https://attacker.example/callback")
    finally:
        hosted.idp.delete_cimd_policy(UserPoolId=hosted.pool_id, CIMDPolicyId=pid)


def test_http_and_private_urls_are_not_fetched(hosted: Hosted, documents: DocumentServer) -> None:
    pid = _policy(hosted, documents, documents.base + "/clients/*", "https://10.1.2.3/clients/*")
    try:
        plain = documents.base.replace("https://", "http://") + "/clients/app.json"
        _refused_at_authorize(hosted, plain)  # not a metadata URL: an unknown app client
        _refused_at_authorize(hosted, "https://10.1.2.3/clients/app.json")  # a private address: egress refuses
        assert _urls(hosted, pid) == []
    finally:
        hosted.idp.delete_cimd_policy(UserPoolId=hosted.pool_id, CIMDPolicyId=pid)


def test_only_the_code_flow_is_offered(hosted: Hosted, documents: DocumentServer) -> None:
    pid = _policy(hosted, documents)
    try:
        url = documents.base + "/clients/implicit.json"
        documents.serve("/clients/implicit.json", _document(url, grant_types=["implicit"]))
        _, challenge = pkce_pair()
        for response_type in ("code", "token"):
            params = {**_authorize(hosted, url, challenge), "response_type": response_type}
            answer = httpx.get(f"{hosted.base}/oauth2/authorize", params=params, timeout=30)
            assert answer.status_code == 302
            assert query_of(answer.headers["location"])["error"] == "unauthorized_client"
    finally:
        hosted.idp.delete_cimd_policy(UserPoolId=hosted.pool_id, CIMDPolicyId=pid)


def test_pkce_is_required(hosted: Hosted, documents: DocumentServer) -> None:
    pid = _policy(hosted, documents)
    try:
        url = documents.base + "/clients/nopkce.json"
        documents.serve("/clients/nopkce.json", _document(url))
        params = {"client_id": url, "response_type": "code", "redirect_uri": CALLBACK, "scope": "openid"}
        answer = httpx.get(f"{hosted.base}/oauth2/authorize", params=params, timeout=30)
        assert answer.status_code == 302
        assert query_of(answer.headers["location"])["error"] == "invalid_request"
    finally:
        hosted.idp.delete_cimd_policy(UserPoolId=hosted.pool_id, CIMDPolicyId=pid)
