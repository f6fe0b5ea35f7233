"""Cross-origin use of the OAuth 2.0 / OpenID Connect endpoints, as browser single-page apps
(oidc-client-ts, Amplify's signInWithRedirect) make it: discovery, JWKS (under the pool and on the
domain), token, revoke and userInfo answer CORS preflights and allow any origin without
credentials; the hosted pages (navigations) do not.

Over HTTP first (headers, preflights, errors, the host-name form of a domain, body limits), then
in a real browser: a page served from a second loopback server (another origin) runs oidc-client-ts
itself (tests/js) against Ostiary: discovery, the code + PKCE exchange, userInfo, a refresh (which
oidc-client-ts accepts only when the refreshed ID token keeps the original ``auth_time``),
revocation and RP-initiated logout, plus plain fetch() calls for the JWKS and userInfo by POST."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import Server
from tests.oauth.conftest import Hosted, add_user, make_hosted

ORIGIN = "http://spa.example.test:3000"
CHROMIUM = "/usr/bin/chromium"
OIDC_CLIENT = Path(__file__).resolve().parents[1] / "js/node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js"
PASSWORD = "Corr3ct-Horse!"


def _preflight(url: str, method: str, host: str | None = None) -> httpx.Response:
    headers = {
        "origin": ORIGIN,
        "access-control-request-method": method,
        "access-control-request-headers": "authorization,content-type",
    }
    if host:
        headers["host"] = host
    return httpx.options(url, headers=headers)


def _assert_preflight(resp: httpx.Response, method: str) -> None:
    assert resp.status_code in (200, 204), (resp.status_code, resp.text)
    assert resp.headers["access-control-allow-origin"] == "*"
    assert method in resp.headers["access-control-allow-methods"].split(",")
    allowed = {h.strip().lower() for h in resp.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert int(resp.headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in resp.headers


def test_oauth_endpoints_answer_preflights_and_any_origin(hosted: Hosted) -> None:
    base, issuer = hosted.base, hosted.issuer
    endpoints = [
        (f"{issuer}/.well-known/openid-configuration", "GET"),
        (f"{issuer}/.well-known/jwks.json", "GET"),
        (f"{base}/.well-known/jwks.json", "GET"),
        (f"{base}/oauth2/token", "POST"),
        (f"{base}/oauth2/revoke", "POST"),
        (f"{base}/oauth2/userInfo", "GET"),
        (f"{base}/oauth2/userInfo", "POST"),
    ]
    for url, method in endpoints:
        _assert_preflight(_preflight(url, method), method)
    host = f"{hosted.domain}.auth.us-east-1.amazoncognito.localhost"
    _assert_preflight(_preflight(f"{hosted.server.url}/oauth2/token", "POST", host=host), "POST")
    _assert_preflight(_preflight(f"{hosted.server.url}/.well-known/jwks.json", "GET", host=host), "GET")

    cors = {"origin": ORIGIN}
    for url in (f"{issuer}/.well-known/openid-configuration", f"{issuer}/.well-known/jwks.json"):
        resp = httpx.get(url, headers=cors)
        assert resp.status_code == 200 and resp.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in resp.headers
    # the domain serves the pool's JWKS too (as Cognito's domains do), by path and by host name
    pool_keys = httpx.get(f"{issuer}/.well-known/jwks.json").json()
    assert httpx.get(f"{base}/.well-known/jwks.json", headers=cors).json() == pool_keys
    by_host = httpx.get(f"{hosted.server.url}/.well-known/jwks.json", headers={**cors, "host": host})
    assert by_host.json() == pool_keys and by_host.headers["access-control-allow-origin"] == "*"

    # errors are readable cross-origin too (an SPA must see invalid_grant to start over)
    bad = httpx.post(
        f"{base}/oauth2/token",
        data={"grant_type": "authorization_code", "code": "nope", "client_id": hosted.client_id, "redirect_uri": "x"},
        headers=cors,
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    assert bad.headers["access-control-allow-origin"] == "*"
    revoke = httpx.post(f"{base}/oauth2/revoke", data={"token": "x", "client_id": hosted.client_id}, headers=cors)
    assert revoke.status_code == 200 and revoke.headers["access-control-allow-origin"] == "*"
    info = httpx.get(f"{base}/oauth2/userInfo", headers=cors)
    assert info.status_code == 401 and info.headers["access-control-allow-origin"] == "*"
    assert "www-authenticate" in info.headers["access-control-expose-headers"].lower()
    by_host_token = httpx.post(
        f"{hosted.server.url}/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": hosted.client_id},
        headers={**cors, "host": host},
    )
    assert by_host_token.status_code == 400 and by_host_token.headers["access-control-allow-origin"] == "*"
    # the body limit still holds on these endpoints, and its refusal is readable cross-origin
    huge = httpx.post(
        f"{base}/oauth2/token",
        content=b"a" * (1048576 + 1),
        headers={**cors, "content-type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413 and huge.headers["access-control-allow-origin"] == "*"

    # the hosted pages are navigations: no CORS, and no preflight answered
    params = {"client_id": hosted.client_id, "response_type": "code", "redirect_uri": hosted.callback}
    for page in ("/oauth2/authorize", "/login", "/logout"):
        resp = httpx.get(f"{base}{page}", params=params, headers=cors)
        assert "access-control-allow-origin" not in resp.headers, page
        pre = _preflight(f"{base}{page}", "GET")
        assert pre.status_code == 405 and "access-control-allow-origin" not in pre.headers, page


# --- a real browser on another origin ------------------------------------------------------------


class _Spa(BaseHTTPRequestHandler):
    """The single-page app's origin: oidc-client-ts, a settings script, and one page for every path
    that loads both (``window.mgr`` is the UserManager)."""

    settings: dict[str, Any] = {}

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/oidc-client-ts.js":
            body, ctype = OIDC_CLIENT.read_bytes(), "text/javascript"
        elif path == "/app.js":
            settings = json.dumps(self.settings)
            body = (
                f"window.SETTINGS = {settings};\n"
                "SETTINGS.userStore = new oidc.WebStorageStateStore({ store: window.localStorage });\n"
                "window.mgr = new oidc.UserManager(SETTINGS);\n"
            ).encode()
            ctype = "text/javascript"
        else:
            body = b'<!doctype html><title>spa</title><script src="/oidc-client-ts.js"></script>'
            body += b'<script src="/app.js"></script><p>the app'
            ctype = "text/html"
        self.send_response(200)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.send_header("cache-control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def spa_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Spa)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    # localhost:<port> is another origin than Ostiary's 127.0.0.1:<port>
    yield f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    if not OIDC_CLIENT.exists():
        pytest.skip("oidc-client-ts is not installed (npm ci in tests/js)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        yield chromium
        chromium.close()


def test_oidc_client_ts_on_another_origin(browser: Any, dev_server: Server, spa_url: str) -> None:
    site = make_hosted(dev_server, callback=f"{spa_url}/callback", signed_out=f"{spa_url}/signed-out")
    add_user(site, "sofia", email="sofia@example.com", email_verified="true")
    _Spa.settings = {
        "authority": site.issuer,
        "client_id": site.client_id,
        "redirect_uri": f"{spa_url}/callback",
        "post_logout_redirect_uri": f"{spa_url}/signed-out",
        "response_type": "code",
        "scope": "openid email profile",
        "loadUserInfo": True,
        "automaticSilentRenew": False,
        "filterProtocolClaims": False,  # keep auth_time in the profile
    }
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.method} {r.url}: {r.failure}"))
    try:
        page.goto(f"{spa_url}/")
        # discovery (cross-origin GET) and the redirect to the hosted sign-in page
        page.evaluate("() => { mgr.signinRedirect(); }")
        page.wait_for_url(f"{site.base}/login**")
        page.get_by_label("Username").fill("sofia")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{spa_url}/callback**")
        signed_in_at = time.time()
        # the code is exchanged in a later second than the sign-in: a refresh must still carry the
        # sign-in time (auth_time counts seconds)
        time.sleep(max(0.0, int(signed_in_at) + 1 - time.time()))
        user = page.evaluate(
            "mgr.signinRedirectCallback().then(u => ({profile: u.profile, refresh: !!u.refresh_token,"
            " id_token: u.id_token, access_token: u.access_token}))"
        )
        assert user["refresh"] and user["profile"]["email"] == "sofia@example.com"  # userInfo, preflighted GET
        assert user["profile"]["username"] == "sofia"
        first_auth_time = user["profile"]["auth_time"]
        assert abs(first_auth_time - signed_in_at) < 5

        # refresh through the token endpoint: oidc-client-ts checks auth_time (OIDC Core §12.2)
        renewed = page.evaluate(
            "mgr.signinSilent().then(u => ({auth_time: u.profile.auth_time, access_token: u.access_token}))"
        )
        assert renewed["auth_time"] == first_auth_time
        assert renewed["access_token"] != user["access_token"]

        # plain fetch() for what oidc-client-ts does not call itself
        fetched = page.evaluate(
            """async ([issuer, base, token]) => {
                const pool = await (await fetch(issuer + '/.well-known/jwks.json')).json();
                const domain = await (await fetch(base + '/.well-known/jwks.json')).json();
                const info = await fetch(base + '/oauth2/userInfo',
                    {method: 'POST', headers: {Authorization: 'Bearer ' + token}});
                return {pool: pool.keys.length, same: JSON.stringify(pool) === JSON.stringify(domain),
                        info: (await info.json()).username};
            }""",
            [site.issuer, site.base, renewed["access_token"]],
        )
        assert fetched == {"pool": fetched["pool"], "same": True, "info": "sofia"} and fetched["pool"] >= 1

        # revocation (cross-origin POST), then the revoked refresh token is refused, readably
        refused = page.evaluate(
            """async ([base, clientId]) => {
                const refreshToken = (await mgr.getUser()).refresh_token;
                await mgr.revokeTokens(['refresh_token']);
                const r = await fetch(base + '/oauth2/token', {method: 'POST',
                    headers: {'Content-Type': 'application/x-www-form-urlencoded'},
                    body: new URLSearchParams({grant_type: 'refresh_token', client_id: clientId,
                                               refresh_token: refreshToken})});
                return [r.status, (await r.json()).error];
            }""",
            [site.base, site.client_id],
        )
        assert refused == [400, "invalid_grant"]

        # RP-initiated logout (end_session_endpoint with id_token_hint, post_logout_redirect_uri, state)
        page.evaluate("() => { mgr.signoutRedirect({state: 'bye'}); }")
        page.wait_for_url(f"{spa_url}/signed-out**")
        assert "state=" in page.url
        response = page.evaluate("mgr.signoutRedirectCallback().then(r => ({error: r.error, state: r.userState}))")
        assert response == {"error": None, "state": "bye"}
        # the hosted session is over: signing in again asks for the password
        page.evaluate("() => { mgr.signinRedirect(); }")
        page.wait_for_url(f"{site.base}/login**")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    finally:
        context.close()
    assert not failed, failed
