"""Who may call what: the policy engine decides ``cognito-sync:<Operation>`` on AWS's resource ARNs
(a role scoped with ``${cognito-identity.amazonaws.com:sub}`` reaches its own identity only); each
identity reaches only its own data whatever its role allows; pool administration takes developer
credentials, device operations Cognito Identity credentials."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.cognitosync.conftest import device, err, put, sync_setup
from tests.conftest import Server


@pytest.fixture(scope="module")
def wired(server: Server) -> Any:
    return sync_setup(server)


def test_scoped_role_denies_another_identity(server: Server, wired: Any) -> None:
    alice = device(server, wired)
    bob = device(server, wired)
    put(bob, wired.pool_id, "secret", [{"Op": "replace", "Key": "k", "Value": "bob's", "SyncCount": 0}])
    calls = [
        lambda: alice.sync.list_records(IdentityPoolId=wired.pool_id, IdentityId=bob.identity_id, DatasetName="secret"),
        lambda: alice.sync.list_datasets(IdentityPoolId=wired.pool_id, IdentityId=bob.identity_id),
        lambda: alice.sync.describe_identity_usage(IdentityPoolId=wired.pool_id, IdentityId=bob.identity_id),
        lambda: alice.sync.delete_dataset(
            IdentityPoolId=wired.pool_id, IdentityId=bob.identity_id, DatasetName="secret"
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        code, message = err(exc)
        assert code == "AccessDeniedException"
        assert f"identity/{bob.identity_id}" in message and "cognito-sync:" in message
    assert bob.sync.describe_dataset(IdentityPoolId=wired.pool_id, IdentityId=bob.identity_id, DatasetName="secret")


def test_each_identity_reaches_only_its_own_data_even_with_a_wide_role(server: Server) -> None:
    wide = sync_setup(server, [{"Effect": "Allow", "Action": "cognito-sync:*", "Resource": "*"}])
    alice = device(server, wide)
    bob = device(server, wide)
    put(bob, wide.pool_id, "d", [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    with pytest.raises(ClientError) as exc:
        alice.sync.list_records(IdentityPoolId=wide.pool_id, IdentityId=bob.identity_id, DatasetName="d")
    assert err(exc) == ("NotAuthorizedException", f"Access to Identity '{bob.identity_id}' is forbidden.")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # pool administration refuses identity credentials even when the role allows it
    for call in (
        lambda: alice.sync.get_identity_pool_configuration(IdentityPoolId=wide.pool_id),
        lambda: alice.sync.describe_identity_pool_usage(IdentityPoolId=wide.pool_id),
        lambda: alice.sync.list_identity_pool_usage(),
        lambda: alice.sync.bulk_publish(IdentityPoolId=wide.pool_id),
        lambda: alice.sync.get_cognito_events(IdentityPoolId=wide.pool_id),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert err(exc)[0] == "NotAuthorizedException"


def test_developer_credentials(server: Server, wired: Any) -> None:
    alice = device(server, wired)
    put(alice, wired.pool_id, "d", [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    admin = server.client("cognito-sync")
    records = admin.list_records(IdentityPoolId=wired.pool_id, IdentityId=alice.identity_id, DatasetName="d")
    assert [r["Value"] for r in records["Records"]] == ["v"]
    written = admin.update_records(
        IdentityPoolId=wired.pool_id,
        IdentityId=alice.identity_id,
        DatasetName="d",
        SyncSessionToken=records["SyncSessionToken"],
        RecordPatches=[{"Op": "replace", "Key": "k", "Value": "w", "SyncCount": 1}],
    )["Records"]
    assert written[0]["LastModifiedBy"].startswith("arn:aws:iam::")
    usage = admin.describe_identity_pool_usage(IdentityPoolId=wired.pool_id)["IdentityPoolUsage"]
    assert usage["SyncSessionsCount"] >= 2 and usage["DataStorage"] >= 2 and "LastModifiedDate" in usage
    listed = admin.list_identity_pool_usage(MaxResults=60)["IdentityPoolUsages"]
    assert wired.pool_id in [u["IdentityPoolId"] for u in listed]
    # devices are the identities' own business
    with pytest.raises(ClientError) as exc:
        admin.register_device(IdentityPoolId=wired.pool_id, IdentityId=alice.identity_id, Platform="GCM", Token="t")
    assert err(exc)[0] == "NotAuthorizedException"
    with pytest.raises(ClientError) as exc:
        admin.describe_identity_pool_usage(IdentityPoolId="us-east-1:00000000-0000-0000-0000-000000000000")
    assert err(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        admin.list_records(
            IdentityPoolId=wired.pool_id, IdentityId="us-east-1:00000000-0000-0000-0000-000000000000", DatasetName="d"
        )
    assert err(exc)[0] == "ResourceNotFoundException"


def test_unsigned_calls_are_refused(server: Server, wired: Any) -> None:
    from botocore import UNSIGNED
    from botocore.config import Config

    from tests.conftest import make_client

    anon = make_client(
        server.url, "cognito-sync", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1})
    )
    with pytest.raises(ClientError) as exc:
        anon.list_identity_pool_usage()
    assert exc.value.response["Error"]["Code"] in ("MissingAuthenticationTokenException", "MissingAuthenticationToken")
