"""Social sign-in providers are OpenID Connect issuers whose location the operator can change: here
``accounts.google.com`` is pointed (``OSTIARY_FEDERATION_ISSUERS``) at oidc-provider on loopback.
Its ID tokens then work as identity-pool logins and in AssumeRoleWithWebIdentity with
``Principal: {"Federated": "accounts.google.com"}`` — and an opaque access token does not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server
from tests.federation.conftest import CLIENT_ID, sign_in
from tests.identitypools.conftest import anon_client, make_role, session_client, trust


@pytest.fixture(scope="module")
def social_server(server_factory: Any, oidc_issuer: str) -> Server:
    srv: Server = server_factory(env={"OSTIARY_FEDERATION_ISSUERS": f"accounts.google.com={oidc_issuer}"})
    return srv


def test_google_login_in_an_identity_pool(social_server: Server, oidc_issuer: str) -> None:
    ci, iam = social_server.client("cognito-identity"), social_server.client("iam")
    pool_id = ci.create_identity_pool(
        IdentityPoolName="social",
        AllowUnauthenticatedIdentities=False,
        SupportedLoginProviders={"accounts.google.com": CLIENT_ID, "graph.facebook.com": "1234567890"},
    )["IdentityPoolId"]
    role = make_role(iam, trust(pool_id))
    ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": role})
    anon = anon_client(social_server)

    token = sign_in(oidc_issuer, "gail")
    logins = {"accounts.google.com": token}
    identity = anon.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    assert (
        anon.get_id(IdentityPoolId=pool_id, Logins={"accounts.google.com": sign_in(oidc_issuer, "gail")})["IdentityId"]
        == identity
    )
    creds = anon.get_credentials_for_identity(IdentityId=identity, Logins=logins)["Credentials"]
    arn = session_client(social_server, "sts", creds).get_caller_identity()["Arn"]
    assert arn == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role.split('/')[-1]}/CognitoIdentityCredentials"
    described = ci.describe_identity(IdentityId=identity)
    assert described["Logins"] == ["accounts.google.com"]

    with pytest.raises(ClientError) as exc:
        anon.get_id(IdentityPoolId=pool_id, Logins={"graph.facebook.com": "EAAGm0PX4ZCpsBAOpaqueAccessToken"})
    assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_google_token_in_assume_role_with_web_identity(social_server: Server, oidc_issuer: str) -> None:
    iam = social_server.client("iam")
    trust_doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "accounts.google.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {"accounts.google.com:aud": CLIENT_ID}},
            }
        ],
    }
    role = iam.create_role(RoleName="google-users", AssumeRolePolicyDocument=json.dumps(trust_doc))["Role"]["Arn"]
    out = social_server.client("sts").assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="gail", WebIdentityToken=sign_in(oidc_issuer, "gail")
    )
    assert out["SubjectFromWebIdentityToken"] == "gail" and out["Audience"] == CLIENT_ID
