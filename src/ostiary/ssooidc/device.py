"""The device authorization grant (RFC 8628) as AWS's sso-oidc runs it: StartDeviceAuthorization, the
decision the access portal's device page takes (``pending``, ``approve``, ``deny``), and the device
code's redemption by CreateToken (``poll``).

A request lives 10 minutes (``expiresIn`` 600) and is polled every second (``interval`` 1, as AWS
answers); polling faster is a ``slow_down``, after which the request's interval is 5 seconds longer
(RFC 8628 §3.5, as botocore's SSOTokenFetcher adds). The device code (256 bits) is kept as its sha256;
the user code is 8 letters of RFC 8628's consonant alphabet (§6.1, 20^8 codes), shown ``XXXX-XXXX`` and
compared ignoring case and the dash. An approved request is redeemed once: its status moves from
APPROVED to USED by one UPDATE whose row count decides, so two nodes cannot both redeem it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ostiary import portal_urls as urls
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import instances
from ostiary.ssooidc import clients, limits, opaque
from ostiary.ssooidc.errors import InvalidRequestException, SlowDownException, UnauthorizedClientException
from ostiary.store import tables as t

LIFETIME = dt.timedelta(seconds=600)
INTERVAL = 1
SLOW_DOWN_STEP = 5
MAX_INTERVAL = 60
ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
CODE_LENGTH = 8
PENDING, APPROVED, DENIED, EXPIRED, USED = "PENDING", "APPROVED", "DENIED", "EXPIRED", "USED"

_d = t.sso_oidc_device_requests.c


@dataclass(frozen=True)
class DeviceRequest:
    user_code: str  # XXXX-XXXX
    client_name: str
    identity_store_id: str
    expires_at: dt.datetime
    status: str  # PENDING | APPROVED | DENIED | EXPIRED


def normalize(user_code: str) -> str | None:
    """The stored form of a user code as a person types it (any case, with or without the dash or
    spaces), or None when it cannot be one."""
    code = user_code.replace("-", "").replace(" ", "").upper() if len(user_code) <= 16 else ""
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def shown(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _new_user_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def pending(conn: Connection, user_code: str, now: dt.datetime) -> DeviceRequest | None:
    """The device request a user code names, or None when none does; its status is EXPIRED once past
    its time (an approved and redeemed one reads APPROVED)."""
    code = normalize(user_code)
    if code is None:
        return None
    row = (
        conn.execute(
            select(_d.user_code, _d.identity_store_id, _d.expires_at, _d.status, t.sso_oidc_clients.c.client_name)
            .select_from(
                t.sso_oidc_device_requests.join(t.sso_oidc_clients, t.sso_oidc_clients.c.client_id == _d.client_id)
            )
            .where(_d.user_code == code)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    status = row["status"]
    if status == USED:
        status = APPROVED
    elif status == PENDING and row["expires_at"] <= now:
        status = EXPIRED
    return DeviceRequest(
        shown(row["user_code"]), row["client_name"], row["identity_store_id"], row["expires_at"], status
    )


def _decide(conn: Connection, user_code: str, now: dt.datetime, values: dict[str, Any]) -> bool:
    code = normalize(user_code)
    if code is None:
        return False
    return bool(
        conn.execute(
            update(t.sso_oidc_device_requests)
            .where(_d.user_code == code, _d.status == PENDING, _d.expires_at > now)
            .values(**values)
        ).rowcount
        == 1
    )


def approve(conn: Connection, user_code: str, user_id: str, now: dt.datetime) -> bool:
    """``user_id`` (a user of the request's identity store: the caller checks) allows the request;
    False when it is unknown, expired or already decided."""
    return _decide(conn, user_code, now, {"status": APPROVED, "user_id": user_id})


def deny(conn: Connection, user_code: str, now: dt.datetime) -> bool:
    return _decide(conn, user_code, now, {"status": DENIED})


@operation("sso-oidc", "StartDeviceAuthorization", authorize=False)
def start_device_authorization(ctx: RequestContext, params: Params) -> Result:
    start_url = params["startUrl"]
    store_id = urls.identity_store_of(start_url) if len(start_url) <= clients.MAX_URI else None
    now = ctx.now
    device_code = opaque.new("", 32)
    with ctx.store.tx() as conn:
        client = clients.authenticate(conn, params["clientId"], params["clientSecret"], now)
        if not clients.allows(client, clients.DEVICE_GRANT):
            raise UnauthorizedClientException("Client is not authorized to use the device code grant")
        if store_id is None or instances.by_identity_store(conn, store_id) is None:
            raise InvalidRequestException("Invalid start URL")
        within = limits.authorization(conn, client["client_id"], now)
    if not within:
        raise SlowDownException("Too many device authorizations for this client; try again later")
    with ctx.store.tx() as conn:
        if secrets.randbelow(32) == 0:
            conn.execute(delete(t.sso_oidc_device_requests).where(_d.expires_at < now - dt.timedelta(hours=1)))
        for _ in range(8):  # a user code still taken (live or recently ended) is drawn again
            code = _new_user_code()
            taken = conn.execute(select(_d.expires_at).where(_d.user_code == code)).scalar()
            if taken is None:
                break
            if taken < now - dt.timedelta(hours=1):
                conn.execute(delete(t.sso_oidc_device_requests).where(_d.user_code == code))
                break
        else:
            raise InvalidRequestException("Try again")
        conn.execute(
            insert(t.sso_oidc_device_requests).values(
                device_code_hash=opaque.digest(device_code),
                user_code=code,
                client_id=client["client_id"],
                identity_store_id=store_id,
                status=PENDING,
                interval_seconds=INTERVAL,
                created_at=now,
                expires_at=now + LIFETIME,
            )
        )
    public = ctx.runtime.settings.effective_public_url
    return {
        "deviceCode": device_code,
        "userCode": shown(code),
        "verificationUri": urls.device_url(public),
        "verificationUriComplete": urls.device_url_complete(public, shown(code)),
        "expiresIn": int(LIFETIME.total_seconds()),
        "interval": INTERVAL,
    }


class Poll(Enum):
    UNKNOWN = "unknown"  # never issued, another client's, or redeemed already
    EXPIRED = "expired"
    SLOW_DOWN = "slow_down"
    PENDING = "pending"
    DENIED = "denied"


@dataclass(frozen=True)
class Approved:
    identity_store_id: str
    user_id: str


def poll(conn: Connection, client_id: str, device_code: str, now: dt.datetime) -> Approved | Poll:
    """CreateToken's device code grant, in the caller's transaction: the approval, spent, or why not.
    The poll time and a slow-down's longer interval are written whatever the answer, so the caller
    commits before it raises."""
    if not device_code or len(device_code) > opaque.MAX_SECRET:
        return Poll.UNKNOWN
    digest = opaque.digest(device_code)
    row = conn.execute(select(t.sso_oidc_device_requests).where(_d.device_code_hash == digest)).mappings().first()
    if row is None or row["client_id"] != client_id or row["status"] == USED:
        return Poll.UNKNOWN
    if row["expires_at"] <= now:
        return Poll.EXPIRED
    # at most one poll per interval (a 20% allowance for the client's timing); the check and the new
    # poll time are one UPDATE, so concurrent polls cannot both pass
    too_soon = now - dt.timedelta(seconds=row["interval_seconds"] * 0.8)
    polled = conn.execute(
        update(t.sso_oidc_device_requests)
        .where(_d.device_code_hash == digest, (_d.last_polled_at.is_(None)) | (_d.last_polled_at <= too_soon))
        .values(last_polled_at=now)
    ).rowcount
    if polled != 1:
        conn.execute(
            update(t.sso_oidc_device_requests)
            .where(_d.device_code_hash == digest)
            .values(last_polled_at=now, interval_seconds=min(row["interval_seconds"] + SLOW_DOWN_STEP, MAX_INTERVAL))
        )
        return Poll.SLOW_DOWN
    if row["status"] == PENDING:
        return Poll.PENDING
    if row["status"] == DENIED:
        return Poll.DENIED
    spent = conn.execute(
        update(t.sso_oidc_device_requests)
        .where(_d.device_code_hash == digest, _d.status == APPROVED)
        .values(status=USED)
    ).rowcount
    if spent != 1:
        return Poll.UNKNOWN
    return Approved(row["identity_store_id"], row["user_id"])
