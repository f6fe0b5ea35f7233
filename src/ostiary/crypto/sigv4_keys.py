"""The SigV4 signing key: HMAC-SHA256 derived from a secret access key for one (date, region,
service) scope (AWS General Reference, "Signature Version 4"). Pure, below both the protocol layer
(protocol/sigv4.py verifies signatures with it) and the access keys it is derived for
(access/access_keys.py caches one per scope)."""

from __future__ import annotations

import hashlib
import hmac


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, region.encode(), hashlib.sha256).digest()
    k = hmac.new(k, service.encode(), hashlib.sha256).digest()
    return hmac.new(k, b"aws4_request", hashlib.sha256).digest()
