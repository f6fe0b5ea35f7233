"""AssumeRoleWithWebIdentity end to end through boto3, with a real OIDC issuer on loopback: an
Ostiary user pool, whose ID tokens any OIDC relying party verifies through its discovery document
and JWKS. The IAM OIDC provider names the issuer and the app client as audience."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt as pyjwt
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import ACCOUNT_ID, Server
from tests.userpools.conftest import PASSWORD, create_confirmed_user, make_pool


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _creds(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "aws_access_key_id": c["AccessKeyId"],
        "aws_secret_access_key": c["SecretAccessKey"],
        "aws_session_token": c["SessionToken"],
    }


@pytest.fixture(scope="module")
def issuer(server: Server) -> dict[str, Any]:
    """A user pool acting as the external OIDC issuer, a user's ID token, and an IAM OIDC provider."""
    idp = server.client("cognito-idp")
    setup = make_pool(idp)
    create_confirmed_user(setup, "wendy", email="wendy@example.com")
    tokens = idp.initiate_auth(
        ClientId=setup.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "wendy", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    iss = f"{server.url}/{setup.pool_id}"
    iam = server.client("iam")
    arn = iam.create_open_id_connect_provider(Url=iss, ClientIDList=[setup.client_id], ThumbprintList=["0" * 40])[
        "OpenIDConnectProviderArn"
    ]
    host_path = iss.split("://", 1)[1]
    return {"setup": setup, "id_token": tokens["IdToken"], "iss": iss, "arn": arn, "key": host_path}


def _role(server: Server, name: str, issuer: dict[str, Any], aud: str) -> str:
    iam = server.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": issuer["arn"]},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{issuer['key']}:aud": aud}},
            }
        ],
    }
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    # the session may read its own role only when the role's name ends with the token's subject
    iam.put_role_policy(
        RoleName=name,
        PolicyName="own",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "iam:GetRole",
                        "Resource": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}",
                        "Condition": {"StringEquals": {f"{issuer['key']}:aud": aud}},
                    }
                ],
            }
        ),
    )
    return arn


def test_oidc_provider_lifecycle(server: Server, issuer: dict[str, Any]) -> None:
    iam = server.client("iam")
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=issuer["arn"])
    assert got["Url"] == issuer["key"] and got["ClientIDList"] == [issuer["setup"].client_id]
    assert issuer["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{issuer['key']}"
    assert {"Arn": issuer["arn"]} in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=issuer["arn"], ClientID="other")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=issuer["arn"], ClientID="other")
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=issuer["arn"])["ClientIDList"] == [
        issuer["setup"].client_id
    ]
    with pytest.raises(ClientError) as exc:
        iam.create_open_id_connect_provider(Url=issuer["iss"], ClientIDList=["x"], ThumbprintList=["0" * 40])
    assert _err(exc)[0] == "EntityAlreadyExists"
    with pytest.raises(ClientError) as exc:
        iam.create_open_id_connect_provider(Url="http://idp.example.com", ClientIDList=["x"], ThumbprintList=["0" * 40])
    assert _err(exc)[0] == "InvalidInput"


def test_web_identity_token_gets_role_credentials(server: Server, issuer: dict[str, Any]) -> None:
    role_arn = _role(server, "web-reader", issuer, issuer["setup"].client_id)
    sts = server.client("sts")
    out = sts.assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="wendy-app", WebIdentityToken=issuer["id_token"], DurationSeconds=900
    )
    claims = pyjwt.decode(issuer["id_token"], options={"verify_signature": False})
    assert out["SubjectFromWebIdentityToken"] == claims["sub"]
    assert out["Provider"] == issuer["iss"] and out["Audience"] == issuer["setup"].client_id
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/web-reader/wendy-app"
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")
    creds = _creds(out["Credentials"])
    me = server.client("sts", **creds).get_caller_identity()
    assert me["Arn"] == out["AssumedRoleUser"]["Arn"]
    session_iam = server.client("iam", **creds)
    assert session_iam.get_role(RoleName="web-reader")["Role"]["RoleName"] == "web-reader"
    with pytest.raises(ClientError) as exc:
        session_iam.list_roles()
    assert _err(exc)[0] == "AccessDenied"


def test_refused_tokens(server: Server, issuer: dict[str, Any]) -> None:
    role_arn = _role(server, "web-strict", issuer, issuer["setup"].client_id)
    sts = server.client("sts")

    def refused(token: str, arn: str = role_arn) -> tuple[str, str, int]:
        with pytest.raises(ClientError) as exc:
            sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="s1", WebIdentityToken=token)
        return _err(exc)

    head, _body, sig = issuer["id_token"].split(".")
    claims = pyjwt.decode(issuer["id_token"], options={"verify_signature": False})
    forged_body = pyjwt.utils.base64url_encode(json.dumps({**claims, "sub": "someone-else"}).encode()).decode()
    assert refused(f"{head}.{forged_body}.{sig}")[0] == "InvalidIdentityToken"
    # signed with a key the issuer never published, under the issuer's kid
    kid = pyjwt.get_unverified_header(issuer["id_token"])["kid"]
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert refused(pyjwt.encode(claims, stranger, algorithm="RS256", headers={"kid": kid}))[0] == "InvalidIdentityToken"
    # alg none
    unsigned = pyjwt.encode(claims, None, algorithm="none")
    assert refused(unsigned)[0] == "InvalidIdentityToken"
    # an issuer without an IAM OIDC provider in the account
    other = {**claims, "iss": "http://127.0.0.1:9/nobody"}
    assert refused(pyjwt.encode(other, stranger, algorithm="RS256", headers={"kid": kid}))[0] == "InvalidIdentityToken"
    assert refused("not-a-jwt")[0] == "InvalidIdentityToken"
    # expired
    expired = pyjwt.encode({**claims, "exp": int(time.time()) - 3600}, stranger, algorithm="RS256")
    assert refused(expired)[0] in ("InvalidIdentityToken", "ExpiredTokenException")
    # a trust policy that wants another audience
    other_role = _role(server, "web-other-aud", issuer, "some-other-client")
    code, message, status = refused(issuer["id_token"], other_role)
    assert (code, status) == (
        "AccessDenied",
        403,
    ) and message == "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    # the provider no longer lists the client
    iam = server.client("iam")
    iam.remove_client_id_from_open_id_connect_provider(
        OpenIDConnectProviderArn=issuer["arn"], ClientID=issuer["setup"].client_id
    )
    try:
        code, message, _ = refused(issuer["id_token"])
        assert (code, message) == ("InvalidIdentityToken", "Incorrect token audience")
    finally:
        iam.add_client_id_to_open_id_connect_provider(
            OpenIDConnectProviderArn=issuer["arn"], ClientID=issuer["setup"].client_id
        )
