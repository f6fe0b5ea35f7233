"""Argon2id hashing with the configured cost."""

from __future__ import annotations

from ostiary.crypto.passwords import PasswordHasher


def test_hash_and_verify() -> None:
    ph = PasswordHasher(time_cost=1, memory_kib=1024, parallelism=1)
    stored = ph.hash("Corr3ct-Horse!")
    assert stored.startswith("$argon2id$")
    assert "Corr3ct-Horse!" not in stored
    assert ph.verify(stored, "Corr3ct-Horse!")
    assert not ph.verify(stored, "corr3ct-horse!")
    assert not ph.verify("garbage", "x")
    ph.verify_dummy("anything")
    assert ph.parameters == "argon2id m=1024KiB t=1 p=1"


def test_rehash_when_cost_changes() -> None:
    weak = PasswordHasher(time_cost=1, memory_kib=1024, parallelism=1)
    strong = PasswordHasher(time_cost=2, memory_kib=2048, parallelism=1)
    assert strong.needs_rehash(weak.hash("pw"))
    assert not weak.needs_rehash(weak.hash("pw"))
