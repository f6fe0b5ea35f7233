"""AWS's own clients against a live server: amazon-cognito-identity-js (Node) signing in with SRP,
and the AWS CLI running sign-up and initiate-auth."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest

from tests.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, Server
from tests.userpools.conftest import PASSWORD, PoolSetup, create_confirmed_user, outbox_code

JS = Path(__file__).resolve().parent.parent / "js"


@pytest.fixture(scope="session")
def node_clients() -> Path:
    """tests/js with its npm dependencies installed (npm ci on first use)."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node.js and npm are needed for the JavaScript client tests")
    if not (JS / "node_modules" / "amazon-cognito-identity-js").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, capture_output=True, timeout=600)
    return JS


def test_amazon_cognito_identity_js_srp(server: Server, setup: PoolSetup, node_clients: Path) -> None:
    create_confirmed_user(setup, "jsuser", email="js@example.com")
    out = subprocess.run(
        [
            "node",
            str(node_clients / "srp_sign_in.js"),
            server.url + "/",
            setup.pool_id,
            setup.client_id,
            "jsuser",
            PASSWORD,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["ok"] and result["username"] == "jsuser"
    claims = pyjwt.decode(result["renewedIdToken"], options={"verify_signature": False})
    assert claims["aud"] == setup.client_id
    assert ["email", "js@example.com"] in result["attributes"]

    wrong = subprocess.run(
        [
            "node",
            str(node_clients / "srp_sign_in.js"),
            server.url + "/",
            setup.pool_id,
            setup.client_id,
            "jsuser",
            "Wrong-Pass1!",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wrong.returncode == 1
    assert json.loads(wrong.stdout.strip())["code"] == "NotAuthorizedException"


def _aws(server: Server, *args: str) -> Any:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    aws = Path(sys.executable).parent / "aws"
    out = subprocess.run(
        [str(aws), "--endpoint-url", server.url, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else {}


def test_aws_cli_sign_up_and_initiate_auth(dev_server: Server, node_clients: Path) -> None:
    pool = _aws(
        dev_server, "cognito-idp", "create-user-pool", "--pool-name", "cli", "--auto-verified-attributes", "email"
    )
    pid = pool["UserPool"]["Id"]
    client = _aws(
        dev_server,
        "cognito-idp",
        "create-user-pool-client",
        "--user-pool-id",
        pid,
        "--client-name",
        "cli",
        "--explicit-auth-flows",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    )
    cid = client["UserPoolClient"]["ClientId"]
    signed_up = _aws(
        dev_server,
        "cognito-idp",
        "sign-up",
        "--client-id",
        cid,
        "--username",
        "cliuser",
        "--password",
        PASSWORD,
        "--user-attributes",
        "Name=email,Value=cli@example.com",
    )
    assert signed_up["UserConfirmed"] is False
    code = outbox_code(dev_server, "cli@example.com")
    _aws(
        dev_server,
        "cognito-idp",
        "confirm-sign-up",
        "--client-id",
        cid,
        "--username",
        "cliuser",
        "--confirmation-code",
        code,
    )
    auth = _aws(
        dev_server,
        "cognito-idp",
        "initiate-auth",
        "--client-id",
        cid,
        "--auth-flow",
        "USER_PASSWORD_AUTH",
        "--auth-parameters",
        f"USERNAME=cliuser,PASSWORD={PASSWORD}",
    )
    assert auth["AuthenticationResult"]["TokenType"] == "Bearer"
    ident = _aws(dev_server, "sts", "get-caller-identity")
    assert ident["Account"] == "123456789012"
