"""IAM virtual MFA devices (IAM API Reference): CreateVirtualMFADevice, EnableMFADevice,
DeactivateMFADevice, DeleteVirtualMFADevice, ListMFADevices, ListVirtualMFADevices, GetMFADevice,
ResyncMFADevice, TagMFADevice, UntagMFADevice, ListMFADeviceTags — and the MFA check of STS
(GetSessionToken and AssumeRole with SerialNumber and TokenCode).

A device is a TOTP seed (RFC 6238: SHA-1, 6 digits, 30-second steps) with the serial number
``arn:aws:iam::<account>:mfa<path><name>``. The seed is returned once, by CreateVirtualMFADevice
(``Base32StringSeed``: the base32 text, a blob on the wire; ``QRCodePNG``: the otpauth:// URI as a
QR code), and sealed at rest. EnableMFADevice assigns it to one IAM user with two consecutive codes.
A code is accepted once per device: ``last_step`` records the newest step used, and no step at or
before it matches again.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import io
import os
from dataclasses import dataclass
from typing import Any

import segno
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.engine import Row

from ostiary.access.principals import PrincipalKind
from ostiary.crypto.totp import TOTP_STEP, hotp, totp_match
from ostiary.iam import entities
from ostiary.iam.entities import get_user as get_user_row
from ostiary.iam.entities import user_resource
from ostiary.iam.errors import (
    DeleteConflictException,
    EntityAlreadyExistsException,
    InvalidAuthenticationCodeException,
    LimitExceededException,
    NoSuchEntityException,
)
from ostiary.iam.paging import page
from ostiary.iam.tagging import merge_tags
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import AccessDenied, ValidationFailed
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

MAX_DEVICES_PER_USER = 8  # IAM and STS quotas: MFA devices in use per user
SEED_BYTES = 40  # 64 base32 characters
# EnableMFADevice / ResyncMFADevice look for the two consecutive codes this many steps either side
# of now (a device whose clock drifted can still be enabled or resynchronized)
SYNC_WINDOW = 10
SEED_CONTEXT = "iam-mfa:"

INVALID_CODE = "Authentication code for device is not valid."
STS_INVALID_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code."
STS_UNKNOWN_SERIAL = (
    "MultiFactorAuthentication failed, unable to validate MFA code.  "
    "Please verify your MFA serial number is valid and associated with this user."
)


def serial_number(account: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account}:mfa{path}{name}"


def parse_serial(serial: str) -> tuple[str, str, str] | None:
    """(account, path, name) of ``arn:aws:iam::<account>:mfa<path><name>``, or None."""
    parts = serial.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("mfa/"):
        return None
    rest = parts[5][3:]
    path, _, name = rest.rpartition("/")
    if not name:
        return None
    return parts[4], path + "/", name


def _seed_context(account: str, name_key: str) -> str:
    return f"{SEED_CONTEXT}{account}:{name_key}"


def _device_resource(ctx: RequestContext, params: Params) -> str:
    serial = params.get("SerialNumber")
    if serial and parse_serial(serial) is not None:
        return str(serial)
    return f"arn:aws:iam::{ctx.account_id}:mfa/{serial or '*'}"


def _create_resource(ctx: RequestContext, params: Params) -> str:
    return serial_number(ctx.account_id, params.get("Path") or "/", params.get("VirtualMFADeviceName", ""))


def _not_found(serial: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"VirtualMFADevice with serial number {serial} doesn't exist.")


def _find(conn: Connection, account: str, serial: str) -> Row[Any] | None:
    parsed = parse_serial(serial)
    if parsed is None or parsed[0] != account:
        return None
    _, path, name = parsed
    d = t.iam_mfa_devices.c
    row = conn.execute(select(t.iam_mfa_devices).where(d.account_id == account, d.name_key == name.lower())).first()
    if row is None or row.path != path or row.name != name:
        return None
    return row


def _device(conn: Connection, account: str, serial: str) -> Row[Any]:
    row = _find(conn, account, serial)
    if row is None:
        raise _not_found(serial)
    return row


def _where(row: Row[Any]) -> Any:
    d = t.iam_mfa_devices.c
    return (d.account_id == row.account_id) & (d.name_key == row.name_key)


def _serial(row: Row[Any]) -> str:
    return serial_number(row.account_id, row.path, row.name)


def _user_name(ctx: RequestContext, params: Params) -> str:
    """UserName, or the calling IAM user's name."""
    if params.get("UserName"):
        return str(params["UserName"])
    p = ctx.principal
    if p is not None and p.kind is PrincipalKind.USER:
        return p.arn.rsplit("/", 1)[-1]
    raise ValidationFailed("Must specify userName when calling with non-User credentials")


def _seed(ctx: RequestContext, row: Row[Any]) -> str:
    return ctx.box.open(row.seed_enc, _seed_context(row.account_id, row.name_key))


def _consecutive(seed: str, code1: str, code2: str, now: dt.datetime, last_step: int | None) -> int | None:
    """The step of ``code2`` when ``code1`` and ``code2`` are two consecutive codes near now."""
    if not (code1.isdigit() and code2.isdigit() and len(code1) == len(code2) == 6):
        return None
    current = int(now.timestamp()) // TOTP_STEP
    for step in range(current - SYNC_WINDOW, current + SYNC_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(hotp(seed, step), code1) and hmac.compare_digest(hotp(seed, step + 1), code2):
            return step + 1
    return None


def otpauth_uri(seed: str, name: str, account_name: str) -> str:
    """``otpauth://totp/$virtualMFADeviceName@$AccountName?secret=$Base32String`` (IAM API Reference,
    VirtualMFADevice.QRCodePNG)."""
    return f"otpauth://totp/{name}@{account_name}?secret={seed}"


def qr_png(uri: str) -> bytes:
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="png", scale=4, border=4)
    return out.getvalue()


# --- devices -------------------------------------------------------------------------------------


@operation("iam", "CreateVirtualMFADevice", resource=_create_resource)
def create_virtual_mfa_device(ctx: RequestContext, params: Params) -> Result:
    name = params["VirtualMFADeviceName"]
    path = params.get("Path") or "/"
    tags = merge_tags([], list(params.get("Tags") or []))
    seed = base64.b32encode(os.urandom(SEED_BYTES)).decode()
    with ctx.store.tx() as conn:
        d = t.iam_mfa_devices.c
        exists = conn.execute(select(d.name).where(d.account_id == ctx.account_id, d.name_key == name.lower())).first()
        if exists is not None:
            raise EntityAlreadyExistsException("MFADevice entity at the same path and name already exists.")
        conn.execute(
            insert(t.iam_mfa_devices).values(
                account_id=ctx.account_id,
                name_key=name.lower(),
                name=name,
                path=path,
                seed_enc=ctx.box.seal(seed, _seed_context(ctx.account_id, name.lower())),
                user_key=None,
                enabled_at=None,
                last_step=None,
                tags=tags,
                created_at=ctx.now,
            )
        )
    device: dict[str, Any] = {
        "SerialNumber": serial_number(ctx.account_id, path, name),
        "Base32StringSeed": seed.encode(),
        "QRCodePNG": qr_png(otpauth_uri(seed, name, ctx.account_id)),
    }
    if tags:
        device["Tags"] = tags
    return {"VirtualMFADevice": device}


@operation("iam", "EnableMFADevice", resource=user_resource)
def enable_mfa_device(ctx: RequestContext, params: Params) -> Result:
    serial = params["SerialNumber"]
    with ctx.store.tx() as conn:
        user = get_user_row(conn, ctx.account_id, params["UserName"])
        row = _device(conn, ctx.account_id, serial)
        if row.user_key is not None:
            raise EntityAlreadyExistsException("MFA Device is already in use.")
        d = t.iam_mfa_devices.c
        count = conn.execute(
            select(func.count())
            .select_from(t.iam_mfa_devices)
            .where(d.account_id == ctx.account_id, d.user_key == user.name_key)
        ).scalar()
        if (count or 0) >= MAX_DEVICES_PER_USER:
            raise LimitExceededException(f"Cannot exceed quota for MFADevicesPerUser: {MAX_DEVICES_PER_USER}")
        step = _consecutive(
            _seed(ctx, row), params["AuthenticationCode1"], params["AuthenticationCode2"], ctx.now, row.last_step
        )
        if step is None:
            raise InvalidAuthenticationCodeException(INVALID_CODE)
        done = conn.execute(
            update(t.iam_mfa_devices)
            .where(_where(row), t.iam_mfa_devices.c.user_key.is_(None))
            .values(user_key=user.name_key, enabled_at=ctx.now, last_step=step)
        )
        if done.rowcount != 1:  # enabled for someone else meanwhile
            raise EntityAlreadyExistsException("MFA Device is already in use.")
    return None


def _assigned(conn: Connection, ctx: RequestContext, params: Params) -> tuple[Row[Any], Row[Any]]:
    """(user, device) for operations on a device assigned to a user; NoSuchEntity otherwise."""
    user = get_user_row(conn, ctx.account_id, _user_name(ctx, params))
    row = _find(conn, ctx.account_id, params["SerialNumber"])
    if row is None or row.user_key != user.name_key:
        raise NoSuchEntityException(
            f"MFA Device with serial number {params['SerialNumber']} does not exist for user {user.name}."
        )
    return user, row


@operation("iam", "DeactivateMFADevice", resource=user_resource)
def deactivate_mfa_device(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        _, row = _assigned(conn, ctx, params)
        conn.execute(update(t.iam_mfa_devices).where(_where(row)).values(user_key=None, enabled_at=None))
    return None


@operation("iam", "ResyncMFADevice", resource=user_resource)
def resync_mfa_device(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        _, row = _assigned(conn, ctx, params)
        step = _consecutive(
            _seed(ctx, row), params["AuthenticationCode1"], params["AuthenticationCode2"], ctx.now, row.last_step
        )
        if step is None:
            raise InvalidAuthenticationCodeException(INVALID_CODE)
        conn.execute(update(t.iam_mfa_devices).where(_where(row)).values(last_step=step))
    return None


@operation("iam", "DeleteVirtualMFADevice", resource=_device_resource)
def delete_virtual_mfa_device(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _device(conn, ctx.account_id, params["SerialNumber"])
        if row.user_key is not None:
            raise DeleteConflictException("MFA Device is still in use.")
        conn.execute(delete(t.iam_mfa_devices).where(_where(row)))
    return None


@operation("iam", "GetMFADevice", resource=user_resource)
def get_mfa_device(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        user, row = _assigned(conn, ctx, params)
    return {"UserName": user.name, "SerialNumber": _serial(row), "EnableDate": utc(row.enabled_at)}


@operation("iam", "ListMFADevices", resource=user_resource)
def list_mfa_devices(ctx: RequestContext, params: Params) -> Result:
    p = ctx.principal
    if not params.get("UserName") and p is not None and p.kind is PrincipalKind.ROOT:
        return {"MFADevices": [], "IsTruncated": False}  # the root's own devices are not IAM virtual devices here
    d = t.iam_mfa_devices.c
    with ctx.store.read() as conn:
        user = get_user_row(conn, ctx.account_id, _user_name(ctx, params))
        rows = conn.execute(
            select(t.iam_mfa_devices)
            .where(d.account_id == ctx.account_id, d.user_key == user.name_key)
            .order_by(d.enabled_at, d.name_key)
        ).all()
    items = [{"UserName": user.name, "SerialNumber": _serial(r), "EnableDate": utc(r.enabled_at)} for r in rows]
    chunk, extra = page(items, params)
    return {"MFADevices": chunk, **extra}


@operation("iam", "ListVirtualMFADevices", resource=lambda ctx, params: "*")
def list_virtual_mfa_devices(ctx: RequestContext, params: Params) -> Result:
    status = params.get("AssignmentStatus") or "Any"
    d = t.iam_mfa_devices.c
    query = select(t.iam_mfa_devices).where(d.account_id == ctx.account_id)
    if status == "Assigned":
        query = query.where(d.user_key.is_not(None))
    elif status == "Unassigned":
        query = query.where(d.user_key.is_(None))
    with ctx.store.read() as conn:
        rows = conn.execute(query.order_by(d.path, d.name_key)).all()
        keys = {r.user_key for r in rows if r.user_key is not None}
        users = (
            {
                u.name_key: u
                for u in conn.execute(
                    select(t.iam_users).where(
                        t.iam_users.c.account_id == ctx.account_id, t.iam_users.c.name_key.in_(keys)
                    )
                ).all()
            }
            if keys
            else {}
        )
    items: list[dict[str, Any]] = []
    for r in rows:
        item: dict[str, Any] = {"SerialNumber": _serial(r)}
        user = users.get(r.user_key) if r.user_key is not None else None
        if user is not None:
            user_type = entities.user_type(user)
            user_type.pop("Tags", None)  # listing operations do not return tags
            item["User"] = user_type
            item["EnableDate"] = utc(r.enabled_at)
        items.append(item)
    chunk, extra = page(items, params)
    return {"VirtualMFADevices": chunk, **extra}


# --- tags ----------------------------------------------------------------------------------------


@operation("iam", "TagMFADevice", resource=_device_resource)
def tag_mfa_device(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _device(conn, ctx.account_id, params["SerialNumber"])
        tags = merge_tags(list(row.tags or []), list(params["Tags"]))
        conn.execute(update(t.iam_mfa_devices).where(_where(row)).values(tags=tags))
    return None


@operation("iam", "UntagMFADevice", resource=_device_resource)
def untag_mfa_device(ctx: RequestContext, params: Params) -> Result:
    drop = {k.lower() for k in params["TagKeys"]}
    with ctx.store.tx() as conn:
        row = _device(conn, ctx.account_id, params["SerialNumber"])
        tags = [tag for tag in (row.tags or []) if tag["Key"].lower() not in drop]
        conn.execute(update(t.iam_mfa_devices).where(_where(row)).values(tags=tags))
    return None


@operation("iam", "ListMFADeviceTags", resource=_device_resource)
def list_mfa_device_tags(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = _device(conn, ctx.account_id, params["SerialNumber"])
    tags = sorted(row.tags or [], key=lambda tag: tag["Key"])
    chunk, extra = page(tags, params)
    return {"Tags": chunk, **extra}


# --- the MFA check of STS ------------------------------------------------------------------------


@dataclass(frozen=True)
class Proof:
    """A TOTP code checked against a user's device: the step it belongs to, to be consumed (made
    unusable again) in the transaction that issues the session."""

    account_id: str
    name_key: str
    user_key: str
    step: int


def verify(ctx: RequestContext, serial: str | None, code: str | None) -> Proof:
    """Check ``code`` against the device ``serial`` assigned to the calling IAM user (STS
    GetSessionToken / AssumeRole). AccessDenied with AWS's messages otherwise."""
    caller = ctx.principal
    if not serial or caller is None or caller.kind is not PrincipalKind.USER:
        raise AccessDenied(STS_UNKNOWN_SERIAL)
    user_key = caller.arn.rsplit("/", 1)[-1].lower()
    with ctx.store.read() as conn:
        row = _find(conn, caller.account_id, serial)
    if row is None or row.user_key != user_key:
        raise AccessDenied(STS_UNKNOWN_SERIAL)
    step = totp_match(_seed(ctx, row), code or "", ctx.now.timestamp(), row.last_step)
    if step is None:
        raise AccessDenied(STS_INVALID_CODE)
    return Proof(row.account_id, row.name_key, user_key, step)


def consume(conn: Connection, proof: Proof) -> None:
    """Record ``proof``'s step as used, unless another request used it (or a later one) first."""
    d = t.iam_mfa_devices.c
    done = conn.execute(
        update(t.iam_mfa_devices)
        .where(
            d.account_id == proof.account_id,
            d.name_key == proof.name_key,
            d.user_key == proof.user_key,  # still assigned to the user
            (d.last_step.is_(None)) | (d.last_step < proof.step),
        )
        .values(last_step=proof.step)
    )
    if done.rowcount != 1:
        raise AccessDenied(STS_INVALID_CODE)
