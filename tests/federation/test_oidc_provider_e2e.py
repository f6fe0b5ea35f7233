"""AssumeRoleWithWebIdentity with a standalone OpenID Connect issuer on loopback: the npm package
oidc-provider (its own keys, discovery document and JWKS). A user signs in through its login and
consent pages (implicit flow, driven over HTTP), and the ID token it returns becomes role
credentials; a token from elsewhere under the same kid is refused."""

from __future__ import annotations

import json
from typing import Any

import jwt as pyjwt
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import ACCOUNT_ID, Server
from tests.federation.conftest import CLIENT_ID, sign_in


def test_oidc_provider_token_assumes_a_role(server: Server, oidc_issuer: str) -> None:
    issuer = oidc_issuer
    iam, sts = server.client("iam"), server.client("sts")
    provider = iam.create_open_id_connect_provider(Url=issuer, ClientIDList=[CLIENT_ID], ThumbprintList=["0" * 40])[
        "OpenIDConnectProviderArn"
    ]
    host = issuer.split("://", 1)[1]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{host}:aud": CLIENT_ID, f"{host}:sub": "alice"}},
            }
        ],
    }
    role = iam.create_role(RoleName="oidc-provider-alice", AssumeRolePolicyDocument=json.dumps(trust))["Role"]

    token = sign_in(issuer, "alice")
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == issuer and claims["aud"] == CLIENT_ID and claims["sub"] == "alice"
    out = sts.assume_role_with_web_identity(RoleArn=role["Arn"], RoleSessionName="alice-web", WebIdentityToken=token)
    assert out["SubjectFromWebIdentityToken"] == "alice" and out["Provider"] == issuer
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/oidc-provider-alice/alice-web"
    creds: dict[str, Any] = out["Credentials"]
    who = server.client(
        "sts",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).get_caller_identity()
    assert who["Arn"] == out["AssumedRoleUser"]["Arn"]

    # another user of the same issuer: the trust policy's sub condition refuses
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(
            RoleArn=role["Arn"], RoleSessionName="bob-web", WebIdentityToken=sign_in(issuer, "bob")
        )
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    # a forged token: same claims and kid, a key the issuer never published
    forged = pyjwt.encode(
        claims,
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": pyjwt.get_unverified_header(token)["kid"]},
    )
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(RoleArn=role["Arn"], RoleSessionName="forged", WebIdentityToken=forged)
    assert exc.value.response["Error"]["Code"] == "InvalidIdentityToken"
