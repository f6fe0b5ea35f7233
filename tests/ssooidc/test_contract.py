"""What the access portal's pages call (``ssooidc.device``, ``codes``, ``tokens``) against the server's
real database, with clients registered and device requests started through boto3."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary.protocol.errors import ServiceError
from ostiary.ssooidc import codes, device, limits, tokens
from ostiary.store.db import Store
from tests.conftest import Server
from tests.ssoadmin.conftest import Instance
from tests.ssooidc.conftest import add_user, start_url


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _device(
    oidc: Any, server: Server, instance: Instance, name: str = "my-cli"
) -> tuple[dict[str, Any], dict[str, Any]]:
    client = oidc.register_client(clientName=name, clientType="public")
    auth = oidc.start_device_authorization(
        clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=start_url(server, instance)
    )
    return client, auth


def test_pending_any_case_and_dash(oidc: Any, server: Server, instance: Instance, store: Store) -> None:
    _, auth = _device(oidc, server, instance)
    code = auth["userCode"]
    with store.read() as conn:
        found = device.pending(conn, code, _now())
        assert found is not None
        assert found.user_code == code and found.status == "PENDING" and found.client_name == "my-cli"
        assert found.identity_store_id == instance.identity_store_id
        assert device.pending(conn, code.lower().replace("-", ""), _now()) == found
        assert device.pending(conn, " " + code.lower() + " ", _now()) == found
        assert device.pending(conn, "BBBB-BBBB", _now()) is None or code == "BBBB-BBBB"
        assert device.pending(conn, "not a code", _now()) is None
        assert device.pending(conn, "A" * 5000, _now()) is None
        # past its time it reads EXPIRED, and can no longer be decided
        later = _now() + dt.timedelta(seconds=601)
        expired = device.pending(conn, code, later)
        assert expired is not None and expired.status == "EXPIRED"
    with store.tx() as conn:
        assert device.approve(conn, code, "u", later) is False


def test_decided_once(oidc: Any, server: Server, instance: Instance, store: Store) -> None:
    _, auth = _device(oidc, server, instance)
    code = auth["userCode"]
    with store.tx() as conn:
        assert device.deny(conn, code.lower(), _now()) is True
        assert device.approve(conn, code, "someone", _now()) is False
        assert device.deny(conn, code, _now()) is False
    with store.read() as conn:
        found = device.pending(conn, code, _now())
        assert found is not None and found.status == "DENIED"
    with store.tx() as conn:
        assert device.approve(conn, "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "BBBB-BBBB", "u", _now()) is False


def test_mint_session_and_revoke(instance: Instance, store: Store) -> None:
    user_id = add_user(instance)
    with store.tx() as conn:
        token, expires = tokens.mint_session(conn, instance.identity_store_id, user_id, _now())
    assert dt.timedelta(hours=7, minutes=59) < expires - _now() <= dt.timedelta(hours=8)
    assert len(token) >= 40
    with store.read() as conn:
        found = tokens.session_of(conn, token, _now())
        assert found is not None
        assert (found.identity_store_id, found.user_id, found.scopes) == (
            instance.identity_store_id,
            user_id,
            ["sso:account:access"],
        )
        assert found.expires_at == expires
        assert tokens.session_of(conn, token, expires + dt.timedelta(seconds=1)) is None
        assert tokens.session_of(conn, token + "x", _now()) is None
        assert tokens.session_of(conn, "", _now()) is None
    with store.tx() as conn:
        tokens.revoke_session(conn, token)
        tokens.revoke_session(conn, token)  # twice: nothing more to do
        tokens.revoke_session(conn, "unknown")
    with store.read() as conn:
        assert tokens.session_of(conn, token, _now()) is None


def test_check_authorize_and_issue_code(oidc: Any, instance: Instance, server: Server, store: Store) -> None:
    client = oidc.register_client(
        clientName="auth-code-cli",
        clientType="public",
        scopes=["sso:account:access"],
        grantTypes=["authorization_code", "refresh_token"],
        redirectUris=["http://127.0.0.1/oauth/callback"],
        issuerUrl=start_url(server, instance),
    )
    cid = client["clientId"]
    legacy = oidc.register_client(clientName="legacy", clientType="public")["clientId"]
    user_id = add_user(instance)
    with store.read() as conn:
        row = codes.check_authorize(conn, cid, "http://127.0.0.1:43125/oauth/callback", ["sso:account:access"], _now())
        assert row["client_name"] == "auth-code-cli" and row["issuer_url"] == start_url(server, instance)
        for bad in (
            (cid, "http://127.0.0.1:43125/elsewhere", ["sso:account:access"]),
            (cid, "https://evil.example/oauth/callback", ["sso:account:access"]),
            (cid, "http://127.0.0.1:43125/oauth/callback", ["admin"]),
            ("unknown-client", "http://127.0.0.1/oauth/callback", []),
        ):
            with pytest.raises(ServiceError) as err:
                codes.check_authorize(conn, *bad, _now())
            assert err.value.message
        # a device-only client may not use the authorization code grant
        with pytest.raises(ServiceError) as err:
            codes.check_authorize(conn, legacy, "http://127.0.0.1/oauth/callback", [], _now())
        assert err.value.code == "UnauthorizedClientException"
    verifier = "v" * 64
    with store.tx() as conn:
        code = codes.issue_code(
            conn,
            cid,
            "http://127.0.0.1:43125/oauth/callback",
            codes.s256(verifier),
            "S256",
            ["sso:account:access"],
            instance.identity_store_id,
            user_id,
            _now(),
        )
        with pytest.raises(ServiceError):
            codes.issue_code(conn, cid, "http://127.0.0.1/oauth/callback", "short", "plain", [], "d", "u", _now())
    assert len(code) >= 40


def test_user_code_lookups_bounded_per_source(store: Store) -> None:
    """The device page's guard: a source may look user codes up 30 times in 10 minutes."""
    source = "198.51.100." + str(secrets.randbelow(250))
    t0 = _now()
    with store.tx() as conn:
        assert all(limits.user_code_lookup(conn, source, t0) for _ in range(30))
        assert not limits.user_code_lookup(conn, source, t0)
        assert limits.user_code_lookup(conn, source + "1", t0)  # another source is not held back
        assert limits.user_code_lookup(conn, source, t0 + dt.timedelta(minutes=10, seconds=1))


def test_device_authorizations_bounded_per_client(oidc: Any, server: Server, instance: Instance) -> None:
    client = oidc.register_client(clientName="busy", clientType="public")
    for _ in range(60):
        oidc.start_device_authorization(
            clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=start_url(server, instance)
        )
    with pytest.raises(ClientError) as err:
        oidc.start_device_authorization(
            clientId=client["clientId"], clientSecret=client["clientSecret"], startUrl=start_url(server, instance)
        )
    assert err.value.response["Error"]["Code"] == "SlowDownException"
