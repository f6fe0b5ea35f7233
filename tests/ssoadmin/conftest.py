"""Identity Center fixtures: an account of its own with an instance (AWS allows one instance per
account, so tests that need a fresh one make an account with ``create_account``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Server, create_account


@dataclass
class Instance:
    server: Server
    creds: dict[str, str]  # the account root's key, as boto3 client kwargs
    account_id: str
    instance_arn: str
    identity_store_id: str

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.server.client(service, **{**self.creds, **kwargs})


def new_instance(server: Server, name: str | None = None) -> Instance:
    creds = create_account(server, "sso-" + secrets.token_hex(3))
    admin = server.client("sso-admin", **creds)
    arn = admin.create_instance(Name=name or "test")["InstanceArn"]
    described = admin.describe_instance(InstanceArn=arn)
    return Instance(server, creds, described["OwnerAccountId"], arn, described["IdentityStoreId"])


@pytest.fixture(scope="session")
def instance(server: Server) -> Instance:
    """One instance shared by the session's tests (read-mostly: tests add their own users, groups and
    permission sets with unique names)."""
    return new_instance(server, "shared")
