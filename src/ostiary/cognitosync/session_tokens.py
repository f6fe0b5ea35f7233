"""SyncSessionToken: what ListRecords hands out and UpdateRecords requires ("a token containing a
session ID, identity ID, and expiration").

The token is sealed under the KEK (AES-GCM, crypto/secrets.py), so a client can neither read nor forge
it; it names the identity and the dataset it was issued for and expires after ``LIFETIME``. Ostiary
keeps no state for it: a token is checked by opening it, and may be presented until it expires
(the Sync Manager presents the token of its last ListRecords with each UpdateRecords).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets

from cryptography.exceptions import InvalidTag

from ostiary.cognitosync.errors import InvalidParameterException
from ostiary.protocol.context import RequestContext

LIFETIME = dt.timedelta(minutes=15)
_CONTEXT = "cognito-sync:sync-session"
INVALID = "The SyncSessionToken is not valid for this identity and dataset."
EXPIRED = "The SyncSessionToken has expired. Call ListRecords for a new one."


def issue(ctx: RequestContext, identity_id: str, dataset: str) -> str:
    body = {
        "s": secrets.token_hex(8),
        "i": identity_id,
        "d": dataset,
        "e": int((ctx.now + LIFETIME).timestamp()),
    }
    return ctx.box.seal(json.dumps(body, separators=(",", ":")), _CONTEXT)


def valid(ctx: RequestContext, token: str, identity_id: str, dataset: str) -> bool:
    """Whether ``token`` was issued for this identity and dataset and has not expired."""
    try:
        check(ctx, token, identity_id, dataset)
    except InvalidParameterException:
        return False
    return True


def check(ctx: RequestContext, token: str, identity_id: str, dataset: str) -> None:
    try:
        body = json.loads(ctx.box.open(token, _CONTEXT))
    except (ValueError, InvalidTag, TypeError, UnicodeDecodeError):
        raise InvalidParameterException(INVALID) from None
    if not isinstance(body, dict) or body.get("i") != identity_id or body.get("d") != dataset:
        raise InvalidParameterException(INVALID)
    expires = body.get("e")
    if not isinstance(expires, int) or expires <= int(ctx.now.timestamp()):
        raise InvalidParameterException(EXPIRED)
