"""PKCE at the token endpoint (RFC 7636 §4.6, S256 only): the code_verifier of a code exchange
against the code_challenge of its authorization request. The request's challenge itself is checked
with the authorization request (authorize_request.py)."""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac

from ostiary.oauth.codes import CodeGrant


class PkceCheck(enum.Enum):
    OK = "ok"
    MISSING_VERIFIER = "missing_verifier"  # the code was issued with a challenge, no verifier came
    UNEXPECTED_VERIFIER = "unexpected_verifier"  # a verifier for a code issued without a challenge
    UNSUPPORTED_METHOD = "unsupported_method"  # a challenge method other than S256
    MALFORMED_VERIFIER = "malformed_verifier"  # not 43 to 128 ASCII characters
    MISMATCH = "mismatch"  # BASE64URL(SHA256(verifier)) is not the challenge


def check(grant: CodeGrant, verifier: str | None) -> PkceCheck:
    """RFC 7636 §4.6, S256 only. A verifier for a code issued without a challenge is refused (RFC
    9700 §2.1.1: otherwise an attacker who strips the challenge from the authorization request
    downgrades the client to no PKCE unnoticed)."""
    if not grant.code_challenge:
        return PkceCheck.UNEXPECTED_VERIFIER if verifier else PkceCheck.OK
    if grant.code_challenge_method != "S256":
        return PkceCheck.UNSUPPORTED_METHOD
    if not verifier:
        return PkceCheck.MISSING_VERIFIER
    if not 43 <= len(verifier) <= 128:
        return PkceCheck.MALFORMED_VERIFIER
    try:
        digest_ = hashlib.sha256(verifier.encode("ascii")).digest()
    except UnicodeEncodeError:
        return PkceCheck.MALFORMED_VERIFIER
    computed = base64.urlsafe_b64encode(digest_).rstrip(b"=").decode()
    return PkceCheck.OK if hmac.compare_digest(computed, grant.code_challenge) else PkceCheck.MISMATCH
