"""sso-oidc through boto3: RegisterClient, StartDeviceAuthorization and CreateToken's three grants,
with AWS's errors, and the attacks: another client's device code or authorization code, a reused
refresh token, a wrong client secret."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import update

from ostiary.ssooidc import codes, device, opaque, tokens
from ostiary.store import tables as t
from ostiary.store.db import Store
from tests.conftest import Server
from tests.ssoadmin.conftest import Instance
from tests.ssooidc.conftest import add_user
from tests.ssooidc.helpers import (
    ACCOUNT_ACCESS,
    approve,
    code_of,
    device_tokens,
    forget_poll,
    now,
    poll,
    register,
    start,
)

DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


def test_register_client(oidc: Any, server: Server, instance: Instance) -> None:
    before = int(now().timestamp())
    client = register(oidc)
    assert len(client["clientId"]) >= 20 and len(client["clientSecret"]) >= 60
    assert before - 1 <= client["clientIdIssuedAt"] <= before + 5
    assert client["clientSecretExpiresAt"] - client["clientIdIssuedAt"] == 90 * 86400
    assert "authorizationEndpoint" not in client
    full = register(
        oidc,
        scopes=[ACCOUNT_ACCESS],
        grantTypes=["authorization_code", "refresh_token"],
        redirectUris=["http://127.0.0.1/oauth/callback"],
        issuerUrl=f"{server.url}/start/{instance.identity_store_id}",
    )
    assert full["authorizationEndpoint"] == f"{server.url}/authorize"
    assert full["tokenEndpoint"] == f"{server.url}/token"
    for extra, code in (
        ({"scopes": ["admin:everything"]}, "InvalidScopeException"),
        ({"grantTypes": ["password"]}, "UnsupportedGrantTypeException"),
        (
            {"grantTypes": ["authorization_code"], "redirectUris": ["http://evil.example/cb"]},
            "InvalidRedirectUriException",
        ),
        ({"grantTypes": ["authorization_code"]}, "InvalidRedirectUriException"),
        ({"issuerUrl": f"{server.url}/start/d-0000000000"}, "InvalidClientMetadataException"),
        ({"issuerUrl": "https://example.com/"}, "InvalidClientMetadataException"),
    ):
        with pytest.raises(ClientError) as err:
            register(oidc, **extra)
        assert code_of(err.value) == code, extra
    with pytest.raises(ClientError) as err:
        oidc.register_client(clientName="x", clientType="confidential")
    assert code_of(err.value) == "InvalidClientMetadataException"
    with pytest.raises(ClientError) as err:
        oidc.register_client(clientName="x" * 500, clientType="public")
    assert code_of(err.value) == "InvalidClientMetadataException"


def test_start_device_authorization(oidc: Any, server: Server, instance: Instance) -> None:
    client = register(oidc)
    auth = start(oidc, client, server, instance)
    user_code = auth["userCode"]
    assert len(user_code) == 9 and user_code[4] == "-" and user_code.replace("-", "").isalpha()
    assert user_code.isupper() and not set(user_code) & set("AEIOUY01")
    assert auth["verificationUri"] == f"{server.url}/start/device"
    assert auth["verificationUriComplete"] == f"{server.url}/start/device?user_code={user_code}"
    assert auth["expiresIn"] == 600 and auth["interval"] == 1
    assert len(auth["deviceCode"]) >= 40
    # a trailing slash and fragment are accepted on the start URL (as AWS's are written)
    oidc.start_device_authorization(
        clientId=client["clientId"],
        clientSecret=client["clientSecret"],
        startUrl=f"{server.url}/start/{instance.identity_store_id}/#/",
    )
    for kwargs, code, status in (
        ({"clientSecret": client["clientSecret"] + "x"}, "InvalidClientException", 401),
        ({"clientId": "nope"}, "InvalidClientException", 401),
        ({"startUrl": f"{server.url}/start/d-0000000000"}, "InvalidRequestException", 400),
        ({"startUrl": "https://example.awsapps.com/start"}, "InvalidRequestException", 400),
    ):
        args = {
            "clientId": client["clientId"],
            "clientSecret": client["clientSecret"],
            "startUrl": f"{server.url}/start/{instance.identity_store_id}",
            **kwargs,
        }
        with pytest.raises(ClientError) as err:
            oidc.start_device_authorization(**args)
        assert code_of(err.value) == code and err.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    # a client registered for the authorization code grant only may not start a device flow
    auth_code_only = register(oidc, grantTypes=["authorization_code"], redirectUris=["http://127.0.0.1/oauth/callback"])
    with pytest.raises(ClientError) as err:
        start(oidc, auth_code_only, server, instance)
    assert code_of(err.value) == "UnauthorizedClientException"


def test_device_flow_pending_slow_down_approved_once(
    oidc: Any, server: Server, instance: Instance, store: Store
) -> None:
    user_id = add_user(instance)
    client = register(oidc)
    auth = start(oidc, client, server, instance)
    with pytest.raises(ClientError) as err:
        poll(oidc, client, auth)
    assert code_of(err.value) == "AuthorizationPendingException"
    assert err.value.response["error"] == "authorization_pending"
    with pytest.raises(ClientError) as err:  # at once again: faster than the interval
        poll(oidc, client, auth)
    assert code_of(err.value) == "SlowDownException"
    with pytest.raises(ClientError) as err:  # and the interval is 5 s longer now
        poll(oidc, client, auth)
    assert code_of(err.value) == "SlowDownException"
    with store.read() as conn:
        interval = (
            conn.execute(
                t.sso_oidc_device_requests.select().where(
                    t.sso_oidc_device_requests.c.device_code_hash == opaque.digest(auth["deviceCode"])
                )
            )
            .mappings()
            .one()["interval_seconds"]
        )
    assert interval == 11
    approve(store, auth, user_id)
    forget_poll(store, auth)
    # another client presenting this device code gets nothing (and spends nothing)
    thief = register(oidc)
    with pytest.raises(ClientError) as err:
        poll(oidc, thief, auth)
    assert code_of(err.value) == "InvalidGrantException"
    tokens_ = poll(oidc, client, auth)
    assert tokens_["tokenType"] == "Bearer" and tokens_["accessToken"].startswith("aoa")
    assert "refreshToken" not in tokens_  # no scopes registered: the legacy flow has none
    assert 8 * 3600 - 10 <= tokens_["expiresIn"] <= 8 * 3600
    with store.read() as conn:
        found = tokens.session_of(conn, tokens_["accessToken"], now())
    assert found is not None and (found.identity_store_id, found.user_id) == (instance.identity_store_id, user_id)
    forget_poll(store, auth)
    with pytest.raises(ClientError) as err:  # a device code is redeemed once
        poll(oidc, client, auth)
    assert code_of(err.value) == "InvalidGrantException"


def test_device_flow_denied_expired_unknown(oidc: Any, server: Server, instance: Instance, store: Store) -> None:
    client = register(oidc)
    denied = start(oidc, client, server, instance)
    with store.tx() as conn:
        assert device.deny(conn, denied["userCode"], now())
    with pytest.raises(ClientError) as err:
        poll(oidc, client, denied)
    assert code_of(err.value) == "AccessDeniedException"
    expired = start(oidc, client, server, instance)
    with store.tx() as conn:
        conn.execute(
            update(t.sso_oidc_device_requests)
            .where(t.sso_oidc_device_requests.c.device_code_hash == opaque.digest(expired["deviceCode"]))
            .values(expires_at=now() - dt.timedelta(seconds=1))
        )
    with pytest.raises(ClientError) as err:
        poll(oidc, client, expired)
    assert code_of(err.value) == "ExpiredTokenException"
    with pytest.raises(ClientError) as err:
        poll(oidc, client, {"deviceCode": "x" * 43})
    assert code_of(err.value) == "InvalidGrantException"
    with pytest.raises(ClientError) as err:
        oidc.create_token(
            clientId=client["clientId"], clientSecret="wrong", grantType=DEVICE, deviceCode=denied["deviceCode"]
        )
    assert code_of(err.value) == "InvalidClientException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    with pytest.raises(ClientError) as err:
        oidc.create_token(clientId=client["clientId"], clientSecret=client["clientSecret"], grantType="password")
    assert code_of(err.value) == "UnsupportedGrantTypeException"
    with pytest.raises(ClientError) as err:  # no scopes registered: no refresh token grant
        oidc.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="refresh_token",
            refreshToken="aor-anything",
        )
    assert code_of(err.value) == "UnauthorizedClientException"


def test_refresh_rotates_and_reuse_revokes(oidc: Any, server: Server, instance: Instance, store: Store) -> None:
    user_id = add_user(instance)
    client, first = device_tokens(oidc, server, instance, store, user_id, scopes=[ACCOUNT_ACCESS])
    assert first["refreshToken"].startswith("aor") and 3590 <= first["expiresIn"] <= 3600

    def refresh(token: str, who: dict[str, Any] = client) -> dict[str, Any]:
        return dict(
            oidc.create_token(
                clientId=who["clientId"],
                clientSecret=who["clientSecret"],
                grantType="refresh_token",
                refreshToken=token,
            )
        )

    # another client cannot use this client's refresh token
    other = register(oidc, scopes=[ACCOUNT_ACCESS])
    with pytest.raises(ClientError) as err:
        refresh(first["refreshToken"], other)
    assert code_of(err.value) == "InvalidGrantException"
    second = refresh(first["refreshToken"])
    assert second["refreshToken"] != first["refreshToken"] and second["accessToken"] != first["accessToken"]
    third = refresh(second["refreshToken"])
    with store.read() as conn:
        assert tokens.session_of(conn, third["accessToken"], now()) is not None
    # the first refresh token again: a reuse, which ends the session (every token of it)
    with pytest.raises(ClientError) as err:
        refresh(first["refreshToken"])
    assert code_of(err.value) == "InvalidGrantException"
    with pytest.raises(ClientError) as err:
        refresh(third["refreshToken"])
    assert code_of(err.value) == "InvalidGrantException"
    with store.read() as conn:
        assert tokens.session_of(conn, third["accessToken"], now()) is None
        assert tokens.session_of(conn, first["accessToken"], now()) is None


def test_authorization_code_with_pkce(oidc: Any, server: Server, instance: Instance, store: Store) -> None:
    user_id = add_user(instance)
    redirect = "http://127.0.0.1/oauth/callback"
    client = register(
        oidc,
        scopes=[ACCOUNT_ACCESS],
        grantTypes=["authorization_code", "refresh_token"],
        redirectUris=[redirect],
        issuerUrl=f"{server.url}/start/{instance.identity_store_id}",
    )
    verifier = "a-verifier_of.enough~length-" + "x" * 30
    used_redirect = "http://127.0.0.1:50123/oauth/callback"

    def new_code() -> str:
        with store.tx() as conn:
            return codes.issue_code(
                conn,
                client["clientId"],
                used_redirect,
                codes.s256(verifier),
                "S256",
                [ACCOUNT_ACCESS],
                instance.identity_store_id,
                user_id,
                now(),
            )

    def redeem(code: str, who: dict[str, Any] = client, **extra: Any) -> dict[str, Any]:
        args = {"redirectUri": used_redirect, "codeVerifier": verifier, **extra}
        return dict(
            oidc.create_token(
                clientId=who["clientId"],
                clientSecret=who["clientSecret"],
                grantType="authorization_code",
                code=code,
                **args,
            )
        )

    code = new_code()
    got = redeem(code)
    assert got["tokenType"] == "Bearer" and got["refreshToken"].startswith("aor")
    with store.read() as conn:
        found = tokens.session_of(conn, got["accessToken"], now())
    assert found is not None and found.user_id == user_id and found.scopes == [ACCOUNT_ACCESS]
    with pytest.raises(ClientError) as err:  # once only
        redeem(code)
    assert code_of(err.value) == "InvalidGrantException"
    # a wrong verifier, or another redirect URI, spends the code all the same
    for extra in ({"codeVerifier": "b" * 50}, {"redirectUri": "http://127.0.0.1:50124/oauth/callback"}):
        code = new_code()
        with pytest.raises(ClientError) as err:
            redeem(code, **extra)
        assert code_of(err.value) == "InvalidGrantException"
        with pytest.raises(ClientError) as err:
            redeem(code)
        assert code_of(err.value) == "InvalidGrantException"
    # another client cannot redeem it (and does not spend it)
    thief = register(oidc, grantTypes=["authorization_code"], redirectUris=[redirect])
    code = new_code()
    with pytest.raises(ClientError) as err:
        redeem(code, thief)
    assert code_of(err.value) == "InvalidGrantException"
    assert redeem(code)["accessToken"]
    # a device-only client may not use the grant at all
    with pytest.raises(ClientError) as err:
        redeem(new_code(), register(oidc))
    assert code_of(err.value) == "UnauthorizedClientException"
