"""App client secret rotation with boto3: AddUserPoolClientSecret, ListUserPoolClientSecrets,
DeleteUserPoolClientSecret — both secrets sign in (SECRET_HASH) until one is deleted."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ostiary.userpools.secret_hash import secret_hash
from tests.conftest import Server
from tests.userpools.conftest import PASSWORD, PoolSetup, create_confirmed_user, make_pool


def _sign_in(s: PoolSetup, secret: str) -> None:
    s.idp.initiate_auth(
        ClientId=s.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={
            "USERNAME": "uma",
            "PASSWORD": PASSWORD,
            "SECRET_HASH": secret_hash(secret, "uma", s.client_id),
        },
    )


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_rotate_a_client_secret(server: Server) -> None:
    s = make_pool(server.client("cognito-idp"), {}, {"GenerateSecret": True})
    assert s.client_secret
    create_confirmed_user(s, "uma")
    [first] = s.idp.list_user_pool_client_secrets(UserPoolId=s.pool_id, ClientId=s.client_id)["ClientSecrets"]
    assert first["ClientSecretId"].startswith(s.client_id + "--") and "ClientSecretValue" not in first

    added = s.idp.add_user_pool_client_secret(UserPoolId=s.pool_id, ClientId=s.client_id)["ClientSecretDescriptor"]
    second = added["ClientSecretValue"]
    assert second != s.client_secret and added["ClientSecretId"] != first["ClientSecretId"]
    _sign_in(s, s.client_secret)
    _sign_in(s, second)
    listed = s.idp.list_user_pool_client_secrets(UserPoolId=s.pool_id, ClientId=s.client_id)["ClientSecrets"]
    assert [x["ClientSecretId"] for x in listed] == [first["ClientSecretId"], added["ClientSecretId"]]
    with pytest.raises(ClientError) as exc:
        s.idp.add_user_pool_client_secret(UserPoolId=s.pool_id, ClientId=s.client_id)
    assert _code(exc) == "LimitExceededException"

    s.idp.delete_user_pool_client_secret(
        UserPoolId=s.pool_id, ClientId=s.client_id, ClientSecretId=first["ClientSecretId"]
    )
    _sign_in(s, second)
    with pytest.raises(ClientError) as exc:
        _sign_in(s, s.client_secret)
    assert _code(exc) == "NotAuthorizedException"
    described = s.idp.describe_user_pool_client(UserPoolId=s.pool_id, ClientId=s.client_id)["UserPoolClient"]
    assert described["ClientSecret"] == second
    with pytest.raises(ClientError) as exc:
        s.idp.delete_user_pool_client_secret(
            UserPoolId=s.pool_id, ClientId=s.client_id, ClientSecretId=added["ClientSecretId"]
        )
    assert _code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        s.idp.delete_user_pool_client_secret(
            UserPoolId=s.pool_id, ClientId=s.client_id, ClientSecretId=first["ClientSecretId"]
        )
    assert _code(exc) == "ResourceNotFoundException"

    # a secret chosen by the caller is accepted and never echoed
    custom = "my-own-secret-value-1234567890".replace("-", "_")
    out = s.idp.add_user_pool_client_secret(UserPoolId=s.pool_id, ClientId=s.client_id, ClientSecret=custom)
    assert "ClientSecretValue" not in out["ClientSecretDescriptor"]
    _sign_in(s, custom)


def test_public_clients_have_no_secrets_to_rotate(server: Server) -> None:
    s = make_pool(server.client("cognito-idp"))
    with pytest.raises(ClientError) as exc:
        s.idp.add_user_pool_client_secret(UserPoolId=s.pool_id, ClientId=s.client_id)
    assert _code(exc) == "InvalidParameterException"
    assert s.idp.list_user_pool_client_secrets(UserPoolId=s.pool_id, ClientId=s.client_id)["ClientSecrets"] == []
