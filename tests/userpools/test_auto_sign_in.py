"""Sign-up then automatic sign-in (Cognito API Reference: SignUp and ConfirmSignUp return a
``Session``; InitiateAuth with AuthFlow USER_AUTH and that Session signs the confirmed user in,
the confirmation code standing as the first factor). Driven through Amplify v6's
``signUp({options: {autoSignIn: {authFlowType: "USER_AUTH"}}})`` → ``confirmSignUp`` →
``autoSignIn()``, and through boto3: the session is single-use, short-lived (the client's
AuthSessionValidity), bound to its user and app client, and good only once the user is confirmed."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import jwt as pyjwt
import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from tests import amplify
from tests.conftest import Server
from tests.userpools.conftest import PASSWORD, PoolSetup, make_pool, outbox_code

EXPIRED = "Invalid session for the user, session is expired."
FLOWS = ["ALLOW_USER_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture(scope="module")
def setup(dev_server: Server) -> PoolSetup:
    client_args = {"ExplicitAuthFlows": FLOWS, "PreventUserExistenceErrors": "ENABLED"}
    return make_pool(dev_server.client("cognito-idp"), client_args=client_args)


def _sign_up(s: PoolSetup, client_id: str | None = None) -> tuple[str, str, dict[str, Any]]:
    name = "u" + secrets.token_hex(4)
    email = f"{name}@example.com"
    out = s.idp.sign_up(
        ClientId=client_id or s.client_id,
        Username=name,
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    return name, email, out


def _confirm(server: Server, s: PoolSetup, name: str, email: str, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = s.idp.confirm_sign_up(
        ClientId=s.client_id, Username=name, ConfirmationCode=outbox_code(server, email), **kw
    )
    return out


def _sign_in(s: PoolSetup, name: str, session: str, client_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = s.idp.initiate_auth(
        ClientId=client_id or s.client_id, AuthFlow="USER_AUTH", AuthParameters={"USERNAME": name}, Session=session
    )
    return out


def test_amplify_auto_sign_in_with_user_auth(dev_server: Server, setup: PoolSetup) -> None:
    name = "amp" + secrets.token_hex(4)
    email = f"{name}@example.com"
    out = amplify.run("amplify_auto_sign_in.js", dev_server.url, setup.pool_id, setup.client_id, name, PASSWORD, email)
    assert out["signUpStep"] == "CONFIRM_SIGN_UP"
    assert out["confirmStep"] == "COMPLETE_AUTO_SIGN_IN"
    assert out["signedIn"] is True and out["signInStep"] == "DONE"
    claims = pyjwt.decode(out["idToken"], options={"verify_signature": False})
    assert claims["cognito:username"] == name and claims["email_verified"] is True
    assert pyjwt.decode(out["accessToken"], options={"verify_signature": False})["username"] == name


def test_confirm_sign_up_session_signs_in_once(dev_server: Server, setup: PoolSetup) -> None:
    name, email, up = _sign_up(setup)
    assert up["UserConfirmed"] is False and len(up["Session"]) >= 20
    # the sign-up session alone signs nobody in before the user is confirmed
    with pytest.raises(ClientError) as exc:
        _sign_in(setup, name, up["Session"])
    assert _err(exc)[0] == "UserNotConfirmedException"
    confirmed = _confirm(dev_server, setup, name, email, Session=up["Session"])
    session = confirmed["Session"]
    result = _sign_in(setup, name, session)
    tokens = result["AuthenticationResult"]
    assert pyjwt.decode(tokens["IdToken"], options={"verify_signature": False})["cognito:username"] == name
    assert tokens["RefreshToken"]
    # single use
    with pytest.raises(ClientError) as exc:
        _sign_in(setup, name, session)
    assert _err(exc) == ("NotAuthorizedException", EXPIRED)


def test_confirm_sign_up_returns_a_session_without_the_sign_up_one(dev_server: Server, setup: PoolSetup) -> None:
    """Amplify v6 does not send SignUp's Session to ConfirmSignUp; the confirmation still gives one."""
    name, email, _ = _sign_up(setup)
    session = _confirm(dev_server, setup, name, email)["Session"]
    assert "AuthenticationResult" in _sign_in(setup, name, session)


def test_session_bound_to_user_and_client(dev_server: Server, setup: PoolSetup) -> None:
    other = setup.idp.create_user_pool_client(UserPoolId=setup.pool_id, ClientName="other", ExplicitAuthFlows=FLOWS)[
        "UserPoolClient"
    ]["ClientId"]
    name, email, _ = _sign_up(setup)
    session = _confirm(dev_server, setup, name, email)["Session"]
    with pytest.raises(ClientError) as exc:
        _sign_in(setup, name, session, client_id=other)
    assert _err(exc) == ("NotAuthorizedException", EXPIRED)
    someone, other_email, _ = _sign_up(setup)
    _confirm(dev_server, setup, someone, other_email)
    with pytest.raises(ClientError) as exc:
        _sign_in(setup, someone, session)
    assert _err(exc) == ("NotAuthorizedException", EXPIRED)
    # a name nobody has (user existence errors prevented): the same answer
    with pytest.raises(ClientError) as exc:
        _sign_in(setup, "nobody-" + secrets.token_hex(3), session)
    assert _err(exc) == ("NotAuthorizedException", EXPIRED)
    # a session of another kind (a challenge session) is not a sign-up session
    challenge = setup.idp.initiate_auth(
        ClientId=setup.client_id, AuthFlow="USER_AUTH", AuthParameters={"USERNAME": someone}
    )
    assert challenge["ChallengeName"] == "SELECT_CHALLENGE"
    with pytest.raises(ClientError) as exc:
        _sign_in(setup, someone, challenge["Session"])
    assert _err(exc) == ("NotAuthorizedException", EXPIRED)
    # none of that spent the session: its own user and client still sign in with it
    assert "AuthenticationResult" in _sign_in(setup, name, session)


def test_session_expires(dev_server: Server, setup: PoolSetup) -> None:
    name, email, _ = _sign_up(setup)
    session = _confirm(dev_server, setup, name, email)["Session"]
    engine = sa.create_engine(dev_server.database_url)
    with engine.begin() as conn:
        row = conn.execute(sa.text("SELECT expires_at FROM auth_sessions WHERE id = :id"), {"id": session}).one()
        deadline = (
            row.expires_at if isinstance(row.expires_at, dt.datetime) else dt.datetime.fromisoformat(row.expires_at)
        )
        if deadline.tzinfo is None:
            deadline = deadline.replace(tzinfo=dt.UTC)
        # AuthSessionValidity: 3 minutes unless the client says otherwise
        assert dt.timedelta(minutes=2) < deadline - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=3)
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        conn.execute(
            sa.text("UPDATE auth_sessions SET expires_at = :past WHERE id = :id"), {"past": past, "id": session}
        )
    engine.dispose()
    with pytest.raises(ClientError) as exc:
        _sign_in(setup, name, session)
    assert _err(exc) == ("NotAuthorizedException", EXPIRED)


def test_no_session_without_user_auth(dev_server: Server) -> None:
    s = make_pool(dev_server.client("cognito-idp"))  # no ALLOW_USER_AUTH
    name, email, up = _sign_up(s)
    assert "Session" not in up
    assert "Session" not in _confirm(dev_server, s, name, email)


def test_sign_up_session_after_confirmation_by_an_administrator(dev_server: Server, setup: PoolSetup) -> None:
    """SignUp's session stands for the password just chosen: once the user is confirmed (here by an
    administrator, as a pre sign-up trigger's autoConfirmUser would), it signs the user in."""
    name, _, up = _sign_up(setup)
    setup.idp.admin_confirm_sign_up(UserPoolId=setup.pool_id, Username=name)
    assert "AuthenticationResult" in _sign_in(setup, name, up["Session"])


def test_mfa_still_applies(dev_server: Server) -> None:
    idp = dev_server.client("cognito-idp")
    s = make_pool(idp, client_args={"ExplicitAuthFlows": FLOWS})
    idp.set_user_pool_mfa_config(
        UserPoolId=s.pool_id, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="ON"
    )
    name, email, _ = _sign_up(s)
    session = _confirm(dev_server, s, name, email)["Session"]
    result = _sign_in(s, name, session)
    assert result["ChallengeName"] == "MFA_SETUP" and "AuthenticationResult" not in result


def test_admin_initiate_auth_takes_the_session(dev_server: Server, setup: PoolSetup) -> None:
    name, email, _ = _sign_up(setup)
    session = _confirm(dev_server, setup, name, email)["Session"]
    out = setup.idp.admin_initiate_auth(
        UserPoolId=setup.pool_id,
        ClientId=setup.client_id,
        AuthFlow="USER_AUTH",
        AuthParameters={"USERNAME": name},
        Session=session,
    )
    assert out["AuthenticationResult"]["AccessToken"]
