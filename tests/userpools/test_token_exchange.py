"""GetDerivedToken (RFC 8693 token exchange) through boto3: impersonation and delegation (the ``act``
claim), audiences and resource servers, scopes never more than the subject's, ID tokens, lifetimes
capped by the subject's, and the refusals. Issued tokens verified with PyJWT against the JWKS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.userpools.conftest import PASSWORD
from tests.userpools.test_client_tokens import verify

RS = "https://api.example.com"
ADMIN = "aws.cognito.signin.user.admin"


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@dataclass
class Exchange:
    pool_id: str
    app: str  # signs users in
    service: str  # impersonation
    delegate: str  # delegation, with a secret
    delegate_secret: str
    actor: str  # a machine-to-machine client (the intermediary)
    actor_secret: str
    idp: Any

    def sign_in(self, username: str = "dana") -> dict[str, Any]:
        out: dict[str, Any] = self.idp.initiate_auth(
            ClientId=self.app,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        return out

    def m2m_token(self) -> str:
        out = self.idp.get_client_token(ClientId=self.actor, Secret=self.actor_secret)
        return str(out["ClientAuthenticationResult"]["AccessToken"])


@pytest.fixture
def ex(idp: Any) -> Iterator[Exchange]:
    pool_id = idp.create_user_pool(PoolName="exchange")["UserPool"]["Id"]
    idp.create_resource_server(
        UserPoolId=pool_id,
        Identifier=RS,
        Name="orders",
        Scopes=[{"ScopeName": "read", "ScopeDescription": "r"}, {"ScopeName": "write", "ScopeDescription": "w"}],
    )
    idp.create_resource_server(
        UserPoolId=pool_id, Identifier="billing", Name="billing", Scopes=[{"ScopeName": "pay", "ScopeDescription": "p"}]
    )

    def client(**kwargs: Any) -> dict[str, Any]:
        out: dict[str, Any] = idp.create_user_pool_client(UserPoolId=pool_id, **kwargs)["UserPoolClient"]
        return out

    app = client(ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    service = client(
        ClientName="service",
        ExplicitAuthFlows=["ALLOW_TOKEN_EXCHANGE_IMPERSONATION"],
        AllowedOAuthScopes=[f"{RS}/read", f"{RS}/write", "billing/pay"],
        AccessTokenValidity=2,
        IdTokenValidity=2,
        TokenValidityUnits={"AccessToken": "hours", "IdToken": "hours"},
        ReadAttributes=["email", "name"],
    )
    delegate = client(
        ClientName="delegate",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_TOKEN_EXCHANGE_DELEGATION"],
        AllowedOAuthScopes=[f"{RS}/read"],
    )
    actor = client(
        ClientName="actor",
        GenerateSecret=True,
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=[f"{RS}/read", f"{RS}/write"],
    )
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username="dana",
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "dana@example.com"}, {"Name": "name", "Value": "Dana"}],
    )
    idp.admin_set_user_password(UserPoolId=pool_id, Username="dana", Password=PASSWORD, Permanent=True)
    yield Exchange(
        pool_id,
        app["ClientId"],
        service["ClientId"],
        delegate["ClientId"],
        delegate["ClientSecret"],
        actor["ClientId"],
        actor["ClientSecret"],
        idp,
    )
    idp.delete_user_pool(UserPoolId=pool_id)


def test_impersonation(server: Server, ex: Exchange) -> None:
    tokens = ex.sign_in()
    subject = verify(server, ex.pool_id, tokens["AccessToken"])
    out = ex.idp.get_derived_token(
        ClientId=ex.service, SubjectToken=tokens["AccessToken"], SubjectTokenType="ACCESS_TOKEN"
    )
    assert out["IssuedTokenType"] == "ACCESS_TOKEN" and out["TokenType"] == "Bearer" and out["Scopes"] == [ADMIN]
    claims = verify(server, ex.pool_id, out["IssuedToken"])
    assert claims["sub"] == subject["sub"] and claims["username"] == "dana" and claims["client_id"] == ex.service
    assert claims["token_use"] == "access" and "act" not in claims and "aud" not in claims
    assert claims["origin_jti"] == subject["origin_jti"] and claims["auth_time"] == subject["auth_time"]
    # the lifetime never outlasts the subject token (the service's validity is 2 hours, the subject's 1)
    assert claims["exp"] <= subject["exp"] and out["ExpiresIn"] <= 3600

    # bound to an audience: not for Cognito's own API, so no aws.cognito.signin.user.admin
    aud = ex.idp.get_derived_token(
        ClientId=ex.service, SubjectToken=tokens["AccessToken"], SubjectTokenType="ACCESS_TOKEN", Audiences=["ledger"]
    )
    assert aud["Scopes"] == []
    assert verify(server, ex.pool_id, aud["IssuedToken"], audience="ledger")["aud"] == "ledger"
    with pytest.raises(ClientError) as exc:
        ex.idp.get_user(AccessToken=aud["IssuedToken"])
    assert _code(exc) == "NotAuthorizedException"

    # an ID token as the subject, an ID token issued: the service's readable attributes, its audience
    idt = ex.idp.get_derived_token(
        ClientId=ex.service, SubjectToken=tokens["IdToken"], SubjectTokenType="ID_TOKEN", RequestedTokenType="ID_TOKEN"
    )
    assert idt["IssuedTokenType"] == "ID_TOKEN" and idt["TokenType"] == "N_A" and "Scopes" not in idt
    id_claims = verify(server, ex.pool_id, idt["IssuedToken"], audience=ex.service)
    assert id_claims["token_use"] == "id" and id_claims["email"] == "dana@example.com" and id_claims["name"] == "Dana"
    assert id_claims["cognito:username"] == "dana"


def test_machine_subject_and_resource(server: Server, ex: Exchange) -> None:
    m2m = ex.m2m_token()
    out = ex.idp.get_derived_token(
        ClientId=ex.service, SubjectToken=m2m, SubjectTokenType="ACCESS_TOKEN", Resources=[RS], Scopes=[f"{RS}/read"]
    )
    assert out["Scopes"] == [f"{RS}/read"]
    claims = verify(server, ex.pool_id, out["IssuedToken"], audience=RS)
    assert claims["sub"] == ex.actor and claims["client_id"] == ex.service and claims["scope"] == f"{RS}/read"
    assert "username" not in claims
    # a resource server keeps its own scopes only
    other = ex.idp.get_derived_token(
        ClientId=ex.service, SubjectToken=m2m, SubjectTokenType="ACCESS_TOKEN", Resources=["billing"]
    )
    assert other["Scopes"] == []
    # an ID token needs a user
    with pytest.raises(ClientError) as exc:
        ex.idp.get_derived_token(
            ClientId=ex.service, SubjectToken=m2m, SubjectTokenType="ACCESS_TOKEN", RequestedTokenType="ID_TOKEN"
        )
    assert _code(exc) == "InvalidParameterException"


def test_delegation_carries_act(server: Server, ex: Exchange) -> None:
    user = ex.sign_in()["AccessToken"]
    actor = ex.m2m_token()
    out = ex.idp.get_derived_token(
        ClientId=ex.delegate,
        ClientSecret=ex.delegate_secret,
        SubjectToken=user,
        SubjectTokenType="ACCESS_TOKEN",
        ActorToken=actor,
        ActorTokenType="ACCESS_TOKEN",
        Audiences=["ledger"],
    )
    claims = verify(server, ex.pool_id, out["IssuedToken"], audience="ledger")
    assert claims["username"] == "dana" and claims["act"] == {"sub": ex.actor, "client_id": ex.actor}
    # a delegated token exchanged again: the earlier actor nests inside the new one (RFC 8693 §4.1)
    again = ex.idp.get_derived_token(
        ClientId=ex.delegate,
        SubjectToken=out["IssuedToken"],
        SubjectTokenType="ACCESS_TOKEN",
        ActorToken=user,
        ActorTokenType="ACCESS_TOKEN",
    )
    chained = verify(server, ex.pool_id, again["IssuedToken"])
    assert chained["act"]["sub"] == claims["sub"] and chained["act"]["act"] == claims["act"]
    # impersonation is not delegation, and the other way round
    with pytest.raises(ClientError) as exc:
        ex.idp.get_derived_token(ClientId=ex.delegate, SubjectToken=user, SubjectTokenType="ACCESS_TOKEN")
    assert _code(exc) == "NotAuthorizedException"
    with pytest.raises(ClientError) as exc:
        ex.idp.get_derived_token(
            ClientId=ex.service,
            SubjectToken=user,
            SubjectTokenType="ACCESS_TOKEN",
            ActorToken=actor,
            ActorTokenType="ACCESS_TOKEN",
        )
    assert _code(exc) == "NotAuthorizedException"
    with pytest.raises(ClientError) as exc:  # a wrong secret, when one is sent
        ex.idp.get_derived_token(
            ClientId=ex.delegate,
            ClientSecret="x" * 40,
            SubjectToken=user,
            SubjectTokenType="ACCESS_TOKEN",
            ActorToken=actor,
            ActorTokenType="ACCESS_TOKEN",
        )
    assert _code(exc) == "NotAuthorizedException"
    with pytest.raises(ClientError) as exc:  # an actor token without its type
        ex.idp.get_derived_token(
            ClientId=ex.delegate, SubjectToken=user, SubjectTokenType="ACCESS_TOKEN", ActorToken=actor
        )
    assert _code(exc) == "InvalidParameterException"


def test_refusals(idp: Any, ex: Exchange) -> None:
    tokens = ex.sign_in()
    user = tokens["AccessToken"]

    def refused(code: str, **kwargs: Any) -> None:
        args = {"ClientId": ex.service, "SubjectToken": user, "SubjectTokenType": "ACCESS_TOKEN", **kwargs}
        with pytest.raises(ClientError) as exc:
            ex.idp.get_derived_token(**args)
        assert _code(exc) == code, kwargs

    refused("InvalidParameterException", Audiences=["a"], Resources=[RS])
    refused("ResourceNotFoundException", Resources=["https://nosuch.example.com"])
    refused("InvalidParameterException", Scopes=[f"{RS}/read"])  # not held by the subject token
    refused("InvalidParameterException", SubjectTokenType="SAML2")
    refused("InvalidParameterException", SubjectTokenProviderName="Okta")
    refused("NotAuthorizedException", SubjectTokenType="ID_TOKEN")  # an access token is not an ID token
    refused("NotAuthorizedException", SubjectToken=user[:-4] + "AAAA")
    refused("NotAuthorizedException", SubjectToken="not.a.token")
    refused("NotAuthorizedException", ClientId=ex.app)  # the flow is not enabled
    refused("ResourceNotFoundException", ClientId="nosuchclient123")

    # a token of another pool
    other = idp.create_user_pool(PoolName="other")["UserPool"]["Id"]
    try:
        other_client = idp.create_user_pool_client(
            UserPoolId=other, ClientName="svc", ExplicitAuthFlows=["ALLOW_TOKEN_EXCHANGE_IMPERSONATION"]
        )["UserPoolClient"]["ClientId"]
        refused("NotAuthorizedException", ClientId=other_client)
    finally:
        idp.delete_user_pool(UserPoolId=other)

    # the subject signed out: its tokens are revoked, and so is what they would be exchanged for
    derived = ex.idp.get_derived_token(ClientId=ex.service, SubjectToken=user, SubjectTokenType="ACCESS_TOKEN")
    idp.admin_user_global_sign_out(UserPoolId=ex.pool_id, Username="dana")
    refused("NotAuthorizedException")
    refused("NotAuthorizedException", SubjectToken=derived["IssuedToken"])

    fresh = ex.sign_in()["AccessToken"]
    idp.admin_disable_user(UserPoolId=ex.pool_id, Username="dana")
    refused("NotAuthorizedException", SubjectToken=fresh)
    idp.admin_enable_user(UserPoolId=ex.pool_id, Username="dana")
    idp.admin_delete_user(UserPoolId=ex.pool_id, Username="dana")
    refused("NotAuthorizedException", SubjectToken=fresh)  # its sign-ins went with it
