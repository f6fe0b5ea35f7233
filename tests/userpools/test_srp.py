"""Cognito SRP: our server math against pycognito's client (AWS's published client algorithm)."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from typing import Any

import pytest
from pycognito.aws_srp import AWSSRP

from ostiary.userpools import srp

POOL_ID = "us-east-1_AbCdEf123"
GROUP = "AbCdEf123"


def _handshake(user_id: str, password: str, client_password: str) -> tuple[bool, dict[str, Any]]:
    salt, verifier = srp.make_verifier(GROUP, user_id, password)
    client = AWSSRP(user_id, client_password, POOL_ID, "client", client=object())
    big_a = client.large_a_value
    eph = srp.server_ephemeral(verifier)
    secret_block = base64.b64encode(b"opaque-server-state").decode()
    challenge = {
        "USERNAME": user_id,
        "USER_ID_FOR_SRP": user_id,
        "SALT": salt,
        "SRP_B": format(eph.B, "x"),
        "SECRET_BLOCK": secret_block,
    }
    response = client.process_challenge(challenge, {"USERNAME": user_id})
    key = srp.server_session_key(big_a, eph.B, eph.b, verifier)
    ok = srp.verify_claim(
        key, GROUP, user_id, base64.b64decode(secret_block), response["TIMESTAMP"], response["PASSWORD_CLAIM_SIGNATURE"]
    )
    return ok, response


def test_k_matches_published_value() -> None:
    assert format(srp.K, "x").startswith("538282c4354742d7")


@pytest.mark.parametrize("user_id", ["alice", "0b7e5c1e-5d3f-4c8a-9a59-2c1f3f0f6e11", "ünïcode"])
def test_pycognito_client_proof_verifies(user_id: str) -> None:
    ok, response = _handshake(user_id, "Corr3ct-Horse!", "Corr3ct-Horse!")
    assert ok
    assert srp.parse_timestamp(response["TIMESTAMP"]) is not None


def test_wrong_password_refused() -> None:
    ok, _ = _handshake("alice", "Corr3ct-Horse!", "Wrong-Horse!1")
    assert not ok


def test_many_handshakes_cover_padding_edge_cases() -> None:
    # B, A, u and S hit the 00-prefix rule about half the time; 40 rounds exercise both branches.
    for i in range(40):
        ok, _ = _handshake(f"user{i}", f"Pw-{i}-x!", f"Pw-{i}-x!")
        assert ok


def test_degenerate_a_refused() -> None:
    _, verifier = srp.make_verifier(GROUP, "alice", "pw")
    eph = srp.server_ephemeral(verifier)
    for bad in (0, srp.N, 2 * srp.N):
        with pytest.raises(srp.SrpError):
            srp.server_session_key(bad, eph.B, eph.b, verifier)


def test_salt_first_nibble_is_unambiguous() -> None:
    for _ in range(200):
        s = srp.new_salt()
        assert len(s) == 32 and s[0] in "1234567"
        assert srp.pad_hex(s) == srp.pad_hex(int(s, 16))


def test_timestamp_formats() -> None:
    when = dt.datetime(2024, 3, 5, 9, 3, 7, tzinfo=dt.UTC)
    assert srp.format_timestamp(when) == "Tue Mar 5 09:03:07 UTC 2024"
    assert srp.parse_timestamp("Tue Mar 5 09:03:07 UTC 2024") == when
    assert srp.parse_timestamp("Tue Mar 05 09:03:07 UTC 2024") == when
    assert srp.parse_timestamp("2024-03-05T09:03:07Z") is None


def test_pad_hex_rules() -> None:
    assert srp.pad_hex(0x7F) == "7f"
    assert srp.pad_hex(0x80) == "0080"
    assert srp.pad_hex(0xABC) == "0abc"
    assert srp.pad_hex("8f") == "008f"


def test_fixed_base_table_matches_pow() -> None:
    edges = [0, 1, 2, 255, 256, (1 << 255), (1 << 256) - 1, int("01" * 32, 16)]
    for b in edges + [secrets.randbits(256) for _ in range(50)]:
        assert srp.g_pow(b) == pow(srp.G, b, srp.N)
