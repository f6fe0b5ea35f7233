"""Helpers of the sso-oidc and portal API tests: the device flow driven as botocore's SSOTokenFetcher
drives it, with the approval given through ``ssooidc.device.approve`` (what the portal's device page
calls) on the server's database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.exceptions import ClientError
from sqlalchemy import update

from ostiary.ssooidc import device, opaque
from ostiary.store import tables as t
from ostiary.store.db import Store
from tests.conftest import Server
from tests.ssoadmin.conftest import Instance

ACCOUNT_ACCESS = "sso:account:access"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def code_of(err: ClientError) -> str:
    return str(err.response["Error"]["Code"])


def register(oidc: Any, **extra: Any) -> dict[str, Any]:
    return dict(oidc.register_client(clientName="test-cli", clientType="public", **extra))


def start(oidc: Any, client: dict[str, Any], server: Server, inst: Instance) -> dict[str, Any]:
    return dict(
        oidc.start_device_authorization(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            startUrl=f"{server.url}/start/{inst.identity_store_id}",
        )
    )


def poll(oidc: Any, client: dict[str, Any], auth: dict[str, Any]) -> dict[str, Any]:
    return dict(
        oidc.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="urn:ietf:params:oauth:grant-type:device_code",
            deviceCode=auth["deviceCode"],
        )
    )


def forget_poll(store: Store, auth: dict[str, Any]) -> None:
    """As if the client had waited its interval since its last poll."""
    with store.tx() as conn:
        conn.execute(
            update(t.sso_oidc_device_requests)
            .where(t.sso_oidc_device_requests.c.device_code_hash == opaque.digest(auth["deviceCode"]))
            .values(last_polled_at=None)
        )


def approve(store: Store, auth: dict[str, Any], user_id: str) -> None:
    with store.tx() as conn:
        assert device.approve(conn, auth["userCode"], user_id, now())


def device_tokens(
    oidc: Any, server: Server, inst: Instance, store: Store, user_id: str, scopes: list[str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the registered client, CreateToken's answer) of a device flow approved by ``user_id``."""
    client = register(oidc, **({"scopes": scopes} if scopes is not None else {}))
    auth = start(oidc, client, server, inst)
    approve(store, auth, user_id)
    return client, poll(oidc, client, auth)
