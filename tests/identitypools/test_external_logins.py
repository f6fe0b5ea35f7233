"""Logins from external identity providers: an IAM OIDC provider (an Ostiary user pool on
loopback acting as the external OpenID Connect issuer, verified through its discovery document and
JWKS) and a SAML provider (pysaml2's IdP on loopback, signing with xmlsec1)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server
from tests.federation.saml_idp import SamlIdp, saml_response_from_form
from tests.identitypools.conftest import anon_client, err, make_role, session_client, trust
from tests.userpools.conftest import PASSWORD, create_confirmed_user, make_pool

A = "https://aws.amazon.com/SAML/Attributes/"


def _role_name(server: Server, creds: dict[str, Any]) -> str:
    arn: str = session_client(server, "sts", creds).get_caller_identity()["Arn"]
    return arn.split("/")[1]


def test_oidc_provider_logins(server: Server) -> None:
    idp = server.client("cognito-idp")
    external = make_pool(idp)
    other_client = idp.create_user_pool_client(
        UserPoolId=external.pool_id,
        ClientName="other",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    create_confirmed_user(external, "olga")

    def token(client_id: str) -> str:
        out: str = idp.initiate_auth(
            ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "olga", "PASSWORD": PASSWORD}
        )["AuthenticationResult"]["IdToken"]
        return out

    iss = f"{server.url}/{external.pool_id}"
    iam = server.client("iam")
    arn = iam.create_open_id_connect_provider(Url=iss, ClientIDList=[external.client_id], ThumbprintList=["0" * 40])[
        "OpenIDConnectProviderArn"
    ]
    key = iss.split("://", 1)[1]
    ci = server.client("cognito-identity")
    pool_id = ci.create_identity_pool(
        IdentityPoolName="oidc", AllowUnauthenticatedIdentities=False, OpenIdConnectProviderARNs=[arn]
    )["IdentityPoolId"]
    role = make_role(iam, trust(pool_id))
    ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": role})
    anon = anon_client(server)

    identity = anon.get_id(IdentityPoolId=pool_id, Logins={key: token(external.client_id)})["IdentityId"]
    assert anon.get_id(IdentityPoolId=pool_id, Logins={key: token(external.client_id)})["IdentityId"] == identity
    out = anon.get_credentials_for_identity(IdentityId=identity, Logins={key: token(external.client_id)})
    assert _role_name(server, out["Credentials"]) == role.rsplit("/", 1)[-1]
    assert ci.describe_identity(IdentityId=identity)["Logins"] == [key]

    # an audience the IAM provider does not list, and a forged signature
    with pytest.raises(ClientError) as exc:
        anon.get_id(IdentityPoolId=pool_id, Logins={key: token(other_client)})
    assert err(exc) == ("NotAuthorizedException", "Invalid login token. Incorrect token audience.")
    head, body, sig = token(external.client_id).split(".")
    with pytest.raises(ClientError) as exc:
        anon.get_id(IdentityPoolId=pool_id, Logins={key: f"{head}.{body}.{sig[:-4]}AAAA"})
    assert err(exc)[0] == "NotAuthorizedException"


def test_oauth_access_token_providers_are_refused(server: Server) -> None:
    ci = server.client("cognito-identity")
    pool_id = ci.create_identity_pool(
        IdentityPoolName="social",
        AllowUnauthenticatedIdentities=True,
        SupportedLoginProviders={"graph.facebook.com": "1234"},
    )["IdentityPoolId"]
    with pytest.raises(ClientError) as exc:
        anon_client(server).get_id(IdentityPoolId=pool_id, Logins={"graph.facebook.com": "EAAB-access-token"})
    code, message = err(exc)
    assert code == "NotAuthorizedException" and "graph.facebook.com" in message


@pytest.fixture(scope="module")
def saml_idp(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SamlIdp, str]]:
    idp = SamlIdp(tmp_path_factory.mktemp("saml-ip"), name="ip-idp")
    name = "ip-" + secrets.token_hex(3)
    provider = f"arn:aws:iam::{ACCOUNT_ID}:saml-provider/{name}"
    metadata = httpx.get(idp.base + "/metadata").text
    server.client("iam").create_saml_provider(SAMLMetadataDocument=metadata, Name=name)
    yield idp, provider
    idp.close()


def test_saml_logins(server: Server, saml_idp: tuple[SamlIdp, str]) -> None:
    idp, provider = saml_idp
    iam = server.client("iam")
    ci = server.client("cognito-identity")
    pool_id = ci.create_identity_pool(
        IdentityPoolName="saml", AllowUnauthenticatedIdentities=False, SamlProviderARNs=[provider]
    )["IdentityPoolId"]
    default = make_role(iam, trust(pool_id))
    engineers = make_role(iam, trust(pool_id))
    ops = make_role(iam, trust(pool_id))
    ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": default})
    idp.users["carol"] = {A + "Role": [f"{engineers},{provider}", f"{provider},{ops}"]}
    idp.users["dave"] = {}
    anon = anon_client(server)

    def assertion(user: str) -> str:
        return saml_response_from_form(httpx.get(idp.base + "/sso", params={"user": user}).text)

    identity = anon.get_id(IdentityPoolId=pool_id, Logins={provider: assertion("carol")})["IdentityId"]
    assert anon.get_id(IdentityPoolId=pool_id, Logins={provider: assertion("carol")})["IdentityId"] == identity
    # two roles in the assertion: CustomRoleArn picks one; without it, the authenticated role
    creds = anon.get_credentials_for_identity(
        IdentityId=identity, Logins={provider: assertion("carol")}, CustomRoleArn=ops
    )["Credentials"]
    assert _role_name(server, creds) == ops.rsplit("/", 1)[-1]
    creds = anon.get_credentials_for_identity(IdentityId=identity, Logins={provider: assertion("carol")})["Credentials"]
    assert _role_name(server, creds) == default.rsplit("/", 1)[-1]
    dave = anon.get_id(IdentityPoolId=pool_id, Logins={provider: assertion("dave")})["IdentityId"]
    assert dave != identity
    with pytest.raises(ClientError) as exc:
        anon.get_id(IdentityPoolId=pool_id, Logins={provider: json.dumps({"not": "saml"})})
    assert err(exc)[0] == "NotAuthorizedException"
