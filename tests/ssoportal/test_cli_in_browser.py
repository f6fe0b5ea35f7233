"""The issue's end-to-end path, as a person runs it: ``aws-sso-util login`` (the device flow) prints
a code, the person approves it in Chromium on the access portal (sign-in, "Authorize request", allow),
then the AWS CLI (v1) with the profile: GetCallerIdentity as ``AWSReservedSSO_<ps>_<hex>/<user>``, a
call the permission set allows and one it does not."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.accessportal.conftest import portal_user
from tests.accessportal.test_browser import assign, sign_in
from tests.conftest import Server
from tests.oauth.test_browser import browser, page, shot  # noqa: F401 - fixtures
from tests.ssoadmin.conftest import new_instance
from tests.ssoportal.test_sdk_providers import _config, _env

BIN = Path(sys.executable).parent


def _aws(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "aws"), *args, "--profile", "legacy", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_aws_sso_util_login_approved_in_chromium(page: Any, server: Server, tmp_path: Path) -> None:  # noqa: F811
    instance = new_instance(server, "cli-browser")
    person = portal_user(instance, "cli")
    assign(instance, person, "ListRolesOnly")
    start_url = _config(tmp_path, server, instance, "ListRolesOnly")
    env = _env(tmp_path, server)
    login = subprocess.Popen(
        [str(BIN / "aws-sso-util"), "login", start_url, "us-east-1", "--headless"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert login.stdout is not None
        seen, code = "", None
        deadline = time.monotonic() + 60
        while code is None and time.monotonic() < deadline:
            line = login.stdout.readline()
            if not line:
                break
            seen += line
            found = re.search(r"\b([B-Z]{4}-[B-Z]{4})\b", line)
            code = found.group(1) if found else None
        assert code is not None, seen
        page.goto(f"{server.url}/start/device?user_code={code}")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        sign_in(page, person)
        expect(page.get_by_role("heading", name=re.compile("Authorize request"))).to_be_visible()
        assert page.locator("#shown-code").inner_text() == code
        shot(page, "portal-12-aws-sso-util-consent")
        page.get_by_role("button", name="Allow access").click()
        expect(page.get_by_role("heading", name="Request approved")).to_be_visible()
        out, _ = login.communicate(timeout=60)
        assert login.returncode == 0, seen + out
    finally:
        if login.poll() is None:
            login.kill()
            login.communicate()
    who = _aws(env, "sts", "get-caller-identity")
    assert who.returncode == 0, who.stderr
    arn = json.loads(who.stdout)["Arn"]
    assert re.fullmatch(
        rf"arn:aws:sts::{instance.account_id}:assumed-role/AWSReservedSSO_ListRolesOnly_[0-9a-f]{{16}}/{person.user_name}",
        arn,
    )
    allowed = _aws(env, "iam", "list-roles")
    assert allowed.returncode == 0, allowed.stderr
    denied = _aws(env, "iam", "list-users")
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr
