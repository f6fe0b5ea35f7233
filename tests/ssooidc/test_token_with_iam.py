"""CreateTokenWithIAM through boto3 (SigV4), end to end: an IAM user the application's ActorPolicy
allows exchanges an external issuer's JWT (a real discovery + JWKS server on loopback, tokens signed by
PyJWT) for the application's tokens, refreshes them, and exchanges them for another application's.
Attacks: an untrusted issuer, a wrong audience, an expired or forged JWT, another instance's issuer, a
caller the ActorPolicy does not name (or explicitly denies), an unassigned user, a refresh token
replayed after rotation, a portal token as subject."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt as pyjwt
import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import Server
from tests.ssoadmin.conftest import Instance, new_instance

CUSTOM_OAUTH = "arn:aws:sso::aws:applicationProvider/custom"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TYPE = "urn:ietf:params:oauth:token-type:access_token"
REFRESH_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class JwtIssuer:
    """An OAuth authorization server on loopback: discovery and JWKS."""

    def __init__(self) -> None:
        jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
        jwks = {"keys": [{**jwk, "kid": "k1", "use": "sig"}]}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body: dict[str, Any] = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
                elif self.path == "/jwks":
                    body = jwks
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def token(self, email: str, /, *, aud: str = "my-app", key: Any = KEY, **extra: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": secrets.token_hex(4),
            "aud": aud,
            "email": email,
            "iat": now,
            "exp": now + 300,
        }
        return pyjwt.encode({**claims, **extra}, key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture(scope="module")
def jwt_issuer() -> Iterator[JwtIssuer]:
    it = JwtIssuer()
    yield it
    it.httpd.shutdown()
    it.httpd.server_close()


@dataclass
class Setup:
    inst: Instance
    app: str
    other_app: str  # accepts app's tokens by token exchange
    issuer_arn: str
    email: str
    user_id: str
    broker: Any  # sso-oidc client signed by the IAM user the ActorPolicy names
    stranger: Any  # sso-oidc client of an IAM user it does not name
    root: Any  # sso-oidc client of the account's root
    broker_keys: dict[str, str]


def _iam_user(inst: Instance, name: str) -> dict[str, str]:
    iam = inst.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="tokens",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sso-oauth:*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def _actor(principal: str, effect: str = "Allow") -> dict[str, Any]:
    return {
        "Effect": effect,
        "Principal": {"AWS": principal},
        "Action": "sso-oauth:CreateTokenWithIAM",
        "Resource": "*",
    }


def _oauth_app(inst: Instance, actor_statements: list[dict[str, Any]]) -> str:
    admin = inst.client("sso-admin")
    app = str(
        admin.create_application(
            InstanceArn=inst.instance_arn, ApplicationProviderArn=CUSTOM_OAUTH, Name="app-" + secrets.token_hex(3)
        )["ApplicationArn"]
    )
    admin.put_application_authentication_method(
        ApplicationArn=app,
        AuthenticationMethodType="IAM",
        AuthenticationMethod={"Iam": {"ActorPolicy": {"Version": "2012-10-17", "Statement": actor_statements}}},
    )
    admin.put_application_assignment_configuration(ApplicationArn=app, AssignmentRequired=False)
    return app


@pytest.fixture(scope="module")
def setup(server: Server, jwt_issuer: JwtIssuer) -> Setup:
    inst = new_instance(server, "tip-tokens")
    admin = inst.client("sso-admin")
    email = f"ada-{secrets.token_hex(3)}@example.com"
    user_id = inst.client("identitystore").create_user(
        IdentityStoreId=inst.identity_store_id,
        UserName="ada-" + secrets.token_hex(3),
        DisplayName="Ada",
        Name={"GivenName": "Ada", "FamilyName": "Lovelace"},
        Emails=[{"Value": email, "Primary": True}],
    )["UserId"]
    broker_creds = _iam_user(inst, "broker")
    stranger_creds = _iam_user(inst, "stranger")
    broker_arn = f"arn:aws:iam::{inst.account_id}:user/broker"
    issuer_arn = admin.create_trusted_token_issuer(
        InstanceArn=inst.instance_arn,
        Name="local-idp",
        TrustedTokenIssuerType="OIDC_JWT",
        TrustedTokenIssuerConfiguration={
            "OidcJwtConfiguration": {
                "IssuerUrl": jwt_issuer.url,
                "ClaimAttributePath": "email",
                "IdentityStoreAttributePath": "emails.value",
                "JwksRetrievalOption": "OPEN_ID_DISCOVERY",
            }
        },
    )["TrustedTokenIssuerArn"]
    app = _oauth_app(inst, [_actor(broker_arn)])
    other_app = _oauth_app(inst, [_actor(broker_arn)])
    jwt_grant = {
        "JwtBearer": {
            "AuthorizedTokenIssuers": [{"TrustedTokenIssuerArn": issuer_arn, "AuthorizedAudiences": ["my-app"]}]
        }
    }
    admin.put_application_grant(ApplicationArn=app, GrantType=JWT_BEARER, Grant=jwt_grant)
    admin.put_application_grant(ApplicationArn=app, GrantType="refresh_token", Grant={"RefreshToken": {}})
    admin.put_application_access_scope(ApplicationArn=app, Scope="redshift:connect", AuthorizedTargets=[other_app])
    admin.put_application_access_scope(ApplicationArn=app, Scope="s3:access:read")
    admin.put_application_grant(ApplicationArn=other_app, GrantType=TOKEN_EXCHANGE, Grant={"TokenExchange": {}})
    admin.put_application_access_scope(ApplicationArn=other_app, Scope="redshift:connect")
    return Setup(
        inst,
        app,
        other_app,
        issuer_arn,
        email,
        user_id,
        server.client("sso-oidc", **broker_creds),
        server.client("sso-oidc", **stranger_creds),
        inst.client("sso-oidc"),
        broker_creds,
    )


def _jwt_grant(issuer_arn: str) -> dict[str, Any]:
    return {
        "JwtBearer": {
            "AuthorizedTokenIssuers": [{"TrustedTokenIssuerArn": issuer_arn, "AuthorizedAudiences": ["my-app"]}]
        }
    }


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _bearer(s: Setup, assertion: str, **kwargs: Any) -> dict[str, Any]:
    return dict(s.broker.create_token_with_iam(clientId=s.app, grantType=JWT_BEARER, assertion=assertion, **kwargs))


def test_jwt_bearer_refresh_and_exchange(setup: Setup, jwt_issuer: JwtIssuer) -> None:
    s = setup
    out = _bearer(s, jwt_issuer.token(s.email.upper()))  # e-mail addresses match ignoring case
    assert out["tokenType"] == "Bearer" and 0 < out["expiresIn"] <= 3600
    assert out["accessToken"].startswith("aoa") and out["refreshToken"].startswith("aor")
    assert out["issuedTokenType"] == REFRESH_TYPE
    assert sorted(out["scope"]) == sorted(
        ["redshift:connect", "s3:access:read", "openid", "aws", "sts:identity_context"]
    )
    claims = pyjwt.decode(out["idToken"], options={"verify_signature": False})
    instance_id = s.inst.instance_arn.rsplit("/", 1)[1]
    assert claims["iss"] == f"https://identitycenter.amazonaws.com/{instance_id}"
    assert claims["sub"] == s.user_id and claims["aud"] == s.app
    assert claims["aws:identity_store_id"] == s.inst.identity_store_id
    assert (
        claims["aws:identity_store_arn"]
        == f"arn:aws:identitystore::{s.inst.account_id}:identitystore/{s.inst.identity_store_id}"
    )
    assert claims["aws:instance_arn"] == s.inst.instance_arn
    assert claims["act"] == {"sub": s.issuer_arn}
    assert claims["sts:identity_context"] == out["awsAdditionalDetails"]["identityContext"]
    assert s.user_id not in claims["sts:identity_context"]  # sealed, not readable
    assert pyjwt.get_unverified_header(out["idToken"])["alg"] == "RS256"

    # narrowing the scopes
    narrowed = s.broker.create_token_with_iam(
        clientId=s.app, grantType=JWT_BEARER, assertion=jwt_issuer.token(s.email), scope=["s3:access:read"]
    )
    assert narrowed["scope"] == ["s3:access:read"]

    # refresh: rotated; the old one replayed revokes the session (the new one dies with it)
    refreshed = s.broker.create_token_with_iam(
        clientId=s.app, grantType="refresh_token", refreshToken=out["refreshToken"]
    )
    assert refreshed["refreshToken"] != out["refreshToken"] and refreshed["accessToken"] != out["accessToken"]
    with pytest.raises(ClientError) as err:
        s.broker.create_token_with_iam(clientId=s.app, grantType="refresh_token", refreshToken=out["refreshToken"])
    assert _code(err) == "InvalidGrantException"
    with pytest.raises(ClientError) as err:
        s.broker.create_token_with_iam(
            clientId=s.app, grantType="refresh_token", refreshToken=refreshed["refreshToken"]
        )
    assert _code(err) == "InvalidGrantException"

    # token exchange: a live token of app, whose redshift:connect scope targets other_app
    live = _bearer(s, jwt_issuer.token(s.email))
    exchanged = s.broker.create_token_with_iam(
        clientId=s.other_app, grantType=TOKEN_EXCHANGE, subjectToken=live["accessToken"], subjectTokenType=ACCESS_TYPE
    )
    assert "redshift:connect" in exchanged["scope"] and "s3:access:read" not in exchanged["scope"]
    assert "refreshToken" not in exchanged and exchanged["issuedTokenType"] == ACCESS_TYPE
    assert pyjwt.decode(exchanged["idToken"], options={"verify_signature": False})["aud"] == s.other_app
    # the reverse is not authorized (other_app names no target), nor is app's own token for app
    with pytest.raises(ClientError) as err:
        s.broker.create_token_with_iam(
            clientId=s.app,
            grantType=TOKEN_EXCHANGE,
            subjectToken=exchanged["accessToken"],
            subjectTokenType=ACCESS_TYPE,
        )
    assert _code(err) == "UnauthorizedClientException"  # app has no token exchange grant
    with pytest.raises(ClientError) as err:
        s.broker.create_token_with_iam(
            clientId=s.other_app,
            grantType=TOKEN_EXCHANGE,
            subjectToken=exchanged["accessToken"],
            subjectTokenType=ACCESS_TYPE,
        )
    assert _code(err) == "InvalidGrantException"


def test_assertions_refused(server: Server, setup: Setup, jwt_issuer: JwtIssuer) -> None:
    s = setup
    now = int(time.time())
    refused = [
        jwt_issuer.token(s.email, aud="another-app"),  # audience not authorized
        jwt_issuer.token(s.email, exp=now - 600, iat=now - 900),  # expired
        jwt_issuer.token(s.email, key=OTHER_KEY),  # forged: not the issuer's key
        jwt_issuer.token(s.email, iss="https://untrusted.example.com"),  # an issuer the app does not trust
        jwt_issuer.token("nobody@example.com"),  # no such user
        jwt_issuer.token(s.email, email=None),  # no claim to match
        "not-a-jwt",
    ]
    for assertion in refused:
        with pytest.raises(ClientError) as err:
            _bearer(s, assertion)
        assert _code(err) == "InvalidGrantException", assertion
    # scopes the application does not have
    with pytest.raises(ClientError) as err:
        _bearer(s, jwt_issuer.token(s.email), scope=["sso:account:access"])
    assert _code(err) == "InvalidScopeException"
    # another instance's application cannot name this instance's issuer in its grant
    other = new_instance(server, "tip-other")
    other_app = _oauth_app(other, [_actor(f"arn:aws:iam::{other.account_id}:root")])
    with pytest.raises(ClientError) as err:
        other.client("sso-admin").put_application_grant(
            ApplicationArn=other_app,
            GrantType=JWT_BEARER,
            Grant={
                "JwtBearer": {
                    "AuthorizedTokenIssuers": [
                        {"TrustedTokenIssuerArn": s.issuer_arn, "AuthorizedAudiences": ["my-app"]}
                    ]
                }
            },
        )
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        other.client("sso-oidc").create_token_with_iam(
            clientId=other_app, grantType=JWT_BEARER, assertion=jwt_issuer.token(s.email)
        )
    assert _code(err) == "UnauthorizedClientException"  # no JWT bearer grant there


def test_callers_refused(server: Server, setup: Setup, jwt_issuer: JwtIssuer) -> None:
    s = setup
    # an IAM user of the account the ActorPolicy does not name, whatever its own policies allow
    with pytest.raises(ClientError) as err:
        s.stranger.create_token_with_iam(clientId=s.app, grantType=JWT_BEARER, assertion=jwt_issuer.token(s.email))
    assert _code(err) == "AccessDeniedException"
    # nor the account's root
    with pytest.raises(ClientError) as err:
        s.root.create_token_with_iam(clientId=s.app, grantType=JWT_BEARER, assertion=jwt_issuer.token(s.email))
    assert _code(err) == "AccessDeniedException"
    # an ActorPolicy naming the account lets the account's principals whose own policies allow it
    account_wide = _oauth_app(s.inst, [_actor(f"arn:aws:iam::{s.inst.account_id}:root")])
    s.inst.client("sso-admin").put_application_grant(
        ApplicationArn=account_wide, GrantType=JWT_BEARER, Grant=_jwt_grant(s.issuer_arn)
    )
    out = s.stranger.create_token_with_iam(
        clientId=account_wide, grantType=JWT_BEARER, assertion=jwt_issuer.token(s.email)
    )
    assert out["accessToken"]
    # another account's root: refused before the application is even read
    stranger_root = new_instance(server, "tip-stranger").client("sso-oidc")
    with pytest.raises(ClientError) as err:
        stranger_root.create_token_with_iam(clientId=s.app, grantType=JWT_BEARER, assertion=jwt_issuer.token(s.email))
    assert _code(err) == "AccessDeniedException"
    # an explicit Deny in the ActorPolicy wins over its Allow
    broker_arn = f"arn:aws:iam::{s.inst.account_id}:user/broker"
    denied_app = _oauth_app(s.inst, [_actor(broker_arn), _actor(broker_arn, "Deny")])
    with pytest.raises(ClientError) as err:
        s.broker.create_token_with_iam(clientId=denied_app, grantType=JWT_BEARER, assertion=jwt_issuer.token(s.email))
    assert _code(err) == "AccessDeniedException"
    # an unknown application; an unsupported grant type; the authorization code grant (not issued)
    unknown = s.app[:-16] + "0" * 16
    with pytest.raises(ClientError) as err:
        s.broker.create_token_with_iam(clientId=unknown, grantType=JWT_BEARER, assertion="x")
    assert _code(err) == "InvalidClientException"
    with pytest.raises(ClientError) as err:
        s.broker.create_token_with_iam(clientId=s.app, grantType="client_credentials")
    assert _code(err) == "UnsupportedGrantTypeException"
    s.inst.client("sso-admin").put_application_grant(
        ApplicationArn=denied_app,
        GrantType="authorization_code",
        Grant={"AuthorizationCode": {"RedirectUris": ["https://a.example.com/cb"]}},
    )
    with pytest.raises(ClientError) as err:
        s.broker.create_token_with_iam(clientId=s.app, grantType="authorization_code", code="abc")
    assert _code(err) == "UnauthorizedClientException"  # app has no authorization code grant


def test_unassigned_and_disabled_users(setup: Setup, jwt_issuer: JwtIssuer) -> None:
    s = setup
    admin = s.inst.client("sso-admin")
    broker_arn = f"arn:aws:iam::{s.inst.account_id}:user/broker"
    strict = _oauth_app(s.inst, [_actor(broker_arn)])
    admin.put_application_assignment_configuration(ApplicationArn=strict, AssignmentRequired=True)
    admin.put_application_grant(
        ApplicationArn=strict,
        GrantType=JWT_BEARER,
        Grant={
            "JwtBearer": {
                "AuthorizedTokenIssuers": [{"TrustedTokenIssuerArn": s.issuer_arn, "AuthorizedAudiences": ["my-app"]}]
            }
        },
    )
    with pytest.raises(ClientError) as err:
        s.broker.create_token_with_iam(clientId=strict, grantType=JWT_BEARER, assertion=jwt_issuer.token(s.email))
    assert _code(err) == "AccessDeniedException"
    admin.create_application_assignment(ApplicationArn=strict, PrincipalType="USER", PrincipalId=s.user_id)
    out = s.broker.create_token_with_iam(clientId=strict, grantType=JWT_BEARER, assertion=jwt_issuer.token(s.email))
    assert out["accessToken"] and "refreshToken" not in out  # no refresh token grant on this one


def test_identity_enhanced_role_session(setup: Setup, jwt_issuer: JwtIssuer) -> None:
    """STS AssumeRole's ProvidedContexts with the identity context: the session's identitystore:UserId
    condition key, when the trust policy allows sts:SetContext."""
    s = setup
    iam = s.inst.client("iam")
    broker_arn = f"arn:aws:iam::{s.inst.account_id}:user/broker"
    name = "tip-" + secrets.token_hex(3)

    def trust(actions: list[str]) -> str:
        statement = {"Effect": "Allow", "Principal": {"AWS": broker_arn}, "Action": actions}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(["sts:AssumeRole", "sts:SetContext"]))["Role"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="only-ada",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "iam:ListRoles",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"identitystore:UserId": s.user_id}},
                    }
                ],
            }
        ),
    )
    iam.put_user_policy(
        UserName="broker",
        PolicyName="assume",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]}
        ),
    )
    sts = s.inst.server.client("sts", **s.broker_keys)
    context = _bearer(s, jwt_issuer.token(s.email))["awsAdditionalDetails"]["identityContext"]
    provided = [{"ProviderArn": "arn:aws:iam::aws:contextProvider/IdentityCenter", "ContextAssertion": context}]

    def session(**kwargs: Any) -> Any:
        creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="ada", **kwargs)["Credentials"]
        return s.inst.server.client(
            "iam",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    assert session(ProvidedContexts=provided).list_roles()["Roles"]
    with pytest.raises(ClientError) as err:
        session().list_roles()  # no identity context: the condition does not hold
    assert _code(err) == "AccessDenied"

    forged = context[:-6] + ("AAAAAA" if not context.endswith("AAAAAA") else "BBBBBB")
    bad = [
        [{"ProviderArn": "arn:aws:iam::aws:contextProvider/IdentityCenter", "ContextAssertion": forged}],
        [{"ProviderArn": "arn:aws:iam::aws:contextProvider/Other", "ContextAssertion": context}],
    ]
    for contexts in bad:
        with pytest.raises(ClientError) as err:
            session(ProvidedContexts=contexts)
        assert _code(err) == "InvalidParameterValue"
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust(["sts:AssumeRole"]))
    with pytest.raises(ClientError) as err:
        session(ProvidedContexts=provided)
    assert _code(err) == "AccessDenied" and "sts:SetContext" in err.value.response["Error"]["Message"]


def test_deleting_the_instance_removes_its_tokens_and_keys(server: Server, jwt_issuer: JwtIssuer) -> None:
    inst = new_instance(server, "tip-gone")
    admin = inst.client("sso-admin")
    email = f"gone-{secrets.token_hex(3)}@example.com"
    inst.client("identitystore").create_user(
        IdentityStoreId=inst.identity_store_id,
        UserName="gone-" + secrets.token_hex(3),
        DisplayName="Gone",
        Name={"GivenName": "G", "FamilyName": "One"},
        Emails=[{"Value": email, "Primary": True}],
    )
    issuer_arn = admin.create_trusted_token_issuer(
        InstanceArn=inst.instance_arn,
        Name="idp",
        TrustedTokenIssuerType="OIDC_JWT",
        TrustedTokenIssuerConfiguration={
            "OidcJwtConfiguration": {
                "IssuerUrl": jwt_issuer.url,
                "ClaimAttributePath": "email",
                "IdentityStoreAttributePath": "emails.value",
                "JwksRetrievalOption": "OPEN_ID_DISCOVERY",
            }
        },
    )["TrustedTokenIssuerArn"]
    app = _oauth_app(inst, [_actor(f"arn:aws:iam::{inst.account_id}:root")])
    admin.put_application_grant(ApplicationArn=app, GrantType=JWT_BEARER, Grant=_jwt_grant(issuer_arn))
    out = inst.client("sso-oidc").create_token_with_iam(
        clientId=app, grantType=JWT_BEARER, assertion=jwt_issuer.token(email)
    )
    assert out["accessToken"]
    owner = "sso-instance:" + inst.instance_arn.rsplit("/", 1)[1]
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            keys = sa.text("SELECT count(*) FROM signing_keys WHERE owner = :o")
            sessions = sa.text("SELECT count(*) FROM sso_oidc_app_sessions WHERE application_arn = :a")
            assert conn.execute(keys, {"o": owner}).scalar() == 2
            assert conn.execute(sessions, {"a": app}).scalar() == 1
            admin.delete_instance(InstanceArn=inst.instance_arn)
            conn.rollback()  # a fresh snapshot
            assert conn.execute(keys, {"o": owner}).scalar() == 0
            assert conn.execute(sessions, {"a": app}).scalar() == 0
    finally:
        engine.dispose()
