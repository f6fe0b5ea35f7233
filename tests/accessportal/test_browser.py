"""The access portal in a real browser (Playwright + Chromium, as tests/oauth/test_browser.py): sign-in
with a password set by the CLI, a one-time password replaced at the first sign-in, authenticator
enrolment when the instance requires MFA (pyotp), the accounts page with a permission set assigned
through sso-admin and its programmatic-access panel, whose keys then work with boto3, sign-out; the
device-code approval page (boto3 sso-oidc StartDeviceAuthorization → approve in the browser →
CreateToken). Every page is saved as a screenshot (``screenshots/portal-*.png``)."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pyotp
import pytest
from playwright.sync_api import expect

from tests.accessportal.conftest import Person, add_user, cli, portal_user, set_password, start_url
from tests.accessportal.test_authorize import authorize_url, pkce
from tests.conftest import REGION, Server
from tests.oauth.test_browser import browser, page, shot  # noqa: F401 - fixtures
from tests.ssoadmin.conftest import Instance, new_instance

NEW_PASSWORD = "Chosen-Passw0rd!"
ALLOW_STS = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}
)


def sign_in(page: Any, person: Person, password: str | None = None) -> None:  # noqa: F811
    page.get_by_label("Username").fill(person.user_name)
    page.get_by_label("Password").fill(password or person.password)
    page.get_by_role("button", name="Sign in").click()


def assign(instance: Instance, person: Person, name: str) -> str:
    """A permission set ``name`` (IAM ListRoles allowed) assigned to ``person`` in the instance's account."""
    admin = instance.client("sso-admin")
    ps = admin.create_permission_set(InstanceArn=instance.instance_arn, Name=name)["PermissionSet"]["PermissionSetArn"]
    admin.put_inline_policy_to_permission_set(
        InstanceArn=instance.instance_arn, PermissionSetArn=ps, InlinePolicy=ALLOW_STS
    )
    status = admin.create_account_assignment(
        InstanceArn=instance.instance_arn,
        TargetId=instance.account_id,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="USER",
        PrincipalId=person.user_id,
    )["AccountAssignmentCreationStatus"]
    assert status["Status"] == "SUCCEEDED", status
    return str(ps)


def test_sign_in_errors_and_one_time_password(page: Any, portal: Instance) -> None:  # noqa: F811
    person = add_user(portal, "ana")
    set_password(portal, person, "--temporary")
    page.goto(start_url(portal))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "portal-01-sign-in")
    sign_in(page, person, "Wrong-Passw0rd!")
    assert page.get_by_role("alert").inner_text() == "Incorrect username or password."
    shot(page, "portal-02-sign-in-error")
    sign_in(page, person)
    expect(page.get_by_role("heading", name="Set a new password")).to_be_visible()
    shot(page, "portal-03-new-password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("heading", name="AWS accounts")).to_be_visible()
    assert page.get_by_text(f"Signed in as {person.user_name}").is_visible()


def test_authenticator_enrolment_and_sign_in(page: Any, server: Server) -> None:  # noqa: F811
    instance = new_instance(server, "mfa-browser")
    out = cli(server, "sso", "mfa", "--identity-store-id", instance.identity_store_id, "required")
    assert out.returncode == 0, out.stderr
    person = portal_user(instance, "mia")
    page.goto(start_url(instance))
    sign_in(page, person)
    expect(page.get_by_role("heading", name="Register an authenticator app")).to_be_visible()
    shot(page, "portal-04-totp-setup")
    key = page.locator("#secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(key)
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Register and continue").click()
    expect(page.get_by_role("heading", name="AWS accounts")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have been signed out.")).to_be_visible()
    sign_in(page, person)
    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    shot(page, "portal-05-totp")
    page.get_by_label("Code from your authenticator app").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("The code is not correct")
    page.get_by_label("Code from your authenticator app").fill(totp.at(int(time.time()) + 30))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="AWS accounts")).to_be_visible()


def test_accounts_page_and_programmatic_access(page: Any, server: Server) -> None:  # noqa: F811
    instance = new_instance(server, "accounts-browser")
    person = portal_user(instance, "leo")
    assign(instance, person, "Developer")
    admin = instance.client("sso-admin")
    wiki = admin.create_application(
        InstanceArn=instance.instance_arn,
        ApplicationProviderArn="arn:aws:sso::aws:applicationProvider/custom-saml",
        Name="Team wiki",
    )["ApplicationArn"]
    admin.create_application_assignment(ApplicationArn=wiki, PrincipalId=person.user_id, PrincipalType="USER")
    page.goto(start_url(instance))
    sign_in(page, person)
    expect(page.get_by_role("heading", name="AWS accounts")).to_be_visible()
    expect(page.get_by_text(instance.account_id)).to_be_visible()
    expect(page.get_by_text("Developer")).to_be_visible()
    expect(page.get_by_role("link", name="Team wiki")).to_have_attribute(
        "href", re.compile(rf"/start/{instance.identity_store_id}/saml/applications/apl-[0-9a-f]{{16}}$")
    )
    shot(page, "portal-06-accounts")
    page.get_by_role("button", name=re.compile("Access keys for Developer")).click()
    expect(page.get_by_role("heading", name="Get credentials for Developer")).to_be_visible()
    shot(page, "portal-07-credentials")
    env = page.locator("#env").inner_text()
    values = dict(re.findall(r'export (AWS_\w+)="([^"]+)"', env))
    assert set(values) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
    assert values["AWS_ACCESS_KEY_ID"] in page.locator("#credentials-file").inner_text()
    keys = {
        "aws_access_key_id": values["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": values["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": values["AWS_SESSION_TOKEN"],
    }
    sts = boto3.client("sts", endpoint_url=server.url, region_name=REGION, **keys)
    arn = sts.get_caller_identity()["Arn"]
    sts.close()
    assert re.fullmatch(
        rf"arn:aws:sts::{instance.account_id}:assumed-role/AWSReservedSSO_Developer_[0-9a-f]{{16}}/{person.user_name}",
        arn,
    ), arn
    iam = boto3.client("iam", endpoint_url=server.url, region_name=REGION, **keys)
    iam.list_roles()  # the permission set allows it
    with pytest.raises(iam.exceptions.ClientError) as denied:
        iam.create_user(UserName="not-allowed-" + secrets.token_hex(2))
    iam.close()
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    page.get_by_role("link", name="Back to AWS accounts").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have been signed out.")).to_be_visible()
    shot(page, "portal-08-signed-out")


def test_device_code_approval(page: Any, server: Server) -> None:  # noqa: F811
    instance = new_instance(server, "device-browser")
    person = portal_user(instance, "dev")
    oidc = boto3.client("sso-oidc", endpoint_url=server.url, region_name=REGION)
    client = oidc.register_client(clientName="ostiary-test-cli", clientType="public")
    auth = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=start_url(instance)
    )
    with pytest.raises(oidc.exceptions.AuthorizationPendingException):
        oidc.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="urn:ietf:params:oauth:grant-type:device_code",
            deviceCode=auth["deviceCode"],
        )
    page.goto(auth["verificationUri"])
    expect(page.get_by_role("heading", name="Authorize request")).to_be_visible()
    shot(page, "portal-09-device-code")
    page.get_by_label("Code").fill(auth["userCode"])
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in(page, person)
    expect(page.get_by_role("heading", name="Authorize request: ostiary-test-cli")).to_be_visible()
    assert page.locator("#shown-code").inner_text() == auth["userCode"]
    shot(page, "portal-10-device-consent")
    page.get_by_role("button", name="Allow access").click()
    expect(page.get_by_role("heading", name="Request approved")).to_be_visible()
    shot(page, "portal-11-device-approved")
    token, interval = None, auth["interval"]
    deadline = time.monotonic() + 60
    while token is None and time.monotonic() < deadline:
        try:
            token = oidc.create_token(
                clientId=client["clientId"],
                clientSecret=client["clientSecret"],
                grantType="urn:ietf:params:oauth:grant-type:device_code",
                deviceCode=auth["deviceCode"],
            )
        except oidc.exceptions.SlowDownException:  # polled too soon: 5 s more each time, as botocore does
            interval += 5
            time.sleep(interval)
    assert token is not None and token["accessToken"] and token["tokenType"] == "Bearer"
    sso = boto3.client("sso", endpoint_url=server.url, region_name=REGION)
    assert sso.list_accounts(accessToken=token["accessToken"])["accountList"] == []
    sso.close()
    oidc.close()


def test_forgot_password_page_and_small_screen(browser: Any, portal: Instance) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 760})
    small = context.new_page()
    small.goto(start_url(portal))
    expect(small.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(small, "portal-12-sign-in-mobile")
    small.get_by_role("link", name="Forgot password?").click()
    expect(small.get_by_role("heading", name="Forgot password")).to_be_visible()
    small.get_by_label("Username").fill("someone")
    small.get_by_role("button", name="Send link").click()
    expect(small.locator("#sent")).to_be_visible()
    shot(small, "portal-13-forgot-password")
    context.close()


def test_aws_sso_login_authorization_code(page: Any, server: Server) -> None:  # noqa: F811
    """``aws sso login``'s PKCE flow in the browser: the CLI's /authorize URL, sign-in, consent, back to
    the CLI's loopback callback with code and state, then CreateToken with the verifier."""
    instance = new_instance(server, "pkce-browser")
    person = portal_user(instance, "kim")
    callback = _Callback()
    oidc = boto3.client("sso-oidc", endpoint_url=server.url, region_name=REGION)
    try:
        client = oidc.register_client(
            clientName="botocore-client-kim",
            clientType="public",
            grantTypes=["authorization_code", "refresh_token"],
            redirectUris=["http://127.0.0.1/oauth/callback"],
            issuerUrl=start_url(instance),
            scopes=["sso:account:access"],
        )
        verifier, challenge = pkce()
        state = secrets.token_hex(8)
        page.goto(authorize_url(instance, client["clientId"], callback.port, state, challenge))
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        sign_in(page, person)
        expect(page.get_by_role("heading", name="Authorize request: botocore-client-kim")).to_be_visible()
        shot(page, "portal-14-authorize")
        page.get_by_role("button", name="Allow access").click()
        page.wait_for_url(f"http://127.0.0.1:{callback.port}/oauth/callback?**")
        got = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
        assert got["state"] == state
        token = oidc.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="authorization_code",
            redirectUri=f"http://127.0.0.1:{callback.port}/oauth/callback",
            codeVerifier=verifier,
            code=got["code"],
        )
        assert token["accessToken"] and token["refreshToken"]
    finally:
        oidc.close()
        callback.close()


class _Callback:
    """The CLI's loopback server: answers any GET with a small page."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b"<!doctype html><title>done</title><p>You can close this window."
                self.send_response(200)
                self.send_header("content-type", "text/html")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.httpd.server_address[1])
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
