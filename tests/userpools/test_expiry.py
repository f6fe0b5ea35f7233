"""Time-bound things, made to expire by moving their deadline into the past in the server's own
database (the only clock travel the tests do): MFA codes (3 minutes), challenge sessions
(AuthSessionValidity), sign-up and forgot-password codes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.userpools.conftest import PASSWORD, create_confirmed_user, make_pool, outbox_code

IN_POOL = "user_id IN (SELECT id FROM users WHERE user_pool_id = :pool)"


def _expire(server: Server, table: str, where: str, params: dict[str, Any]) -> None:
    engine = sa.create_engine(server.database_url)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with engine.begin() as conn:
        changed = conn.execute(
            sa.text(f"UPDATE {table} SET expires_at = :past WHERE {where}"), {"past": past, **params}
        )
        assert changed.rowcount >= 1
    engine.dispose()


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_expired_sms_mfa_code_and_challenge_session(dev_server: Server) -> None:
    idp = dev_server.client("cognito-idp")
    s = make_pool(idp)
    idp.set_user_pool_mfa_config(
        UserPoolId=s.pool_id,
        MfaConfiguration="ON",
        SmsMfaConfiguration={"SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::123456789012:role/sns"}},
    )
    create_confirmed_user(s, "exa", phone_number="+15555550199")
    auth = {"USERNAME": "exa", "PASSWORD": PASSWORD}
    challenge = idp.initiate_auth(ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=auth)
    code = outbox_code(dev_server, "+15555550199")
    _expire(dev_server, "codes", f"purpose = 'Authentication' AND {IN_POOL}", {"pool": s.pool_id})
    with pytest.raises(ClientError) as exc:
        idp.respond_to_auth_challenge(
            ClientId=s.client_id,
            ChallengeName="SMS_MFA",
            Session=challenge["Session"],
            ChallengeResponses={"USERNAME": "exa", "SMS_MFA_CODE": code},
        )
    assert _err(exc)[0] == "NotAuthorizedException"

    # a challenge session past AuthSessionValidity
    challenge = idp.initiate_auth(ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=auth)
    code = outbox_code(dev_server, "+15555550199")
    _expire(dev_server, "auth_sessions", "id = :id", {"id": challenge["Session"]})
    with pytest.raises(ClientError) as exc:
        idp.respond_to_auth_challenge(
            ClientId=s.client_id,
            ChallengeName="SMS_MFA",
            Session=challenge["Session"],
            ChallengeResponses={"USERNAME": "exa", "SMS_MFA_CODE": code},
        )
    assert _err(exc) == ("NotAuthorizedException", "Invalid session for the user, session is expired.")


def _srp_block_past_deadline(server: Server, pool_id: str, client_id: str, block_b64: str) -> str:
    """The SRP challenge state travels sealed in the SECRET_BLOCK: reseal it with the server's own
    key and its deadline a minute in the past (what the server sees once AuthSessionValidity is over)."""
    import base64
    import dataclasses

    from ostiary.crypto.secrets import SecretBox
    from ostiary.userpools.signin.srp_flow import open_srp_state, seal_srp_state

    box = SecretBox(base64.b64decode((server.data_dir / "kek").read_text().strip()))
    state = open_srp_state(box, pool_id, client_id, base64.b64decode(block_b64))
    assert state is not None and state.expires > dt.datetime.now(dt.UTC)
    past = dataclasses.replace(state, expires=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    return base64.b64encode(seal_srp_state(box, pool_id, client_id, past)).decode()


def test_expired_srp_challenge_session(idp: Any, server: Server) -> None:
    from pycognito.aws_srp import AWSSRP

    s = make_pool(idp)
    create_confirmed_user(s, "srpx")
    srp = AWSSRP(username="srpx", password=PASSWORD, pool_id=s.pool_id, client_id=s.client_id, client=idp)
    challenge = idp.initiate_auth(ClientId=s.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.get_auth_params())
    params = dict(challenge["ChallengeParameters"])
    params["SECRET_BLOCK"] = _srp_block_past_deadline(server, s.pool_id, s.client_id, params["SECRET_BLOCK"])
    with pytest.raises(ClientError) as exc:
        idp.respond_to_auth_challenge(
            ClientId=s.client_id,
            ChallengeName="PASSWORD_VERIFIER",
            ChallengeResponses=srp.process_challenge(params, srp.get_auth_params()),
        )
    assert _err(exc) == ("NotAuthorizedException", "Invalid session for the user, session is expired.")


def test_expired_sign_up_and_forgot_password_codes(dev_server: Server) -> None:
    idp = dev_server.client("cognito-idp")
    s = make_pool(idp)
    idp.sign_up(
        ClientId=s.client_id,
        Username="late",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "late@example.com"}],
    )
    code = outbox_code(dev_server, "late@example.com")
    _expire(dev_server, "codes", f"purpose = 'SignUp' AND {IN_POOL}", {"pool": s.pool_id})
    with pytest.raises(ClientError) as exc:
        idp.confirm_sign_up(ClientId=s.client_id, Username="late", ConfirmationCode=code)
    assert _err(exc)[0] == "ExpiredCodeException"
    idp.resend_confirmation_code(ClientId=s.client_id, Username="late")
    idp.confirm_sign_up(
        ClientId=s.client_id, Username="late", ConfirmationCode=outbox_code(dev_server, "late@example.com")
    )

    idp.forgot_password(ClientId=s.client_id, Username="late")
    code = outbox_code(dev_server, "late@example.com")
    _expire(dev_server, "codes", f"purpose = 'ForgotPassword' AND {IN_POOL}", {"pool": s.pool_id})
    with pytest.raises(ClientError) as exc:
        idp.confirm_forgot_password(
            ClientId=s.client_id, Username="late", ConfirmationCode=code, Password="An0ther-Passw0rd!"
        )
    assert _err(exc)[0] == "ExpiredCodeException"


def test_source_address_lockout(idp: Any) -> None:
    """Password spraying from one address: after 100 failures in 15 minutes (5 each on 20 users), the
    address is locked for every user of the pool, even with the right password."""
    s = make_pool(idp)
    for n in range(21):
        create_confirmed_user(s, f"spray{n}")
    for n in range(20):
        for _ in range(5):
            with pytest.raises(ClientError):
                idp.initiate_auth(
                    ClientId=s.client_id,
                    AuthFlow="USER_PASSWORD_AUTH",
                    AuthParameters={"USERNAME": f"spray{n}", "PASSWORD": "Wrong-Passw0rd!"},
                )
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(
            ClientId=s.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "spray20", "PASSWORD": PASSWORD},
        )
    assert _err(exc) == ("NotAuthorizedException", "Password attempts exceeded")
    other = make_pool(idp)  # the counter is per pool
    create_confirmed_user(other, "fine")
    assert idp.initiate_auth(
        ClientId=other.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "fine", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
