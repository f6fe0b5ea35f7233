"""Development mode's ``dev_accept_any_key``: any access key Ostiary does not know is accepted, as
LocalStack accepts any, so test suites written with fake keys (``testing``, ``FOOBARKEY``) run unchanged.

The key id names the account: a 12-digit key id is that account (created on first use, without access
keys), anything else the first account. The caller is that account's root; the signature is not checked
(any secret works). A key id Ostiary knows (an access key, active or not, or temporary credentials)
is never taken over: it keeps its normal verification. Only with ``--dev`` (the server refuses to start
otherwise); never on a server others can reach.
"""

from __future__ import annotations

import threading
import time

from ostiary.iam.account_store import ensure_account, first_account_id, key_id_known
from ostiary.iam.principals import Principal, root_principal
from ostiary.store.db import Store

ACCOUNT_NAME = "dev-any-key"


def account_of(akid: str, default: str) -> str:
    """The account a key id names: itself when it is 12 digits, else ``default``."""
    return akid if len(akid) == 12 and akid.isdigit() else default


class AnyKeyResolver:
    """Resolves unknown key ids to their account's root; results are kept ``ttl`` seconds per process
    (``clear`` forgets them, as the development reset does)."""

    def __init__(self, store: Store, ttl: float = 5.0, max_entries: int = 10000) -> None:
        self.store = store
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def resolve(self, akid: str) -> Principal | None:
        """The root principal ``akid`` stands for, or None when it is a known key (or no account exists)."""
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(akid)
        if hit is not None and hit[0] > now:
            return hit[1]
        principal: Principal | None = None
        if not key_id_known(self.store, akid):
            first = first_account_id(self.store)
            if first is not None:
                account = account_of(akid, first)
                if account != first:
                    ensure_account(self.store, account, ACCOUNT_NAME)
                principal = root_principal(account, akid)
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[akid] = (now + self.ttl, principal)
        return principal

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
