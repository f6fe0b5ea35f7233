"""Access-key resolution for SigV4 with a short in-process cache.

A lookup hits the store at most once per ``ttl`` seconds per key, and derived SigV4 signing keys
are reused for their (date, region, service) scope. A key that is deactivated or deleted stops
working in every process within ``ttl`` seconds (IAM itself is eventually consistent too).

The last use of a long-term key (GetAccessKeyLastUsed) is recorded after its signature verified, at
most once a minute per key and process: the request thread only checks an in-memory timestamp and
queues the write; one background thread makes it (a single UPDATE in its own short transaction).

``AnyKeyResolver`` (at the end) is development mode's ``dev_accept_any_key``: any access key
Ostiary does not know is accepted, as LocalStack accepts any, so test suites written with fake keys
(``testing``, ``FOOBARKEY``) run unchanged.

The key id names the account: a 12-digit key id is that account (created on first use, without access
keys), anything else the first account. The caller is that account's root; the signature is not checked
(any secret works). A key id Ostiary knows (an access key, active or not, or temporary credentials)
is never taken over: it keeps its normal verification. Only with ``--dev`` (the server refuses to start
otherwise); never on a server others can reach.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import update

from ostiary.access.accounts import ensure_account, first_account_id, key_id_known, lookup_access_key
from ostiary.access.principals import Principal, root_principal
from ostiary.access.session_tokens import is_self_contained
from ostiary.caching import TtlCache
from ostiary.crypto.secrets import SecretBox
from ostiary.crypto.sigv4_keys import signing_key
from ostiary.store import tables as t
from ostiary.store.db import Store

log = logging.getLogger("ostiary.credentials")

RECORD_EVERY = 60.0  # seconds between two recorded uses of one key, per process
MISS_SECONDS = 1.0  # how long an unknown key id is remembered, at most
ACCOUNT_NAME = "dev-any-key"  # the name of an account the any-key resolver creates


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
    """Resolved access keys for ``cache_access_key_seconds`` (``ttl``, 5 s); an unknown key id for
    MISS_SECONDS at most.

    Self-contained role sessions (access/session_tokens.py) are kept apart, by key id with the SHA-256
    of the token they were opened from: a hit needs the same token (a different token under the same
    key id is opened on its own, and only a token that opens replaces the entry), and a token that
    does not open is never remembered, so a forged token cannot evict or shadow the genuine one."""

    def __init__(self, store: Store, box: SecretBox, ttl: float = 5.0, max_entries: int = 10000) -> None:
        self.store = store
        self.box = box
        self._entries: TtlCache[str, ResolvedKey | None] = TtlCache(
            "access_keys", ttl=ttl, maxsize=max_entries, miss_ttl=MISS_SECONDS
        )
        self._sessions: TtlCache[str, ResolvedKey] = TtlCache("session_tokens", ttl=ttl, maxsize=max_entries)
        self.usage = UsageRecorder(store)

    def record_use(self, access_key_id: str, service: str, region: str) -> None:
        """Note that a verified signature used ``access_key_id`` (cheap: see UsageRecorder)."""
        self.usage.note(access_key_id, service, region)

    def clear(self) -> None:
        """Forget every cached key (the development reset)."""
        self._entries.clear()
        self._sessions.clear()

    def get(self, access_key_id: str, token: str | None = None) -> ResolvedKey | None:
        """The key ``access_key_id`` resolves to; ``token``: the session token presented with it."""
        if token is not None and access_key_id.startswith("ASIA") and is_self_contained(token):
            digest = hashlib.sha256(token.encode()).hexdigest()
            hit = self._sessions.get(access_key_id)
            if hit is not None and hit.token_hash is not None and hmac.compare_digest(hit.token_hash, digest):
                return hit
            found = self._load(access_key_id, token)
            session = found.principal.session if found is not None else None
            if found is not None and session is not None and session.self_contained:
                self._sessions.set(access_key_id, found)
            return found  # else None, or an older stored session whose random token has the prefix
        return self._entries.get_or_load(access_key_id, lambda: self._load(access_key_id))

    def _load(self, access_key_id: str, token: str | None = None) -> ResolvedKey | None:
        found = lookup_access_key(self.store, self.box, access_key_id, token)
        if found is None:
            return None
        return ResolvedKey(
            principal=found.principal,
            secret=found.secret,
            expires=self._entries.now() + (self._entries.ttl or 0.0),
            token_hash=found.token_hash,
            session_expires_at=found.expires_at,
        )


class UsageRecorder:
    """Records the last use of long-term access keys (``access_keys.last_used_*``).

    ``note`` is on the hot path of every signed call: a dictionary read decides, without a lock,
    whether this key's use was recorded less than ``every`` seconds ago; only otherwise does it
    take the lock (to claim the write) and queue the write for the background thread. Temporary
    (ASIA) keys have no row to update. A write that fails is logged and dropped (the next use a
    minute later records again).
    """

    def __init__(self, store: Store, every: float = RECORD_EVERY, max_entries: int = 100_000) -> None:
        self.store = store
        self.every = every
        self.max_entries = max_entries
        self._recorded: dict[str, float] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, dt.datetime, str, str]] = queue.Queue()
        self._thread: threading.Thread | None = None

    def note(self, access_key_id: str, service: str, region: str) -> None:
        if access_key_id.startswith("ASIA"):
            return
        now = time.monotonic()
        last = self._recorded.get(access_key_id)
        if last is not None and now - last < self.every:
            return
        with self._lock:
            last = self._recorded.get(access_key_id)
            if last is not None and now - last < self.every:
                return  # another thread claimed this write
            if len(self._recorded) >= self.max_entries:
                self._recorded.clear()
            self._recorded[access_key_id] = now
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ostiary-key-usage", daemon=True)
                self._thread.start()
        self._queue.put((access_key_id, dt.datetime.now(dt.UTC), service[:64], region[:32]))

    def _run(self) -> None:
        while True:
            akid, when, service, region = self._queue.get()
            try:
                self.write(akid, when, service, region)
            except Exception:  # the store is down or busy: the next use records again
                log.warning("could not record the use of access key %s", akid, exc_info=True)
            finally:
                self._queue.task_done()

    def drain(self) -> None:
        """Wait until every queued use is written (before the store it writes to is disposed)."""
        self._queue.join()

    def write(self, access_key_id: str, when: dt.datetime, service: str, region: str) -> None:
        with self.store.tx() as conn:
            conn.execute(
                update(t.access_keys)
                .where(t.access_keys.c.access_key_id == access_key_id)
                .values(last_used_at=when, last_used_service=service, last_used_region=region)
            )


def account_of(akid: str, default: str) -> str:
    """The account a key id names: itself when it is 12 digits, else ``default``."""
    return akid if len(akid) == 12 and akid.isdigit() else default


class AnyKeyResolver:
    """Resolves unknown key ids to their account's root; results are kept ``ttl`` seconds per process
    (``clear`` forgets them, as the development reset does)."""

    def __init__(self, store: Store, ttl: float = 5.0, max_entries: int = 10000) -> None:
        self.store = store
        self._entries: TtlCache[str, Principal | None] = TtlCache("dev_any_keys", ttl=ttl, maxsize=max_entries)

    def resolve(self, akid: str, token: str | None = None) -> Principal | None:
        """The root principal ``akid`` stands for, or None when it is a known key (or no account exists)
        or comes with a self-contained session token (a session Ostiary issued, refused as it is:
        altered, another key's, its role deleted — never taken for the account root)."""
        if is_self_contained(token):
            return None
        return self._entries.get_or_load(akid, lambda: self._resolve(akid))

    def _resolve(self, akid: str) -> Principal | None:
        principal: Principal | None = None
        if not key_id_known(self.store, akid):
            first = first_account_id(self.store)
            if first is not None:
                account = account_of(akid, first)
                if account != first:
                    ensure_account(self.store, account, ACCOUNT_NAME)
                principal = root_principal(account, akid)
        return principal

    def clear(self) -> None:
        self._entries.clear()
