"""Threat protection with boto3 against a live server: risk configurations, sign-in events in AUDIT
and ENFORCED mode, event feedback, and the always-block / always-allow address lists (the tests
run on loopback, so 127.0.0.0/8 is the caller's range)."""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pyotp
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

from ostiary.crypto.secrets import SecretBox
from ostiary.userpools.threat_protection import feedback_token
from tests.conftest import REGION, Server
from tests.userpools.conftest import PASSWORD, PoolSetup, create_confirmed_user, make_pool

BLOCKED = "Request not allowed due to security reasons."
NOT_ENABLED = "Advanced security features are not enabled for this user pool."


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def _unsigned(server: Server) -> Any:
    return boto3.client(
        "cognito-idp", endpoint_url=server.url, region_name=REGION, config=Config(signature_version=UNSIGNED)
    )


def _sign_in(s: PoolSetup, username: str, password: str = PASSWORD) -> dict[str, Any]:
    out: dict[str, Any] = s.idp.initiate_auth(
        ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": password}
    )
    return out


def _events(s: PoolSetup, username: str, **kwargs: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = s.idp.admin_list_user_auth_events(UserPoolId=s.pool_id, Username=username, **kwargs)[
        "AuthEvents"
    ]
    return out


@contextlib.contextmanager
def _pool(idp: Any, mode: str, **pool_args: Any) -> Iterator[PoolSetup]:
    args = {"UserPoolAddOns": {"AdvancedSecurityMode": mode}, "UserPoolTier": "PLUS", **pool_args}
    s = make_pool(idp, args)
    try:
        yield s
    finally:
        with contextlib.suppress(Exception):
            idp.delete_user_pool(UserPoolId=s.pool_id)


def test_off_records_nothing_and_refuses_the_threat_protection_calls(idp: Any) -> None:
    with _pool(idp, "OFF") as s:
        create_confirmed_user(s, "olga")
        assert "AuthenticationResult" in _sign_in(s, "olga")
        calls = [
            lambda: idp.admin_list_user_auth_events(UserPoolId=s.pool_id, Username="olga"),
            lambda: idp.describe_risk_configuration(UserPoolId=s.pool_id),
            lambda: idp.set_risk_configuration(UserPoolId=s.pool_id),
            lambda: idp.admin_update_auth_event_feedback(
                UserPoolId=s.pool_id, Username="olga", EventId="e1", FeedbackValue="Valid"
            ),
        ]
        for call in calls:
            with pytest.raises(ClientError) as exc:
                call()
            assert _err(exc) == ("UserPoolAddOnNotEnabledException", NOT_ENABLED)


def test_audit_records_each_sign_in_newest_first(server: Server, idp: Any) -> None:
    with _pool(idp, "AUDIT") as s:
        create_confirmed_user(s, "alma")
        assert _events(s, "alma") == []
        assert "AuthenticationResult" in _sign_in(s, "alma")
        with pytest.raises(ClientError) as exc:
            _sign_in(s, "alma", "Wrong-Horse!1")
        assert _err(exc) == ("NotAuthorizedException", "Incorrect username or password.")
        # SRP: a right proof is a Pass too
        srp_client = AWSSRP(
            username="alma", password=PASSWORD, pool_id=s.pool_id, client_id=s.client_id, client=_unsigned(server)
        )
        assert "AuthenticationResult" in srp_client.authenticate_user()

        events = _events(s, "alma")
        assert [e["EventResponse"] for e in events] == ["Pass", "Fail", "Pass"]
        assert [e["CreationDate"] for e in events] == sorted((e["CreationDate"] for e in events), reverse=True)
        for e in events:
            assert e["EventType"] == "SignIn"
            assert e["EventRisk"] == {"RiskDecision": "NoRisk", "CompromisedCredentialsDetected": False}
            assert e["EventContextData"]["IpAddress"] == "127.0.0.1"  # and DeviceName (adaptive authentication)
            assert "EventFeedback" not in e
        assert events[1]["ChallengeResponses"] == [{"ChallengeName": "Password", "ChallengeResponse": "Failure"}]
        assert events[2]["ChallengeResponses"] == [{"ChallengeName": "Password", "ChallengeResponse": "Success"}]
        # an alias or the sub names the user as well; an unknown user is an error
        sub = idp.admin_get_user(UserPoolId=s.pool_id, Username="alma")["UserAttributes"]
        sub_value = next(a["Value"] for a in sub if a["Name"] == "sub")
        assert [e["EventId"] for e in _events(s, sub_value)] == [e["EventId"] for e in events]
        with pytest.raises(ClientError) as exc:
            _events(s, "nobody")
        assert _err(exc)[0] == "UserNotFoundException"

        # paging: MaxResults, then NextToken, until the last page has no token
        seen: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"MaxResults": 2}
            if token:
                kwargs["NextToken"] = token
            page = idp.admin_list_user_auth_events(UserPoolId=s.pool_id, Username="alma", **kwargs)
            seen += [e["EventId"] for e in page["AuthEvents"]]
            token = page.get("NextToken")
            if not token:
                break
        assert seen == [e["EventId"] for e in events]
        with pytest.raises(ClientError) as exc:
            idp.admin_list_user_auth_events(UserPoolId=s.pool_id, Username="alma", NextToken="not-a-token")
        assert _err(exc)[0] == "InvalidParameterException"


def test_feedback_from_the_admin_and_from_the_user(server: Server, idp: Any) -> None:
    with _pool(idp, "AUDIT") as s:
        create_confirmed_user(s, "fern")
        _sign_in(s, "fern")
        with pytest.raises(ClientError):
            _sign_in(s, "fern", "Wrong-Horse!1")
        newest, older = _events(s, "fern")

        idp.admin_update_auth_event_feedback(
            UserPoolId=s.pool_id, Username="fern", EventId=older["EventId"], FeedbackValue="Valid"
        )
        box = SecretBox(base64.b64decode((server.data_dir / "kek").read_text().strip()))
        token = feedback_token(box, s.pool_id, newest["EventId"])
        app = _unsigned(server)
        with pytest.raises(ClientError) as exc:  # the token of another event
            app.update_auth_event_feedback(
                UserPoolId=s.pool_id,
                Username="fern",
                EventId=newest["EventId"],
                FeedbackToken=feedback_token(box, s.pool_id, older["EventId"]),
                FeedbackValue="Invalid",
            )
        assert _err(exc)[0] == "NotAuthorizedException"
        app.update_auth_event_feedback(
            UserPoolId=s.pool_id,
            Username="fern",
            EventId=newest["EventId"],
            FeedbackToken=token,
            FeedbackValue="Invalid",
        )
        newest, older = _events(s, "fern")
        assert older["EventFeedback"]["FeedbackValue"] == "Valid"
        assert older["EventFeedback"]["Provider"] == "Admin"
        assert newest["EventFeedback"]["FeedbackValue"] == "Invalid"
        assert newest["EventFeedback"]["Provider"] == "User"
        assert newest["EventFeedback"]["FeedbackDate"] >= newest["CreationDate"]

        with pytest.raises(ClientError) as exc:
            idp.admin_update_auth_event_feedback(
                UserPoolId=s.pool_id, Username="fern", EventId="no-such-event", FeedbackValue="Valid"
            )
        assert _err(exc)[0] == "ResourceNotFoundException"
        create_confirmed_user(s, "other")
        with pytest.raises(ClientError) as exc:  # another user's event
            idp.admin_update_auth_event_feedback(
                UserPoolId=s.pool_id, Username="other", EventId=newest["EventId"], FeedbackValue="Valid"
            )
        assert _err(exc)[0] == "ResourceNotFoundException"


def _fresh_code(secret: str, last: dict[str, int]) -> str:
    step = max(int(time.time()) // 30, last.get(secret, -1) + 1)
    last[secret] = step
    return str(pyotp.TOTP(secret).at(step * 30 + 1))


def test_an_mfa_sign_in_is_in_progress_until_the_code(idp: Any) -> None:
    with _pool(idp, "AUDIT") as s:
        idp.set_user_pool_mfa_config(
            UserPoolId=s.pool_id, MfaConfiguration="OPTIONAL", SoftwareTokenMfaConfiguration={"Enabled": True}
        )
        create_confirmed_user(s, "mira")
        access = _sign_in(s, "mira")["AuthenticationResult"]["AccessToken"]
        secret = idp.associate_software_token(AccessToken=access)["SecretCode"]
        last: dict[str, int] = {}
        idp.verify_software_token(AccessToken=access, UserCode=_fresh_code(secret, last))
        idp.set_user_mfa_preference(
            AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )

        challenge = _sign_in(s, "mira")
        assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
        assert _events(s, "mira")[0]["EventResponse"] == "InProgress"
        with pytest.raises(ClientError) as exc:  # a wrong code leaves the attempt open
            idp.respond_to_auth_challenge(
                ClientId=s.client_id,
                ChallengeName="SOFTWARE_TOKEN_MFA",
                Session=challenge["Session"],
                ChallengeResponses={"USERNAME": "mira", "SOFTWARE_TOKEN_MFA_CODE": "000000"},
            )
        assert _err(exc)[0] == "CodeMismatchException"
        assert _events(s, "mira")[0]["EventResponse"] == "InProgress"
        idp.respond_to_auth_challenge(
            ClientId=s.client_id,
            ChallengeName="SOFTWARE_TOKEN_MFA",
            Session=challenge["Session"],
            ChallengeResponses={"USERNAME": "mira", "SOFTWARE_TOKEN_MFA_CODE": _fresh_code(secret, last)},
        )
        newest = _events(s, "mira")[0]
        assert newest["EventResponse"] == "Pass"
        assert newest["ChallengeResponses"] == [
            {"ChallengeName": "Password", "ChallengeResponse": "Success"},
            {"ChallengeName": "Mfa", "ChallengeResponse": "Success"},
        ]


def test_blocked_range_refuses_sign_in_when_enforced(server: Server, idp: Any) -> None:
    with _pool(idp, "ENFORCED") as s:
        create_confirmed_user(s, "bo")
        idp.set_risk_configuration(
            UserPoolId=s.pool_id, RiskExceptionConfiguration={"BlockedIPRangeList": ["10.0.0.0/8", "127.0.0.0/8"]}
        )
        with pytest.raises(ClientError) as exc:
            _sign_in(s, "bo")
        assert _err(exc) == ("NotAuthorizedException", BLOCKED)
        with pytest.raises(ClientError) as exc:
            idp.admin_initiate_auth(
                UserPoolId=s.pool_id,
                ClientId=s.client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": "bo", "PASSWORD": PASSWORD},
            )
        assert _err(exc) == ("NotAuthorizedException", BLOCKED)
        srp_client = AWSSRP(
            username="bo", password=PASSWORD, pool_id=s.pool_id, client_id=s.client_id, client=_unsigned(server)
        )
        with pytest.raises(ClientError) as exc:
            srp_client.authenticate_user()
        assert _err(exc) == ("NotAuthorizedException", BLOCKED)
        events = _events(s, "bo")
        assert len(events) == 3
        assert all(e["EventResponse"] == "Fail" and e["EventRisk"] == {"RiskDecision": "Block"} for e in events)
        assert all(e["ChallengeResponses"] == [] for e in events)

        # the always-allow list wins over the always-block list
        idp.set_risk_configuration(
            UserPoolId=s.pool_id,
            RiskExceptionConfiguration={"BlockedIPRangeList": ["127.0.0.0/8"], "SkippedIPRangeList": ["127.0.0.1/32"]},
        )
        assert "AuthenticationResult" in _sign_in(s, "bo")

        # a client-level configuration replaces the pool's
        idp.set_risk_configuration(
            UserPoolId=s.pool_id, RiskExceptionConfiguration={"BlockedIPRangeList": ["127.0.0.0/8"]}
        )
        idp.set_risk_configuration(
            UserPoolId=s.pool_id, ClientId=s.client_id, RiskExceptionConfiguration={"BlockedIPRangeList": []}
        )
        assert "AuthenticationResult" in _sign_in(s, "bo")
        # UserPoolId and ClientId only: the client inherits the pool's configuration again
        reset = idp.set_risk_configuration(UserPoolId=s.pool_id, ClientId=s.client_id)["RiskConfiguration"]
        assert "ClientId" not in reset
        assert reset["RiskExceptionConfiguration"] == {"BlockedIPRangeList": ["127.0.0.0/8"]}
        with pytest.raises(ClientError) as exc:
            _sign_in(s, "bo")
        assert _err(exc) == ("NotAuthorizedException", BLOCKED)
        # UserPoolId only: the pool's configuration returns to its defaults
        assert "RiskExceptionConfiguration" not in idp.set_risk_configuration(UserPoolId=s.pool_id)["RiskConfiguration"]
        assert "AuthenticationResult" in _sign_in(s, "bo")


def test_audit_mode_does_not_block(idp: Any) -> None:
    with _pool(idp, "AUDIT") as s:
        create_confirmed_user(s, "au")
        idp.set_risk_configuration(
            UserPoolId=s.pool_id, RiskExceptionConfiguration={"BlockedIPRangeList": ["0.0.0.0/0"]}
        )
        assert "AuthenticationResult" in _sign_in(s, "au")
        assert _events(s, "au")[0]["EventResponse"] == "Pass"


def test_risk_configuration_round_trip(idp: Any) -> None:
    with _pool(idp, "ENFORCED") as s:
        first = idp.describe_risk_configuration(UserPoolId=s.pool_id)["RiskConfiguration"]
        assert first == {"UserPoolId": s.pool_id}
        takeover = {
            "NotifyConfiguration": {
                "From": "security@example.com",
                "SourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
                "BlockEmail": {"Subject": "Blocked", "TextBody": "We blocked a sign-in."},
            },
            "Actions": {
                "LowAction": {"Notify": False, "EventAction": "NO_ACTION"},
                "MediumAction": {"Notify": True, "EventAction": "MFA_IF_CONFIGURED"},
                "HighAction": {"Notify": True, "EventAction": "BLOCK"},
            },
        }
        compromised = {"EventFilter": ["SIGN_IN", "SIGN_UP"], "Actions": {"EventAction": "BLOCK"}}
        exceptions = {"BlockedIPRangeList": ["192.0.2.0/24", "2001:db8::/32"], "SkippedIPRangeList": ["10.1.0.0/16"]}
        set_out = idp.set_risk_configuration(
            UserPoolId=s.pool_id,
            AccountTakeoverRiskConfiguration=takeover,
            CompromisedCredentialsRiskConfiguration=compromised,
            RiskExceptionConfiguration=exceptions,
        )["RiskConfiguration"]
        described = idp.describe_risk_configuration(UserPoolId=s.pool_id)["RiskConfiguration"]
        assert set_out == described
        assert described["AccountTakeoverRiskConfiguration"] == takeover
        assert described["CompromisedCredentialsRiskConfiguration"] == compromised
        assert described["RiskExceptionConfiguration"] == exceptions
        assert "ClientId" not in described and described["LastModifiedDate"]

        # a client without its own configuration: the pool's applies
        assert idp.describe_risk_configuration(UserPoolId=s.pool_id, ClientId=s.client_id)["RiskConfiguration"] == (
            described
        )
        own = idp.set_risk_configuration(
            UserPoolId=s.pool_id, ClientId=s.client_id, CompromisedCredentialsRiskConfiguration=compromised
        )["RiskConfiguration"]
        assert own["ClientId"] == s.client_id and "RiskExceptionConfiguration" not in own
        assert idp.describe_risk_configuration(UserPoolId=s.pool_id, ClientId=s.client_id)["RiskConfiguration"] == own
        with pytest.raises(ClientError) as exc:
            idp.describe_risk_configuration(UserPoolId=s.pool_id, ClientId="nosuchclient")
        assert _err(exc)[0] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"RiskExceptionConfiguration": {"BlockedIPRangeList": ["not-an-ip/8"]}},
        {"RiskExceptionConfiguration": {"SkippedIPRangeList": ["10.0.0.1"]}},
        {"RiskExceptionConfiguration": {"BlockedIPRangeList": ["10.0.0.0/33"]}},
        {"RiskExceptionConfiguration": {"BlockedIPRangeList": [f"10.0.{i // 256}.{i % 256}/32" for i in range(201)]}},
        {"AccountTakeoverRiskConfiguration": {"Actions": {"HighAction": {"Notify": True, "EventAction": "BLOCK"}}}},
        {
            "AccountTakeoverRiskConfiguration": {
                "NotifyConfiguration": {"SourceArn": "not-an-arn-but-long-enough"},
                "Actions": {"HighAction": {"Notify": True, "EventAction": "BLOCK"}},
            }
        },
    ],
)
def test_risk_configuration_validation(idp: Any, kwargs: dict[str, Any]) -> None:
    with _pool(idp, "AUDIT") as s:
        with pytest.raises(ClientError) as exc:
            idp.set_risk_configuration(UserPoolId=s.pool_id, **kwargs)
        assert _err(exc)[0] == "InvalidParameterException"
        assert idp.describe_risk_configuration(UserPoolId=s.pool_id)["RiskConfiguration"] == {"UserPoolId": s.pool_id}
