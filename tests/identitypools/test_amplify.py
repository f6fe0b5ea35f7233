"""A user pool provider named by its token issuer as served, as Amplify names it: Amplify v6 builds
the ``Logins`` key from the ID token's ``iss`` without its scheme (``127.0.0.1:<port>/<poolId>``
with the default issuer style), where AWS's documentation uses
``cognito-idp.<region>.amazonaws.com/<poolId>``. Both name the same provider: in
CreateIdentityPool's CognitoIdentityProviders, in Logins (GetId, GetCredentialsForIdentity,
GetOpenIdToken), in RoleMappings keys and principal tag maps, and a pool configured under one
name accepts logins under the other, landing on the same identity."""

from __future__ import annotations

import json
from typing import Any

import jwt as pyjwt
import pytest
from botocore.exceptions import ClientError

from tests import amplify
from tests.conftest import Server
from tests.identitypools.conftest import err, make_role, session_client, trust, wire
from tests.userpools.conftest import PASSWORD


def issuer_name(server_url: str, pool_id: str) -> str:
    """The provider name Amplify derives from the ID token: its issuer without the scheme."""
    return f"{server_url.split('://', 1)[1]}/{pool_id}"


def _role_name(server: Server, creds: dict[str, Any]) -> str:
    arn: str = session_client(server, "sts", creds).get_caller_identity()["Arn"]
    return arn.split("/")[1]


@pytest.mark.parametrize("configured", ["cognito-idp", "issuer"])
def test_amplify_fetch_auth_session_returns_credentials(server: Server, configured: str) -> None:
    w = wire(server)
    if configured == "issuer":  # the pool names the user pool as Amplify does
        w.ci.update_identity_pool(
            IdentityPoolId=w.pool_id,
            IdentityPoolName="amplify",
            AllowUnauthenticatedIdentities=True,
            CognitoIdentityProviders=[
                {"ProviderName": issuer_name(server.url, w.users.pool_id), "ClientId": w.users.client_id}
            ],
        )
    name, _ = w.user()
    out = amplify.run("amplify_identity.js", server.url, w.users.pool_id, w.users.client_id, w.pool_id, name, PASSWORD)
    assert out["signedIn"] is True
    claims = pyjwt.decode(out["idToken"], options={"verify_signature": False})
    assert claims["iss"] == f"{server.url}/{w.users.pool_id}"
    creds = out["credentials"]
    assert creds and creds["accessKeyId"] and creds["sessionToken"]
    assert out["identityId"].startswith(w.pool_id.split(":")[0] + ":")
    # the credentials are the authenticated role's, for the identity of that login
    session = {
        "AccessKeyId": creds["accessKeyId"],
        "SecretKey": creds["secretAccessKey"],
        "SessionToken": creds["sessionToken"],
    }
    assert _role_name(server, session) == w.auth_role.rsplit("/", 1)[-1]
    tokens = w.users.idp.initiate_auth(
        ClientId=w.users.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    assert w.identity_for(tokens["IdToken"]) == out["identityId"]


def test_either_name_reaches_the_same_identity(server: Server) -> None:
    w = wire(server, pool_args={"AllowClassicFlow": True})
    by_issuer = issuer_name(server.url, w.users.pool_id)
    _, tokens = w.user()
    token = tokens["IdToken"]
    identity = w.anon.get_id(IdentityPoolId=w.pool_id, Logins={by_issuer: token})["IdentityId"]
    assert w.identity_for(token) == identity  # under cognito-idp.<region>.amazonaws.com/<poolId>
    out = w.anon.get_credentials_for_identity(IdentityId=identity, Logins={by_issuer: token})
    assert out["IdentityId"] == identity
    assert _role_name(server, out["Credentials"]) == w.auth_role.rsplit("/", 1)[-1]
    opened = w.anon.get_open_id_token(IdentityId=identity, Logins={by_issuer: token})
    assert opened["IdentityId"] == identity
    claims = pyjwt.decode(opened["Token"], options={"verify_signature": False})
    # the login is known by one canonical name, whichever name the client used
    assert claims["amr"][:2] == ["authenticated", w.provider]
    assert w.ci.describe_identity(IdentityId=identity)["Logins"] == [w.provider]
    # the same user under both names at once is one login, not two
    both = w.anon.get_id(IdentityPoolId=w.pool_id, Logins={by_issuer: token, w.provider: token})
    assert both["IdentityId"] == identity

    # a pool configured under the issuer's name accepts the cognito-idp name
    w.ci.update_identity_pool(
        IdentityPoolId=w.pool_id,
        IdentityPoolName="by-issuer",
        AllowUnauthenticatedIdentities=True,
        AllowClassicFlow=True,
        CognitoIdentityProviders=[{"ProviderName": by_issuer, "ClientId": w.users.client_id}],
    )
    described = w.ci.describe_identity_pool(IdentityPoolId=w.pool_id)
    assert described["CognitoIdentityProviders"][0]["ProviderName"] == by_issuer  # as given
    assert w.identity_for(token) == identity
    assert w.credentials(identity, token)["IdentityId"] == identity


def test_names_that_are_not_this_user_pool_are_refused(server: Server) -> None:
    w = wire(server)
    _, tokens = w.user()
    host = server.url.split("://", 1)[1]
    others = [
        f"example.com/{w.users.pool_id}",  # another host
        f"{host}/us-east-1_Nope12345",  # another user pool: not configured here
        f"{server.url}/{w.users.pool_id}",  # the issuer with its scheme is not a provider name
    ]
    for name in others:
        with pytest.raises(ClientError) as exc:
            w.anon.get_id(IdentityPoolId=w.pool_id, Logins={name: tokens["IdToken"]})
        assert err(exc)[0] == "NotAuthorizedException", name
    with pytest.raises(ClientError) as exc:
        w.ci.create_identity_pool(
            IdentityPoolName="bad",
            AllowUnauthenticatedIdentities=False,
            CognitoIdentityProviders=[{"ProviderName": f"example.com/{w.users.pool_id}", "ClientId": "abc"}],
        )
    assert err(exc)[0] == "InvalidParameterException"
    # one user pool and client under both names is a duplicate
    with pytest.raises(ClientError) as exc:
        w.ci.create_identity_pool(
            IdentityPoolName="dup",
            AllowUnauthenticatedIdentities=False,
            CognitoIdentityProviders=[
                {"ProviderName": w.provider, "ClientId": w.users.client_id},
                {"ProviderName": issuer_name(server.url, w.users.pool_id), "ClientId": w.users.client_id},
            ],
        )
    assert err(exc)[0] == "InvalidParameterException"


@pytest.mark.parametrize("mapped_by", ["cognito-idp", "issuer"])
def test_role_mappings_and_tag_maps_accept_either_name(server: Server, mapped_by: str) -> None:
    w = wire(server)
    iam = server.client("iam")
    # the gold role trusts only sessions tagged tier=gold: the principal tag map must apply too
    document = json.loads(trust(w.pool_id, tag_session=True))
    document["Statement"][0]["Condition"]["StringEquals"]["aws:RequestTag/tier"] = "gold"
    gold = make_role(iam, json.dumps(document))
    by_issuer = issuer_name(server.url, w.users.pool_id)
    provider = by_issuer if mapped_by == "issuer" else w.provider
    rule = {"Claim": "custom:tier", "MatchType": "Equals", "Value": "gold", "RoleARN": gold}
    mapping = {"Type": "Rules", "AmbiguousRoleResolution": "AuthenticatedRole", "RulesConfiguration": {"Rules": [rule]}}
    w.users.idp.add_custom_attributes(
        UserPoolId=w.users.pool_id, CustomAttributes=[{"Name": "tier", "AttributeDataType": "String"}]
    )
    w.ci.set_identity_pool_roles(
        IdentityPoolId=w.pool_id,
        Roles={"authenticated": w.auth_role, "unauthenticated": w.unauth_role},
        RoleMappings={f"{provider}:{w.users.client_id}": mapping},
    )
    got = w.ci.get_identity_pool_roles(IdentityPoolId=w.pool_id)
    assert list(got["RoleMappings"]) == [f"{provider}:{w.users.client_id}"]  # as given
    w.ci.set_principal_tag_attribute_map(
        IdentityPoolId=w.pool_id, IdentityProviderName=provider, PrincipalTags={"tier": "custom:tier"}
    )
    _, tokens = w.user(**{"custom:tier": "gold"})
    for name in (w.provider, by_issuer):  # logins under either name meet the mapping and the tags
        identity = w.anon.get_id(IdentityPoolId=w.pool_id, Logins={name: tokens["IdToken"]})["IdentityId"]
        creds = w.anon.get_credentials_for_identity(IdentityId=identity, Logins={name: tokens["IdToken"]})
        assert _role_name(server, creds["Credentials"]) == gold.rsplit("/", 1)[-1], name
    # a role mapping for a user pool the identity pool does not name is still refused
    with pytest.raises(ClientError) as exc:
        w.ci.set_identity_pool_roles(
            IdentityPoolId=w.pool_id,
            Roles={"authenticated": w.auth_role},
            RoleMappings={f"{by_issuer}:nope": mapping},
        )
    assert err(exc)[0] == "InvalidParameterException"


def test_aws_issuer_style_accepts_both_names(server_factory: Any) -> None:
    """With issuer_style = aws the issuer without its scheme is the cognito-idp name; a pool
    configured with the server's own name still accepts it."""
    srv = server_factory(env={"OSTIARY_ISSUER_STYLE": "aws"})
    local = issuer_name(srv.url, "")  # the pool id is appended below
    w = wire(srv)
    w.ci.update_identity_pool(
        IdentityPoolId=w.pool_id,
        IdentityPoolName="aws-style",
        AllowUnauthenticatedIdentities=True,
        CognitoIdentityProviders=[{"ProviderName": local + w.users.pool_id, "ClientId": w.users.client_id}],
    )
    _, tokens = w.user()
    claims = pyjwt.decode(tokens["IdToken"], options={"verify_signature": False})
    amplify_key = claims["iss"].split("://", 1)[1]
    assert amplify_key == w.provider
    identity = w.anon.get_id(IdentityPoolId=w.pool_id, Logins={amplify_key: tokens["IdToken"]})["IdentityId"]
    assert (
        w.anon.get_id(IdentityPoolId=w.pool_id, Logins={local + w.users.pool_id: tokens["IdToken"]})["IdentityId"]
        == identity
    )
    assert w.credentials(identity, tokens["IdToken"])["IdentityId"] == identity
