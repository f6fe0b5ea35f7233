"""Push sync: RegisterDevice (needs the pool's PushSync for the device's platform), SubscribeToDataset,
UnsubscribeFromDataset; a change by one device queues a push-sync message for the other subscribed
devices in the notification outbox (read here through the development server's /_ostiary/outbox)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.cognitosync.conftest import ACCOUNT_ID, device, err, put, sync_setup
from tests.conftest import Server

APP = f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:app/GCM/sync-app"


def _outbox(server: Server, device_id: str) -> list[dict[str, Any]]:
    answer = httpx.get(server.url + "/_ostiary/outbox", params={"destination": device_id})
    messages: list[dict[str, Any]] = answer.json()["messages"]
    return messages


def test_push_to_subscribed_devices(dev_server: Server) -> None:
    w = sync_setup(dev_server)
    name, _ = w.user()
    phone = device(dev_server, w, name)
    tablet = device(dev_server, w, name)
    with pytest.raises(ClientError) as exc:  # no PushSync for GCM yet
        phone.sync.register_device(IdentityPoolId=w.pool_id, IdentityId=phone.identity_id, Platform="GCM", Token="p")
    assert err(exc)[0] == "InvalidConfigurationException"
    admin = dev_server.client("cognito-sync")
    admin.set_identity_pool_configuration(IdentityPoolId=w.pool_id, PushSync={"ApplicationArns": [APP]})
    with pytest.raises(ClientError) as exc:  # APNS is not configured
        phone.sync.register_device(IdentityPoolId=w.pool_id, IdentityId=phone.identity_id, Platform="APNS", Token="p")
    assert err(exc)[0] == "InvalidConfigurationException"
    phone_id = phone.sync.register_device(
        IdentityPoolId=w.pool_id, IdentityId=phone.identity_id, Platform="GCM", Token="phone-token"
    )["DeviceId"]
    again = phone.sync.register_device(
        IdentityPoolId=w.pool_id, IdentityId=phone.identity_id, Platform="GCM", Token="phone-token"
    )["DeviceId"]
    tablet_id = tablet.sync.register_device(
        IdentityPoolId=w.pool_id, IdentityId=tablet.identity_id, Platform="GCM", Token="tablet-token"
    )["DeviceId"]
    assert again == phone_id and tablet_id != phone_id
    for d, device_id in ((phone, phone_id), (tablet, tablet_id)):
        d.sync.subscribe_to_dataset(
            IdentityPoolId=w.pool_id, IdentityId=d.identity_id, DatasetName="notes", DeviceId=device_id
        )
    # the phone writes: the tablet is told, the phone is not
    token = phone.sync.list_records(IdentityPoolId=w.pool_id, IdentityId=phone.identity_id, DatasetName="notes")[
        "SyncSessionToken"
    ]
    written = phone.sync.update_records(
        IdentityPoolId=w.pool_id,
        IdentityId=phone.identity_id,
        DatasetName="notes",
        DeviceId=phone_id,
        SyncSessionToken=token,
        RecordPatches=[{"Op": "replace", "Key": "todo", "Value": "milk", "SyncCount": 0}],
    )["Records"]
    assert written[0]["LastModifiedBy"] == phone_id
    pushed = _outbox(dev_server, tablet_id)
    assert len(pushed) == 1 and pushed[0]["medium"] == "PUSH" and pushed[0]["purpose"] == "PushSync"
    assert json.loads(pushed[0]["body"]) == {
        "source": "cognito-sync",
        "identityPoolId": w.pool_id,
        "identityId": phone.identity_id,
        "datasetName": "notes",
        "syncCount": 1,
    }
    assert _outbox(dev_server, phone_id) == []
    # unsubscribed: no more messages
    tablet.sync.unsubscribe_from_dataset(
        IdentityPoolId=w.pool_id, IdentityId=tablet.identity_id, DatasetName="notes", DeviceId=tablet_id
    )
    put(phone, w.pool_id, "notes", [{"Op": "replace", "Key": "todo", "Value": "eggs", "SyncCount": 1}])
    assert len(_outbox(dev_server, tablet_id)) == 1


def test_devices_belong_to_their_identity(server: Server) -> None:
    w = sync_setup(server)
    server.client("cognito-sync").set_identity_pool_configuration(
        IdentityPoolId=w.pool_id, PushSync={"ApplicationArns": [APP]}
    )
    alice = device(server, w)
    bob = device(server, w)
    bob_device = bob.sync.register_device(
        IdentityPoolId=w.pool_id, IdentityId=bob.identity_id, Platform="GCM", Token="b"
    )["DeviceId"]
    with pytest.raises(ClientError) as exc:
        alice.sync.subscribe_to_dataset(
            IdentityPoolId=w.pool_id, IdentityId=alice.identity_id, DatasetName="d", DeviceId=bob_device
        )
    assert err(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        alice.sync.register_device(IdentityPoolId=w.pool_id, IdentityId=bob.identity_id, Platform="GCM", Token="a")
    assert err(exc)[0] == "AccessDeniedException"
