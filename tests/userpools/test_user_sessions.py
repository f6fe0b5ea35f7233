"""User session tracking: the pool and client session configuration, token sessions (refresh-token
lineages) and SSO sessions listed and revoked by the user and by an administrator, eviction past
MaxPerUser, and the per-client SSO reuse limit of the hosted UI."""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.oauth.conftest import CALLBACK, Hosted, add_user, make_hosted, pkce_pair, query_of, sign_in_over_http
from tests.userpools.conftest import PASSWORD, PoolSetup, create_confirmed_user, make_pool

SESSION_ID = re.compile(r"^(tkn|sso)[a-z0-9]{25}$")


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


@pytest.fixture
def pool(idp: Any) -> Iterator[PoolSetup]:
    s = make_pool(idp)
    yield s
    with contextlib.suppress(Exception):
        idp.delete_user_pool(UserPoolId=s.pool_id)


def _track(s: PoolSetup | Hosted, max_per_user: int = 20) -> None:
    s.idp.set_user_pool_session_configuration(
        UserPoolId=s.pool_id, UserSessionTracking="ENABLED", TokenSession={"MaxPerUser": max_per_user}
    )


def _sign_in(s: PoolSetup, username: str) -> dict[str, Any]:
    result: dict[str, Any] = s.idp.admin_initiate_auth(
        UserPoolId=s.pool_id,
        ClientId=s.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return result


def _admin_sessions(s: PoolSetup | Hosted, username: str) -> list[dict[str, Any]]:
    sessions: list[dict[str, Any]] = s.idp.admin_list_user_sessions(UserPoolId=s.pool_id, Username=username)["Sessions"]
    return sessions


def test_configuration_defaults_set_and_errors(pool: PoolSetup, idp: Any) -> None:
    got = idp.get_user_pool_session_configuration(UserPoolId=pool.pool_id)
    assert got["UserSessionTracking"] == "DISABLED" and got["TokenSession"] == {"MaxPerUser": 20}
    assert got["UserPoolId"] == pool.pool_id
    client = idp.get_user_pool_client_session_configuration(UserPoolId=pool.pool_id, ClientId=pool.client_id)
    assert client["SSOSession"] == {"MaxValidityMinutes": 60} and client["ClientId"] == pool.client_id
    # the client setting needs tracking on
    with pytest.raises(ClientError) as err:
        idp.set_user_pool_client_session_configuration(
            UserPoolId=pool.pool_id, ClientId=pool.client_id, SSOSession={"MaxValidityMinutes": 5}
        )
    assert _code(err) == "OperationNotEnabledException"

    set_ = idp.set_user_pool_session_configuration(
        UserPoolId=pool.pool_id, UserSessionTracking="ENABLED", TokenSession={"MaxPerUser": 7}
    )
    assert set_["UserSessionTracking"] == "ENABLED" and set_["TokenSession"] == {"MaxPerUser": 7}
    got = idp.get_user_pool_session_configuration(UserPoolId=pool.pool_id)
    assert got["UserSessionTracking"] == "ENABLED" and got["TokenSession"] == {"MaxPerUser": 7}
    answer = idp.set_user_pool_client_session_configuration(
        UserPoolId=pool.pool_id, ClientId=pool.client_id, SSOSession={"MaxValidityMinutes": 0}
    )
    assert answer["SSOSession"] == {"MaxValidityMinutes": 0}
    client = idp.get_user_pool_client_session_configuration(UserPoolId=pool.pool_id, ClientId=pool.client_id)
    assert client["SSOSession"] == {"MaxValidityMinutes": 0}
    # DescribeUserPool does not show the session configuration
    assert "UserSessionTracking" not in str(idp.describe_user_pool(UserPoolId=pool.pool_id)["UserPool"])

    # disabled again: the client setting stays (dormant)
    idp.set_user_pool_session_configuration(
        UserPoolId=pool.pool_id, UserSessionTracking="DISABLED", TokenSession={"MaxPerUser": 20}
    )
    client = idp.get_user_pool_client_session_configuration(UserPoolId=pool.pool_id, ClientId=pool.client_id)
    assert client["SSOSession"] == {"MaxValidityMinutes": 0}

    with pytest.raises(ClientError) as err:
        idp.get_user_pool_client_session_configuration(UserPoolId=pool.pool_id, ClientId="nope1234")
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        idp.get_user_pool_session_configuration(UserPoolId="us-east-1_nothere00")
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        idp.set_user_pool_session_configuration(
            UserPoolId=pool.pool_id, UserSessionTracking="ENABLED", TokenSession={"MaxPerUser": 101}
        )
    assert _code(err) in ("InvalidParameterException", "ParamValidation")


def test_lite_pools_cannot_set_it(idp: Any) -> None:
    s = make_pool(idp, {"UserPoolTier": "LITE"})
    try:
        with pytest.raises(ClientError) as err:
            _track(s)
        assert _code(err) == "FeatureUnavailableInTierException"
        assert idp.get_user_pool_session_configuration(UserPoolId=s.pool_id)["UserSessionTracking"] == "DISABLED"
    finally:
        idp.delete_user_pool(UserPoolId=s.pool_id)


def test_listing_and_revoking_need_tracking(pool: PoolSetup, idp: Any) -> None:
    create_confirmed_user(pool, "ann")
    tokens = _sign_in(pool, "ann")
    calls = [
        lambda: idp.admin_list_user_sessions(UserPoolId=pool.pool_id, Username="ann"),
        lambda: idp.list_user_sessions(AccessToken=tokens["AccessToken"]),
        lambda: idp.admin_revoke_user_session(UserPoolId=pool.pool_id, Username="ann", SessionId="tkn" + "a" * 25),
        lambda: idp.revoke_user_session(AccessToken=tokens["AccessToken"], SessionId="tkn" + "a" * 25),
    ]
    for call in calls:
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "OperationNotEnabledException"
    # sessions started while tracking was off are not tracked
    _track(pool)
    assert _admin_sessions(pool, "ann") == []
    with pytest.raises(ClientError) as err:
        idp.admin_list_user_sessions(UserPoolId=pool.pool_id, Username="nobody")
    assert _code(err) == "UserNotFoundException"


def test_token_sessions_listed_refreshed_and_revoked(pool: PoolSetup, idp: Any) -> None:
    create_confirmed_user(pool, "bea")
    _track(pool)
    first, second, third = (_sign_in(pool, "bea") for _ in range(3))
    listed = _admin_sessions(pool, "bea")
    assert len(listed) == 3
    for session in listed:
        assert SESSION_ID.match(session["SessionId"]) and session["SessionId"].startswith("tkn")
        assert session["SessionType"] == "TOKEN" and session["ClientId"] == pool.client_id
        assert session["IsCurrentSession"] is False and "OriginSessionId" not in session
        assert session["LastActiveDate"] == session["CreateDate"]
        assert session["LastIPAddress"] == "127.0.0.1"

    mine = idp.list_user_sessions(AccessToken=first["AccessToken"])["Sessions"]
    assert len(mine) == 3 and "NextToken" not in mine
    current = [s for s in mine if s["IsCurrentSession"]]
    assert len(current) == 1
    with pytest.raises(ClientError) as err:
        idp.revoke_user_session(AccessToken=first["AccessToken"], SessionId=current[0]["SessionId"])
    assert _code(err) == "InvalidParameterException"

    # a refresh is activity on the session (dates on the wire have milliseconds: no wait is needed)
    idp.admin_initiate_auth(
        UserPoolId=pool.pool_id,
        ClientId=pool.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": first["RefreshToken"]},
    )
    after = {s["SessionId"]: s for s in idp.list_user_sessions(AccessToken=first["AccessToken"])["Sessions"]}
    refreshed = after[current[0]["SessionId"]]
    assert refreshed["LastActiveDate"] > refreshed["CreateDate"]

    # the second sign-in's session, revoked by the first: its tokens stop working
    second_id = next(
        s["SessionId"]
        for s in idp.list_user_sessions(AccessToken=second["AccessToken"])["Sessions"]
        if s["IsCurrentSession"]
    )
    idp.revoke_user_session(AccessToken=first["AccessToken"], SessionId=second_id)
    with pytest.raises(ClientError) as err:
        idp.get_user(AccessToken=second["AccessToken"])
    assert _code(err) == "NotAuthorizedException"
    with pytest.raises(ClientError) as err:
        idp.admin_initiate_auth(
            UserPoolId=pool.pool_id,
            ClientId=pool.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": second["RefreshToken"]},
        )
    assert _code(err) == "NotAuthorizedException"
    assert second_id not in {s["SessionId"] for s in _admin_sessions(pool, "bea")}
    # revoked twice, or an id nobody has: not found
    with pytest.raises(ClientError) as err:
        idp.revoke_user_session(AccessToken=first["AccessToken"], SessionId=second_id)
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        idp.admin_revoke_user_session(UserPoolId=pool.pool_id, Username="bea", SessionId="tkn" + "0" * 25)
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        idp.admin_revoke_user_session(UserPoolId=pool.pool_id, Username="bea", SessionId="abc" + "0" * 25)
    assert _code(err) == "InvalidParameterException"

    # the administrator revokes the third; another user's session id is not found for this user
    third_id = next(
        s["SessionId"]
        for s in idp.list_user_sessions(AccessToken=third["AccessToken"])["Sessions"]
        if s["IsCurrentSession"]
    )
    create_confirmed_user(pool, "cal")
    with pytest.raises(ClientError) as err:
        idp.admin_revoke_user_session(UserPoolId=pool.pool_id, Username="cal", SessionId=third_id)
    assert _code(err) == "ResourceNotFoundException"
    idp.admin_revoke_user_session(UserPoolId=pool.pool_id, Username="bea", SessionId=third_id)
    with pytest.raises(ClientError) as err:
        idp.get_user(AccessToken=third["AccessToken"])
    assert _code(err) == "NotAuthorizedException"
    assert [s["SessionId"] for s in _admin_sessions(pool, "bea")] == [current[0]["SessionId"]]

    # GlobalSignOut revokes them all
    idp.admin_user_global_sign_out(UserPoolId=pool.pool_id, Username="bea")
    assert _admin_sessions(pool, "bea") == []


def test_max_per_user_evicts_the_least_recently_active(pool: PoolSetup, idp: Any) -> None:
    create_confirmed_user(pool, "dee")
    _track(pool, max_per_user=2)
    a = _sign_in(pool, "dee")
    time.sleep(0.05)
    b = _sign_in(pool, "dee")
    time.sleep(0.05)
    # a is refreshed: b is now the least recently active
    idp.admin_initiate_auth(
        UserPoolId=pool.pool_id,
        ClientId=pool.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": a["RefreshToken"]},
    )
    c = _sign_in(pool, "dee")
    assert len(_admin_sessions(pool, "dee")) == 2
    idp.get_user(AccessToken=a["AccessToken"])
    idp.get_user(AccessToken=c["AccessToken"])
    with pytest.raises(ClientError) as err:
        idp.get_user(AccessToken=b["AccessToken"])
    assert _code(err) == "NotAuthorizedException"
    # lowering the limit evicts nothing until the next sign-in
    _track(pool, max_per_user=1)
    assert len(_admin_sessions(pool, "dee")) == 2
    d = _sign_in(pool, "dee")
    listed = _admin_sessions(pool, "dee")
    assert len(listed) == 1
    assert listed[0]["SessionId"] == next(
        s["SessionId"]
        for s in idp.list_user_sessions(AccessToken=d["AccessToken"])["Sessions"]
        if s["IsCurrentSession"]
    )


# --------------------------------------------------------------------------------------------
# SSO sessions through the hosted UI


@pytest.fixture
def site(dev_server: Server) -> Iterator[Hosted]:
    h = make_hosted(dev_server)
    yield h
    with contextlib.suppress(Exception):
        h.idp.delete_user_pool(UserPoolId=h.pool_id)


def _params(h: Hosted, client_id: str, challenge: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid aws.cognito.signin.user.admin",
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def _exchange(h: Hosted, client_id: str, location: str, verifier: str) -> dict[str, Any]:
    resp = httpx.post(
        f"{h.base}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": query_of(location)["code"],
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_sso_sessions_origins_and_linked_revocation(site: Hosted) -> None:
    h = site
    add_user(h, "eve")
    _track(h)
    verifier, challenge = pkce_pair()
    with httpx.Client() as web:
        first = _exchange(
            h, h.client_id, sign_in_over_http(web, h, _params(h, h.client_id, challenge), "eve", PASSWORD), verifier
        )
        # the second client: silently, through the SSO session
        location = sign_in_over_http(web, h, _params(h, h.second_client_id, challenge), "eve", "unused")
        assert location.startswith(CALLBACK)
        second = _exchange(h, h.second_client_id, location, verifier)
    listed = _admin_sessions(h, "eve")
    sso = [s for s in listed if s["SessionType"] == "SSO"]
    token = [s for s in listed if s["SessionType"] == "TOKEN"]
    assert len(sso) == 1 and len(token) == 2
    assert SESSION_ID.match(sso[0]["SessionId"]) and sso[0]["SessionId"].startswith("sso")
    assert sso[0]["ClientId"] == h.client_id
    assert {s["OriginSessionId"] for s in token} == {sso[0]["SessionId"]}
    assert {s["ClientId"] for s in token} == {h.client_id, h.second_client_id}
    # the user sees them too; the current one is the first client's
    mine = h.idp.list_user_sessions(AccessToken=first["access_token"])["Sessions"]
    assert [s["ClientId"] for s in mine if s["IsCurrentSession"]] == [h.client_id]

    # revoking the SSO session with LINKED revokes both token sessions
    h.idp.admin_revoke_user_session(
        UserPoolId=h.pool_id, Username="eve", SessionId=sso[0]["SessionId"], RevokeAssociatedSessions="LINKED"
    )
    assert _admin_sessions(h, "eve") == []
    for tokens in (first, second):
        with pytest.raises(ClientError) as err:
            h.idp.get_user(AccessToken=tokens["access_token"])
        assert _code(err) == "NotAuthorizedException"


def test_token_session_linked_to_its_sso_session(site: Hosted) -> None:
    h = site
    add_user(h, "fay")
    _track(h)
    verifier, challenge = pkce_pair()
    with httpx.Client() as web:
        first = _exchange(
            h, h.client_id, sign_in_over_http(web, h, _params(h, h.client_id, challenge), "fay", PASSWORD), verifier
        )
        listed = _admin_sessions(h, "fay")
        token = next(s for s in listed if s["SessionType"] == "TOKEN")
        # an API sign-in: a token session without origin
        api = h.idp.initiate_auth(
            ClientId=h.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "fay", "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        # the API session revokes the hosted one and, LINKED, its SSO session
        h.idp.revoke_user_session(
            AccessToken=api["AccessToken"], SessionId=token["SessionId"], RevokeAssociatedSessions="LINKED"
        )
        left = h.idp.list_user_sessions(AccessToken=api["AccessToken"])["Sessions"]
        assert len(left) == 1 and left[0]["IsCurrentSession"] and "OriginSessionId" not in left[0]
        with pytest.raises(ClientError):
            h.idp.get_user(AccessToken=first["access_token"])
        # the SSO cookie no longer signs the user in
        resp = web.get(f"{h.base}/oauth2/authorize", params=_params(h, h.client_id, challenge))
        assert resp.status_code == 302 and not resp.headers["location"].startswith(CALLBACK)


def test_client_sso_validity_limits_silent_reuse(site: Hosted) -> None:
    h = site
    add_user(h, "gus")
    _track(h)
    h.idp.set_user_pool_client_session_configuration(
        UserPoolId=h.pool_id, ClientId=h.second_client_id, SSOSession={"MaxValidityMinutes": 0}
    )
    _, challenge = pkce_pair()
    with httpx.Client() as web:
        sign_in_over_http(web, h, _params(h, h.client_id, challenge), "gus", PASSWORD)
        # the first client reuses the session; the second (0 minutes) asks the user to sign in again
        again = web.get(f"{h.base}/oauth2/authorize", params=_params(h, h.client_id, challenge))
        assert again.headers["location"].startswith(CALLBACK)
        other = web.get(f"{h.base}/oauth2/authorize", params=_params(h, h.second_client_id, challenge))
        assert other.status_code == 302 and not other.headers["location"].startswith(CALLBACK)
        # with tracking off, the client setting is dormant
        h.idp.set_user_pool_session_configuration(
            UserPoolId=h.pool_id, UserSessionTracking="DISABLED", TokenSession={"MaxPerUser": 20}
        )
        other = web.get(f"{h.base}/oauth2/authorize", params=_params(h, h.second_client_id, challenge))
        assert other.headers["location"].startswith(CALLBACK)
