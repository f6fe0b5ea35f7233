"""Developer-authenticated identities and the Cognito OpenID token (basic flow): the token is a JWT
that verifies with PyJWT against the JWKS Ostiary serves."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import jwt
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.identitypools.conftest import REGION, err, session_client, wire

DEV = "login.example.com"
OPENID = "cognito-identity.amazonaws.com"


def _mounted(server: Server) -> bool:
    return httpx.get(server.url + "/cognito-identity/.well-known/jwks_uri").status_code == 200


def _verify(server: Server, token: str, pool_id: str) -> dict[str, Any]:
    """The token's claims, verified with PyJWT against the JWKS and issuer Ostiary serves (while the
    issuer's routes are not mounted, the claims are read without verification; the test below skips)."""
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS512"
    if not _mounted(server):
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        assert claims["aud"] == pool_id
        return claims
    config = httpx.get(server.url + "/cognito-identity/.well-known/openid-configuration").json()
    keys = {k["kid"]: k for k in httpx.get(config["jwks_uri"]).json()["keys"]}
    key = jwt.PyJWK(keys[header["kid"]]).key
    claims = jwt.decode(token, key, algorithms=["RS512"], audience=pool_id, issuer=config["issuer"])
    return claims


def test_openid_token_verifies_against_the_served_jwks(server: Server) -> None:
    if not _mounted(server):
        pytest.skip("the issuer routes (web.identity_issuer) are not mounted in app.py")
    w = wire(server, pool_args={"DeveloperProviderName": DEV})
    token = w.ci.get_open_id_token_for_developer_identity(IdentityPoolId=w.pool_id, Logins={DEV: "jwks"})["Token"]
    config = httpx.get(server.url + "/cognito-identity/.well-known/openid-configuration").json()
    assert config["issuer"] == server.url + "/cognito-identity"
    assert config["id_token_signing_alg_values_supported"] == ["RS512"]
    jwks = httpx.get(config["jwks_uri"]).json()
    assert jwks["keys"] and all(k["alg"] == "RS512" and k["kty"] == "RSA" for k in jwks["keys"])
    claims = _verify(server, token, w.pool_id)
    assert claims["iss"] == config["issuer"]
    head, body, sig = token.split(".")
    with pytest.raises(jwt.InvalidSignatureError):
        key = jwt.PyJWK(jwks["keys"][0]).key
        jwt.decode(f"{head}.{body}.{sig[:-6]}AAAAAA", key, algorithms=["RS512"], audience=w.pool_id)


def test_developer_identities(server: Server) -> None:
    w = wire(server, pool_args={"DeveloperProviderName": DEV, "AllowClassicFlow": True})
    user = "user-" + secrets.token_hex(3)
    first = w.ci.get_open_id_token_for_developer_identity(IdentityPoolId=w.pool_id, Logins={DEV: user})
    identity = first["IdentityId"]
    again = w.ci.get_open_id_token_for_developer_identity(
        IdentityPoolId=w.pool_id, Logins={DEV: user}, TokenDuration=120, PrincipalTags={"team": "blue"}
    )
    assert again["IdentityId"] == identity
    claims = _verify(server, again["Token"], w.pool_id)
    assert claims["sub"] == identity and claims["exp"] - claims["iat"] == 120
    guid = w.pool_id.split(":", 1)[1]
    assert claims["amr"] == ["authenticated", DEV, f"{DEV}:{REGION}:{guid}:{user}"]
    assert claims["https://aws.amazon.com/tags"] == {"principal_tags": {"team": ["blue"]}}
    assert claims["https://cognito-identity.amazonaws.com/identity-pool-arn"].endswith(f":identitypool/{w.pool_id}")

    # a second developer user linked to the same identity
    second = "user2-" + secrets.token_hex(3)
    w.ci.get_open_id_token_for_developer_identity(IdentityPoolId=w.pool_id, IdentityId=identity, Logins={DEV: second})
    looked = w.ci.lookup_developer_identity(IdentityPoolId=w.pool_id, IdentityId=identity)
    assert sorted(looked["DeveloperUserIdentifierList"]) == sorted([user, second])
    assert (
        w.ci.lookup_developer_identity(IdentityPoolId=w.pool_id, DeveloperUserIdentifier=second)["IdentityId"]
        == identity
    )
    page = w.ci.lookup_developer_identity(IdentityPoolId=w.pool_id, IdentityId=identity, MaxResults=1)
    assert len(page["DeveloperUserIdentifierList"]) == 1 and "NextToken" in page

    # a user registered under another identity cannot be linked to this one
    other = w.ci.get_open_id_token_for_developer_identity(IdentityPoolId=w.pool_id, Logins={DEV: "x-" + user})
    with pytest.raises(ClientError) as exc:
        w.ci.get_open_id_token_for_developer_identity(
            IdentityPoolId=w.pool_id, IdentityId=other["IdentityId"], Logins={DEV: user}
        )
    assert err(exc)[0] == "DeveloperUserAlreadyRegisteredException"

    # merge the other user's identity into ours
    merged = w.ci.merge_developer_identities(
        SourceUserIdentifier="x-" + user,
        DestinationUserIdentifier=user,
        DeveloperProviderName=DEV,
        IdentityPoolId=w.pool_id,
    )
    assert merged["IdentityId"] == identity
    assert (
        w.ci.lookup_developer_identity(IdentityPoolId=w.pool_id, DeveloperUserIdentifier="x-" + user)["IdentityId"]
        == identity
    )
    with pytest.raises(ClientError) as exc:
        w.ci.describe_identity(IdentityId=other["IdentityId"])
    assert err(exc)[0] == "ResourceNotFoundException"

    # unlink one user; lookups of it fail, the identity keeps the others
    w.ci.unlink_developer_identity(
        IdentityId=identity, IdentityPoolId=w.pool_id, DeveloperProviderName=DEV, DeveloperUserIdentifier=second
    )
    with pytest.raises(ClientError) as exc:
        w.ci.lookup_developer_identity(IdentityPoolId=w.pool_id, DeveloperUserIdentifier=second)
    assert err(exc)[0] == "ResourceNotFoundException"
    assert w.ci.describe_identity(IdentityId=identity)["Logins"] == [DEV]

    # developer logins are for the signed API only
    with pytest.raises(ClientError) as exc:
        w.anon.get_id(IdentityPoolId=w.pool_id, Logins={DEV: user})
    assert err(exc)[0] == "NotAuthorizedException"


def test_developer_token_for_enhanced_flow_credentials(server: Server) -> None:
    w = wire(server, pool_args={"DeveloperProviderName": DEV})
    out = w.ci.get_open_id_token_for_developer_identity(
        IdentityPoolId=w.pool_id, Logins={DEV: "dev-" + secrets.token_hex(3)}
    )
    creds = w.anon.get_credentials_for_identity(IdentityId=out["IdentityId"], Logins={OPENID: out["Token"]})
    assert creds["IdentityId"] == out["IdentityId"]
    arn = session_client(server, "sts", creds["Credentials"]).get_caller_identity()["Arn"]
    assert arn.split("/")[1] == w.auth_role.rsplit("/", 1)[-1]
    # the token names its identity: it does not open another one
    guest = w.anon.get_id(IdentityPoolId=w.pool_id)["IdentityId"]
    with pytest.raises(ClientError) as exc:
        w.anon.get_credentials_for_identity(IdentityId=guest, Logins={OPENID: out["Token"]})
    assert err(exc)[0] == "NotAuthorizedException"


def test_get_open_id_token_basic_flow(server: Server) -> None:
    w = wire(server)
    _, tokens = w.user()
    identity = w.identity_for(tokens["IdToken"])
    with pytest.raises(ClientError) as exc:
        w.anon.get_open_id_token(IdentityId=identity, Logins={w.provider: tokens["IdToken"]})
    assert err(exc) == ("InvalidParameterException", "Basic (classic) flow is not enabled, please use enhanced flow.")
    w.ci.update_identity_pool(
        IdentityPoolId=w.pool_id,
        IdentityPoolName="classic",
        AllowUnauthenticatedIdentities=True,
        AllowClassicFlow=True,
        CognitoIdentityProviders=[{"ProviderName": w.provider, "ClientId": w.users.client_id}],
    )
    out = w.anon.get_open_id_token(IdentityId=identity, Logins={w.provider: tokens["IdToken"]})
    assert out["IdentityId"] == identity
    claims = _verify(server, out["Token"], w.pool_id)
    sub = jwt.decode(tokens["IdToken"], options={"verify_signature": False})["sub"]
    assert claims["amr"] == ["authenticated", w.provider, f"{w.provider}:CognitoSignIn:{sub}"]
    assert claims["exp"] - claims["iat"] == 600
    guest = w.anon.get_id(IdentityPoolId=w.pool_id)["IdentityId"]
    assert _verify(server, w.anon.get_open_id_token(IdentityId=guest)["Token"], w.pool_id)["amr"] == ["unauthenticated"]
    with pytest.raises(ClientError) as exc:
        w.anon.get_open_id_token(IdentityId=identity)
    assert err(exc)[0] == "NotAuthorizedException"


def test_basic_flow_token_assumes_a_role_through_sts(server: Server) -> None:
    """Basic (classic) flow: GetOpenIdToken, then STS AssumeRoleWithWebIdentity with a role the
    client chooses; the trust policy sees the cognito-identity.amazonaws.com aud/amr keys."""
    w = wire(server, pool_args={"AllowClassicFlow": True})
    _, tokens = w.user()
    identity = w.identity_for(tokens["IdToken"])
    token = w.anon.get_open_id_token(IdentityId=identity, Logins={w.provider: tokens["IdToken"]})["Token"]
    sts = server.client("sts")
    out = sts.assume_role_with_web_identity(RoleArn=w.auth_role, RoleSessionName="classic", WebIdentityToken=token)
    assert out["SubjectFromWebIdentityToken"] == identity
    assert out["Audience"] == w.pool_id
    assert out["AssumedRoleUser"]["Arn"].endswith(f"/{w.auth_role.rsplit('/', 1)[-1]}/classic")
    # the unauthenticated role's trust policy wants amr "unauthenticated"
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(RoleArn=w.unauth_role, RoleSessionName="classic", WebIdentityToken=token)
    assert err(exc)[0] == "AccessDenied"
