"""Shared fixtures for federation tests: a standalone OpenID Connect issuer (npm oidc-provider) on
loopback, and signing a user in through its pages: ``sign_in`` (implicit flow of the public client
``CLIENT_ID``, for web identity tests) and ``sign_in_code_flow`` (the IdP leg of an authorization-code
flow started elsewhere, e.g. by a user pool's /oauth2/authorize, for the confidential client
``POOL_CLIENT_ID``)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from tests.conftest import free_port

JS = Path(__file__).resolve().parent.parent / "js"
CLIENT_ID = "ostiary-app"
CALLBACK = "https://app.example.com/callback"
# The confidential authorization-code client of oidc_issuer.mjs: redirect URIs are any
# http://127.0.0.1:<port>/…/oauth2/idpresponse (or localhost); client_secret_basic or _post.
POOL_CLIENT_ID = "ostiary-pool"
POOL_CLIENT_SECRET = "ostiary-pool-secret"


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[str]:
    """oidc-provider (npm) serving on a loopback port: its URL is the issuer."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node.js and npm are needed for the oidc-provider test")
    if not (JS / "node_modules" / "oidc-provider").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, capture_output=True, timeout=600)
    port = free_port()
    proc = subprocess.Popen(
        [node, str(JS / "oidc_issuer.mjs"), str(port), CLIENT_ID], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("oidc-provider did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def sign_in(issuer: str, login: str) -> str:
    """Sign ``login`` in through oidc-provider's pages; the ID token from the redirect's fragment."""
    with httpx.Client(follow_redirects=False, timeout=10) as web:
        resp = web.get(
            issuer + "/auth",
            params={
                "client_id": CLIENT_ID,
                "response_type": "id_token",
                "scope": "openid",
                "nonce": "n-0S6_WzA2Mj",
                "redirect_uri": CALLBACK,
            },
        )
        for _ in range(10):
            location = resp.headers.get("location")
            if location is None:
                target, fields = _interaction_form(resp.text, login)
                resp = web.post(target if target.startswith("http") else issuer + target, data=fields)
                continue
            if location.startswith(CALLBACK):
                return parse_qs(urlsplit(location).fragment)["id_token"][0]
            resp = web.get(location if location.startswith("http") else issuer + location)
    raise AssertionError("the sign-in did not reach the callback")


def _interaction_form(page: str, login: str) -> tuple[str, dict[str, str]]:
    """The action and fields of an oidc-provider devInteractions page (login or consent)."""
    action = re.search(r'action="([^"]+)"', page)
    assert action is not None, page[:500]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    if 'name="login"' in page:
        fields.update(login=login, password="any")
    return action.group(1), fields


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def sign_in_code_flow(
    web: httpx.Client, authorize_url: str, login: str, *, issuer: str | None = None
) -> httpx.Response:
    """Sign ``login`` in at oidc-provider in a flow that starts at ``authorize_url`` (typically a user
    pool's /oauth2/authorize?identity_provider=…, which redirects to the issuer's /auth).

    Redirects are followed by hand (whatever ``web.follow_redirects`` says) and the login page (and the
    consent page, if shown) is filled in. The issuer's origin is ``issuer`` if given, else the origin of
    the first URL whose path is /auth. Returns the first response whose Location leaves that origin
    (Ostiary's /oauth2/idpresponse?code=…&state=…); the caller follows it.
    """
    idp = _origin(issuer) if issuer is not None else None
    url = authorize_url
    resp = web.get(url, follow_redirects=False)
    for _ in range(20):
        if idp is None and urlsplit(url).path.endswith("/auth"):
            idp = _origin(url)
        location = resp.headers.get("location")
        if location is None:
            assert idp is not None and _origin(url) == idp, f"{resp.status_code} at {url}: {resp.text[:500]}"
            target, fields = _interaction_form(resp.text, login)
            url = urljoin(url, target)
            resp = web.post(url, data=fields, follow_redirects=False)
            continue
        target = urljoin(url, location)
        if idp is not None and _origin(target) != idp:
            return resp
        url = target
        resp = web.get(url, follow_redirects=False)
    raise AssertionError("the sign-in did not leave the OpenID provider")
