"""SECRET_HASH = Base64(HMAC-SHA256(client secret, username + client id)) (Cognito Developer Guide,
"Computing secret hash values")."""

from __future__ import annotations

import base64
import hashlib
import hmac


def secret_hash(client_secret: str, username: str, client_id: str) -> str:
    digest = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check(client_secret: str, username: str, client_id: str, given: str) -> bool:
    """Constant-time comparison of a caller's SECRET_HASH."""
    return hmac.compare_digest(secret_hash(client_secret, username, client_id).encode(), given.encode())
