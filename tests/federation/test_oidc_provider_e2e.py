"""AssumeRoleWithWebIdentity with a standalone OpenID Connect issuer on loopback: the npm package
oidc-provider (its own keys, discovery document and JWKS). A user signs in through its login and
consent pages (implicit flow, driven over HTTP), and the ID token it returns becomes role
credentials; a token from elsewhere under the same kid is refused."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt as pyjwt
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import ACCOUNT_ID, Server, free_port

JS = Path(__file__).resolve().parent.parent / "js"
CLIENT_ID = "ostiary-app"
CALLBACK = "https://app.example.com/callback"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
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


def test_oidc_provider_token_assumes_a_role(server: Server, issuer: str) -> None:
    iam, sts = server.client("iam"), server.client("sts")
    provider = iam.create_open_id_connect_provider(Url=issuer, ClientIDList=[CLIENT_ID], ThumbprintList=["0" * 40])[
        "OpenIDConnectProviderArn"
    ]
    host = issuer.split("://", 1)[1]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{host}:aud": CLIENT_ID, f"{host}:sub": "alice"}},
            }
        ],
    }
    role = iam.create_role(RoleName="oidc-provider-alice", AssumeRolePolicyDocument=json.dumps(trust))["Role"]

    token = sign_in(issuer, "alice")
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == issuer and claims["aud"] == CLIENT_ID and claims["sub"] == "alice"
    out = sts.assume_role_with_web_identity(RoleArn=role["Arn"], RoleSessionName="alice-web", WebIdentityToken=token)
    assert out["SubjectFromWebIdentityToken"] == "alice" and out["Provider"] == issuer
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/oidc-provider-alice/alice-web"
    creds: dict[str, Any] = out["Credentials"]
    who = server.client(
        "sts",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).get_caller_identity()
    assert who["Arn"] == out["AssumedRoleUser"]["Arn"]

    # another user of the same issuer: the trust policy's sub condition refuses
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(
            RoleArn=role["Arn"], RoleSessionName="bob-web", WebIdentityToken=sign_in(issuer, "bob")
        )
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    # a forged token: same claims and kid, a key the issuer never published
    forged = pyjwt.encode(
        claims,
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": pyjwt.get_unverified_header(token)["kid"]},
    )
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(RoleArn=role["Arn"], RoleSessionName="forged", WebIdentityToken=forged)
    assert exc.value.response["Error"]["Code"] == "InvalidIdentityToken"
