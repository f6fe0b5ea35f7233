"""CSRF protection of the hosted pages' forms: a double-submit cookie (``XSRF-TOKEN``), the form's
token a MAC of the cookie and the form's name under a key of the KEK."""

from __future__ import annotations

import enum
import hashlib
import hmac

CSRF_COOKIE = "XSRF-TOKEN"


class CsrfCheck(enum.Enum):
    OK = "ok"
    MISSING_COOKIE = "missing_cookie"
    MISSING_TOKEN = "missing_token"  # the form carries no token
    MISMATCH = "mismatch"  # the token is not the MAC of this cookie and form


def csrf_token(key: bytes, cookie: str, form: str) -> str:
    return hmac.new(key, f"{form}|{cookie}".encode(), hashlib.sha256).hexdigest()


def check(key: bytes, cookie: str | None, form: str, given: str | None) -> CsrfCheck:
    if not cookie:
        return CsrfCheck.MISSING_COOKIE
    if not given:
        return CsrfCheck.MISSING_TOKEN
    return CsrfCheck.OK if hmac.compare_digest(csrf_token(key, cookie, form), given) else CsrfCheck.MISMATCH
