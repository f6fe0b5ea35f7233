"""The SDKs' own SSO machinery against the server, as a user runs it: ``aws-sso-util login`` (the
device flow, polling as botocore's SSOTokenFetcher does) approved through the portal's decision
function, then botocore's ``sso`` credential provider resolving an ``sso_session`` profile
(``sso_account_id``, ``sso_role_name``) from a config file, GetCallerIdentity as the
``AWSReservedSSO_…`` role session named after the user, and botocore's SSOTokenProvider refreshing
an expiring token from the cache file the AWS CLI v2 writes. Each runs in a subprocess with a HOME of
its own (botocore reads its cache directory at import)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ostiary.ssooidc import device
from ostiary.store.db import Store
from tests.conftest import Server
from tests.ssoadmin.conftest import Instance, new_instance
from tests.ssoadmin.directory import add_user
from tests.ssooidc.helpers import ACCOUNT_ACCESS, device_tokens, now
from tests.ssoportal.test_portal_api import _assign

PROFILE_SCRIPT = """
import boto3, json, sys
session = boto3.Session(profile_name="dev")
print(json.dumps(session.client("sts").get_caller_identity()["Arn"]))
iam = session.client("iam")
iam.list_roles()
try:
    iam.list_users()
    print(json.dumps("allowed"))
except Exception as err:
    print(json.dumps(type(err).__name__ + ":" + str(err)[:80]))
"""


def _env(home: Path, server: Server) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_ENDPOINT_URL": server.url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _config(home: Path, server: Server, inst: Instance, role: str) -> str:
    start_url = f"{server.url}/start/{inst.identity_store_id}"
    (home / "config").write_text(
        f"""[profile dev]
sso_session = corp
sso_account_id = {inst.account_id}
sso_role_name = {role}
region = us-east-1

[profile legacy]
sso_start_url = {start_url}
sso_region = us-east-1
sso_account_id = {inst.account_id}
sso_role_name = {role}
region = us-east-1

[sso-session corp]
sso_start_url = {start_url}
sso_region = us-east-1
sso_registration_scopes = {ACCOUNT_ACCESS}
"""
    )
    return start_url


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_aws_sso_util_login_then_profiles(server: Server, store: Store, tmp_path: Path) -> None:
    inst = new_instance(server, "sdk")
    user_id = add_user(inst, "carol")
    _assign(inst, "ReadRoles", "USER", user_id)
    start_url = _config(tmp_path, server, inst, "ReadRoles")
    env = _env(tmp_path, server)
    login = subprocess.Popen(
        [str(Path(sys.executable).parent / "aws-sso-util"), "login", start_url, "us-east-1", "--headless"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert login.stdout is not None
        seen = ""
        code = None
        deadline = time.monotonic() + 60
        while code is None and time.monotonic() < deadline:
            line = login.stdout.readline()
            if not line:
                break
            seen += line
            found = re.search(r"\b([B-Z]{4}-[B-Z]{4})\b", line)
            code = found.group(1) if found else None
        assert code is not None, seen
        assert f"{server.url}/start/device" in seen
        with store.tx() as conn:
            assert device.approve(conn, code, user_id, now())
        out, _ = login.communicate(timeout=60)
        assert login.returncode == 0, seen + out
    finally:
        if login.poll() is None:
            login.kill()
            login.communicate()
    # the legacy profile (sso_start_url in the profile) finds the token aws-sso-util cached
    cached = tmp_path / ".aws" / "sso" / "cache" / (hashlib.sha1(start_url.encode()).hexdigest() + ".json")
    assert json.loads(cached.read_text())["accessToken"].startswith("aoa")
    ran = subprocess.run(
        [sys.executable, "-c", PROFILE_SCRIPT.replace('"dev"', '"legacy"')],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    arn, denied = (json.loads(line) for line in ran.stdout.splitlines())
    assert re.fullmatch(
        rf"arn:aws:sts::{inst.account_id}:assumed-role/AWSReservedSSO_ReadRoles_[0-9a-f]{{16}}/carol", arn
    )
    assert denied.startswith("ClientError") and "AccessDenied" in denied
    # the AWS CLI (v1) with the same profile
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "aws"), "sts", "get-caller-identity", "--profile", "legacy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["Arn"] == arn


def test_sso_session_profile_and_token_refresh(oidc: Any, server: Server, store: Store, tmp_path: Path) -> None:
    inst = new_instance(server, "sdk-refresh")
    user_id = add_user(inst, "dave")
    _assign(inst, "ReadRoles", "USER", user_id)
    start_url = _config(tmp_path, server, inst, "ReadRoles")
    client, got = device_tokens(oidc, server, inst, store, user_id, scopes=[ACCOUNT_ACCESS])
    # the cache file as the AWS CLI v2 writes it, the access token about to expire (inside botocore's
    # 15-minute refresh window)
    cache_dir = tmp_path / ".aws" / "sso" / "cache"
    cache_dir.mkdir(parents=True)
    cached = cache_dir / (hashlib.sha1(b"corp").hexdigest() + ".json")
    cached.write_text(
        json.dumps(
            {
                "startUrl": start_url,
                "region": "us-east-1",
                "accessToken": got["accessToken"],
                "expiresAt": _iso(now() + dt.timedelta(minutes=5)),
                "clientId": client["clientId"],
                "clientSecret": client["clientSecret"],
                "registrationExpiresAt": _iso(dt.datetime.fromtimestamp(client["clientSecretExpiresAt"], dt.UTC)),
                "refreshToken": got["refreshToken"],
            }
        )
    )
    ran = subprocess.run(
        [sys.executable, "-c", PROFILE_SCRIPT],
        env=_env(tmp_path, server),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    arn, denied = (json.loads(line) for line in ran.stdout.splitlines())
    assert re.fullmatch(
        rf"arn:aws:sts::{inst.account_id}:assumed-role/AWSReservedSSO_ReadRoles_[0-9a-f]{{16}}/dave", arn
    )
    assert "AccessDenied" in denied
    # botocore refreshed the token (CreateToken, refresh_token grant) and saved the rotated pair
    saved = json.loads(cached.read_text())
    assert saved["accessToken"] != got["accessToken"] and saved["accessToken"].startswith("aoa")
    assert saved["refreshToken"] != got["refreshToken"] and saved["refreshToken"].startswith("aor")
    expires = dt.datetime.fromisoformat(saved["expiresAt"].replace("Z", "+00:00"))
    assert dt.timedelta(minutes=55) < expires - now() <= dt.timedelta(hours=1)


def test_javascript_sdk_sso_provider(oidc: Any, server: Server, store: Store, tmp_path: Path) -> None:
    """``@aws-sdk/credential-provider-sso`` (``fromSSO``, pinned in tests/js) resolving the same kind of
    profile from the cache the CLI writes, then STS GetCallerIdentity with the credentials."""
    node = shutil.which("node")
    script = Path(__file__).resolve().parent.parent / "js" / "sso_credentials.mjs"
    if node is None or not (script.parent / "node_modules" / "@aws-sdk" / "credential-provider-sso").exists():
        pytest.fail("Node.js and tests/js's node_modules (npm ci) are needed")
    inst = new_instance(server, "sdk-js")
    user_id = add_user(inst, "erin")
    _assign(inst, "ReadRoles", "USER", user_id)
    start_url = _config(tmp_path, server, inst, "ReadRoles")
    client, got = device_tokens(oidc, server, inst, store, user_id, scopes=[ACCOUNT_ACCESS])
    cache_dir = tmp_path / ".aws" / "sso" / "cache"
    cache_dir.mkdir(parents=True)
    (cache_dir / (hashlib.sha1(b"corp").hexdigest() + ".json")).write_text(
        json.dumps(
            {
                "startUrl": start_url,
                "region": "us-east-1",
                "accessToken": got["accessToken"],
                "expiresAt": _iso(now() + dt.timedelta(seconds=got["expiresIn"])),
                "clientId": client["clientId"],
                "clientSecret": client["clientSecret"],
                "registrationExpiresAt": _iso(dt.datetime.fromtimestamp(client["clientSecretExpiresAt"], dt.UTC)),
                "refreshToken": got["refreshToken"],
            }
        )
    )
    env = {
        **_env(tmp_path, server),
        "AWS_PROFILE": "dev",
        "AWS_ENDPOINT_URL_SSO": server.url,
        "AWS_ENDPOINT_URL_SSO_OIDC": server.url,
        "OSTIARY_URL": server.url,
    }
    ran = subprocess.run([node, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr[-3000:]
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result["Account"] == inst.account_id
    assert re.fullmatch(
        rf"arn:aws:sts::{inst.account_id}:assumed-role/AWSReservedSSO_ReadRoles_[0-9a-f]{{16}}/erin", result["Arn"]
    )
    expires = dt.datetime.fromisoformat(result["Expiration"].replace("Z", "+00:00"))
    assert dt.timedelta(minutes=55) < expires - now() <= dt.timedelta(hours=1)
