"""The hosted pages in a real browser: Playwright for Python driving Debian's Chromium against a
live server. Code + PKCE sign-in (finished by Authlib, which verifies the ID token), implicit flow,
sign-up and confirmation with the code from the outbox, forgot password, a new password required,
single sign-on into a second client, logout, UI customization and the error page. Every page is
saved as a screenshot (``OSTIARY_SCREENSHOTS``, default ``screenshots/`` in the checkout)."""

from __future__ import annotations

import os
import secrets
import shutil
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

# authlib.deprecate puts an "always" filter for its warnings in front when it is first imported, which
# would beat the "ignore" below: import it first (the suite turns warnings into errors, pyproject.toml)
import authlib.deprecate  # noqa: F401
import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import Server
from tests.federation.conftest import oidc_issuer  # noqa: F401 - fixture
from tests.oauth.conftest import Hosted, add_user, make_hosted, pkce_pair, query_of
from tests.userpools.conftest import outbox_code

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.jose import JsonWebKey, jwt
    from authlib.oidc.core import CodeIDToken

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("OSTIARY_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "screenshots")
PASSWORD = "Corr3ct-Horse!"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Chromium is needed for the browser tests (apt-get install chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1024, "height": 760})
    pg = context.new_page()
    yield pg
    context.close()


class _App(BaseHTTPRequestHandler):
    """The app the browser returns to: any path answers a small page."""

    def do_GET(self) -> None:
        body = b"<!doctype html><title>app</title><p>back in the app"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _App)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def site(dev_server: Server, app_url: str) -> Hosted:
    hosted = make_hosted(dev_server, callback=f"{app_url}/callback", signed_out=f"{app_url}/signed-out")
    hosted.callback = f"{app_url}/callback"
    hosted.signed_out = f"{app_url}/signed-out"
    return hosted


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def authorize_url(h: Hosted, client_id: str, **extra: str) -> str:
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": h.callback,
        "scope": "openid email profile",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
    }
    params.update(extra)
    return f"{h.base}/oauth2/authorize?{urlencode(params)}"


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_code_pkce_sign_in_then_sso_and_logout(page: Any, site: Hosted) -> None:
    add_user(site, "bruna", email="bruna@example.com", email_verified="true")
    verifier, challenge = pkce_pair()
    nonce = secrets.token_urlsafe(8)
    page.goto(authorize_url(site, site.client_id, code_challenge=challenge, code_challenge_method="S256", nonce=nonce))
    expect(page.get_by_role("heading", name="Sign in to web")).to_be_visible()
    shot(page, "01-sign-in")
    page.get_by_label("Username").fill("bruna")
    page.get_by_label("Password").fill("wrong-password-1A!")
    page.keyboard.press("Enter")  # the form works from the keyboard
    assert page.get_by_role("alert").inner_text() == "Incorrect username or password."
    shot(page, "02-sign-in-error")
    sign_in(page, "bruna")
    page.wait_for_url(site.callback + "**")
    code = query_of(page.url)["code"]

    doc = httpx.get(f"{site.issuer}/.well-known/openid-configuration").json()
    client = OAuth2Client(client_id=site.client_id, redirect_uri=site.callback, code_challenge_method="S256")
    token = client.fetch_token(doc["token_endpoint"], code=code, code_verifier=verifier)
    client.close()
    claims = jwt.decode(
        token["id_token"],
        JsonWebKey.import_key_set(httpx.get(doc["jwks_uri"]).json()),
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": doc["issuer"]}},
        claims_params={"nonce": nonce, "client_id": site.client_id},
    )
    claims.validate()
    assert claims["cognito:username"] == "bruna"

    # single sign-on: the second client of the domain signs in without the password
    page.goto(authorize_url(site, site.second_client_id))
    page.wait_for_url(site.callback + "**")
    assert "code" in query_of(page.url)

    # logout ends the session: the next authorization shows the sign-in page again
    page.goto(f"{site.base}/logout?{urlencode({'client_id': site.second_client_id, 'logout_uri': site.signed_out})}")
    page.wait_for_url(site.signed_out)
    page.goto(authorize_url(site, site.client_id))
    expect(page.get_by_role("heading", name="Sign in to web")).to_be_visible()


def test_implicit_flow(page: Any, site: Hosted) -> None:
    add_user(site, "ivo")
    page.goto(authorize_url(site, site.client_id, response_type="token"))
    sign_in(page, "ivo")
    page.wait_for_url(site.callback + "**")
    got = query_of(page.url)
    assert got["token_type"] == "Bearer" and got["access_token"] and got["id_token"] and "code" not in got


def test_sign_up_and_confirm(page: Any, site: Hosted, dev_server: Server) -> None:
    page.goto(authorize_url(site, site.client_id))
    page.get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    shot(page, "03-sign-up")
    page.get_by_label("Username").fill("carmen")
    page.get_by_label("Email").fill("carmen@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    assert "Password" in page.get_by_role("alert").inner_text()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Confirm your account")).to_be_visible()
    shot(page, "04-confirm")
    page.get_by_label("Verification code").fill("000000")
    page.get_by_role("button", name="Confirm account").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Verification code").fill(outbox_code(dev_server, "carmen@example.com"))
    page.get_by_role("button", name="Confirm account").click()
    assert page.get_by_role("status").inner_text() == "Your account is confirmed. Sign in to continue."
    sign_in(page, "carmen")
    page.wait_for_url(site.callback + "**")
    user = site.idp.admin_get_user(UserPoolId=site.pool_id, Username="carmen")
    assert user["UserStatus"] == "CONFIRMED"
    assert {"Name": "email_verified", "Value": "true"} in user["UserAttributes"]


def test_forgot_password(page: Any, site: Hosted, dev_server: Server) -> None:
    add_user(site, "dora", email="dora@example.com", email_verified="true")
    page.goto(authorize_url(site, site.client_id))
    page.get_by_role("link", name="Forgot your password?").click()
    shot(page, "05-forgot-password")
    page.get_by_label("Username").fill("dora")
    page.get_by_role("button", name="Reset my password").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    shot(page, "06-reset-password")
    page.get_by_label("Code").fill(outbox_code(dev_server, "dora@example.com"))
    page.get_by_label("New password").fill("N3w-Passw0rd!")
    page.get_by_role("button", name="Change password").click()
    assert "reset" in page.get_by_role("status").inner_text()
    sign_in(page, "dora", "N3w-Passw0rd!")
    page.wait_for_url(site.callback + "**")


def test_new_password_required(page: Any, site: Hosted) -> None:
    site.idp.admin_create_user(
        UserPoolId=site.pool_id, Username="emil", TemporaryPassword="Temp-Passw0rd!", MessageAction="SUPPRESS"
    )
    page.goto(authorize_url(site, site.client_id))
    sign_in(page, "emil", "Temp-Passw0rd!")
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    shot(page, "07-new-password")
    page.get_by_label("New password").fill("Perm-Passw0rd!")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(site.callback + "**")
    assert site.idp.admin_get_user(UserPoolId=site.pool_id, Username="emil")["UserStatus"] == "CONFIRMED"


def test_ui_customization_and_error_page(page: Any, site: Hosted) -> None:
    import struct
    import zlib

    def png(width: int, height: int) -> bytes:  # a plain green PNG
        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        rows = b"".join(b"\x00" + b"\x14\x78\x3c" * width for _ in range(height))
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")

    site.idp.set_ui_customization(
        UserPoolId=site.pool_id,
        ClientId=site.second_client_id,
        CSS=".submitButton-customizable { background-color: rgb(20, 120, 60); }",
        ImageFile=png(120, 40),
    )
    page.goto(authorize_url(site, site.second_client_id, prompt="login"))
    color = page.get_by_role("button", name="Sign in").evaluate("b => getComputedStyle(b).backgroundColor")
    assert color == "rgb(20, 120, 60)"
    logo = page.locator("img.logo-customizable")
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 120  # the logo loaded
    shot(page, "08-customized-sign-in")
    page.goto(authorize_url(site, site.client_id, redirect_uri="https://evil.example.com/steal"))
    expect(page.get_by_role("heading", name="Invalid request")).to_be_visible()
    assert page.url.startswith(site.base)  # no redirect to the unregistered URI
    shot(page, "09-error")
    page.set_viewport_size({"width": 390, "height": 760})
    page.goto(authorize_url(site, site.client_id, prompt="login"))
    shot(page, "10-sign-in-mobile")


def test_totp_enrolment_and_mfa_sign_in(page: Any, dev_server: Server, app_url: str) -> None:
    import time

    import pyotp

    h = make_hosted(dev_server, callback=f"{app_url}/callback", signed_out=f"{app_url}/signed-out")
    h.callback, h.signed_out = f"{app_url}/callback", f"{app_url}/signed-out"
    h.idp.set_user_pool_mfa_config(
        UserPoolId=h.pool_id, MfaConfiguration="ON", SoftwareTokenMfaConfiguration={"Enabled": True}
    )
    add_user(h, "farah")
    page.goto(authorize_url(h, h.client_id))
    sign_in(page, "farah")
    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name="QR code")).to_be_visible()
    shot(page, "11-totp-setup")
    secret = page.get_by_label("Secret key").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Verify and sign in").click()
    page.wait_for_url(h.callback + "**")
    assert "code" in query_of(page.url)
    used_step = int(time.time()) // 30

    page.goto(f"{h.base}/logout?{urlencode({'client_id': h.client_id, 'logout_uri': h.signed_out})}")
    page.wait_for_url(h.signed_out)
    page.goto(authorize_url(h, h.client_id))
    sign_in(page, "farah")
    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    shot(page, "12-mfa-code")
    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "That code is not right. Try again."
    next_step = max(int(time.time()) // 30, used_step + 1)
    page.get_by_label("Code from your authenticator app").fill(totp.at(next_step * 30 + 1))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(h.callback + "**")
    assert "code" in query_of(page.url)


def test_federated_sign_in_and_terms(page: Any, dev_server: Server, app_url: str, oidc_issuer: str) -> None:  # noqa: F811
    """In the browser: the sign-in page's "Continue with …" button, the OIDC provider's own login page
    (npm oidc-provider), back to the app with a code for the new federated user; the sign-up page
    with the client's terms documents."""
    from tests.federation.conftest import POOL_CLIENT_ID, POOL_CLIENT_SECRET

    h = make_hosted(dev_server, callback=f"{app_url}/callback", signed_out=f"{app_url}/signed-out")
    h.callback = f"{app_url}/callback"
    h.idp.create_identity_provider(
        UserPoolId=h.pool_id,
        ProviderName="Workforce",
        ProviderType="OIDC",
        ProviderDetails={
            "client_id": POOL_CLIENT_ID,
            "client_secret": POOL_CLIENT_SECRET,
            "attributes_request_method": "GET",
            "oidc_issuer": oidc_issuer,
            "authorize_scopes": "openid email profile",
        },
        AttributeMapping={"email": "email", "given_name": "given_name"},
    )
    h.idp.update_user_pool_client(
        UserPoolId=h.pool_id,
        ClientId=h.client_id,
        ClientName="web",
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid", "email", "profile"],
        CallbackURLs=[h.callback],
        SupportedIdentityProviders=["COGNITO", "Workforce"],
    )
    for name, url in (("terms-of-use", "https://example.com/terms"), ("privacy-policy", "https://example.com/privacy")):
        h.idp.create_terms(
            UserPoolId=h.pool_id,
            ClientId=h.client_id,
            TermsName=name,
            TermsSource="LINK",
            Enforcement="NONE",
            Links={"cognito:default": url},
        )
    page.goto(authorize_url(h, h.client_id))
    button = page.get_by_role("link", name="Continue with Workforce")
    expect(button).to_be_visible()
    shot(page, "20-sign-in-with-providers")
    page.get_by_role("link", name="Sign up").click()
    assert page.get_by_role("link", name="terms of use").get_attribute("href") == "https://example.com/terms"
    shot(page, "21-sign-up-with-terms")
    page.go_back()
    page.get_by_role("link", name="Continue with Workforce").click()
    page.wait_for_url(oidc_issuer + "/**")
    shot(page, "22-oidc-provider-login")
    page.locator('input[name="login"]').fill("zoe")
    page.locator('input[name="password"]').fill("any")
    page.locator('button[type="submit"]').click()
    page.wait_for_url(h.callback + "**")
    assert "code" in query_of(page.url)
    user = h.idp.admin_get_user(UserPoolId=h.pool_id, Username="Workforce_zoe")
    assert user["UserStatus"] == "EXTERNAL_PROVIDER"
