"""Password hashing: Argon2id (RFC 9106) with a configurable cost.

The hash never leaves the server; the SRP verifier (userpools/srp.py) is stored beside it.
``verify_dummy`` spends the same time as a real verification, so that an unknown user and a
wrong password cannot be told apart by timing.
"""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ostiary.observability import password_work


class PasswordHasher:
    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._ph = _Argon2(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, hash_len=32, salt_len=16, type=Type.ID
        )
        self._dummy = self._ph.hash("ostiary-dummy-password")

    @property
    def parameters(self) -> str:
        p = self._ph
        return f"argon2id m={p.memory_cost}KiB t={p.time_cost} p={p.parallelism}"

    def hash(self, password: str) -> str:
        password_work("argon2_hash")
        return self._ph.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        password_work("argon2_verify")
        try:
            return bool(self._ph.verify(stored, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return bool(self._ph.check_needs_rehash(stored))

    def verify_dummy(self, password: str) -> None:
        self.verify(self._dummy, password)
