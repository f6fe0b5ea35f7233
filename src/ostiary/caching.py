"""Every per-process cache is one ``TtlCache``: a bounded, thread-safe map on ``cachetools`` whose
entries expire after a lifetime taken from the settings.

State lives in the database; a cache only saves reads of things that change rarely (pools, app
clients, domains, keys, policies). Each cache has a name; ``configure`` gives every cache of a name
its lifetime and bound from ``Settings`` (the table in ``limits``), and ``flush_all`` empties every
cache of the process at once (the development reset and ``POST /_ostiary/caches/flush``). A
lifetime of 0 turns a cache off: every read loads. A lifetime of None (no expiry) is for values
that never change once written (parsed policy texts, SAML keys); those caches are only bounded.

The caches are read from the event loop and from executor threads: every operation on the map
takes the cache's lock; a load runs outside it (two threads missing at once both load, the later
write wins, as a read of the database would).
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from cachetools import TLRUCache

from ostiary.config import Settings

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Clock = Callable[[], float]
DEFAULT_MAX_ENTRIES = 10000


class TtlCache(Generic[K, V]):
    """A named cache of at most ``maxsize`` entries, each kept ``ttl`` seconds (None: until evicted;
    0: not at all). ``miss_ttl`` (seconds, at most ``ttl``) keeps a None value (a lookup that found
    nothing) for a shorter time. The least recently used entry goes first when the cache is full."""

    def __init__(
        self,
        name: str,
        *,
        ttl: float | None,
        maxsize: int = DEFAULT_MAX_ENTRIES,
        miss_ttl: float | None = None,
        timer: Clock = time.monotonic,
    ) -> None:
        self.name = name
        self.miss_ttl = miss_ttl
        self._timer = timer
        self._lock = threading.Lock()
        configured = _configured.get(name)
        if configured is not None:
            ttl, maxsize = configured
        self.ttl, self.maxsize = ttl, maxsize
        self._map: TLRUCache[K, object, float] = self._new_map()
        with _registry_lock:
            _registry.add(self)

    def _new_map(self) -> TLRUCache[K, object, float]:
        return TLRUCache(max(1, self.maxsize), self._expires, timer=self._timer)

    def _expires(self, _key: K, value: object, now: float) -> float:
        ttl = self.ttl
        if ttl is None:
            return math.inf
        if value is None and self.miss_ttl is not None:
            ttl = min(ttl, self.miss_ttl)
        return now + ttl

    @property
    def enabled(self) -> bool:
        return self.ttl is None or self.ttl > 0

    def now(self) -> float:
        """The cache's clock (``time.monotonic`` unless a test injects another)."""
        return self._timer()

    def configure(self, ttl: float | None, maxsize: int) -> None:
        """A new lifetime and bound; the entries kept so far are dropped."""
        with self._lock:
            self.ttl, self.maxsize = ttl, maxsize
            self._map = self._new_map()

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        """The cached value of ``key``, else ``load()`` (outside the lock), kept for the next reads."""
        if not self.enabled:
            return load()
        try:
            with self._lock:  # one lookup (TLRUCache.get is a __contains__ and a __getitem__: two clock reads)
                return self._map[key]  # type: ignore[return-value]  # only set() and get_or_load() store V
        except KeyError:
            pass
        value = load()
        self.set(key, value)
        return value

    def get(self, key: K) -> V | None:
        """The cached value of ``key``, or None when it is absent or expired."""
        try:
            with self._lock:
                return self._map[key]  # type: ignore[return-value]
        except KeyError:
            return None

    def set(self, key: K, value: V) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._map[key] = value

    def pop(self, key: K) -> None:
        with self._lock:
            self._map.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._map.clear()

    def __contains__(self, key: K) -> bool:
        with self._lock:
            return key in self._map

    def __len__(self) -> int:
        with self._lock:
            self._map.expire()
            return len(self._map)


# --------------------------------------------------------------------------------------------
# the registry: every live cache of the process, by name

_registry: weakref.WeakSet[TtlCache[Any, Any]] = weakref.WeakSet()
_registry_lock = threading.Lock()
_configured: dict[str, tuple[float | None, int]] = {}


def limits(settings: Settings) -> dict[str, tuple[float | None, int]]:
    """Each cache's (lifetime in seconds, bound) from the settings (docs/configuration.md)."""
    size = settings.cache_max_entries
    return {
        "pools": (settings.cache_pool_seconds, size),  # userpools.lookup: pools and app clients
        "identity_pools": (settings.cache_pool_seconds, size),  # identitypools.pools: GetId's read
        "session_settings": (settings.cache_pool_seconds, size),  # userpools.session_tracking
        "pool_states": (settings.cache_pool_seconds, size),  # userpools.pool_state: replicas, recoveries
        "user_counts": (settings.cache_user_count_seconds, size),  # EstimatedNumberOfUsers
        "token_clients": (settings.cache_token_client_seconds, size),  # oauth.endpoints: clients, scopes
        "domains": (settings.cache_domain_seconds, size),  # oauth.domain_routing
        "signing_keys": (settings.cache_signing_key_seconds, size),  # crypto.keys: token signing keys
        "oidc_keys": (settings.cache_oidc_key_seconds, size),  # federation.oidc: external IdPs' JWKS
        "access_keys": (settings.cache_access_key_seconds, size),  # SigV4 access keys
        "dev_any_keys": (settings.cache_access_key_seconds, size),  # dev_accept_any_key's resolutions
        "session_tokens": (settings.cache_access_key_seconds, size),  # self-contained role sessions, opened
        "caller_policies": (settings.cache_caller_policy_seconds, size),  # what applies to a signed caller
        "service_control_policies": (settings.cache_scp_seconds, size),  # access.service_control: an account's SCPs
        "s3_bucket_policies": (settings.cache_caller_policy_seconds, size),  # s3front.bucket_policies
        "provisioned_limits": (settings.cache_provisioned_limit_seconds, size),  # userpools.provisioned_limits
        "cimd_documents": (settings.cache_cimd_seconds, size),  # userpools.cimd: metadata documents
        "saml_sp_keys": (None, size),  # a pool's SAML key: never changes once made
        "parsed_signing_keys": (None, size),  # crypto.keys: private keys as parsed, by kid and sealed text
        "trust_policies": (None, settings.cache_parsed_policy_max_entries),  # parsed by their text
        # access tokens whose signature was checked (still expire, and count only while their key does)
        "verified_tokens": (None, settings.cache_verified_token_max_entries),
    }


def configure(settings: Settings) -> None:
    """Give every cache, live or made later, its lifetime and bound from ``settings``."""
    table = limits(settings)
    with _registry_lock:
        _configured.clear()
        _configured.update(table)
        live = list(_registry)
    for cache in live:
        if cache.name in table:
            cache.configure(*table[cache.name])


def caches() -> list[TtlCache[Any, Any]]:
    with _registry_lock:
        return sorted(_registry, key=lambda c: c.name)


def flush_all() -> list[str]:
    """Empty every cache of this process; the names of the caches flushed."""
    live = caches()
    for cache in live:
        cache.clear()
    return sorted({cache.name for cache in live})
