"""Choice-based sign-in (AuthFlow USER_AUTH) with boto3: SELECT_CHALLENGE and AvailableChallenges,
a password, SRP (pycognito's math), and one-time codes by email and SMS read from the development
outbox; GetUserAuthFactors and AdminGetUserAuthFactors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

from tests.conftest import Server
from tests.userpools.conftest import PASSWORD, PoolSetup, create_confirmed_user, make_pool, outbox_code


def _pool(srv: Server, **client_args: Any) -> PoolSetup:
    return make_pool(
        srv.client("cognito-idp"),
        {"Policies": {"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "EMAIL_OTP", "SMS_OTP"]}}},
        {"ExplicitAuthFlows": ["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], **client_args},
    )


def _user(s: PoolSetup, name: str) -> None:
    create_confirmed_user(
        s,
        name,
        email=f"{name}@example.com",
        email_verified="true",
        phone_number="+15550100" + str(len(name)).zfill(3),
        phone_number_verified="true",
    )


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_select_challenge_then_email_code(dev_server: Server) -> None:
    s = _pool(dev_server)
    _user(s, "olga")
    start = s.idp.initiate_auth(ClientId=s.client_id, AuthFlow="USER_AUTH", AuthParameters={"USERNAME": "olga"})
    assert start["ChallengeName"] == "SELECT_CHALLENGE"
    assert start["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP"]
    otp = s.idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="SELECT_CHALLENGE",
        Session=start["Session"],
        ChallengeResponses={"USERNAME": "olga", "ANSWER": "EMAIL_OTP"},
    )
    assert otp["ChallengeName"] == "EMAIL_OTP"
    assert otp["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "EMAIL"
    with pytest.raises(ClientError) as exc:
        s.idp.respond_to_auth_challenge(
            ClientId=s.client_id,
            ChallengeName="EMAIL_OTP",
            Session=otp["Session"],
            ChallengeResponses={"USERNAME": "olga", "EMAIL_OTP_CODE": "000000"},
        )
    assert _err(exc)[0] == "CodeMismatchException"
    done = s.idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="EMAIL_OTP",
        Session=otp["Session"],
        ChallengeResponses={"USERNAME": "olga", "EMAIL_OTP_CODE": outbox_code(dev_server, "olga@example.com")},
    )
    assert done["AuthenticationResult"]["AccessToken"]
    factors = s.idp.get_user_auth_factors(AccessToken=done["AuthenticationResult"]["AccessToken"])
    assert factors["Username"] == "olga"
    assert factors["ConfiguredUserAuthFactors"] == ["PASSWORD", "EMAIL_OTP", "SMS_OTP"]


def test_preferred_challenges(dev_server: Server) -> None:
    s = _pool(dev_server)
    _user(s, "pavel")
    # PASSWORD in one request
    done = s.idp.initiate_auth(
        ClientId=s.client_id,
        AuthFlow="USER_AUTH",
        AuthParameters={"USERNAME": "pavel", "PREFERRED_CHALLENGE": "PASSWORD", "PASSWORD": PASSWORD},
    )
    assert done["AuthenticationResult"]["IdToken"]
    with pytest.raises(ClientError) as exc:
        s.idp.initiate_auth(
            ClientId=s.client_id,
            AuthFlow="USER_AUTH",
            AuthParameters={"USERNAME": "pavel", "PREFERRED_CHALLENGE": "PASSWORD", "PASSWORD": "Wrong-Passw0rd!"},
        )
    assert _err(exc) == ("NotAuthorizedException", "Incorrect username or password.")
    # SMS_OTP straight away
    sms = s.idp.initiate_auth(
        ClientId=s.client_id,
        AuthFlow="USER_AUTH",
        AuthParameters={"USERNAME": "pavel", "PREFERRED_CHALLENGE": "SMS_OTP"},
    )
    assert sms["ChallengeName"] == "SMS_OTP"
    done = s.idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="SMS_OTP",
        Session=sms["Session"],
        ChallengeResponses={"USERNAME": "pavel", "SMS_OTP_CODE": outbox_code(dev_server, "+15550100005")},
    )
    assert done["AuthenticationResult"]["RefreshToken"]
    # PASSWORD_SRP with pycognito's client math
    srp = AWSSRP(username="pavel", password=PASSWORD, pool_id=s.pool_id, client_id=s.client_id, client=s.idp)
    verifier = s.idp.initiate_auth(
        ClientId=s.client_id,
        AuthFlow="USER_AUTH",
        AuthParameters={**srp.get_auth_params(), "PREFERRED_CHALLENGE": "PASSWORD_SRP"},
    )
    assert verifier["ChallengeName"] == "PASSWORD_VERIFIER"
    done = s.idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="PASSWORD_VERIFIER",
        ChallengeResponses=srp.process_challenge(verifier["ChallengeParameters"], srp.get_auth_params()),
    )
    assert done["AuthenticationResult"]["AccessToken"]


def test_only_what_the_pool_and_user_allow(dev_server: Server) -> None:
    s = make_pool(dev_server.client("cognito-idp"), {}, {"ExplicitAuthFlows": ["ALLOW_USER_AUTH"]})
    create_confirmed_user(s, "quinn", email="quinn@example.com")  # email not verified
    start = s.idp.initiate_auth(ClientId=s.client_id, AuthFlow="USER_AUTH", AuthParameters={"USERNAME": "quinn"})
    assert start["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP"]  # the default SignInPolicy
    with pytest.raises(ClientError) as exc:
        s.idp.respond_to_auth_challenge(
            ClientId=s.client_id,
            ChallengeName="SELECT_CHALLENGE",
            Session=start["Session"],
            ChallengeResponses={"USERNAME": "quinn", "ANSWER": "EMAIL_OTP"},
        )
    assert _err(exc)[0] == "InvalidParameterException"
    described = s.idp.describe_user_pool(UserPoolId=s.pool_id)["UserPool"]["Policies"]
    assert described["SignInPolicy"] == {"AllowedFirstAuthFactors": ["PASSWORD"]}
    factors = s.idp.admin_get_user_auth_factors(UserPoolId=s.pool_id, Username="quinn")
    assert factors["ConfiguredUserAuthFactors"] == ["PASSWORD"]
    with pytest.raises(ClientError) as exc:
        s.idp.update_user_pool(
            UserPoolId=s.pool_id, Policies={"SignInPolicy": {"AllowedFirstAuthFactors": ["EMAIL_OTP"]}}
        )
    assert _err(exc)[0] == "InvalidParameterException"
    # a client without ALLOW_USER_AUTH
    other = s.idp.create_user_pool_client(
        UserPoolId=s.pool_id, ClientName="pw", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    with pytest.raises(ClientError) as exc:
        s.idp.initiate_auth(ClientId=other, AuthFlow="USER_AUTH", AuthParameters={"USERNAME": "quinn"})
    assert _err(exc)[0] == "InvalidParameterException"


def test_unknown_user_is_not_revealed(dev_server: Server) -> None:
    s = _pool(dev_server, PreventUserExistenceErrors="ENABLED")
    start = s.idp.initiate_auth(ClientId=s.client_id, AuthFlow="USER_AUTH", AuthParameters={"USERNAME": "nobody"})
    assert start["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "SMS_OTP"]
    otp = s.idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="SELECT_CHALLENGE",
        Session=start["Session"],
        ChallengeResponses={"USERNAME": "nobody", "ANSWER": "EMAIL_OTP"},
    )
    assert otp["ChallengeName"] == "EMAIL_OTP"
    with pytest.raises(ClientError) as exc:
        s.idp.respond_to_auth_challenge(
            ClientId=s.client_id,
            ChallengeName="EMAIL_OTP",
            Session=otp["Session"],
            ChallengeResponses={"USERNAME": "nobody", "EMAIL_OTP_CODE": "123456"},
        )
    assert _err(exc)[0] == "CodeMismatchException"
