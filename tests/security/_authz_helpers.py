"""Shared set-up of the authorization tests (trust, revocation, request context): IAM users with
their own access keys, role sessions, a second account made with the CLI."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, create_account, make_client

_ACCOUNTS: dict[tuple[str, str], dict[str, str]] = {}


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*", **condition: Any) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        stmt["Condition"] = condition
    return stmt


def deny(action: str | list[str], resource: str | list[str] = "*", **condition: Any) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": "Deny", "Action": action, "Resource": resource}
    if condition:
        stmt["Condition"] = condition
    return stmt


def trust_stmt(effect: str, principal: Any, action: str = "sts:AssumeRole", **condition: Any) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": effect, "Principal": principal, "Action": action}
    if condition:
        stmt["Condition"] = condition
    return stmt


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def creds_of(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "aws_access_key_id": c["AccessKeyId"],
        "aws_secret_access_key": c["SecretAccessKey"],
        "aws_session_token": c["SessionToken"],
    }


def key_creds(akid: str, secret: str) -> dict[str, Any]:
    return {"aws_access_key_id": akid, "aws_secret_access_key": secret}


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def second_account(server: Server, account_id: str) -> dict[str, Any]:
    """Credentials of the root of another account on the same server (made once)."""
    key = (server.url, account_id)
    if key not in _ACCOUNTS:
        _ACCOUNTS[key] = create_account(server, f"acct-{account_id}", account_id)
    return dict(_ACCOUNTS[key])


def new_user(
    server: Server,
    name: str,
    policies: list[str] = (),  # type: ignore[assignment]
    *,
    boundary: str | None = None,
    tags: dict[str, str] | None = None,
    account_creds: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """(ARN, credentials) of a new IAM user with inline ``policies`` (documents)."""
    iam = server.client("iam", **(account_creds or {}))
    kwargs: dict[str, Any] = {"UserName": name}
    if boundary:
        kwargs["PermissionsBoundary"] = boundary
    if tags:
        kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    arn = iam.create_user(**kwargs)["User"]["Arn"]
    for i, document in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{i}", PolicyDocument=document)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, key_creds(key["AccessKeyId"], key["SecretAccessKey"])


def new_role(
    server: Server,
    name: str,
    trust: str,
    policies: list[str] = (),  # type: ignore[assignment]
    *,
    boundary: str | None = None,
    tags: dict[str, str] | None = None,
    account_creds: dict[str, Any] | None = None,
) -> str:
    iam = server.client("iam", **(account_creds or {}))
    kwargs: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": trust}
    if boundary:
        kwargs["PermissionsBoundary"] = boundary
    if tags:
        kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    arn: str = iam.create_role(**kwargs)["Role"]["Arn"]
    for i, document in enumerate(policies):
        iam.put_role_policy(RoleName=name, PolicyName=f"p{i}", PolicyDocument=document)
    return arn


def new_boundary(server: Server, name: str, document: str, account_creds: dict[str, Any] | None = None) -> str:
    iam = server.client("iam", **(account_creds or {}))
    arn: str = iam.create_policy(PolicyName=name, PolicyDocument=document)["Policy"]["Arn"]
    return arn


def client(server: Server, service: str, creds: dict[str, Any]) -> Any:
    return make_client(server.url, service, **creds)


def root_arn(account: str = ACCOUNT_ID) -> str:
    return f"arn:aws:iam::{account}:root"
