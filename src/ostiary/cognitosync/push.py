"""Push sync (Cognito Developer Guide, "Implementing push synchronization"): when UpdateRecords changes
a dataset, every device subscribed to it (SubscribeToDataset) but the one that made the change is told
to synchronize.

AWS delivers the message through the SNS platform application the pool's PushSync names (APNs, FCM/GCM,
ADM). Ostiary has no channel to those services (they need the app's SNS platform credentials and the
devices' real tokens), so the message goes through the notification sender's outbox
(``notify/outbox.py``): kept sealed, one message per device, medium ``PUSH``, destination the DeviceId,
subject ``cognito-sync``, body the JSON payload AWS's SDKs read from a push-sync notification
(``source``, ``identityPoolId``, ``identityId``, ``datasetName``, ``syncCount``). ``ostiary outbox`` and,
in development mode, ``GET /_ostiary/outbox?destination=<DeviceId>`` read them.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Connection, select

from ostiary.config import Settings
from ostiary.notify import outbox
from ostiary.notify.delivery import Message
from ostiary.store import tables as t

MEDIUM = "PUSH"
PURPOSE = "PushSync"


def notify_subscribers(
    conn: Connection,
    settings: Settings,
    pool_id: str,
    identity_id: str,
    dataset: str,
    sync_count: int,
    now: dt.datetime,
    skip_device: str | None = None,
) -> int:
    """Queue a push-sync message for each subscribed device (in the caller's transaction); how many."""
    s, d = t.sync_subscriptions.c, t.sync_devices.c
    rows = conn.execute(
        select(d.id, d.platform)
        .join_from(t.sync_subscriptions, t.sync_devices, s.device_id == d.id)
        .where(s.identity_id == identity_id, s.dataset_name == dataset)
        .order_by(d.id)
    ).all()
    payload = json.dumps(
        {
            "source": "cognito-sync",
            "identityPoolId": pool_id,
            "identityId": identity_id,
            "datasetName": dataset,
            "syncCount": sync_count,
        },
        separators=(",", ":"),
    )
    sent = 0
    for row in rows:
        if row.id == skip_device:
            continue
        message = Message(
            medium=MEDIUM,
            destination=row.id,
            subject="cognito-sync",
            body=payload,
            html=False,
            user_pool_id=pool_id,
            username=identity_id,
            purpose=PURPOSE,
        )
        outbox.keep(conn, settings, message, now)
        sent += 1
    return sent
