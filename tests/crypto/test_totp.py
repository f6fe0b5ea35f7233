"""crypto/totp: RFC 4226 and RFC 6238's published test vectors, the window, and the no-reuse rule."""

from __future__ import annotations

import base64

import pyotp
import pytest

from ostiary.crypto import totp

# RFC 6238 Appendix B (and RFC 4226 Appendix D): the SHA-1 seed is the ASCII string "12345678901234567890"
SEED = base64.b32encode(b"12345678901234567890").decode().rstrip("=")

RFC4226 = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]

RFC6238_SHA1 = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("counter", "code"), list(enumerate(RFC4226)))
def test_rfc4226_hotp_vectors(counter: int, code: str) -> None:
    assert totp.hotp(SEED, counter) == code


@pytest.mark.parametrize(("moment", "code"), RFC6238_SHA1)
def test_rfc6238_totp_vectors(moment: int, code: str) -> None:
    step = moment // totp.TOTP_STEP
    assert totp.hotp(SEED, step, digits=8) == code
    # six digits are the last six of the eight (the modulus divides)
    assert totp.totp_match(SEED, code[-6:], moment, None) == step


def test_the_window_is_one_step_either_side() -> None:
    now = 1234567890.0
    step = int(now) // 30
    for delta in (-1, 0, 1):
        assert totp.totp_match(SEED, totp.hotp(SEED, step + delta), now, None) == step + delta
    for delta in (-2, 2):
        assert totp.totp_match(SEED, totp.hotp(SEED, step + delta), now, None) is None


def test_a_used_step_never_matches_again_and_is_reported_as_reused() -> None:
    now = 1234567890.0
    step = int(now) // 30
    code = totp.hotp(SEED, step)
    assert totp.totp_match(SEED, code, now, step) is None
    assert totp.totp_reused(SEED, code, now, step)
    assert not totp.totp_reused(SEED, code, now, step - 1)
    assert not totp.totp_reused(SEED, code, now, None)
    assert totp.totp_match(SEED, totp.hotp(SEED, step + 1), now, step) == step + 1
    assert not totp.totp_reused(SEED, totp.hotp(SEED, step + 1), now, step)


def test_malformed_codes_never_match() -> None:
    for code in ("", "12345", "1234567", "12a456", "١٢٣٤٥٦"):
        assert totp.totp_match(SEED, code, 59, None) is None
        assert not totp.totp_reused(SEED, code, 59, 10)


def test_authenticator_apps_agree() -> None:
    secret = pyotp.random_base32(32)
    app = pyotp.TOTP(secret)
    now = 1700000000
    assert totp.totp_match(secret, app.at(now), now, None) == now // 30
    assert totp.totp_match(secret.lower(), app.at(now), now, None) == now // 30
