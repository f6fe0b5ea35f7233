"""memory.py: Argon2 hashes at once are bounded per process; free memory goes back to the kernel."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from ostiary import memory
from ostiary.crypto.passwords import PasswordHasher


def test_argon2_slots_bound_the_hashes_in_flight() -> None:
    inside = 0
    most = 0
    lock = threading.Lock()
    release = threading.Event()

    def hold(_: int) -> None:
        nonlocal inside, most
        with memory.argon2_slot():
            with lock:
                inside += 1
                most = max(most, inside)
                if inside == (os.cpu_count() or 1):
                    release.set()
            release.wait(30)
            with lock:
                inside -= 1

    threads = 2 * (os.cpu_count() or 1) + 2  # more than the slots
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(hold, range(2 * threads)))
    assert most == max(1, os.cpu_count() or 1)


def test_hashing_still_verifies_through_the_slots() -> None:
    hasher = PasswordHasher(time_cost=1, memory_kib=1024, parallelism=1)
    with ThreadPoolExecutor(max_workers=6) as pool:
        stored = list(pool.map(hasher.hash, [f"pw-{i}" for i in range(6)]))
        checks = list(pool.map(hasher.verify, stored, [f"pw-{i}" for i in range(6)]))
        wrong = list(pool.map(hasher.verify, stored, ["nope"] * 6))
    assert all(checks) and not any(wrong)


def test_trim_on_glibc() -> None:
    libc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None
    assert memory.trim() is bool(libc)
