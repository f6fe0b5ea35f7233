"""Helpers for identity pool tests: a user pool with a signed-in user, roles trusted by
cognito-identity.amazonaws.com, and an identity pool wired to them."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, make_client
from tests.userpools.conftest import PASSWORD, PoolSetup, create_confirmed_user, make_pool

REGION = "us-east-1"


def err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def provider_name(pool_id: str) -> str:
    return f"cognito-idp.{REGION}.amazonaws.com/{pool_id}"


def trust(pool_id: str, amr: str = "authenticated", tag_session: bool = False) -> str:
    actions = ["sts:AssumeRoleWithWebIdentity"] + (["sts:TagSession"] if tag_session else [])
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": actions,
                    "Condition": {
                        "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
                    },
                }
            ],
        }
    )


def make_role(iam: Any, trust_document: str, statements: list[dict[str, Any]] | None = None, **kw: Any) -> str:
    name = "idp-" + secrets.token_hex(5)
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_document, **kw)["Role"]["Arn"]
    if statements:
        iam.put_role_policy(
            RoleName=name,
            PolicyName="p",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
    return arn


def sign_in(s: PoolSetup, username: str, password: str = PASSWORD) -> dict[str, Any]:
    result: dict[str, Any] = s.idp.initiate_auth(
        ClientId=s.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )["AuthenticationResult"]
    return result


def session_client(server: Server, service: str, creds: dict[str, Any]) -> Any:
    return make_client(
        server.url,
        service,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretKey"],
        aws_session_token=creds["SessionToken"],
    )


@dataclass
class Wired:
    """A user pool with a client, an identity pool trusting it, and its two roles."""

    users: PoolSetup
    pool_id: str
    auth_role: str
    unauth_role: str
    ci: Any  # signed cognito-identity client (account root)
    anon: Any  # cognito-identity client for the unsigned operations

    @property
    def provider(self) -> str:
        return provider_name(self.users.pool_id)

    def user(self, username: str | None = None, **attributes: str) -> tuple[str, dict[str, Any]]:
        name = username or "u" + secrets.token_hex(4)
        create_confirmed_user(self.users, name, **attributes)
        return name, sign_in(self.users, name)

    def identity_for(self, id_token: str) -> str:
        identity: str = self.anon.get_id(IdentityPoolId=self.pool_id, Logins={self.provider: id_token})["IdentityId"]
        return identity

    def credentials(self, identity_id: str, id_token: str | None, **kw: Any) -> dict[str, Any]:
        logins = {self.provider: id_token} if id_token else {}
        out: dict[str, Any] = self.anon.get_credentials_for_identity(IdentityId=identity_id, Logins=logins, **kw)
        return out


def wire(
    server: Server,
    *,
    auth_statements: list[dict[str, Any]] | None = None,
    pool_args: dict[str, Any] | None = None,
    user_pool_args: dict[str, Any] | None = None,
    server_side_check: bool = False,
) -> Wired:
    idp = server.client("cognito-idp")
    iam = server.client("iam")
    ci = server.client("cognito-identity")
    users = make_pool(idp, user_pool_args)
    args: dict[str, Any] = {
        "IdentityPoolName": "ip_" + secrets.token_hex(4),
        "AllowUnauthenticatedIdentities": True,
        "CognitoIdentityProviders": [
            {
                "ProviderName": provider_name(users.pool_id),
                "ClientId": users.client_id,
                "ServerSideTokenCheck": server_side_check,
            }
        ],
    }
    args.update(pool_args or {})
    pool_id = ci.create_identity_pool(**args)["IdentityPoolId"]
    auth = make_role(iam, trust(pool_id), auth_statements)
    unauth = make_role(iam, trust(pool_id, "unauthenticated"))
    ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": auth, "unauthenticated": unauth})
    return Wired(users, pool_id, auth, unauth, ci, anon_client(server))


def anon_client(server: Server) -> Any:
    from botocore import UNSIGNED
    from botocore.config import Config

    return make_client(
        server.url, "cognito-identity", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1})
    )


__all__ = ["ACCOUNT_ID", "err", "make_role", "trust", "wire"]
