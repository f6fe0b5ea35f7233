"""Deviations from AWS that moto 5.2.5's cognito-idp suite found (issue 11, items 6 to 11), each
driven through boto3: the LEGACY default of PreventUserExistenceErrors, TOTP enrolment by
VerifySoftwareToken in an MFA_SETUP session, admin MFA/device operations addressed by an alias or
username attribute, a reused TOTP code, AliasExistsException on attribute updates, and the rules of
custom attribute definitions."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest
from botocore.exceptions import ClientError

from tests.userpools.conftest import PASSWORD, PoolSetup, all_flows, create_confirmed_user, make_pool


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


def _sign_in(s: PoolSetup, username: str) -> dict[str, Any]:
    out: dict[str, Any] = s.idp.initiate_auth(
        ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD}
    )
    return out


def _answer_totp(s: PoolSetup, challenge: dict[str, Any], username: str, code: str) -> dict[str, Any]:
    out: dict[str, Any] = s.idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": code},
    )
    return out


# --------------------------------------------------------------------------------------------
# item 6: PreventUserExistenceErrors defaults to LEGACY (botocore model, CreateUserPoolClientRequest:
# "Defaults to LEGACY"; Developer Guide, "Managing user existence error responses")


def test_app_client_prevent_user_existence_errors_defaults_to_legacy(idp: Any) -> None:
    s = make_pool(idp)
    described = idp.describe_user_pool_client(UserPoolId=s.pool_id, ClientId=s.client_id)["UserPoolClient"]
    assert described["PreventUserExistenceErrors"] == "LEGACY"
    with pytest.raises(ClientError) as exc:
        _sign_in(s, "nobody")
    assert _err(exc) == ("UserNotFoundException", "User does not exist.")
    with pytest.raises(ClientError) as exc:
        idp.forgot_password(ClientId=s.client_id, Username="nobody")
    assert _err(exc)[0] == "UserNotFoundException"

    # set explicitly, ENABLED hides the user; an update that omits it goes back to the default
    flows = {"ExplicitAuthFlows": all_flows()}  # an update resets what it omits
    idp.update_user_pool_client(
        UserPoolId=s.pool_id, ClientId=s.client_id, PreventUserExistenceErrors="ENABLED", **flows
    )
    with pytest.raises(ClientError) as exc:
        _sign_in(s, "nobody")
    assert _err(exc) == ("NotAuthorizedException", "Incorrect username or password.")
    updated = idp.update_user_pool_client(UserPoolId=s.pool_id, ClientId=s.client_id, ClientName="renamed", **flows)
    assert updated["UserPoolClient"]["PreventUserExistenceErrors"] == "LEGACY"


# --------------------------------------------------------------------------------------------
# items 7 and 9: VerifySoftwareToken in an MFA_SETUP session enrols the device; a used code is
# ExpiredCodeException


def test_verify_software_token_in_mfa_setup_session_enrols_totp(idp: Any) -> None:
    s = make_pool(idp)
    idp.set_user_pool_mfa_config(
        UserPoolId=s.pool_id, MfaConfiguration="ON", SoftwareTokenMfaConfiguration={"Enabled": True}
    )
    create_confirmed_user(s, "vera")
    setup = _sign_in(s, "vera")
    assert setup["ChallengeName"] == "MFA_SETUP"
    associated = idp.associate_software_token(Session=setup["Session"])
    secret = associated["SecretCode"]
    used = pyotp.TOTP(secret).now()
    verified = idp.verify_software_token(Session=associated["Session"], UserCode=used)
    assert verified["Status"] == "SUCCESS" and verified["Session"]

    # the client does not answer MFA_SETUP: the device is enrolled all the same, as in AWS
    user = idp.admin_get_user(UserPoolId=s.pool_id, Username="vera")
    assert user["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]
    assert user["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"
    challenge = _sign_in(s, "vera")
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"

    # the code VerifySoftwareToken took does not sign in: "already been used once"
    with pytest.raises(ClientError) as exc:
        _answer_totp(s, challenge, "vera", used)
    assert _err(exc) == ("ExpiredCodeException", "Your software token has already been used once.")
    # a code of the next time step (the server accepts one step either side of now) does
    nxt = pyotp.TOTP(secret).at(time.time() + 30)
    result = _answer_totp(s, challenge, "vera", nxt)["AuthenticationResult"]
    assert result["AccessToken"]
    # and is spent too
    again = _sign_in(s, "vera")
    with pytest.raises(ClientError) as exc:
        _answer_totp(s, again, "vera", nxt)
    assert _err(exc) == ("ExpiredCodeException", "Your software token has already been used once.")
    # a wrong code is still a mismatch
    with pytest.raises(ClientError) as exc:
        _answer_totp(s, again, "vera", "000000" if nxt != "000000" else "111111")
    assert _err(exc)[0] == "CodeMismatchException"

    # answering MFA_SETUP after VerifySoftwareToken (the usual client) still completes the sign-in
    create_confirmed_user(s, "walt")
    setup = _sign_in(s, "walt")
    associated = idp.associate_software_token(Session=setup["Session"])
    verified = idp.verify_software_token(
        Session=associated["Session"], UserCode=pyotp.TOTP(associated["SecretCode"]).now()
    )
    done = idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="MFA_SETUP",
        Session=verified["Session"],
        ChallengeResponses={"USERNAME": "walt"},
    )
    assert done["AuthenticationResult"]["IdToken"]
    assert _sign_in(s, "walt")["ChallengeName"] == "SOFTWARE_TOKEN_MFA"


# --------------------------------------------------------------------------------------------
# item 8: admin MFA and device operations find the user by alias or username attribute


def test_admin_mfa_and_device_operations_accept_an_alias(idp: Any) -> None:
    s = make_pool(
        idp,
        {
            "AliasAttributes": ["email", "phone_number"],
            "DeviceConfiguration": {"ChallengeRequiredOnNewDevice": False, "DeviceOnlyRememberedOnUserPrompt": True},
        },
    )
    create_confirmed_user(
        s,
        "ada",
        email="ada@example.com",
        email_verified="true",
        phone_number="+15555550100",
        phone_number_verified="true",
    )
    pid = s.pool_id
    idp.admin_set_user_mfa_preference(
        UserPoolId=pid, Username="ada@example.com", SMSMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    user = idp.admin_get_user(UserPoolId=pid, Username="ada")
    assert user["UserMFASettingList"] == ["SMS_MFA"] and user["PreferredMfaSetting"] == "SMS_MFA"
    idp.admin_set_user_mfa_preference(UserPoolId=pid, Username="+15555550100", SMSMfaSettings={"Enabled": False})
    assert "UserMFASettingList" not in idp.admin_get_user(UserPoolId=pid, Username="ada")
    idp.admin_delete_software_token(UserPoolId=pid, Username="ada@example.com")

    result = _sign_in(s, "ada")["AuthenticationResult"]
    key = result["NewDeviceMetadata"]["DeviceKey"]
    idp.confirm_device(
        AccessToken=result["AccessToken"],
        DeviceKey=key,
        DeviceName="tablet",
        DeviceSecretVerifierConfig={"PasswordVerifier": "AQID" * 64, "Salt": "c2FsdHNhbHQ="},
    )
    listed = idp.admin_list_devices(UserPoolId=pid, Username="ada@example.com")["Devices"]
    assert [d["DeviceKey"] for d in listed] == [key]
    assert idp.admin_get_device(UserPoolId=pid, Username="+15555550100", DeviceKey=key)["Device"]["DeviceKey"] == key
    idp.admin_update_device_status(
        UserPoolId=pid, Username="ada@example.com", DeviceKey=key, DeviceRememberedStatus="remembered"
    )
    got = idp.admin_get_device(UserPoolId=pid, Username="ada", DeviceKey=key)["Device"]
    assert {a["Name"]: a["Value"] for a in got["DeviceAttributes"]}["device_remembered_status"] == "remembered"
    idp.admin_forget_device(UserPoolId=pid, Username="ada@example.com", DeviceKey=key)
    assert idp.admin_list_devices(UserPoolId=pid, Username="ada")["Devices"] == []
    with pytest.raises(ClientError) as exc:
        idp.admin_list_devices(UserPoolId=pid, Username="nobody@example.com")
    assert _err(exc) == ("UserNotFoundException", "User does not exist.")

    # a pool whose username attribute is the email address
    e = make_pool(idp, {"UsernameAttributes": ["email"]})
    create_confirmed_user(e, "bea@example.com", phone_number="+15555550101")
    idp.admin_set_user_mfa_preference(
        UserPoolId=e.pool_id, Username="bea@example.com", SMSMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    assert idp.admin_get_user(UserPoolId=e.pool_id, Username="bea@example.com")["PreferredMfaSetting"] == "SMS_MFA"
    assert idp.admin_list_devices(UserPoolId=e.pool_id, Username="bea@example.com")["Devices"] == []


# --------------------------------------------------------------------------------------------
# item 10: an attribute update that would take another user's alias is AliasExistsException


def test_attribute_update_taking_another_users_alias(idp: Any) -> None:
    e = make_pool(idp, {"UsernameAttributes": ["email"]})
    create_confirmed_user(e, "one@example.com")
    create_confirmed_user(e, "two@example.com")
    taken = [{"Name": "email", "Value": "two@example.com"}]
    with pytest.raises(ClientError) as exc:
        idp.admin_update_user_attributes(UserPoolId=e.pool_id, Username="one@example.com", UserAttributes=taken)
    assert _err(exc) == ("AliasExistsException", "An account with the given email already exists.")
    access = _sign_in(e, "one@example.com")["AuthenticationResult"]["AccessToken"]
    with pytest.raises(ClientError) as exc:
        idp.update_user_attributes(AccessToken=access, UserAttributes=taken)
    assert _err(exc) == ("AliasExistsException", "An account with the given email already exists.")
    attrs = idp.admin_get_user(UserPoolId=e.pool_id, Username="one@example.com")["UserAttributes"]
    assert {a["Name"]: a["Value"] for a in attrs}["email"] == "one@example.com"  # nothing changed

    # email and phone as (verified) aliases
    a = make_pool(idp, {"AliasAttributes": ["email", "phone_number"]})
    create_confirmed_user(a, "cleo", email="cleo@example.com", email_verified="true")
    create_confirmed_user(a, "dora", phone_number="+15555550102", phone_number_verified="true")
    create_confirmed_user(a, "eve")
    for attribute, value, label in (
        ("email", "cleo@example.com", "email"),
        ("phone_number", "+15555550102", "phone_number"),
    ):
        with pytest.raises(ClientError) as exc:
            idp.admin_update_user_attributes(
                UserPoolId=a.pool_id,
                Username="eve",
                UserAttributes=[
                    {"Name": attribute, "Value": value},
                    {"Name": f"{attribute}_verified", "Value": "true"},
                ],
            )
        assert _err(exc) == ("AliasExistsException", f"An account with the given {label} already exists.")
    # an unverified email is not an alias yet: it may be shared
    idp.admin_update_user_attributes(
        UserPoolId=a.pool_id, Username="eve", UserAttributes=[{"Name": "email", "Value": "cleo@example.com"}]
    )


# --------------------------------------------------------------------------------------------
# item 11: custom attribute definitions


def test_custom_attribute_definitions(idp: Any) -> None:
    no_type = "Invalid AttributeDataType input, consider using the provided AttributeDataType enum."
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool(PoolName="no-type", Schema=[{"Name": "custom"}])
    assert _err(exc) == ("InvalidParameterException", no_type)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    s = make_pool(idp)
    with pytest.raises(ClientError) as exc:
        idp.add_custom_attributes(UserPoolId=s.pool_id, CustomAttributes=[{"Name": "flavour"}])
    assert _err(exc) == ("InvalidParameterException", no_type)

    for name, constraints in (
        ("email", {"MinLength": "2049"}),
        ("email", {"MaxLength": "2049"}),
        ("custom:long", {"MinLength": "2049", "MaxLength": "4096"}),
    ):
        bare = name.removeprefix("custom:")
        with pytest.raises(ClientError) as exc:
            idp.create_user_pool(
                PoolName="too-long",
                Schema=[{"Name": bare, "AttributeDataType": "String", "StringAttributeConstraints": constraints}],
            )
        assert _err(exc) == (
            "InvalidParameterException",
            f"user.{name}: String attributes cannot have a length of more than 2048",
        )
    with pytest.raises(ClientError) as exc:
        idp.add_custom_attributes(
            UserPoolId=s.pool_id,
            CustomAttributes=[
                {"Name": "big", "AttributeDataType": "String", "StringAttributeConstraints": {"MaxLength": "2049"}}
            ],
        )
    assert _err(exc) == (
        "InvalidParameterException",
        "user.custom:big: String attributes cannot have a length of more than 2048",
    )
    # the limit itself is fine
    idp.add_custom_attributes(
        UserPoolId=s.pool_id,
        CustomAttributes=[
            {
                "Name": "max",
                "AttributeDataType": "String",
                "StringAttributeConstraints": {"MinLength": "2048", "MaxLength": "2048"},
            }
        ],
    )
    schema = idp.describe_user_pool(UserPoolId=s.pool_id)["UserPool"]["SchemaAttributes"]
    assert next(a for a in schema if a["Name"] == "custom:max")["StringAttributeConstraints"]["MaxLength"] == "2048"
