"""Shared fixtures for federation tests: a standalone OpenID Connect issuer (npm oidc-provider) on
loopback, and signing a user in through its pages."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import free_port

JS = Path(__file__).resolve().parent.parent / "js"
CLIENT_ID = "ostiary-app"
CALLBACK = "https://app.example.com/callback"


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
        [node, str(JS / "oidc_issuer.mjs"), str(port), CLIENT_ID], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
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
                action = re.search(r'action="([^"]+)"', resp.text)
                assert action is not None, resp.text[:500]
                fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', resp.text))
                if 'name="login"' in resp.text:
                    fields.update(login=login, password="any")
                target = action.group(1)
                resp = web.post(target if target.startswith("http") else issuer + target, data=fields)
                continue
            if location.startswith(CALLBACK):
                return parse_qs(urlsplit(location).fragment)["id_token"][0]
            resp = web.get(location if location.startswith("http") else issuer + location)
    raise AssertionError("the sign-in did not reach the callback")
