"""rest-json from a page on another origin, in Chromium, as the JavaScript SDK's SSO OIDC and SSO
clients call it from a browser: fetch() with a JSON body or the portal's bearer-token header is
preflighted, and the answer (status, the exposed x-amzn-ErrorType, the body) is readable."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server

CHROMIUM = "/usr/bin/chromium"


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>app</title><p>another origin"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    # localhost:<port> is another origin than Ostiary's 127.0.0.1:<port>
    yield f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        yield chromium
        chromium.close()


FETCH = """async ([url, init]) => {
  const r = await fetch(url, init);
  return { status: r.status, type: r.headers.get("x-amzn-ErrorType"), body: await r.text() };
}"""


def test_cross_origin_fetch_of_rest_json_operations(browser: Any, server: Server, page_url: str) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(page_url + "/")
        # sso-oidc CreateToken: a JSON body (content-type application/json is preflighted)
        token = page.evaluate(
            FETCH,
            [
                server.url + "/token",
                {
                    "method": "POST",
                    "headers": {"content-type": "application/json", "x-amz-user-agent": "aws-sdk-js/3"},
                    "body": '{"clientId": "nobody", "clientSecret": "x", "grantType": "refresh_token", '
                    '"refreshToken": "x"}',
                },
            ],
        )
        assert token["status"] in (400, 401, 501), token
        assert token["type"], token  # the error type header is exposed to the page
        # sso GetRoleCredentials: query members and the bearer token's header
        creds = page.evaluate(
            FETCH,
            [
                server.url + "/federation/credentials?role_name=r&account_id=123456789012",
                {"headers": {"x-amz-sso_bearer_token": "not-a-token", "amz-sdk-invocation-id": "1"}},
            ],
        )
        assert creds["status"] in (401, 501), creds
        assert creds["type"] in ("UnauthorizedException", "NotImplementedException"), creds
        # cognito-sync DeleteDataset: a DELETE with an Authorization header (preflighted too)
        sync = page.evaluate(
            FETCH,
            [
                server.url + "/identitypools/us-east-1%3Ap/identities/us-east-1%3Ai/datasets/d",
                {"method": "DELETE", "headers": {"authorization": "not a signature"}},
            ],
        )
        assert sync["status"] == 400, sync
        assert sync["type"], sync
    finally:
        context.close()
