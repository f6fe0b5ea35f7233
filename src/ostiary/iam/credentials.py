"""Access-key resolution for SigV4 with a short in-process cache.

A lookup hits the store at most once per ``ttl`` seconds per key, and derived SigV4 signing keys
are reused for their (date, region, service) scope. A key that is deactivated or deleted stops
working in every process within ``ttl`` seconds (IAM itself is eventually consistent too).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field

from ostiary.crypto.secrets import SecretBox
from ostiary.iam.accounts import lookup_access_key
from ostiary.iam.principals import Principal
from ostiary.protocol.sigv4 import signing_key
from ostiary.store.db import Store


@dataclass
class ResolvedKey:
    principal: Principal
    secret: str
    expires: float
    token_hash: str | None = None
    session_expires_at: dt.datetime | None = None
    _keys: dict[tuple[str, str, str], bytes] = field(default_factory=dict)

    def signing_key(self, date: str, region: str, service: str) -> bytes:
        scope = (date, region, service)
        key = self._keys.get(scope)
        if key is None:
            if len(self._keys) > 16:
                self._keys.clear()
            key = self._keys[scope] = signing_key(self.secret, date, region, service)
        return key


class CredentialCache:
    def __init__(self, store: Store, box: SecretBox, ttl: float = 5.0, max_entries: int = 10000) -> None:
        self.store = store
        self.box = box
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, ResolvedKey | None] = {}
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, access_key_id: str) -> ResolvedKey | None:
        now = time.monotonic()
        with self._lock:
            if self._expiry.get(access_key_id, 0.0) > now:
                return self._entries[access_key_id]
        found = lookup_access_key(self.store, self.box, access_key_id)
        entry = (
            None
            if found is None
            else ResolvedKey(
                principal=found.principal,
                secret=found.secret,
                expires=now + self.ttl,
                token_hash=found.token_hash,
                session_expires_at=found.expires_at,
            )
        )
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
                self._expiry.clear()
            self._entries[access_key_id] = entry
            self._expiry[access_key_id] = now + (self.ttl if entry is not None else 1.0)
        return entry
