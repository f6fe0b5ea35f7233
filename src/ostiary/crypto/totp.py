"""TOTP (RFC 6238 over RFC 4226 HOTP: HMAC-SHA1, 30-second steps, 6 digits), as authenticator apps
do, for user pools' software tokens and IAM's virtual MFA devices.

The one-time-password math is ``cryptography``'s (``hazmat.primitives.twofactor``); Ostiary adds
the window of accepted steps and the no-reuse rule: a step at or before the last one accepted
(``last_step``) never matches again.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.hotp import HOTP

TOTP_STEP = 30
TOTP_DIGITS = 6
TOTP_WINDOW = 1  # one step either side of now


def _hotp(secret_b32: str, digits: int = TOTP_DIGITS) -> HOTP:
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8), casefold=True)
    # secrets Ostiary makes are 160 bits or more; a shorter one (allowed by RFC 4226) still works
    return HOTP(key, digits, SHA1(), enforce_key_length=False)  # noqa: S303 (HMAC-SHA1: what the apps compute)


def hotp(secret_b32: str, counter: int, digits: int = TOTP_DIGITS) -> str:
    """The HOTP value of ``counter`` (the TOTP code of time step ``counter``)."""
    return _hotp(secret_b32, digits).generate(counter).decode("ascii")


def _matches(otp: HOTP, code: str, step: int) -> bool:
    try:
        otp.verify(code.encode("ascii"), step)  # constant-time comparison
    except InvalidToken:
        return False
    return True


def _well_formed(code: str) -> bool:
    return len(code) == TOTP_DIGITS and code.isascii() and code.isdigit()


def totp_match(secret_b32: str, code: str, now: float, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to (within the window), or None; a step at or before
    ``last_step`` never matches again (no code reuse)."""
    if not _well_formed(code):
        return None
    otp = _hotp(secret_b32)
    current = int(now) // TOTP_STEP
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if _matches(otp, code, step):
            return step
    return None


def totp_reused(secret_b32: str, code: str, now: float, last_step: int | None) -> bool:
    """Whether ``code`` is the code of a time step within the window that was already used (at or
    before ``last_step``): AWS answers ExpiredCodeException "Your software token has already been
    used once." rather than CodeMismatchException."""
    if last_step is None or not _well_formed(code):
        return False
    otp = _hotp(secret_b32)
    current = int(now) // TOTP_STEP
    return any(
        _matches(otp, code, step) for step in range(current - TOTP_WINDOW, min(current + TOTP_WINDOW, last_step) + 1)
    )
