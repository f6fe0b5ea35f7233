"""Organizations fixtures: each test's organization in an account of its own (an account belongs to
one organization only), made with ``create_account``; its root's key drives the management calls."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, create_account


@dataclass
class Org:
    server: Server
    creds: dict[str, str]  # the management account root's key, as boto3 client kwargs
    account_id: str
    org_id: str
    root_id: str

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.server.client(service, **{**self.creds, **kwargs})

    def member(self, name: str | None = None) -> str:
        """A new member account made with CreateAccount: its id."""
        email = f"{secrets.token_hex(4)}@example.com"
        status = self.client("organizations").create_account(Email=email, AccountName=name or "member")
        assert status["CreateAccountStatus"]["State"] == "SUCCEEDED"
        return str(status["CreateAccountStatus"]["AccountId"])

    def admin_of(self, account_id: str, role: str = "OrganizationAccountAccessRole") -> dict[str, str]:
        """Temporary credentials of ``role`` in a member account, assumed from the management root."""
        sts = self.client("sts")
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="admin")[
            "Credentials"
        ]
        return {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }


def new_org(server: Server, feature_set: str = "ALL") -> Org:
    creds = create_account(server, "org-" + secrets.token_hex(3))
    orgs = server.client("organizations", **creds)
    org = orgs.create_organization(FeatureSet=feature_set)["Organization"]
    root = orgs.list_roots()["Roots"][0]
    return Org(server, creds, org["MasterAccountId"], org["Id"], root["Id"])


@pytest.fixture
def org(server: Server) -> Org:
    return new_org(server)


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return str(err["Code"]), str(err.get("Message", ""))
