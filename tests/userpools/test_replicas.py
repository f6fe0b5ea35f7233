"""User pool replicas with boto3 clients of two Regions against one server: CreateUserPoolReplica
(INACTIVE, SECONDARY, the replica's ARN), an INACTIVE replica refusing end users, UpdateUserPoolReplica
from the secondary Region, a sign-in at the replica whose token PyJWT verifies against the replica's
JWKS (same keys, same issuer), reads at the replica, writes refused there (OperationNotEnabledException),
DeleteUserPoolReplica (only INACTIVE, only from the primary Region) and ListUserPoolReplicas.

An unsigned call's Region is its endpoint host (``cognito-idp.<region>.amazonaws.com``): the replica's
client sends that Host header to the loopback server."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, REGION, Server

PASSWORD = "Corr3ct-Horse!"
SECONDARY = "eu-west-1"
HOST = f"cognito-idp.{SECONDARY}.amazonaws.com"


def _regional_host(request: Any, **_: Any) -> None:
    if "Authorization" not in request.headers:  # a signed call names its Region in its signature
        request.headers["Host"] = HOST


@pytest.fixture
def replica_idp(server: Server) -> Any:
    client = server.client("cognito-idp", region_name=SECONDARY)
    client.meta.events.register("before-send.cognito-idp", _regional_host)
    return client


@pytest.fixture
def setup(idp: Any) -> Iterator[tuple[str, str]]:
    pool_id = idp.create_user_pool(PoolName="mrr-" + secrets.token_hex(3))["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="ada", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="ada", Password=PASSWORD, Permanent=True)
    yield pool_id, client_id
    for region in (SECONDARY,):
        try:
            idp.update_user_pool_replica(UserPoolId=pool_id, RegionName=region, Status="INACTIVE")
            idp.delete_user_pool_replica(UserPoolId=pool_id, RegionName=region)
        except ClientError:
            pass
    idp.delete_user_pool(UserPoolId=pool_id)


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _sign_in(client: Any, client_id: str) -> dict[str, Any]:
    result: dict[str, Any] = client.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "ada", "PASSWORD": PASSWORD}
    )["AuthenticationResult"]
    return result


def test_replica_lifecycle_sign_in_and_writes(
    server: Server, idp: Any, replica_idp: Any, setup: tuple[str, str]
) -> None:
    pool_id, client_id = setup
    with pytest.raises(ClientError) as err:  # no replica yet: the pool isn't in that Region
        replica_idp.describe_user_pool(UserPoolId=pool_id)
    assert _code(err) == "ResourceNotFoundException"

    jwks_url = f"{server.url}/{pool_id}/.well-known/jwks.json"
    assert httpx.get(jwks_url, headers={"Host": HOST}).status_code == 404  # the pool isn't in that Region
    assert httpx.get(jwks_url).status_code == 200

    made = idp.create_user_pool_replica(UserPoolId=pool_id, RegionName=SECONDARY, UserPoolTags={"site": "dr"})
    assert made["UserPoolReplica"] == {
        "RegionName": SECONDARY,
        "Status": "INACTIVE",
        "Role": "SECONDARY",
        "UserPoolArn": f"arn:aws:cognito-idp:{SECONDARY}:{ACCOUNT_ID}:userpool/{pool_id}",
    }
    listed = idp.list_user_pool_replicas(UserPoolId=pool_id)["UserPoolReplicas"]
    assert [(r["RegionName"], r["Role"], r["Status"]) for r in listed] == [
        (REGION, "PRIMARY", "ACTIVE"),
        (SECONDARY, "SECONDARY", "INACTIVE"),
    ]
    arn = made["UserPoolReplica"]["UserPoolArn"]
    assert replica_idp.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"site": "dr"}

    # INACTIVE: administrators only
    described = replica_idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert (described["Id"], described["Arn"], described["UserPoolTags"]) == (pool_id, arn, {"site": "dr"})
    with pytest.raises(ClientError) as err:
        _sign_in(replica_idp, client_id)
    assert _code(err) == "OperationNotEnabledException"

    active = replica_idp.update_user_pool_replica(UserPoolId=pool_id, RegionName=SECONDARY, Status="ACTIVE")
    assert active["UserPoolReplica"]["Status"] == "ACTIVE"

    # sign-in at the replica: the pool's own keys and issuer, verified against the replica's JWKS
    tokens = _sign_in(replica_idp, client_id)
    keys = jwt.PyJWKClient(jwks_url, headers={"Host": HOST})
    key = keys.get_signing_key_from_jwt(tokens["IdToken"])
    claims = jwt.decode(tokens["IdToken"], key.key, algorithms=["RS256"], audience=client_id)
    primary = _sign_in(idp, client_id)
    assert claims["iss"] == jwt.decode(primary["IdToken"], options={"verify_signature": False})["iss"]
    assert claims["cognito:username"] == "ada"
    # the replica's tokens work at the primary and the other way round
    assert idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == "ada"
    assert replica_idp.get_user(AccessToken=primary["AccessToken"])["Username"] == "ada"
    refreshed = replica_idp.initiate_auth(
        ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]}
    )
    assert "AccessToken" in refreshed["AuthenticationResult"]
    assert replica_idp.admin_get_user(UserPoolId=pool_id, Username="ada")["Username"] == "ada"

    # writes are the primary's
    refused = (
        lambda: replica_idp.admin_create_user(UserPoolId=pool_id, Username="bob", MessageAction="SUPPRESS"),
        lambda: replica_idp.sign_up(ClientId=client_id, Username="cy", Password=PASSWORD),
        lambda: replica_idp.update_user_attributes(
            AccessToken=tokens["AccessToken"], UserAttributes=[{"Name": "name", "Value": "Ada"}]
        ),
        lambda: replica_idp.create_group(UserPoolId=pool_id, GroupName="g"),
        lambda: replica_idp.create_user_pool_client(UserPoolId=pool_id, ClientName="other"),
        lambda: replica_idp.initiate_point_in_time_recovery(
            UserPoolId=pool_id, RestoreTimestamp="2026-01-01T00:00:00Z"
        ),
        lambda: replica_idp.delete_user_pool_replica(UserPoolId=pool_id, RegionName=SECONDARY),
    )
    for call in refused:
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "OperationNotEnabledException", err.value.response
    idp.admin_create_user(UserPoolId=pool_id, Username="bob", MessageAction="SUPPRESS")  # at the primary
    assert replica_idp.admin_get_user(UserPoolId=pool_id, Username="bob")["Username"] == "bob"  # same store

    with pytest.raises(ClientError) as err:  # only an INACTIVE replica can go
        idp.delete_user_pool_replica(UserPoolId=pool_id, RegionName=SECONDARY)
    assert _code(err) == "InvalidParameterException"
    idp.update_user_pool_replica(UserPoolId=pool_id, RegionName=SECONDARY, Status="INACTIVE")
    gone = idp.delete_user_pool_replica(UserPoolId=pool_id, RegionName=SECONDARY)["UserPoolReplica"]
    assert (gone["RegionName"], gone["Status"]) == (SECONDARY, "DELETING")
    assert [r["RegionName"] for r in idp.list_user_pool_replicas(UserPoolId=pool_id)["UserPoolReplicas"]] == [REGION]
    with pytest.raises(ClientError) as err:
        replica_idp.describe_user_pool(UserPoolId=pool_id)
    assert _code(err) == "ResourceNotFoundException"
    assert httpx.get(jwks_url, headers={"Host": HOST}).status_code == 404
    assert _sign_in(replica_idp, client_id)["AccessToken"]  # no replica: the Region is not the pool's concern


def test_replica_checks(idp: Any, setup: tuple[str, str]) -> None:
    pool_id, _ = setup
    for region, code in ((REGION, "InvalidParameterException"), ("not a region", "InvalidParameterException")):
        with pytest.raises(ClientError) as err:
            idp.create_user_pool_replica(UserPoolId=pool_id, RegionName=region)
        assert _code(err) == code
    idp.create_user_pool_replica(UserPoolId=pool_id, RegionName=SECONDARY)
    with pytest.raises(ClientError) as err:
        idp.create_user_pool_replica(UserPoolId=pool_id, RegionName="ap-southeast-2")
    assert _code(err) == "LimitExceededException"
    for call in (idp.delete_user_pool_replica, idp.update_user_pool_replica):
        args = {"Status": "ACTIVE"} if call == idp.update_user_pool_replica else {}
        with pytest.raises(ClientError) as err:
            call(UserPoolId=pool_id, RegionName="ap-southeast-2", **args)
        assert _code(err) == "ResourceNotFoundException"
    lite = idp.create_user_pool(PoolName="lite-" + secrets.token_hex(3), UserPoolTier="LITE")["UserPool"]["Id"]
    try:
        with pytest.raises(ClientError) as err:
            idp.create_user_pool_replica(UserPoolId=lite, RegionName=SECONDARY)
        assert _code(err) == "FeatureUnavailableInTierException"
    finally:
        idp.delete_user_pool(UserPoolId=lite)
