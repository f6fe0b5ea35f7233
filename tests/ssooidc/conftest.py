"""sso-oidc fixtures: boto3's sso-oidc client of the test server (unsigned: its operations are noAuth),
a direct Store on the server's database (for what the access portal's pages call: ``device``, ``codes``,
``tokens``), and a directory user of an instance."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from ostiary.store.db import Store
from tests.conftest import Server
from tests.ssoadmin.conftest import Instance, new_instance


@pytest.fixture(scope="session")
def oidc(server: Server) -> Any:
    return server.client("sso-oidc")


@pytest.fixture
def store(server: Server) -> Iterator[Store]:
    s = Store(server.database_url)
    try:
        yield s
    finally:
        s.dispose()


@pytest.fixture(scope="session")
def instance(server: Server) -> Instance:
    return new_instance(server, "oidc")


def add_user(inst: Instance, prefix: str = "oidc") -> str:
    name = f"{prefix}-{secrets.token_hex(3)}"
    return str(
        inst.client("identitystore").create_user(
            IdentityStoreId=inst.identity_store_id,
            UserName=name,
            DisplayName=name,
            Name={"GivenName": "Test", "FamilyName": name},
        )["UserId"]
    )


def start_url(server: Server, inst: Instance) -> str:
    return f"{server.url}/start/{inst.identity_store_id}"
