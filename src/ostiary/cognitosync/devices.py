"""Push devices and dataset subscriptions: RegisterDevice, SubscribeToDataset, UnsubscribeFromDataset
(Cognito Identity credentials only, each identity for itself).

RegisterDevice needs the pool's PushSync to name an SNS platform application of the device's platform
(``app/APNS/…``, ``app/APNS_SANDBOX/…``, ``app/GCM/…``, ``app/ADM/…``), else InvalidConfigurationException.
It answers a DeviceId, the same one when the same token registers again; the push token is kept sealed
under the KEK. A subscribed device is told of each change another device makes to the dataset (push.py:
the notification outbox, as Ostiary has no channel to APNs, FCM or ADM).
"""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import Connection, delete, insert, select

from ostiary.cognitosync import callers, configuration
from ostiary.cognitosync.errors import InvalidConfigurationException, ResourceNotFoundException
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.upserts import insert_ignore

_V = t.sync_devices
_S = t.sync_subscriptions


def _token_hash(platform: str, token: str) -> str:
    return hashlib.sha256(f"{platform}\0{token}".encode()).hexdigest()


def _platforms(push_sync: dict[str, object] | None) -> set[str]:
    """The platforms of the SNS platform applications PushSync names (``…:app/<PLATFORM>/<name>``)."""
    out: set[str] = set()
    for arn in (push_sync or {}).get("ApplicationArns") or []:  # type: ignore[attr-defined]
        resource = str(arn).split(":", 5)[-1]
        parts = resource.split("/")
        if len(parts) == 3 and parts[0] == "app":
            out.add(parts[1])
    return out


def _own_device(conn: Connection, identity_id: str, device_id: str) -> None:
    found = conn.execute(select(_V.c.id).where(_V.c.id == device_id, _V.c.identity_id == identity_id)).first()
    if found is None:
        raise ResourceNotFoundException(f"Device '{device_id}' not found.")


@operation("cognito-sync", "RegisterDevice", resource=callers.identity_resource)
def register_device(ctx: RequestContext, params: Params) -> Result:
    pool_id, identity_id, platform, token = (
        params["IdentityPoolId"],
        params["IdentityId"],
        params["Platform"],
        params["Token"],
    )
    token_hash = _token_hash(platform, token)
    with ctx.store.tx() as conn:
        callers.identity_access(conn, ctx, pool_id, identity_id, cognito_only=True)
        config = configuration.config_of(conn, pool_id)
        if platform not in _platforms(config.push_sync if config is not None else None):
            raise InvalidConfigurationException(
                f"Push sync is not configured for the platform {platform} in identity pool {pool_id}."
            )
        known = conn.execute(
            select(_V.c.id).where(_V.c.identity_id == identity_id, _V.c.token_hash == token_hash)
        ).first()
        if known is not None:
            return {"DeviceId": known.id}
        device_id = str(uuid.uuid4())
        conn.execute(
            insert(_V).values(
                id=device_id,
                identity_id=identity_id,
                identity_pool_id=pool_id,
                platform=platform,
                token_hash=token_hash,
                token=ctx.box.seal(token, f"cognito-sync-device:{device_id}"),
                created_at=ctx.now,
            )
        )
    return {"DeviceId": device_id}


@operation("cognito-sync", "SubscribeToDataset", resource=callers.dataset_resource)
def subscribe_to_dataset(ctx: RequestContext, params: Params) -> Result:
    identity_id = params["IdentityId"]
    with ctx.store.tx() as conn:
        callers.identity_access(conn, ctx, params["IdentityPoolId"], identity_id, cognito_only=True)
        _own_device(conn, identity_id, params["DeviceId"])
        insert_ignore(
            conn,
            _S,
            ["device_id", "dataset_name"],
            [
                {
                    "device_id": params["DeviceId"],
                    "dataset_name": params["DatasetName"],
                    "identity_id": identity_id,
                    "created_at": ctx.now,
                }
            ],
        )
    return {}


@operation("cognito-sync", "UnsubscribeFromDataset", resource=callers.dataset_resource)
def unsubscribe_from_dataset(ctx: RequestContext, params: Params) -> Result:
    identity_id = params["IdentityId"]
    with ctx.store.tx() as conn:
        callers.identity_access(conn, ctx, params["IdentityPoolId"], identity_id, cognito_only=True)
        _own_device(conn, identity_id, params["DeviceId"])
        conn.execute(delete(_S).where(_S.c.device_id == params["DeviceId"], _S.c.dataset_name == params["DatasetName"]))
    return {}
