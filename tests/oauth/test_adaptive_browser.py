"""Adaptive authentication through the hosted UI in Chromium (issue 16): the page's sign-in is scored
like the API's (the browser's own address and agent), an ENFORCED BLOCK shows AWS's message on the
sign-in page, the block e-mail goes out with its one-click links, and "it was me" is recorded."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from playwright.sync_api import expect

from tests.conftest import Server
from tests.oauth.conftest import add_user, make_hosted
from tests.oauth.test_browser import app_url, authorize_url, browser, page, shot, sign_in  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BLOCKED = "Request not allowed due to security reasons."


def test_hosted_sign_in_blocked_by_adaptive_authentication(page: Any, dev_server: Server, app_url: str) -> None:  # noqa: F811
    site = make_hosted(
        dev_server,
        callback=f"{app_url}/callback",
        signed_out=f"{app_url}/signed-out",
        UserPoolAddOns={"AdvancedSecurityMode": "ENFORCED"},
        UserPoolTier="PLUS",
    )
    site.callback = f"{app_url}/callback"
    idp = site.idp
    try:
        block = {"Notify": True, "EventAction": "BLOCK"}
        idp.set_risk_configuration(
            UserPoolId=site.pool_id,
            AccountTakeoverRiskConfiguration={
                "NotifyConfiguration": {
                    "SourceArn": "arn:aws:ses:us-east-1:123456789012:identity/id@example.org",
                    "BlockEmail": {
                        "Subject": "We blocked a sign-in",
                        "TextBody": "{username} on {device-name} from {ip-address}: "
                        "me {one-click-link-valid} not me {one-click-link-invalid}",
                    },
                },
                "Actions": {"LowAction": block, "MediumAction": block, "HighAction": block},
            },
        )
        email = f"hedy-{secrets.token_hex(3)}@example.com"
        add_user(site, "hedy", email=email, email_verified="true")
        # history: a sign-in through the API (agent Boto3), then three wrong passwords
        assert "AuthenticationResult" in idp.initiate_auth(
            ClientId=site.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "hedy", "PASSWORD": "Corr3ct-Horse!"},
        )
        for _ in range(3):
            with pytest.raises(ClientError):
                idp.initiate_auth(
                    ClientId=site.client_id,
                    AuthFlow="USER_PASSWORD_AUTH",
                    AuthParameters={"USERNAME": "hedy", "PASSWORD": "Wrong-Guess!9"},
                )
        # the browser: a new agent family (Chrome) after three failures: Low, and Low blocks here
        page.goto(authorize_url(site, site.client_id))
        sign_in(page, "hedy")
        expect(page.get_by_text(BLOCKED)).to_be_visible()
        shot(page, "adaptive-01-blocked")
        assert not page.url.startswith(site.callback)
        events = idp.admin_list_user_auth_events(UserPoolId=site.pool_id, Username="hedy")["AuthEvents"]
        newest = next(e for e in events if e["EventType"] == "SignIn")
        assert newest["EventResponse"] == "Fail"
        assert newest["EventRisk"]["RiskDecision"] == "AccountTakeover" and newest["EventRisk"]["RiskLevel"] == "Low"
        assert newest["EventContextData"]["DeviceName"].startswith("Chrome")
        # the block e-mail (development outbox) and its "it was me" link, opened in the browser
        r = httpx.get(dev_server.url + "/_ostiary/outbox", params={"destination": email, "limit": 5})
        mail = next(m for m in r.json()["messages"] if m["subject"] == "We blocked a sign-in")
        assert mail["body"].startswith("hedy on Chrome")
        valid = re.search(r"me (\S+/_feedback/auth-event\?\S+)", mail["body"]).group(1)  # type: ignore[union-attr]
        page.goto(valid)
        expect(page.get_by_text("We recorded that this sign-in was you.")).to_be_visible()
        shot(page, "adaptive-02-feedback")
        events = idp.admin_list_user_auth_events(UserPoolId=site.pool_id, Username="hedy")["AuthEvents"]
        assert next(e for e in events if e["EventType"] == "SignIn")["EventFeedback"]["FeedbackValue"] == "Valid"
    finally:
        idp.delete_user_pool_domain(Domain=site.domain, UserPoolId=site.pool_id)
        idp.delete_user_pool(UserPoolId=site.pool_id)


RELAXED = {
    "PasswordPolicy": {
        "MinimumLength": 8,
        "RequireUppercase": False,
        "RequireLowercase": False,
        "RequireNumbers": False,
        "RequireSymbols": False,
    }
}


@pytest.mark.parametrize("mode", ["AUDIT", "ENFORCED"])
def test_hosted_sign_in_with_a_breached_password(page: Any, dev_server: Server, app_url: str, mode: str) -> None:  # noqa: F811
    """A breached password at the hosted UI's sign-in: AUDIT signs the user in and flags the event;
    ENFORCED with BLOCK for SIGN_IN sets the user to RESET_REQUIRED and sends the page to the reset."""
    site = make_hosted(
        dev_server,
        callback=f"{app_url}/callback",
        signed_out=f"{app_url}/signed-out",
        UserPoolAddOns={"AdvancedSecurityMode": mode},
        UserPoolTier="PLUS",
        Policies=RELAXED,
    )
    site.callback = f"{app_url}/callback"
    idp = site.idp
    try:
        idp.set_risk_configuration(
            UserPoolId=site.pool_id,
            CompromisedCredentialsRiskConfiguration={"EventFilter": ["SIGN_IN"], "Actions": {"EventAction": "BLOCK"}},
        )
        add_user(site, "ines", password="password1", email=f"ines-{secrets.token_hex(3)}@example.com")
        page.goto(authorize_url(site, site.client_id))
        sign_in(page, "ines", "password1")
        if mode == "ENFORCED":
            expect(page).to_have_url(re.compile(r"/forgotPassword"))
            shot(page, "compromised-01-reset")
            user = idp.admin_get_user(UserPoolId=site.pool_id, Username="ines")
            assert user["UserStatus"] == "RESET_REQUIRED"
        else:
            expect(page).to_have_url(re.compile("^" + re.escape(site.callback)))
        events = idp.admin_list_user_auth_events(UserPoolId=site.pool_id, Username="ines")["AuthEvents"]
        newest = next(e for e in events if e["EventType"] == "SignIn")
        assert newest["EventRisk"]["CompromisedCredentialsDetected"] is True
        assert newest["EventResponse"] == ("Fail" if mode == "ENFORCED" else "Pass")
    finally:
        idp.delete_user_pool_domain(Domain=site.domain, UserPoolId=site.pool_id)
        idp.delete_user_pool(UserPoolId=site.pool_id)
