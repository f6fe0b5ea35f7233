"""The one per-process cache (ostiary.caching): expiry on an injected clock, bounds, the registry's
flush of every cache, and lifetimes from the settings. No server needed."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ostiary import caching
from ostiary.caching import TtlCache
from ostiary.config import Settings, load_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(autouse=True)
def default_lifetimes() -> Iterator[None]:
    yield
    caching.configure(Settings())  # leave this process's caches as a default server has them


def test_an_entry_lives_its_ttl_on_the_cache_clock(clock: Clock) -> None:
    cache: TtlCache[str, int] = TtlCache("test_expiry", ttl=5, timer=clock)
    loads: list[int] = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    assert cache.get_or_load("k", load) == 1
    clock.now += 4.9
    assert cache.get_or_load("k", load) == 1 and len(loads) == 1
    clock.now += 0.2
    assert cache.get("k") is None
    assert cache.get_or_load("k", load) == 2
    assert cache.now() == clock.now


def test_none_is_a_value_and_misses_can_live_shorter(clock: Clock) -> None:
    cache: TtlCache[str, str | None] = TtlCache("test_miss", ttl=5, miss_ttl=1, timer=clock)
    calls: list[str] = []

    def missing() -> str | None:
        calls.append("x")
        return None

    assert cache.get_or_load("absent", missing) is None
    assert cache.get_or_load("absent", missing) is None and len(calls) == 1  # the miss is cached
    clock.now += 1.1
    assert cache.get_or_load("absent", missing) is None and len(calls) == 2  # … for 1 s only
    cache.set("present", "v")
    clock.now += 4
    assert cache.get("present") == "v"


def test_ttl_zero_turns_the_cache_off_and_none_never_expires(clock: Clock) -> None:
    off: TtlCache[str, int] = TtlCache("test_off", ttl=0, timer=clock)
    counter = iter(range(100))
    assert off.get_or_load("k", lambda: next(counter)) == 0
    assert off.get_or_load("k", lambda: next(counter)) == 1
    off.set("k", 7)
    assert off.get("k") is None and not off.enabled

    forever: TtlCache[str, int] = TtlCache("test_forever", ttl=None, timer=clock)
    forever.set("k", 1)
    clock.now += 10**9
    assert forever.get("k") == 1


def test_bounded_least_recently_used_goes_first(clock: Clock) -> None:
    cache: TtlCache[int, int] = TtlCache("test_bound", ttl=60, maxsize=3, timer=clock)
    for i in range(3):
        cache.set(i, i)
    assert cache.get(0) == 0  # 0 is now the most recently used
    cache.set(3, 3)
    assert len(cache) == 3
    assert cache.get(1) is None and cache.get(0) == 0 and cache.get(3) == 3


def test_pop_clear_and_flush_all(clock: Clock) -> None:
    a: TtlCache[str, int] = TtlCache("test_flush_a", ttl=60, timer=clock)
    b: TtlCache[str, int] = TtlCache("test_flush_b", ttl=None, timer=clock)
    a.set("x", 1)
    a.set("y", 2)
    b.set("z", 3)
    a.pop("x")
    assert a.get("x") is None and a.get("y") == 2
    assert "y" in a and "x" not in a
    flushed = caching.flush_all()
    assert {"test_flush_a", "test_flush_b"} <= set(flushed)
    assert len(a) == 0 and len(b) == 0
    # the server's own caches are registered by their modules
    import ostiary.identitypools.credentials
    import ostiary.oauth.endpoints
    import ostiary.userpools.pools
    import ostiary.userpools.saml_signing
    import ostiary.userpools.tokens  # noqa: F401

    mine = {"pools", "session_settings", "token_clients", "user_counts", "saml_sp_keys", "trust_policies"}
    assert mine | {"verified_tokens"} <= set(caching.flush_all())


def test_lifetimes_and_bounds_come_from_settings(clock: Clock) -> None:
    before: TtlCache[str, int] = TtlCache("pools", ttl=2, timer=clock)
    before.set("k", 1)
    settings = load_settings(environ={"OSTIARY_CACHE_POOL_SECONDS": "0", "OSTIARY_CACHE_MAX_ENTRIES": "2"})
    caching.configure(settings)
    assert before.ttl == 0 and before.maxsize == 2 and before.get("k") is None  # live caches follow
    after: TtlCache[str, int] = TtlCache("pools", ttl=2, timer=clock)
    assert after.ttl == 0 and not after.enabled  # and so do caches made later
    limits = caching.limits(Settings())
    assert limits["pools"] == (2, 10000) and limits["caller_policies"] == (5, 10000)
    assert limits["domains"] == (10, 10000) and limits["oidc_keys"] == (3600, 10000)
    assert limits["trust_policies"] == (None, 1000)


def test_threads_share_one_cache(clock: Clock) -> None:
    cache: TtlCache[int, int] = TtlCache("test_threads", ttl=60, maxsize=50, timer=clock)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(2000):
                key = (i + offset) % 80
                assert cache.get_or_load(key, lambda k=key: k * 2) == key * 2
                if i % 97 == 0:
                    cache.clear()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(cache) <= 50
