"""Sign-in end to end with real clients: boto3, pycognito's SRP, PyJWT through the JWKS."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import boto3
import httpx
import jwt as pyjwt
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

from tests.conftest import REGION, Server
from tests.userpools.conftest import PASSWORD, PoolSetup, create_confirmed_user, make_pool


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def _unsigned(server: Server) -> Any:
    """An app's client: no AWS credentials at all (botocore sends these operations unsigned)."""
    from botocore import UNSIGNED

    return boto3.client(
        "cognito-idp", endpoint_url=server.url, region_name=REGION, config=Config(signature_version=UNSIGNED)
    )


def _password_auth(server: Server, s: PoolSetup, username: str, password: str = PASSWORD) -> dict[str, Any]:
    resp: dict[str, Any] = _unsigned(server).initiate_auth(
        ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": password}
    )
    return resp


def _verify(server: Server, pool_id: str, token: str, **kwargs: Any) -> dict[str, Any]:
    discovery = httpx.get(f"{server.url}/{pool_id}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == f"{server.url}/{pool_id}"
    jwks = pyjwt.PyJWKClient(discovery["jwks_uri"])
    key = jwks.get_signing_key_from_jwt(token)
    claims: dict[str, Any] = pyjwt.decode(token, key.key, algorithms=["RS256"], issuer=discovery["issuer"], **kwargs)
    return claims


def test_password_sign_in_tokens_verify_with_pyjwt(server: Server, setup: PoolSetup) -> None:
    create_confirmed_user(setup, "alice", email="alice@example.com", email_verified="true")
    setup.idp.create_group(
        UserPoolId=setup.pool_id, GroupName="readers", Precedence=5, RoleArn="arn:aws:iam::123456789012:role/readers"
    )
    setup.idp.create_group(
        UserPoolId=setup.pool_id, GroupName="admins", Precedence=1, RoleArn="arn:aws:iam::123456789012:role/admins"
    )
    for g in ("readers", "admins"):
        setup.idp.admin_add_user_to_group(UserPoolId=setup.pool_id, Username="alice", GroupName=g)
    result = _password_auth(server, setup, "alice")["AuthenticationResult"]
    assert result["TokenType"] == "Bearer" and result["ExpiresIn"] == 3600
    assert result["RefreshToken"]

    id_claims = _verify(server, setup.pool_id, result["IdToken"], audience=setup.client_id)
    assert id_claims["token_use"] == "id"
    assert id_claims["cognito:username"] == "alice"
    assert id_claims["email"] == "alice@example.com"
    assert id_claims["email_verified"] is True
    assert id_claims["cognito:groups"] == ["admins", "readers"]
    assert id_claims["cognito:preferred_role"] == "arn:aws:iam::123456789012:role/admins"
    assert set(id_claims["cognito:roles"]) == {
        "arn:aws:iam::123456789012:role/admins",
        "arn:aws:iam::123456789012:role/readers",
    }
    for claim in ("sub", "auth_time", "origin_jti", "event_id", "jti", "iat", "exp"):
        assert claim in id_claims

    access = _verify(server, setup.pool_id, result["AccessToken"])
    assert access["token_use"] == "access"
    assert "aud" not in access
    assert access["client_id"] == setup.client_id
    assert access["scope"] == "aws.cognito.signin.user.admin"
    assert access["username"] == "alice"
    assert access["origin_jti"] == id_claims["origin_jti"]
    assert access["cognito:groups"] == ["admins", "readers"]
    # ID and access tokens are signed with different keys, as Cognito does
    assert (
        pyjwt.get_unverified_header(result["IdToken"])["kid"]
        != pyjwt.get_unverified_header(result["AccessToken"])["kid"]
    )


def test_wrong_password_and_unknown_user(server: Server, idp: Any) -> None:
    s = make_pool(idp, client_args={"PreventUserExistenceErrors": "ENABLED"})
    create_confirmed_user(s, "bob")
    with pytest.raises(ClientError) as exc:
        _password_auth(server, s, "bob", "Wrong-Pass1!")
    assert _error(exc) == ("NotAuthorizedException", "Incorrect username or password.")
    with pytest.raises(ClientError) as exc:
        _password_auth(server, s, "nobody")
    # PreventUserExistenceErrors=ENABLED: indistinguishable from a wrong password
    assert _error(exc) == ("NotAuthorizedException", "Incorrect username or password.")


def test_user_existence_errors_when_legacy(server: Server, idp: Any) -> None:
    s = make_pool(idp, client_args={"PreventUserExistenceErrors": "LEGACY"})
    with pytest.raises(ClientError) as exc:
        _password_auth(server, s, "nobody")
    assert _error(exc) == ("UserNotFoundException", "User does not exist.")


def test_srp_sign_in_with_pycognito(server: Server, setup: PoolSetup) -> None:
    create_confirmed_user(setup, "carol", email="carol@example.com")
    srp_client = AWSSRP(
        username="carol", password=PASSWORD, pool_id=setup.pool_id, client_id=setup.client_id, client=_unsigned(server)
    )
    tokens = srp_client.authenticate_user()["AuthenticationResult"]
    claims = _verify(server, setup.pool_id, tokens["IdToken"], audience=setup.client_id)
    assert claims["cognito:username"] == "carol"

    bad = AWSSRP(
        username="carol",
        password="Wrong-Pass1!",
        pool_id=setup.pool_id,
        client_id=setup.client_id,
        client=_unsigned(server),
    )
    with pytest.raises(ClientError) as exc:
        bad.authenticate_user()
    assert _error(exc) == ("NotAuthorizedException", "Incorrect username or password.")


def test_srp_proof_cannot_be_replayed(server: Server, setup: PoolSetup) -> None:
    create_confirmed_user(setup, "replay")
    app = _unsigned(server)
    srp_client = AWSSRP(
        username="replay", password=PASSWORD, pool_id=setup.pool_id, client_id=setup.client_id, client=app
    )
    first = app.initiate_auth(
        ClientId=setup.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp_client.get_auth_params()
    )
    answer = srp_client.process_challenge(first["ChallengeParameters"], {"USERNAME": "replay"})
    ok = app.respond_to_auth_challenge(
        ClientId=setup.client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answer
    )
    assert ok["AuthenticationResult"]["AccessToken"]
    with pytest.raises(ClientError) as exc:
        app.respond_to_auth_challenge(
            ClientId=setup.client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answer
        )
    assert _error(exc)[0] == "NotAuthorizedException"


def _srp_pair(server: Server, setup: PoolSetup, username: str) -> tuple[Any, AWSSRP, dict[str, Any]]:
    app = _unsigned(server)
    client = AWSSRP(username=username, password=PASSWORD, pool_id=setup.pool_id, client_id=setup.client_id, client=app)
    first = app.initiate_auth(
        ClientId=setup.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=client.get_auth_params()
    )
    return app, client, dict(first["ChallengeParameters"])


def test_srp_secret_block_is_spent_by_a_wrong_proof(server: Server, setup: PoolSetup) -> None:
    create_confirmed_user(setup, "spent")
    app, good, params = _srp_pair(server, setup, "spent")
    bad = AWSSRP(
        username="spent", password="Wrong-Pass1!", pool_id=setup.pool_id, client_id=setup.client_id, client=app
    )
    bad.small_a_value, bad.large_a_value = good.small_a_value, good.large_a_value  # same A, same block
    with pytest.raises(ClientError) as exc:
        app.respond_to_auth_challenge(
            ClientId=setup.client_id,
            ChallengeName="PASSWORD_VERIFIER",
            ChallengeResponses=bad.process_challenge(params, {"USERNAME": "spent"}),
        )
    assert _error(exc) == ("NotAuthorizedException", "Incorrect username or password.")
    with pytest.raises(ClientError) as exc:  # the right proof comes too late: the block is used
        app.respond_to_auth_challenge(
            ClientId=setup.client_id,
            ChallengeName="PASSWORD_VERIFIER",
            ChallengeResponses=good.process_challenge(params, {"USERNAME": "spent"}),
        )
    assert _error(exc)[0] == "NotAuthorizedException"


def test_srp_secret_block_bound_to_its_client_and_unalterable(server: Server, setup: PoolSetup) -> None:
    create_confirmed_user(setup, "bound")
    other = setup.idp.create_user_pool_client(
        UserPoolId=setup.pool_id, ClientName="other", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"]
    )["UserPoolClient"]["ClientId"]
    app, srp_client, params = _srp_pair(server, setup, "bound")
    answer = srp_client.process_challenge(params, {"USERNAME": "bound"})
    with pytest.raises(ClientError) as exc:
        app.respond_to_auth_challenge(ClientId=other, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answer)
    assert _error(exc) == ("NotAuthorizedException", "Invalid session for the user, session is expired.")
    raw = bytearray(base64.b64decode(params["SECRET_BLOCK"]))
    raw[len(raw) // 2] ^= 1
    altered = {**params, "SECRET_BLOCK": base64.b64encode(bytes(raw)).decode()}
    with pytest.raises(ClientError) as exc:
        app.respond_to_auth_challenge(
            ClientId=setup.client_id,
            ChallengeName="PASSWORD_VERIFIER",
            ChallengeResponses=srp_client.process_challenge(altered, {"USERNAME": "bound"}),
        )
    assert _error(exc) == ("NotAuthorizedException", "Invalid session for the user, session is expired.")
    # the untouched block still works (neither refusal spent it), once
    ok = app.respond_to_auth_challenge(
        ClientId=setup.client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answer
    )
    assert ok["AuthenticationResult"]["AccessToken"]


def test_srp_concurrent_replays_sign_in_once(server: Server, setup: PoolSetup) -> None:
    from concurrent.futures import ThreadPoolExecutor

    create_confirmed_user(setup, "racer")
    _, srp_client, params = _srp_pair(server, setup, "racer")
    answer = srp_client.process_challenge(params, {"USERNAME": "racer"})

    def attempt(_: int) -> str:
        try:
            _unsigned(server).respond_to_auth_challenge(
                ClientId=setup.client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answer
            )
            return "ok"
        except ClientError as err:
            return str(err.response["Error"]["Code"])

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(attempt, range(6)))
    assert sorted(outcomes) == ["NotAuthorizedException"] * 5 + ["ok"]


def test_refresh_keeps_lineage(server: Server, setup: PoolSetup) -> None:
    create_confirmed_user(setup, "dave")
    first = _password_auth(server, setup, "dave")["AuthenticationResult"]
    refreshed = _unsigned(server).initiate_auth(
        ClientId=setup.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": first["RefreshToken"]}
    )["AuthenticationResult"]
    assert "RefreshToken" not in refreshed
    a = pyjwt.decode(first["IdToken"], options={"verify_signature": False})
    b = pyjwt.decode(refreshed["IdToken"], options={"verify_signature": False})
    assert a["origin_jti"] == b["origin_jti"] and a["auth_time"] == b["auth_time"] and a["jti"] != b["jti"]


def test_refresh_carries_current_groups(server: Server, setup: PoolSetup) -> None:
    create_confirmed_user(setup, "grace")
    create_confirmed_user(setup, "loner")
    idp = setup.idp
    idp.create_group(UserPoolId=setup.pool_id, GroupName="a", Precedence=2, RoleArn="arn:aws:iam::123456789012:role/a")
    idp.create_group(UserPoolId=setup.pool_id, GroupName="b", Precedence=1, RoleArn="arn:aws:iam::123456789012:role/b")
    idp.create_group(UserPoolId=setup.pool_id, GroupName="c")
    for g in ("a", "b"):
        idp.admin_add_user_to_group(UserPoolId=setup.pool_id, Username="grace", GroupName=g)
    first = _password_auth(server, setup, "grace")["AuthenticationResult"]
    idp.admin_remove_user_from_group(UserPoolId=setup.pool_id, Username="grace", GroupName="b")
    idp.admin_add_user_to_group(UserPoolId=setup.pool_id, Username="grace", GroupName="c")

    def refreshed(token: str) -> dict[str, Any]:
        result: dict[str, Any] = _unsigned(server).initiate_auth(
            ClientId=setup.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": token}
        )["AuthenticationResult"]
        return result

    again = refreshed(first["RefreshToken"])
    id_claims = pyjwt.decode(again["IdToken"], options={"verify_signature": False})
    access = pyjwt.decode(again["AccessToken"], options={"verify_signature": False})
    assert id_claims["cognito:groups"] == ["a", "c"] == access["cognito:groups"]
    assert id_claims["cognito:roles"] == ["arn:aws:iam::123456789012:role/a"]
    assert id_claims["cognito:preferred_role"] == "arn:aws:iam::123456789012:role/a"
    alone = refreshed(_password_auth(server, setup, "loner")["AuthenticationResult"]["RefreshToken"])
    assert "cognito:groups" not in pyjwt.decode(alone["IdToken"], options={"verify_signature": False})


def test_new_password_required(server: Server, setup: PoolSetup) -> None:
    setup.idp.admin_create_user(
        UserPoolId=setup.pool_id, Username="erin", TemporaryPassword="Temp-Pass1!", MessageAction="SUPPRESS"
    )
    app = _unsigned(server)
    challenge = app.initiate_auth(
        ClientId=setup.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "erin", "PASSWORD": "Temp-Pass1!"},
    )
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    assert json.loads(challenge["ChallengeParameters"]["requiredAttributes"]) == []
    with pytest.raises(ClientError) as exc:
        app.respond_to_auth_challenge(
            ClientId=setup.client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=challenge["Session"],
            ChallengeResponses={"USERNAME": "erin", "NEW_PASSWORD": "short"},
        )
    assert _error(exc)[0] == "InvalidPasswordException"
    challenge = app.initiate_auth(
        ClientId=setup.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "erin", "PASSWORD": "Temp-Pass1!"},
    )
    done = app.respond_to_auth_challenge(
        ClientId=setup.client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": "erin", "NEW_PASSWORD": PASSWORD},
    )
    assert done["AuthenticationResult"]["IdToken"]
    assert setup.idp.admin_get_user(UserPoolId=setup.pool_id, Username="erin")["UserStatus"] == "CONFIRMED"


def test_global_sign_out_revokes_access_and_refresh(server: Server, setup: PoolSetup) -> None:
    create_confirmed_user(setup, "frank", email="frank@example.com")
    app = _unsigned(server)
    tokens = _password_auth(server, setup, "frank")["AuthenticationResult"]
    me = app.get_user(AccessToken=tokens["AccessToken"])
    assert me["Username"] == "frank"
    assert {"Name": "email", "Value": "frank@example.com"} in me["UserAttributes"]
    app.global_sign_out(AccessToken=tokens["AccessToken"])
    with pytest.raises(ClientError) as exc:
        app.get_user(AccessToken=tokens["AccessToken"])
    assert _error(exc) == ("NotAuthorizedException", "Access Token has been revoked")
    with pytest.raises(ClientError) as exc:
        app.initiate_auth(
            ClientId=setup.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
        )
    assert _error(exc)[0] == "NotAuthorizedException"


def test_revoke_token(server: Server, setup: PoolSetup) -> None:
    create_confirmed_user(setup, "gina")
    app = _unsigned(server)
    tokens = _password_auth(server, setup, "gina")["AuthenticationResult"]
    assert app.get_user(AccessToken=tokens["AccessToken"])["Username"] == "gina"  # verified and remembered
    app.revoke_token(Token=tokens["RefreshToken"], ClientId=setup.client_id)
    with pytest.raises(ClientError) as exc:
        app.initiate_auth(
            ClientId=setup.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
        )
    assert _error(exc) == ("NotAuthorizedException", "Refresh Token has been revoked")
    with pytest.raises(ClientError) as exc:
        app.get_user(AccessToken=tokens["AccessToken"])
    assert _error(exc) == ("NotAuthorizedException", "Access Token has been revoked")


def test_forged_tokens_refused(server: Server, setup: PoolSetup, idp: Any) -> None:
    create_confirmed_user(setup, "hank")
    app = _unsigned(server)
    access = _password_auth(server, setup, "hank")["AuthenticationResult"]["AccessToken"]
    head, body, sig = access.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["username"] = "root"
    tampered = f"{head}.{base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip('=')}.{sig}"
    none_alg = base64.urlsafe_b64encode(b'{"alg":"none"}').decode().rstrip("=") + f".{body}."
    other = make_pool(idp)
    create_confirmed_user(other, "hank")
    other_token = _password_auth(server, other, "hank")["AuthenticationResult"]["AccessToken"]
    h2, b2, s2 = other_token.split(".")
    c2 = json.loads(base64.urlsafe_b64decode(b2 + "=="))
    c2["iss"] = claims["iss"]  # claim to come from the first pool, signed by the second pool's key
    cross = f"{h2}.{base64.urlsafe_b64encode(json.dumps(c2).encode()).decode().rstrip('=')}.{s2}"
    for bad in (tampered, none_alg, cross, "garbage"):
        with pytest.raises(ClientError) as exc:
            app.get_user(AccessToken=bad)
        assert _error(exc) == ("NotAuthorizedException", "Invalid Access Token"), bad[:40]
    id_token = _password_auth(server, setup, "hank")["AuthenticationResult"]["IdToken"]
    with pytest.raises(ClientError) as exc:
        app.get_user(AccessToken=id_token)
    assert _error(exc)[0] == "NotAuthorizedException"


def test_lockout_engages_and_releases(server: Server, setup: PoolSetup) -> None:
    create_confirmed_user(setup, "ivan")
    for _ in range(5):
        with pytest.raises(ClientError):
            _password_auth(server, setup, "ivan", "Wrong-Pass1!")
    # the fifth failure locks for 1 s: within it even the right password is refused. On a loaded
    # machine the next call may come later than that; then it must succeed, and the lock is
    # shown by its end instead of its start.
    fifth = time.monotonic()
    try:
        _password_auth(server, setup, "ivan")
    except ClientError as refused:
        assert refused.response["Error"]["Code"] == "NotAuthorizedException"
        assert refused.response["Error"]["Message"] == "Password attempts exceeded"
    else:
        assert time.monotonic() - fifth >= 1.0, "signed in within the lock"
        return
    # attempts within the lock are refused without being counted: the right password, asked again
    # until the lock ends, signs in
    deadline = time.monotonic() + 30
    while True:
        time.sleep(0.1)
        try:
            assert _password_auth(server, setup, "ivan")["AuthenticationResult"]
            break
        except ClientError as refused:
            assert refused.response["Error"]["Message"] == "Password attempts exceeded"
            assert time.monotonic() < deadline, "the lock did not end"


def test_flow_must_be_enabled_and_secret_hash_required(server: Server, idp: Any) -> None:
    s = make_pool(idp, client_args={"ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]})
    create_confirmed_user(s, "jane")
    with pytest.raises(ClientError) as exc:
        _password_auth(server, s, "jane")
    assert _error(exc) == ("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client")

    secret = make_pool(idp, client_args={"GenerateSecret": True})
    assert secret.client_secret
    create_confirmed_user(secret, "kim")
    with pytest.raises(ClientError) as exc:
        _password_auth(server, secret, "kim")
    assert _error(exc) == (
        "NotAuthorizedException",
        f"Client {secret.client_id} is configured with secret but SECRET_HASH was not received",
    )
    good = AWSSRP.get_secret_hash("kim", secret.client_id, secret.client_secret)
    ok = _unsigned(server).initiate_auth(
        ClientId=secret.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "kim", "PASSWORD": PASSWORD, "SECRET_HASH": good},
    )
    assert ok["AuthenticationResult"]["AccessToken"]
    with pytest.raises(ClientError) as exc:
        _unsigned(server).initiate_auth(
            ClientId=secret.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "kim", "PASSWORD": PASSWORD, "SECRET_HASH": "d3Jvbmc="},
        )
    assert _error(exc) == ("NotAuthorizedException", f"Unable to verify secret hash for client {secret.client_id}")


def test_admin_initiate_auth(server: Server, setup: PoolSetup) -> None:
    create_confirmed_user(setup, "leo")
    result = setup.idp.admin_initiate_auth(
        UserPoolId=setup.pool_id,
        ClientId=setup.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "leo", "PASSWORD": PASSWORD},
    )
    assert result["AuthenticationResult"]["AccessToken"]
    with pytest.raises(ClientError) as exc:
        _unsigned(server).initiate_auth(
            ClientId=setup.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "leo", "PASSWORD": PASSWORD},
        )
    assert _error(exc)[0] == "InvalidParameterException"


def test_disabled_and_unconfirmed_users(server: Server, setup: PoolSetup) -> None:
    create_confirmed_user(setup, "mia")
    setup.idp.admin_disable_user(UserPoolId=setup.pool_id, Username="mia")
    with pytest.raises(ClientError) as exc:
        _password_auth(server, setup, "mia")
    assert _error(exc) == ("NotAuthorizedException", "User is disabled.")
    setup.idp.admin_enable_user(UserPoolId=setup.pool_id, Username="mia")
    assert _password_auth(server, setup, "mia")["AuthenticationResult"]


def test_aws_issuer_style(server_factory: Any) -> None:
    srv = server_factory(env={"OSTIARY_ISSUER_STYLE": "aws"})
    s = make_pool(srv.client("cognito-idp"))
    create_confirmed_user(s, "olaf")
    tokens = _password_auth(srv, s, "olaf")["AuthenticationResult"]
    expected = f"https://cognito-idp.{REGION}.amazonaws.com/{s.pool_id}"
    discovery = httpx.get(f"{srv.url}/{s.pool_id}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == expected and discovery["jwks_uri"].startswith(srv.url)
    key = pyjwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(tokens["IdToken"])
    claims = pyjwt.decode(tokens["IdToken"], key.key, algorithms=["RS256"], audience=s.client_id, issuer=expected)
    assert claims["iss"] == expected
    assert _unsigned(srv).get_user(AccessToken=tokens["AccessToken"])["Username"] == "olaf"
