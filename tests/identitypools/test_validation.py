"""cognito-identity answers input that breaks the model's constraints (pattern, length, range) with
ValidationException (400), the Coral framework's code, as AWS does: e.g. GetId with a user pool id
answers "ValidationException: 1 validation error detected: Value '…' at 'identityPoolId' failed to
satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+" (recorded
from AWS in aws-amplify/amplify-swift#2864 and getmoto/moto#1979). Errors of meaning stay the
model's InvalidParameterException. cognito-idp keeps InvalidParameterException for both."""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_constraint_violations_are_validation_exceptions(server: Server) -> None:
    ci = server.client("cognito-identity")
    with pytest.raises(ClientError) as exc:
        ci.create_identity_pool(IdentityPoolName="bad!name", AllowUnauthenticatedIdentities=False)
    assert _err(exc) == (
        "ValidationException",
        "1 validation error detected: Value 'bad!name' at 'identityPoolName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+",
        400,
    )
    with pytest.raises(ClientError) as exc:
        ci.get_id(IdentityPoolId="us-east-1_AbCdEf123")  # a user pool id
    assert _err(exc) == (
        "ValidationException",
        "1 validation error detected: Value 'us-east-1_AbCdEf123' at 'identityPoolId' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w-]+:[0-9a-f-]+",
        400,
    )
    pool_id = ci.create_identity_pool(IdentityPoolName="validation", AllowUnauthenticatedIdentities=True)[
        "IdentityPoolId"
    ]
    with pytest.raises(ClientError) as exc:
        ci.list_identities(IdentityPoolId=pool_id, MaxResults=61)
    assert _err(exc) == (
        "ValidationException",
        "1 validation error detected: Value '61' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 60",
        400,
    )


def test_errors_of_meaning_stay_invalid_parameter(server: Server) -> None:
    ci = server.client("cognito-identity")
    pool_id = ci.create_identity_pool(IdentityPoolName="meaning", AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    with pytest.raises(ClientError) as exc:
        ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": "arn:aws:s3:::not-a-role-arn"})
    assert _err(exc)[0] == "InvalidParameterException" and _err(exc)[2] == 400


def test_cognito_idp_keeps_invalid_parameter_for_constraint_violations(server: Server) -> None:
    with pytest.raises(ClientError) as exc:
        server.client("cognito-idp").describe_user_pool(UserPoolId="bad id!")
    assert _err(exc)[0] == "InvalidParameterException"
    assert _err(exc)[1].startswith("1 validation error detected: Value 'bad id!' at 'userPoolId'")


def test_wire_error_type(server: Server) -> None:
    """The JSON body's __type is the bare code, as the SDKs for JavaScript and Swift read it."""
    r = httpx.post(
        server.url + "/",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityService.GetId",
        },
        content=b'{"IdentityPoolId": "not a pool id"}',
    )
    assert r.status_code == 400 and r.json()["__type"] == "ValidationException"
