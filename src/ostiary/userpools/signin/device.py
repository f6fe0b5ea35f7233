"""DEVICE_SRP_AUTH → DEVICE_PASSWORD_VERIFIER: a tracked device proves itself with its own SRP
verifier, and a remembered device skips MFA (Cognito Developer Guide, "Working with user devices";
API Reference: RespondToAuthChallenge).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ostiary.userpools import devices, directory, srp
from ostiary.userpools.errors import InvalidParameterException, NotAuthorizedException
from ostiary.userpools.signin.challenge_sessions import new_session, take_session
from ostiary.userpools.signin.context import INCORRECT, SignIn, require
from ostiary.userpools.signin.mfa_challenge import mfa_or_finish


def device_srp_start(s: SignIn, session_id: str, answers: dict[str, str]) -> dict[str, Any]:
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    require(answers, "USERNAME", "DEVICE_KEY", "SRP_A")
    try:
        big_a = srp.parse_hex(answers["SRP_A"])
    except srp.SrpError:
        raise InvalidParameterException("SRP_A is not a valid hexadecimal value") from None
    if big_a % srp.N == 0:
        raise NotAuthorizedException(INCORRECT)
    with ctx.store.tx() as conn:
        session = take_session(conn, pool, client, session_id, "DEVICE_SRP_AUTH", now)
        device = devices.find(conn, pool, answers["DEVICE_KEY"])
        if (
            device is None
            or device.key != session.state.get("device_key")
            or device.user_id != session.state.get("user_id")
            or device.verifier is None
            or device.salt_hex is None
        ):
            raise NotAuthorizedException("Device does not exist.")
        eph = srp.server_ephemeral(device.verifier)
        state = {
            "b": format(eph.b, "x"),
            "B": format(eph.B, "x"),
            "A": format(big_a, "x"),
            "user_id": device.user_id,
            "device_key": device.key,
        }
        verifier_session = new_session(conn, pool, client, session.username, "DEVICE_PASSWORD_VERIFIER", state, now)
    return {
        "ChallengeName": "DEVICE_PASSWORD_VERIFIER",
        "Session": verifier_session,
        "ChallengeParameters": {
            "SRP_B": format(eph.B, "x"),
            "SALT": device.salt_hex,
            "SECRET_BLOCK": base64.b64encode(verifier_session.encode()).decode(),
            "USERNAME": session.username,
            "DEVICE_KEY": device.key,
        },
    }


def device_srp_verify(s: SignIn, session_id: str | None, answers: dict[str, str]) -> dict[str, Any]:
    ctx, pool, client, now = s.ctx, s.pool, s.client, s.now
    require(answers, "PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP", "DEVICE_KEY")
    try:
        secret_block = base64.b64decode(answers["PASSWORD_CLAIM_SECRET_BLOCK"], validate=True)
        block_session = secret_block.decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise NotAuthorizedException(INCORRECT) from None
    with ctx.store.tx() as conn:
        session = take_session(conn, pool, client, session_id or block_session, "DEVICE_PASSWORD_VERIFIER", now)
        device = devices.find(conn, pool, answers["DEVICE_KEY"])
    st = session.state
    ok = False
    if device is not None and device.key == st["device_key"] and device.verifier is not None:
        try:
            key = srp.server_session_key(int(st["A"], 16), int(st["B"], 16), int(st["b"], 16), device.verifier)
            ok = srp.parse_timestamp(answers["TIMESTAMP"]) is not None and srp.verify_claim(
                key,
                device.group_key,
                device.key,
                secret_block,
                answers["TIMESTAMP"],
                answers["PASSWORD_CLAIM_SIGNATURE"],
            )
        except srp.SrpError:
            ok = False
    if not ok or device is None:
        raise NotAuthorizedException("Incorrect username or password.")
    with ctx.store.tx() as conn:
        user = directory.get_by_id(conn, pool, st["user_id"])
        if user is None or not user.enabled:
            raise NotAuthorizedException("User is disabled.")
        # a remembered device skips MFA; a device that is only tracked does not
        return mfa_or_finish(s, conn, user, skip_mfa=device.remembered, device_key=device.key)
