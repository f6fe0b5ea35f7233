"""Fixtures for user pool tests: a pool with an app client, users created through the API, and
a way to read codes from the development outbox."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import Server

PASSWORD = "Corr3ct-Horse!"


@dataclass
class PoolSetup:
    pool_id: str
    client_id: str
    client_secret: str | None
    idp: Any

    @property
    def group(self) -> str:
        return self.pool_id.split("_", 1)[1]


def all_flows() -> list[str]:
    return [
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_ADMIN_USER_PASSWORD_AUTH",
        "ALLOW_CUSTOM_AUTH",
    ]


def make_pool(
    idp: Any, pool_args: dict[str, Any] | None = None, client_args: dict[str, Any] | None = None
) -> PoolSetup:
    args = {"PoolName": "p-" + secrets.token_hex(4), "AutoVerifiedAttributes": ["email"]}
    args.update(pool_args or {})
    pool = idp.create_user_pool(**args)["UserPool"]
    cargs = {"UserPoolId": pool["Id"], "ClientName": "app", "ExplicitAuthFlows": all_flows()}
    cargs.update(client_args or {})
    client = idp.create_user_pool_client(**cargs)["UserPoolClient"]
    return PoolSetup(pool["Id"], client["ClientId"], client.get("ClientSecret"), idp)


@pytest.fixture
def setup(idp: Any) -> Iterator[PoolSetup]:
    s = make_pool(idp)
    yield s
    with contextlib.suppress(Exception):
        idp.delete_user_pool(UserPoolId=s.pool_id)


def create_confirmed_user(s: PoolSetup, username: str, password: str = PASSWORD, **attributes: str) -> None:
    attrs = [{"Name": k, "Value": v} for k, v in attributes.items()]
    s.idp.admin_create_user(UserPoolId=s.pool_id, Username=username, UserAttributes=attrs, MessageAction="SUPPRESS")
    s.idp.admin_set_user_password(UserPoolId=s.pool_id, Username=username, Password=password, Permanent=True)


def outbox_code(server: Server, destination: str) -> str:
    """The newest code sent to ``destination``, read from the development outbox."""
    import re

    r = httpx.get(server.url + "/_ostiary/outbox", params={"destination": destination, "limit": 1})
    r.raise_for_status()
    messages = r.json()["messages"]
    assert messages, f"no message to {destination}"
    m = re.search(r"\b(\d{6})\b", messages[0]["body"])
    assert m, messages[0]["body"]
    return m.group(1)
