"""MFA through boto3: TOTP enrolment (by access token and by the MFA_SETUP challenge) and sign-in
with pyotp-generated codes, SMS and email codes read from the development outbox, SELECT_MFA_TYPE,
code reuse and stale codes refused, attempt limits, AdminDeleteSoftwareToken."""

from __future__ import annotations

import json
import time
from typing import Any

import pyotp
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.userpools.conftest import PASSWORD, PoolSetup, create_confirmed_user, make_pool, outbox_code

SMS_CONFIG = {"SnsCallerArn": "arn:aws:iam::123456789012:role/sns", "ExternalId": "x"}


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def _sign_in(s: PoolSetup, username: str, password: str = PASSWORD) -> dict[str, Any]:
    out: dict[str, Any] = s.idp.initiate_auth(
        ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": password}
    )
    return out


def _respond(s: PoolSetup, challenge: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = s.idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName=challenge["ChallengeName"],
        Session=challenge["Session"],
        ChallengeResponses=answers,
    )
    return out


_LAST_STEP: dict[str, int] = {}


def _fresh_code(secret: str) -> str:
    """A code of a time step the server has not seen yet: the current one, or the next (the server
    accepts one step either side), so that no test waits for the clock."""
    step = max(int(time.time()) // 30, _LAST_STEP.get(secret, -1) + 1)
    _LAST_STEP[secret] = step
    return str(pyotp.TOTP(secret).at(step * 30 + 1))


def _totp_pool(idp: Any, mode: str) -> PoolSetup:
    s = make_pool(idp)
    idp.set_user_pool_mfa_config(
        UserPoolId=s.pool_id, MfaConfiguration=mode, SoftwareTokenMfaConfiguration={"Enabled": True}
    )
    return s


def test_totp_enrolment_with_an_access_token_and_sign_in(idp: Any) -> None:
    s = _totp_pool(idp, "OPTIONAL")
    create_confirmed_user(s, "tomas")
    access = _sign_in(s, "tomas")["AuthenticationResult"]["AccessToken"]  # OPTIONAL, nothing enabled: no MFA
    secret = idp.associate_software_token(AccessToken=access)["SecretCode"]
    assert len(secret) == 32
    with pytest.raises(ClientError) as exc:
        idp.verify_software_token(AccessToken=access, UserCode="000000")
    assert _err(exc)[0] == "EnableSoftwareTokenMFAException"
    with pytest.raises(ClientError) as exc:
        idp.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True})
    assert _err(exc)[0] == "InvalidParameterException"  # not verified yet
    first = pyotp.TOTP(secret).now()
    assert idp.verify_software_token(AccessToken=access, UserCode=first, FriendlyDeviceName="phone")["Status"] == (
        "SUCCESS"
    )
    _LAST_STEP[secret] = int(time.time()) // 30
    idp.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    me = idp.get_user(AccessToken=access)
    assert me["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"] and me["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"

    challenge = _sign_in(s, "tomas")
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA" and "AuthenticationResult" not in challenge
    with pytest.raises(ClientError) as exc:
        _respond(s, challenge, {"USERNAME": "tomas", "SOFTWARE_TOKEN_MFA_CODE": first})  # already used
    assert _err(exc) == ("ExpiredCodeException", "Your software token has already been used once.")
    stale = pyotp.TOTP(secret).at(time.time() - 300)
    with pytest.raises(ClientError) as exc:
        _respond(s, challenge, {"USERNAME": "tomas", "SOFTWARE_TOKEN_MFA_CODE": stale})
    assert _err(exc)[0] == "CodeMismatchException"
    code = _fresh_code(secret)
    result = _respond(s, challenge, {"USERNAME": "tomas", "SOFTWARE_TOKEN_MFA_CODE": code})["AuthenticationResult"]
    assert result["AccessToken"] and result["RefreshToken"]
    # the same code does not sign in twice
    again = _sign_in(s, "tomas")
    with pytest.raises(ClientError) as exc:
        _respond(s, again, {"USERNAME": "tomas", "SOFTWARE_TOKEN_MFA_CODE": code})
    assert _err(exc)[0] == "ExpiredCodeException"

    idp.admin_delete_software_token(UserPoolId=s.pool_id, Username="tomas")
    assert "AuthenticationResult" in _sign_in(s, "tomas")
    assert "UserMFASettingList" not in idp.admin_get_user(UserPoolId=s.pool_id, Username="tomas")


def test_mfa_setup_challenge_when_mfa_is_required(idp: Any) -> None:
    s = _totp_pool(idp, "ON")
    create_confirmed_user(s, "uma")
    setup = _sign_in(s, "uma")
    assert setup["ChallengeName"] == "MFA_SETUP"
    assert setup["ChallengeParameters"]["MFAS_CAN_SETUP"] == '["SOFTWARE_TOKEN_MFA"]'
    associated = idp.associate_software_token(Session=setup["Session"])
    secret = associated["SecretCode"]
    verified = idp.verify_software_token(Session=associated["Session"], UserCode=pyotp.TOTP(secret).now())
    _LAST_STEP[secret] = int(time.time()) // 30
    done = idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="MFA_SETUP",
        Session=verified["Session"],
        ChallengeResponses={"USERNAME": "uma"},
    )
    assert done["AuthenticationResult"]["IdToken"]
    challenge = _sign_in(s, "uma")
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    # three wrong codes end the session
    for _ in range(2):
        with pytest.raises(ClientError) as exc:
            _respond(s, challenge, {"USERNAME": "uma", "SOFTWARE_TOKEN_MFA_CODE": "123456"})
        assert _err(exc)[0] == "CodeMismatchException"
    with pytest.raises(ClientError) as exc:
        _respond(s, challenge, {"USERNAME": "uma", "SOFTWARE_TOKEN_MFA_CODE": "123456"})
    assert _err(exc)[0] == "NotAuthorizedException"
    with pytest.raises(ClientError) as exc:
        _respond(s, challenge, {"USERNAME": "uma", "SOFTWARE_TOKEN_MFA_CODE": _fresh_code(secret)})
    assert _err(exc)[0] == "NotAuthorizedException"


def test_sms_and_email_codes_and_select_mfa_type(dev_server: Server) -> None:
    idp = dev_server.client("cognito-idp")
    s = make_pool(idp)
    idp.set_user_pool_mfa_config(
        UserPoolId=s.pool_id,
        MfaConfiguration="ON",
        SmsMfaConfiguration={"SmsAuthenticationMessage": "Sign-in code {####}", "SmsConfiguration": SMS_CONFIG},
        EmailMfaConfiguration={"Message": "Your code: {####}", "Subject": "Sign in"},
        SoftwareTokenMfaConfiguration={"Enabled": True},
    )
    create_confirmed_user(s, "sara", phone_number="+15555550123", email="sara@example.com")
    challenge = _sign_in(s, "sara")  # ON, nothing chosen, a phone number: SMS
    assert challenge["ChallengeName"] == "SMS_MFA"
    params = challenge["ChallengeParameters"]
    assert params["CODE_DELIVERY_DELIVERY_MEDIUM"] == "SMS" and params["CODE_DELIVERY_DESTINATION"].endswith("0123")
    with pytest.raises(ClientError) as exc:
        _respond(s, challenge, {"USERNAME": "sara", "SMS_MFA_CODE": "000000"})
    assert _err(exc) == ("CodeMismatchException", "Invalid code or auth state for the user.")
    code = outbox_code(dev_server, "+15555550123")
    tokens = _respond(s, challenge, {"USERNAME": "sara", "SMS_MFA_CODE": code})["AuthenticationResult"]
    with pytest.raises(ClientError) as exc:  # the session is spent
        _respond(s, challenge, {"USERNAME": "sara", "SMS_MFA_CODE": code})
    assert _err(exc)[0] == "NotAuthorizedException"

    idp.set_user_mfa_preference(
        AccessToken=tokens["AccessToken"],
        SMSMfaSettings={"Enabled": True},
        EmailMfaSettings={"Enabled": True},
    )
    select = _sign_in(s, "sara")
    assert select["ChallengeName"] == "SELECT_MFA_TYPE"
    assert set(json.loads(select["ChallengeParameters"]["MFAS_CAN_CHOOSE"])) == {"SMS_MFA", "EMAIL_OTP"}
    email = _respond(s, select, {"USERNAME": "sara", "ANSWER": "EMAIL_OTP"})
    assert email["ChallengeName"] == "EMAIL_OTP"
    assert email["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "EMAIL"
    code = outbox_code(dev_server, "sara@example.com")
    assert _respond(s, email, {"USERNAME": "sara", "EMAIL_OTP_CODE": code})["AuthenticationResult"]["AccessToken"]

    idp.admin_set_user_mfa_preference(
        UserPoolId=s.pool_id, Username="sara", EmailMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    assert _sign_in(s, "sara")["ChallengeName"] == "EMAIL_OTP"
    got = idp.admin_get_user(UserPoolId=s.pool_id, Username="sara")
    assert got["PreferredMfaSetting"] == "EMAIL_OTP" and set(got["UserMFASettingList"]) == {"SMS_MFA", "EMAIL_OTP"}
