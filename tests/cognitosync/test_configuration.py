"""Pool settings (Get/SetIdentityPoolConfiguration, Get/SetCognitoEvents) and the Sync Trigger: a
Python function written for AWS Lambda, run by the user-pool triggers' runtime with the SyncTrigger
event AWS sends, rewriting what UpdateRecords stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.cognitosync.conftest import ACCOUNT_ID, device, err, put, sync_setup
from tests.conftest import Server

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:sync-fn"


@pytest.fixture(scope="module")
def trigger_server(server_factory: Any) -> Iterator[Server]:
    srv: Server = server_factory(
        env={
            "OSTIARY_LAMBDA_FUNCTIONS": f"{FUNCTION}=python:tests.cognitosync.handlers:sync_trigger",
            "OSTIARY_LAMBDA_PATH": str(ROOT),
            "OSTIARY_LAMBDA_TIMEOUT_SECONDS": "20",
        }
    )
    yield srv


def test_pool_configuration(server: Server) -> None:
    w = sync_setup(server)
    admin = server.client("cognito-sync")
    iam = server.client("iam")
    empty = admin.get_identity_pool_configuration(IdentityPoolId=w.pool_id)
    assert empty["IdentityPoolId"] == w.pool_id and "PushSync" not in empty and "CognitoStreams" not in empty
    role = iam.get_role(RoleName=w.auth_role.rsplit("/", 1)[-1])["Role"]["Arn"]
    app = f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:app/GCM/my-app"
    out = admin.set_identity_pool_configuration(
        IdentityPoolId=w.pool_id,
        PushSync={"ApplicationArns": [app], "RoleArn": role},
        CognitoStreams={"StreamName": "sync-stream", "RoleArn": role, "StreamingStatus": "ENABLED"},
    )
    assert out["PushSync"] == {"ApplicationArns": [app], "RoleArn": role}
    assert out["CognitoStreams"]["StreamName"] == "sync-stream"
    got = admin.get_identity_pool_configuration(IdentityPoolId=w.pool_id)
    assert got["PushSync"] == out["PushSync"] and got["CognitoStreams"] == out["CognitoStreams"]
    for bad in (
        {"PushSync": {"ApplicationArns": [app], "RoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/no-such-role"}},
        {"PushSync": {"ApplicationArns": ["arn:aws:sns:us-east-1:999999999999:app/GCM/theirs"]}},
        {"PushSync": {"ApplicationArns": ["not-an-arn"]}},
    ):
        with pytest.raises(ClientError) as exc:
            admin.set_identity_pool_configuration(IdentityPoolId=w.pool_id, **bad)
        assert err(exc)[0] == "InvalidParameterException"
    assert admin.get_identity_pool_configuration(IdentityPoolId=w.pool_id)["PushSync"] == out["PushSync"]


def test_cognito_events_need_a_configured_function(server: Server) -> None:
    w = sync_setup(server)
    admin = server.client("cognito-sync")
    assert admin.get_cognito_events(IdentityPoolId=w.pool_id)["Events"] == {}
    with pytest.raises(ClientError) as exc:
        admin.set_cognito_events(IdentityPoolId=w.pool_id, Events={"SyncTrigger": FUNCTION})
    assert err(exc)[0] == "InvalidParameterException" and "lambda_functions" in err(exc)[1]
    with pytest.raises(ClientError) as exc:
        admin.set_cognito_events(IdentityPoolId=w.pool_id, Events={"OtherEvent": FUNCTION})
    assert err(exc)[0] == "InvalidParameterException"


def test_sync_trigger_rewrites_records(trigger_server: Server) -> None:
    w = sync_setup(trigger_server)
    admin = trigger_server.client("cognito-sync")
    admin.set_cognito_events(IdentityPoolId=w.pool_id, Events={"SyncTrigger": FUNCTION})
    assert admin.get_cognito_events(IdentityPoolId=w.pool_id)["Events"] == {"SyncTrigger": FUNCTION}
    player = device(trigger_server, w)
    written = put(
        player,
        w.pool_id,
        "game",
        [
            {"Op": "replace", "Key": "up_name", "Value": "ada", "SyncCount": 0},
            {"Op": "replace", "Key": "score", "Value": "120", "SyncCount": 0},
            {"Op": "replace", "Key": "ignored", "Value": "x", "SyncCount": 0},
        ],
    )
    values = {r["Key"]: r["Value"] for r in written}
    assert values == {"up_name": "ADA", "score": "120", "badge": f"gold for {player.identity_id} in game"}
    stored = player.sync.list_records(IdentityPoolId=w.pool_id, IdentityId=player.identity_id, DatasetName="game")
    assert {r["Key"]: r["Value"] for r in stored["Records"]} == values
    # a function that raises, or answers something else: nothing is stored
    for key in ("boom", "garbage"):
        with pytest.raises(ClientError) as exc:
            put(player, w.pool_id, "game", [{"Op": "replace", "Key": key, "Value": "1", "SyncCount": 0}])
        assert err(exc)[0] == "InvalidLambdaFunctionOutputException"
    after = player.sync.list_records(IdentityPoolId=w.pool_id, IdentityId=player.identity_id, DatasetName="game")
    assert after["DatasetSyncCount"] == stored["DatasetSyncCount"]
    # developer credentials do not fire the trigger (Cognito Developer Guide, "Amazon Cognito Events")
    token = admin.list_records(IdentityPoolId=w.pool_id, IdentityId=player.identity_id, DatasetName="game")[
        "SyncSessionToken"
    ]
    raw = admin.update_records(
        IdentityPoolId=w.pool_id,
        IdentityId=player.identity_id,
        DatasetName="game",
        SyncSessionToken=token,
        RecordPatches=[{"Op": "replace", "Key": "up_raw", "Value": "low", "SyncCount": 0}],
    )["Records"]
    assert raw[0]["Value"] == "low"
    # an empty function ARN removes the event
    admin.set_cognito_events(IdentityPoolId=w.pool_id, Events={"SyncTrigger": ""})
    assert admin.get_cognito_events(IdentityPoolId=w.pool_id)["Events"] == {}
    # both changes are audit events (CloudTrail's LookupEvents), of cognito-sync.amazonaws.com
    trail = trigger_server.client("cloudtrail")
    found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "SetCognitoEvents"}])
    mine = [json.loads(e["CloudTrailEvent"]) for e in found["Events"] if w.pool_id in e["CloudTrailEvent"]]
    assert len(mine) == 2 and {e["eventSource"] for e in mine} == {"cognito-sync.amazonaws.com"}
    assert {json.dumps(e["requestParameters"]["Events"]) for e in mine} == {
        json.dumps({"SyncTrigger": FUNCTION}),
        json.dumps({"SyncTrigger": ""}),
    }
