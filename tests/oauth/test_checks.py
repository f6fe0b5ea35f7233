"""The PKCE and CSRF checks return enum outcomes (issue 12 item 7, review F7): each outcome from the
pure functions, in process. The endpoints' behaviour (one OAuth error, one error page, whatever the
outcome) is tested through the server in tests/security/test_oauth.py and tests/oauth/test_browser.py."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest

from ostiary.oauth import csrf, pkce
from ostiary.oauth.codes import CodeGrant

VERIFIER = "v" * 43
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def _grant(challenge: str | None, method: str | None = "S256") -> CodeGrant:
    now = dt.datetime.now(dt.UTC)
    return CodeGrant("pool", "client", "user", "https://app/cb", ["openid"], None, challenge, method, now, now)


@pytest.mark.parametrize(
    ("challenge", "method", "verifier", "outcome"),
    [
        (CHALLENGE, "S256", VERIFIER, pkce.PkceCheck.OK),
        (None, None, None, pkce.PkceCheck.OK),
        (None, None, VERIFIER, pkce.PkceCheck.UNEXPECTED_VERIFIER),
        (CHALLENGE, "S256", None, pkce.PkceCheck.MISSING_VERIFIER),
        (CHALLENGE, "S256", "", pkce.PkceCheck.MISSING_VERIFIER),
        (CHALLENGE, "plain", VERIFIER, pkce.PkceCheck.UNSUPPORTED_METHOD),
        (CHALLENGE, "S256", "v" * 42, pkce.PkceCheck.MALFORMED_VERIFIER),
        (CHALLENGE, "S256", "v" * 129, pkce.PkceCheck.MALFORMED_VERIFIER),
        (CHALLENGE, "S256", "é" * 43, pkce.PkceCheck.MALFORMED_VERIFIER),
        (CHALLENGE, "S256", "w" * 43, pkce.PkceCheck.MISMATCH),
    ],
)
def test_pkce_outcomes(
    challenge: str | None, method: str | None, verifier: str | None, outcome: pkce.PkceCheck
) -> None:
    assert pkce.check(_grant(challenge, method), verifier) is outcome


def test_csrf_outcomes() -> None:
    key, cookie = b"k" * 32, "c" * 43
    token = csrf.csrf_token(key, cookie, "login")
    assert csrf.check(key, cookie, "login", token) is csrf.CsrfCheck.OK
    assert csrf.check(key, None, "login", token) is csrf.CsrfCheck.MISSING_COOKIE
    assert csrf.check(key, cookie, "login", None) is csrf.CsrfCheck.MISSING_TOKEN
    assert csrf.check(key, cookie, "signup", token) is csrf.CsrfCheck.MISMATCH  # another form's token
    assert csrf.check(key, "d" * 43, "login", token) is csrf.CsrfCheck.MISMATCH  # another cookie's token
