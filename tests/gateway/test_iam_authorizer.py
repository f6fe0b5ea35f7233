"""IAM authorization (API Gateway's AWS_IAM) against a real server's database: requests signed by
botocore's SigV4Auth / SigV4QueryAuth (service execute-api) with an IAM user's keys, assumed-role
credentials and identity-pool credentials; denied by policy (implicit and explicit), forged and
replayed signatures, unknown keys, a stolen key id without its session token, another account's
caller with and without the API's resource policy. The authorizer runs in this process (its
decisions are what the gateway and the forward-auth endpoints act on; their own tests go through
the gateway's process)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ostiary import caching
from ostiary.config import load_settings
from ostiary.gateway.authorizers import iam as iam_authorizer
from ostiary.gateway.model import AuthRequest, GatewayEnv, Outcome
from ostiary.gateway.sections import ConfigError
from ostiary.store.db import Store
from tests.conftest import ACCESS_KEY_ID, ACCOUNT_ID, REGION, SECRET_ACCESS_KEY, Server, create_account, make_client
from tests.identitypools.conftest import wire

API = "a1b2c3d4e5"
STAGE = "prod"
HOST = "api.example.test"
INVOKE_PETS = {
    "Effect": "Allow",
    "Action": "execute-api:Invoke",
    "Resource": f"arn:aws:execute-api:*:*:{API}/*/*/pets*",
}


def _env(server: Server) -> GatewayEnv:
    settings = load_settings({"database_url": server.database_url, "data_dir": str(server.data_dir)}, environ={})
    return GatewayEnv(settings=settings, store=Store(settings.effective_database_url), public_url=server.url)


_BUILT: list[iam_authorizer.IamAuthorizer] = []


@pytest.fixture(scope="module")
def env(server: Server) -> Iterator[GatewayEnv]:
    built = _env(server)
    yield built
    for auth in _BUILT:  # the keys' last uses are written in the background: before the store goes
        auth.credentials.usage.drain()
    assert built.store is not None
    built.store.dispose()


def authorizer(env: GatewayEnv, **section: Any) -> iam_authorizer.IamAuthorizer:
    auth = iam_authorizer.build("signed", {"type": "iam", **section}, env)
    _BUILT.append(auth)
    return auth


def signed(
    creds: Credentials | None,
    method: str = "GET",
    path: str = "/pets/1",
    *,
    body: bytes = b"",
    query: str = "",
    presign: bool = False,
    account: str = ACCOUNT_ID,
    send_body: bytes | None = None,
) -> AuthRequest:
    """The AuthRequest of a request botocore signed (header or presigned URL), as the gateway sees it."""
    url = f"https://{HOST}{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
    if creds is not None:
        (
            SigV4QueryAuth(creds, "execute-api", REGION, expires=60)
            if presign
            else SigV4Auth(creds, "execute-api", REGION)
        ).add_auth(req)
    prepared = req.prepare()
    path_part, _, raw_query = prepared.url.split(HOST, 1)[1].partition("?")
    headers = (("host", HOST), *((k.lower(), v) for k, v in prepared.headers.items()))
    return AuthRequest(
        method=method,
        path=path_part,
        raw_query=raw_query,
        headers=headers,
        source_ip="127.0.0.1",
        route_key="ANY /{proxy+}",
        path_parameters={},
        api_id=API,
        stage=STAGE,
        region=REGION,
        account_id=account,
        host=HOST,
        body=body if send_body is None else send_body,
    )


def decide(auth: iam_authorizer.IamAuthorizer, request: AuthRequest, *, later: int = 0) -> Any:
    caching.flush_all()  # what the test just changed in IAM shows at once
    return auth.decide(request, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=later))


def user_keys(server: Server, statements: list[dict[str, Any]] | None, **client_kw: Any) -> tuple[str, Credentials]:
    iam = server.client("iam", **client_kw)
    name = "gw-" + secrets.token_hex(4)
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if statements:
        iam.put_user_policy(
            UserName=name,
            PolicyName="invoke",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def test_iam_user_allowed_with_identity(server: Server, env: GatewayEnv) -> None:
    auth = authorizer(env)
    arn, creds = user_keys(server, [INVOKE_PETS])
    decision = decide(auth, signed(creds))
    assert decision.outcome is Outcome.ALLOW, decision
    identity = decision.identity
    assert identity["userArn"] == arn
    assert identity["accountId"] == ACCOUNT_ID
    assert identity["accessKey"] == creds.access_key
    assert identity["user"].startswith("AIDA") and identity["caller"] == identity["user"]
    assert "cognitoIdentityId" not in identity
    # a body is signed and checked; a presigned URL works too; the query string is covered
    assert decide(auth, signed(creds, "POST", "/pets", body=b'{"name":"rex"}')).allowed
    assert decide(auth, signed(creds, query="page=2&sort=a%20b", presign=True)).allowed
    assert decide(auth, signed(creds, query="page=2")).allowed


def test_denied_by_policy(server: Server, env: GatewayEnv) -> None:
    auth = authorizer(env)
    arn, creds = user_keys(
        server,
        [
            INVOKE_PETS,
            {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": f"arn:aws:execute-api:*:*:{API}/*/DELETE/*"},
        ],
    )
    resource = f"arn:aws:execute-api:{REGION}:********9012:{API}/{STAGE}/GET/owners/1"
    denied = decide(auth, signed(creds, path="/owners/1"))
    assert denied.outcome is Outcome.FORBIDDEN
    assert denied.body == {
        "Message": f"User: {arn} is not authorized to perform: execute-api:Invoke on resource: {resource}"
    }
    assert denied.error_type == "AccessDeniedException"
    explicit = decide(auth, signed(creds, "DELETE", "/pets/1"))
    assert explicit.outcome is Outcome.FORBIDDEN
    assert explicit.body is not None and explicit.body["Message"].endswith(" with an explicit deny")
    # a user without any policy
    _, bare = user_keys(server, None)
    assert decide(auth, signed(bare)).outcome is Outcome.FORBIDDEN


def test_signature_refusals(server: Server, env: GatewayEnv) -> None:
    auth = authorizer(env)
    _, creds = user_keys(server, [INVOKE_PETS])
    missing = decide(auth, signed(None))
    assert (missing.outcome, missing.body) == (Outcome.FORBIDDEN, {"message": "Missing Authentication Token"})
    assert missing.error_type == "MissingAuthenticationTokenException"
    forged = decide(auth, signed(Credentials(creds.access_key, "not-the-secret-" + "x" * 25)))
    assert forged.outcome is Outcome.FORBIDDEN and forged.error_type == "InvalidSignatureException"
    assert forged.body is not None and forged.body["message"].startswith(
        "The request signature we calculated does not match the signature you provided."
    )
    # the body is not the one signed: the payload hash gives it away
    swapped = decide(auth, signed(creds, "POST", "/pets", body=b'{"name":"rex"}', send_body=b'{"name":"evil"}'))
    assert swapped.error_type == "InvalidSignatureException"
    # the same signed request replayed after the five-minute window
    request = signed(creds)
    assert decide(auth, request).allowed
    replayed = decide(auth, request, later=400)
    assert replayed.outcome is Outcome.FORBIDDEN and replayed.error_type == "InvalidSignatureException"
    assert replayed.body is not None and replayed.body["message"].startswith("Signature expired:")
    # a presigned URL past its expiry
    assert decide(auth, signed(creds, presign=True), later=120).error_type == "InvalidSignatureException"
    unknown = decide(auth, signed(Credentials("AKIA" + "Z" * 16, "x" * 40)))
    assert unknown.body == {"message": "The security token included in the request is invalid."}
    assert unknown.error_type == "UnrecognizedClientException"
    # another service's signature is no execute-api signature
    req = AWSRequest(method="GET", url=f"https://{HOST}/pets/1")
    SigV4Auth(creds, "sts", REGION).add_auth(req)
    other = dataclasses.replace(
        signed(None), headers=(("host", HOST), *((k.lower(), v) for k, v in req.headers.items()))
    )
    assert decide(auth, other).error_type == "InvalidSignatureException"


def test_assumed_role_and_stolen_key_id(server: Server, env: GatewayEnv) -> None:
    auth = authorizer(env)
    iam = server.client("iam")
    name = "gw-role-" + secrets.token_hex(4)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [INVOKE_PETS]})
    )
    out = server.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="alice")["Credentials"]
    creds = Credentials(out["AccessKeyId"], out["SecretAccessKey"], out["SessionToken"])
    decision = decide(auth, signed(creds))
    assert decision.allowed, decision
    assert decision.identity["userArn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{name}/alice"
    assert decision.identity["caller"].startswith("AROA") and decision.identity["caller"].endswith(":alice")
    # the session's key without its token, or with another token
    no_token = decide(auth, signed(Credentials(out["AccessKeyId"], out["SecretAccessKey"])))
    assert no_token.body == {"message": "The security token included in the request is invalid."}
    wrong = decide(auth, signed(Credentials(out["AccessKeyId"], out["SecretAccessKey"], "x" + out["SessionToken"][1:])))
    assert wrong.error_type == "UnrecognizedClientException"
    # a session policy narrows the role: another path is denied
    narrowed = server.client("sts").assume_role(
        RoleArn=role_arn,
        RoleSessionName="bob",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{**INVOKE_PETS, "Resource": f"arn:aws:execute-api:*:*:{API}/*/GET/pets/1"}],
            }
        ),
    )["Credentials"]
    session = Credentials(narrowed["AccessKeyId"], narrowed["SecretAccessKey"], narrowed["SessionToken"])
    assert decide(auth, signed(session)).allowed
    assert decide(auth, signed(session, path="/pets/2")).outcome is Outcome.FORBIDDEN


def test_identity_pool_credentials(server: Server, env: GatewayEnv) -> None:
    auth = authorizer(env)
    w = wire(server, auth_statements=[INVOKE_PETS])
    username, tokens = w.user()
    identity_id = w.identity_for(tokens["IdToken"])
    out = w.credentials(identity_id, tokens["IdToken"])["Credentials"]
    creds = Credentials(out["AccessKeyId"], out["SecretKey"], out["SessionToken"])
    decision = decide(auth, signed(creds, "PUT", "/pets/7", body=b"{}"))
    assert decision.allowed, decision
    ident = decision.identity
    assert ident["cognitoIdentityId"] == identity_id
    assert ident["cognitoIdentityPoolId"] == w.pool_id
    assert ident["cognitoAuthenticationType"] == "authenticated"
    provider = f"cognito-idp.{REGION}.amazonaws.com/{w.users.pool_id}"
    assert ident["cognitoAuthenticationProvider"].startswith(provider)
    assert ident["userArn"].endswith("/CognitoIdentityCredentials")
    # a guest has the unauthenticated role, which may not invoke
    guest = w.anon.get_id(IdentityPoolId=w.pool_id)["IdentityId"]
    g = w.credentials(guest, None)["Credentials"]
    refused = decide(auth, signed(Credentials(g["AccessKeyId"], g["SecretKey"], g["SessionToken"])))
    assert refused.outcome is Outcome.FORBIDDEN
    del username


def test_cross_account_needs_the_resource_policy(server: Server, env: GatewayEnv) -> None:
    other_root = create_account(server, "gw-other-" + secrets.token_hex(3))
    other_account = make_client(server.url, "sts", **other_root).get_caller_identity()["Account"]
    arn, creds = user_keys(
        server,
        [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}],
        **other_root,
    )
    # the API is this account's: the caller's own policy is not enough across accounts
    plain = authorizer(env)
    assert decide(plain, signed(creds)).outcome is Outcome.FORBIDDEN
    shared = authorizer(
        env,
        resource_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{other_account}:root"},
                        "Action": "execute-api:Invoke",
                        "Resource": "execute-api:/*/GET/pets/*",
                    },
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "execute-api:Invoke",
                        "Resource": "execute-api:/*/GET/pets/secret",
                    },
                ],
            }
        ),
    )
    decision = decide(shared, signed(creds))
    assert decision.allowed, decision
    assert decision.identity["accountId"] == other_account and decision.identity["userArn"] == arn
    assert decide(shared, signed(creds, "POST", "/pets/1")).outcome is Outcome.FORBIDDEN
    # the resource policy's Deny binds this account's own callers too
    _, own = user_keys(server, [INVOKE_PETS])
    assert decide(shared, signed(own)).allowed
    assert decide(shared, signed(own, path="/pets/secret")).outcome is Outcome.FORBIDDEN
    # the root of the API's own account, and another account's root through the resource policy
    assert decide(plain, signed(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY))).allowed
    other_creds = Credentials(other_root["aws_access_key_id"], other_root["aws_secret_access_key"])
    assert decide(plain, signed(other_creds)).outcome is Outcome.FORBIDDEN
    assert decide(shared, signed(other_creds)).allowed


def test_configuration_errors(env: GatewayEnv) -> None:
    with pytest.raises(ConfigError, match="resource_policy"):
        authorizer(env, resource_policy="{not json")
    with pytest.raises(ConfigError, match="resource_policy"):
        authorizer(env, resource_policy={"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]})
    with pytest.raises(ConfigError, match="unknown key"):
        authorizer(env, resourcepolicy="{}")
    without_db = GatewayEnv(settings=env.settings, store=None, public_url="")
    with pytest.raises(ConfigError, match="database"):
        iam_authorizer.build("x", {"type": "iam"}, without_db)
