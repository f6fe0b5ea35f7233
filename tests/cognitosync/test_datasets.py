"""Cognito Sync datasets and records through boto3, signed with identity-pool credentials
(GetId → GetCredentialsForIdentity → a cognito-sync client): sync counts, session tokens, patch
semantics, conflicts, deletion and AWS's limits."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.cognitosync.conftest import device, err, put, sync_setup
from tests.conftest import Server


@pytest.fixture(scope="module")
def wired(server: Server) -> Any:
    return sync_setup(server)


def test_records_sync_between_two_devices(server: Server, wired: Any) -> None:
    a = device(server, wired)
    user_b = device(server, wired)  # another user: its own identity
    assert a.identity_id != user_b.identity_id
    listed = a.sync.list_records(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, DatasetName="prefs")
    assert listed["DatasetExists"] is False and listed["DatasetSyncCount"] == 0 and listed["Records"] == []
    written = put(
        a,
        wired.pool_id,
        "prefs",
        [
            {"Op": "replace", "Key": "color", "Value": "blue", "SyncCount": 0},
            {"Op": "replace", "Key": "n", "Value": "1", "SyncCount": 0},
        ],
    )
    assert {r["Key"]: (r["Value"], r["SyncCount"]) for r in written} == {"color": ("blue", 1), "n": ("1", 1)}
    assert all(r["LastModifiedBy"] == a.identity_id for r in written)
    # patch semantics: one record changes, the other stays
    put(a, wired.pool_id, "prefs", [{"Op": "replace", "Key": "color", "Value": "red", "SyncCount": 1}])
    everything = a.sync.list_records(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, DatasetName="prefs")
    assert everything["DatasetExists"] is True and everything["DatasetSyncCount"] == 2
    assert {r["Key"]: (r["Value"], r["SyncCount"]) for r in everything["Records"]} == {
        "color": ("red", 2),
        "n": ("1", 1),
    }
    since = a.sync.list_records(
        IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, DatasetName="prefs", LastSyncCount=1
    )
    assert [r["Key"] for r in since["Records"]] == ["color"]
    # remove: a record without a Value, at the new sync count
    removed = put(a, wired.pool_id, "prefs", [{"Op": "remove", "Key": "n", "SyncCount": 1}])
    assert removed[0]["Key"] == "n" and "Value" not in removed[0] and removed[0]["SyncCount"] == 3
    after = a.sync.list_records(
        IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, DatasetName="prefs", LastSyncCount=2
    )
    assert [(r["Key"], r.get("Value")) for r in after["Records"]] == [("n", None)]
    described = a.sync.describe_dataset(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, DatasetName="prefs")
    ds = described["Dataset"]
    assert (
        ds["NumRecords"] == 1
        and ds["DataStorage"] == len("color") + len("red")
        and ds["LastModifiedBy"] == a.identity_id
    )
    listed_ds = a.sync.list_datasets(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id)
    assert [d["DatasetName"] for d in listed_ds["Datasets"]] == ["prefs"] and listed_ds["Count"] == 1
    usage = a.sync.describe_identity_usage(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id)["IdentityUsage"]
    assert usage["DatasetCount"] == 1 and usage["DataStorage"] == 8


def test_stale_sync_count_is_a_conflict_and_changes_nothing(server: Server, wired: Any) -> None:
    name, _ = wired.user()
    phone = device(server, wired, name)
    tablet = device(server, wired, name)  # the same user on a second device: the same identity
    assert phone.identity_id == tablet.identity_id
    put(phone, wired.pool_id, "game", [{"Op": "replace", "Key": "highScore", "Value": "10", "SyncCount": 0}])
    token = tablet.sync.list_records(IdentityPoolId=wired.pool_id, IdentityId=tablet.identity_id, DatasetName="game")[
        "SyncSessionToken"
    ]
    put(phone, wired.pool_id, "game", [{"Op": "replace", "Key": "highScore", "Value": "20", "SyncCount": 1}])
    with pytest.raises(ClientError) as exc:
        tablet.sync.update_records(
            IdentityPoolId=wired.pool_id,
            IdentityId=tablet.identity_id,
            DatasetName="game",
            SyncSessionToken=token,
            RecordPatches=[
                {"Op": "replace", "Key": "other", "Value": "x", "SyncCount": 0},
                {"Op": "replace", "Key": "highScore", "Value": "15", "SyncCount": 1},
            ],
        )
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert err(exc) == ("ResourceConflictException", "Current SyncCount for: highScore is: 2 not: 1")
    now = tablet.sync.list_records(IdentityPoolId=wired.pool_id, IdentityId=tablet.identity_id, DatasetName="game")
    assert {r["Key"]: r["Value"] for r in now["Records"]} == {"highScore": "20"} and now["DatasetSyncCount"] == 2


def test_session_token_is_bound_to_identity_and_dataset(server: Server, wired: Any) -> None:
    a = device(server, wired)
    b = device(server, wired)
    token_a = a.sync.list_records(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, DatasetName="d1")[
        "SyncSessionToken"
    ]
    patch = [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}]
    for identity, dataset, token, client in (
        (a.identity_id, "d2", token_a, a.sync),  # another dataset
        (b.identity_id, "d1", token_a, b.sync),  # another identity
        (a.identity_id, "d1", token_a[:-4] + "AAAA", a.sync),  # altered
    ):
        with pytest.raises(ClientError) as exc:
            client.update_records(
                IdentityPoolId=wired.pool_id,
                IdentityId=identity,
                DatasetName=dataset,
                SyncSessionToken=token,
                RecordPatches=patch,
            )
        assert err(exc)[0] == "InvalidParameterException"
    assert b.sync.list_datasets(IdentityPoolId=wired.pool_id, IdentityId=b.identity_id)["Datasets"] == []


def test_delete_dataset_then_list_reports_it(server: Server, wired: Any) -> None:
    a = device(server, wired)
    put(a, wired.pool_id, "gone", [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    deleted = a.sync.delete_dataset(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, DatasetName="gone")
    assert deleted["Dataset"]["DatasetName"] == "gone" and deleted["Dataset"]["NumRecords"] == 1
    with pytest.raises(ClientError) as exc:
        a.sync.describe_dataset(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, DatasetName="gone")
    assert err(exc)[0] == "ResourceNotFoundException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as exc:
        a.sync.delete_dataset(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, DatasetName="gone")
    assert err(exc)[0] == "ResourceNotFoundException"
    stale = a.sync.list_records(
        IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, DatasetName="gone", LastSyncCount=1
    )
    assert stale["DatasetExists"] is False and stale["DatasetDeletedAfterRequestedSyncCount"] is True
    fresh = a.sync.list_records(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, DatasetName="gone")
    assert fresh["DatasetDeletedAfterRequestedSyncCount"] is False and fresh["Records"] == []
    # written again: the dataset comes back, empty but for the new record
    again = put(a, wired.pool_id, "gone", [{"Op": "replace", "Key": "k2", "Value": "v", "SyncCount": 0}])
    assert again[0]["SyncCount"] == 3
    assert (
        a.sync.list_datasets(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id)["Datasets"][0]["NumRecords"] == 1
    )


def test_limits(server: Server, wired: Any) -> None:
    a = device(server, wired)
    for n in range(20):
        put(a, wired.pool_id, f"ds{n:02d}", [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    with pytest.raises(ClientError) as exc:
        put(a, wired.pool_id, "one-too-many", [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    assert err(exc)[0] == "LimitExceededException"
    page = a.sync.list_datasets(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, MaxResults=15)
    rest = a.sync.list_datasets(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, NextToken=page["NextToken"])
    assert len(page["Datasets"]) == 15 and len(rest["Datasets"]) == 5 and "NextToken" not in rest
    # 1024 records per dataset
    many = [{"Op": "replace", "Key": f"k{n}", "Value": "v", "SyncCount": 0} for n in range(1024)]
    put(a, wired.pool_id, "ds00", many[1:])  # k0 is there already as "k"? no: "k" is another key
    with pytest.raises(ClientError) as exc:
        put(a, wired.pool_id, "ds00", [{"Op": "replace", "Key": "k0", "Value": "v", "SyncCount": 0}])
    assert err(exc)[0] == "LimitExceededException"
    # 1 MB per dataset
    big = "x" * 600_000
    put(a, wired.pool_id, "ds01", [{"Op": "replace", "Key": "big1", "Value": big, "SyncCount": 0}])
    with pytest.raises(ClientError) as exc:
        put(a, wired.pool_id, "ds01", [{"Op": "replace", "Key": "big2", "Value": big, "SyncCount": 0}])
    assert err(exc)[0] == "LimitExceededException"
    # the model's bounds: dataset names and key lengths
    for bad in ("has space", "x" * 129):
        with pytest.raises(ClientError) as exc:
            a.sync.list_records(IdentityPoolId=wired.pool_id, IdentityId=a.identity_id, DatasetName=bad)
        assert err(exc)[0] in ("InvalidParameterException", "ParamValidationError")
    with pytest.raises(ClientError) as exc:
        put(a, wired.pool_id, "ds02", [{"Op": "replace", "Key": "k" * 1025, "Value": "v", "SyncCount": 0}])
    assert err(exc)[0] == "InvalidParameterException"


def test_racing_devices_one_wins(server: Server, wired: Any) -> None:
    """Two devices write the same new record at once, each from a ListRecords that saw none: the
    writes are serialized on the dataset's row, so one is stored and the other is a conflict."""
    from concurrent.futures import ThreadPoolExecutor

    name, _ = wired.user()
    devices = [device(server, wired, name) for _ in range(2)]
    tokens = [
        d.sync.list_records(IdentityPoolId=wired.pool_id, IdentityId=d.identity_id, DatasetName="race")[
            "SyncSessionToken"
        ]
        for d in devices
    ]

    def write(n: int) -> str:
        d = devices[n]
        try:
            d.sync.update_records(
                IdentityPoolId=wired.pool_id,
                IdentityId=d.identity_id,
                DatasetName="race",
                SyncSessionToken=tokens[n],
                RecordPatches=[{"Op": "replace", "Key": "winner", "Value": str(n), "SyncCount": 0}],
            )
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        return "ok"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(write, range(2)))
    assert outcomes == ["ResourceConflictException", "ok"]
    stored = devices[0].sync.list_records(
        IdentityPoolId=wired.pool_id, IdentityId=devices[0].identity_id, DatasetName="race"
    )
    assert stored["DatasetSyncCount"] == 1 and len(stored["Records"]) == 1


def test_deleting_the_identity_deletes_its_data(server: Server, wired: Any) -> None:
    import sqlalchemy as sa

    a = device(server, wired)
    put(a, wired.pool_id, "doomed", [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    wired.ci.delete_identities(IdentityIdsToDelete=[a.identity_id])
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            for table in ("sync_datasets", "sync_records"):
                left = conn.execute(
                    sa.text(f"SELECT count(*) FROM {table} WHERE identity_id = :i"), {"i": a.identity_id}
                ).scalar()
                assert left == 0, table
    finally:
        engine.dispose()
