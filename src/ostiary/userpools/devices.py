"""Device tracking (Cognito Developer Guide, "Working with user devices"; API Reference):
ConfirmDevice, GetDevice, ListDevices, UpdateDeviceStatus, ForgetDevice and their Admin variants,
plus what sign-in needs: new device metadata, and the device's SRP verifier for DEVICE_SRP_AUTH.

When the pool has a DeviceConfiguration, a sign-in without a device key returns NewDeviceMetadata
(a new, unconfirmed device); the client confirms it with ConfirmDevice and the verifier it derived
from a random device password (the same SRP as users, with the device group key in place of the
pool name). A remembered device then signs in with DEVICE_SRP_AUTH and skips MFA.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets
import string
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Row

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import directory, paging, tokens
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import (
    InvalidParameterException,
    NotAuthorizedException,
    ResourceNotFoundException,
    UserNotFoundException,
)
from ostiary.userpools.lookup import pool_by_id, pool_for_caller

_GROUP_ALPHABET = string.ascii_letters + string.digits


def tracking(pool: PoolView) -> dict[str, Any] | None:
    """The pool's DeviceConfiguration, or None when it does not track devices."""
    cfg = pool.config.get("DeviceConfiguration")
    return cfg if isinstance(cfg, dict) else None


@dataclass(frozen=True)
class Device:
    key: str
    group_key: str
    user_id: str
    confirmed: bool
    remembered: bool
    salt_hex: str | None
    verifier: int | None


def _device(row: Row[Any]) -> Device:
    return Device(
        key=row.device_key,
        group_key=row.group_key,
        user_id=row.user_id,
        confirmed=bool(row.confirmed),
        remembered=bool(row.remembered),
        salt_hex=row.srp_salt,
        verifier=int(row.srp_verifier, 16) if row.srp_verifier else None,
    )


def find(conn: Connection, pool: PoolView, device_key: str) -> Device | None:
    row = conn.execute(
        select(t.devices).where(t.devices.c.device_key == device_key, t.devices.c.user_pool_id == pool.id)
    ).first()
    return None if row is None else _device(row)


def new_device(conn: Connection, pool: PoolView, user: User, now: dt.datetime, ip: str = "") -> dict[str, str]:
    """A new, unconfirmed device: NewDeviceMetadata {DeviceKey, DeviceGroupKey}."""
    if secrets.randbelow(64) == 0:  # now and then, sweep devices nobody confirmed within a day
        conn.execute(
            delete(t.devices).where(
                t.devices.c.confirmed.is_(False), t.devices.c.created_at < now - dt.timedelta(days=1)
            )
        )
    key = f"{pool.region}_{uuid.uuid4()}"
    group = "-" + "".join(secrets.choice(_GROUP_ALPHABET) for _ in range(9))
    attributes = [{"Name": "last_ip_used", "Value": ip}] if ip else []
    conn.execute(
        insert(t.devices).values(
            device_key=key,
            user_pool_id=pool.id,
            user_id=user.id,
            group_key=group,
            confirmed=False,
            remembered=False,
            srp_salt=None,
            srp_verifier=None,
            attributes=attributes,
            created_at=now,
            updated_at=now,
            last_authenticated_at=now,
        )
    )
    return {"DeviceKey": key, "DeviceGroupKey": group}


def touch(conn: Connection, device_key: str, now: dt.datetime) -> None:
    conn.execute(update(t.devices).where(t.devices.c.device_key == device_key).values(last_authenticated_at=now))


def _device_type(row: Row[Any]) -> dict[str, Any]:
    attributes = list(row.attributes or [])
    attributes.append({"Name": "device_status", "Value": "valid"})
    attributes.append(
        {"Name": "device_remembered_status", "Value": "remembered" if row.remembered else "not_remembered"}
    )
    out: dict[str, Any] = {
        "DeviceKey": row.device_key,
        "DeviceAttributes": attributes,
        "DeviceCreateDate": utc(row.created_at),
        "DeviceLastModifiedDate": utc(row.updated_at),
    }
    if row.last_authenticated_at is not None:
        out["DeviceLastAuthenticatedDate"] = utc(row.last_authenticated_at)
    return out


def _row(conn: Connection, user: User, device_key: str) -> Row[Any]:
    row = conn.execute(
        select(t.devices).where(t.devices.c.device_key == device_key, t.devices.c.user_id == user.id)
    ).first()
    if row is None or not row.confirmed:
        raise ResourceNotFoundException("Device does not exist.")
    return row


def _by_token(ctx: RequestContext, conn: Connection, token: str | None) -> tuple[PoolView, User]:
    if not token:  # optional in the model for some device operations, yet required to act on a device
        raise NotAuthorizedException("Invalid Access Token")
    access = tokens.check_access_token(conn, ctx.keys, ctx.settings, token, ctx.now)
    pool = pool_by_id(conn, access.pool_id)
    user = directory.get_in_pool(conn, access.pool_id, access.user_id) if pool else None
    if pool is None or user is None:
        raise NotAuthorizedException("Invalid Access Token")
    return pool, user


def _by_admin(ctx: RequestContext, conn: Connection, params: Params) -> tuple[PoolView, User]:
    pool = pool_for_caller(conn, ctx, params["UserPoolId"])
    user = directory.find(conn, pool, params["Username"])  # username, alias, username attribute or sub
    if user is None:
        raise UserNotFoundException("User does not exist.")
    return pool, user


def _b64_int(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameterException(f"{what} is not valid base64") from None


@operation("cognito-idp", "ConfirmDevice")
def confirm_device(ctx: RequestContext, params: Params) -> Result:
    """Store the device's SRP verifier; it is remembered at once unless the pool leaves remembering to
    the user (DeviceOnlyRememberedOnUserPrompt), which UserConfirmationNecessary tells the client."""
    config = params.get("DeviceSecretVerifierConfig") or {}
    if not config.get("PasswordVerifier") or not config.get("Salt"):
        raise InvalidParameterException("DeviceSecretVerifierConfig needs PasswordVerifier and Salt.")
    verifier = int.from_bytes(_b64_int(config["PasswordVerifier"], "PasswordVerifier"), "big")
    salt = _b64_int(config["Salt"], "Salt").hex()
    if verifier <= 1 or not salt:
        raise InvalidParameterException("Invalid DeviceSecretVerifierConfig.")
    with ctx.store.tx() as conn:
        pool, user = _by_token(ctx, conn, params.get("AccessToken"))
        settings = tracking(pool)
        if settings is None:
            raise InvalidParameterException("Device tracking is not enabled for this user pool.")
        row = conn.execute(
            select(t.devices).where(t.devices.c.device_key == params["DeviceKey"], t.devices.c.user_id == user.id)
        ).first()
        if row is None:
            raise ResourceNotFoundException("Device does not exist.")
        prompt = bool(settings.get("DeviceOnlyRememberedOnUserPrompt"))
        attributes = [a for a in row.attributes or [] if a.get("Name") != "device_name"]
        if params.get("DeviceName"):
            attributes.append({"Name": "device_name", "Value": params["DeviceName"]})
        conn.execute(
            update(t.devices)
            .where(t.devices.c.device_key == row.device_key)
            .values(
                confirmed=True,
                remembered=not prompt,
                srp_salt=salt,
                srp_verifier=format(verifier, "x"),
                attributes=attributes,
                updated_at=ctx.now,
            )
        )
    return {"UserConfirmationNecessary": prompt}


def _update_status(conn: Connection, user: User, params: Params, now: dt.datetime) -> None:
    row = _row(conn, user, params["DeviceKey"])
    status = params.get("DeviceRememberedStatus")
    if status not in ("remembered", "not_remembered"):
        raise InvalidParameterException("DeviceRememberedStatus must be remembered or not_remembered.")
    conn.execute(
        update(t.devices)
        .where(t.devices.c.device_key == row.device_key)
        .values(remembered=status == "remembered", updated_at=now)
    )


def _forget(conn: Connection, user: User, device_key: str) -> None:
    row = _row(conn, user, device_key)
    conn.execute(delete(t.devices).where(t.devices.c.device_key == row.device_key))
    # tokens issued through the device stop refreshing
    conn.execute(
        update(t.refresh_tokens)
        .where(t.refresh_tokens.c.device_key == row.device_key, t.refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )


def _list(conn: Connection, user: User, params: Params) -> Result:
    limit = int(params.get("Limit") or 60)
    after = paging.decode(params.get("PaginationToken"))
    c = t.devices.c
    query = select(t.devices).where(c.user_id == user.id, c.confirmed.is_(True)).order_by(c.created_at, c.device_key)
    rows = [
        r
        for r in conn.execute(query).all()
        if after is None or (utc(r.created_at).isoformat(), r.device_key) > tuple(after)
    ]
    chunk = rows[:limit]
    out: dict[str, Any] = {"Devices": [_device_type(r) for r in chunk]}
    if len(rows) > limit:
        last = chunk[-1]
        out["PaginationToken"] = paging.encode([utc(last.created_at).isoformat(), last.device_key])
    return out


@operation("cognito-idp", "GetDevice")
def get_device(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        _, user = _by_token(ctx, conn, params.get("AccessToken"))
        return {"Device": _device_type(_row(conn, user, params["DeviceKey"]))}


@operation("cognito-idp", "ListDevices")
def list_devices(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        _, user = _by_token(ctx, conn, params.get("AccessToken"))
        return _list(conn, user, params)


@operation("cognito-idp", "UpdateDeviceStatus")
def update_device_status(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        _, user = _by_token(ctx, conn, params.get("AccessToken"))
        _update_status(conn, user, params, ctx.now)
    return {}


@operation("cognito-idp", "ForgetDevice")
def forget_device(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        _, user = _by_token(ctx, conn, params.get("AccessToken"))
        _forget(conn, user, params["DeviceKey"])
    return None


@operation("cognito-idp", "AdminGetDevice")
def admin_get_device(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        _, user = _by_admin(ctx, conn, params)
        return {"Device": _device_type(_row(conn, user, params["DeviceKey"]))}


@operation("cognito-idp", "AdminListDevices")
def admin_list_devices(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        _, user = _by_admin(ctx, conn, params)
        return _list(conn, user, params)


@operation("cognito-idp", "AdminUpdateDeviceStatus")
def admin_update_device_status(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        _, user = _by_admin(ctx, conn, params)
        _update_status(conn, user, params, ctx.now)
    return {}


@operation("cognito-idp", "AdminForgetDevice")
def admin_forget_device(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        _, user = _by_admin(ctx, conn, params)
        _forget(conn, user, params["DeviceKey"])
    return None
