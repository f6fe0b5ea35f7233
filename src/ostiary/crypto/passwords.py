"""Password hashing: Argon2id (RFC 9106) with a configurable cost.

The hash never leaves the server; the SRP verifier (userpools/srp.py) is stored beside it.
``verify_dummy`` spends the same time as a real verification, so that an unknown user and a
wrong password cannot be told apart by timing.

A temporary password the *server generates* (AdminCreateUser without TemporaryPassword) is random
with at least 128 bits of entropy: guessing it offline is hopeless whatever the hash, so it is kept
as an HMAC-SHA256 under a key derived from the KEK (``hash_generated``) instead of Argon2id, which
made AdminCreateUser cost one Argon2 hash each. A password a person chooses always gets Argon2id
(``hash``). ``verify`` tells the two apart by the stored prefix, compares in constant time, and for
a generated password also does the dummy Argon2 work, so that a sign-in costs the same time
whichever hash the user has.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ostiary.memory import argon2_slot
from ostiary.observability import password_work

GENERATED_PREFIX = "$ostiary-generated-hmac-sha256$"


class PasswordHasher:
    def __init__(self, time_cost: int, memory_kib: int, parallelism: int, generated_key: bytes | None = None) -> None:
        self._ph = _Argon2(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, hash_len=32, salt_len=16, type=Type.ID
        )
        self._dummy = self._ph.hash("ostiary-dummy-password")
        # without a key (a hasher built for Argon2 alone) there is no fast hash: generated passwords
        # are hashed, and fast hashes refused, as any other
        self._generated_key = generated_key

    @property
    def parameters(self) -> str:
        p = self._ph
        return f"argon2id m={p.memory_cost}KiB t={p.time_cost} p={p.parallelism}"

    def hash(self, password: str) -> str:
        password_work("argon2_hash")
        with argon2_slot():  # a bounded number at once: each holds argon2_memory_kib (memory.py)
            return self._ph.hash(password)

    def hash_generated(self, password: str) -> str:
        """The stored form of a password the server generated at random (>= 128 bits of entropy;
        never one a person chose): HMAC-SHA256 under the KEK-derived key, with a random salt."""
        if self._generated_key is None:
            return self.hash(password)
        salt = os.urandom(16)
        mac = hmac.new(self._generated_key, salt + password.encode(), hashlib.sha256).digest()
        return GENERATED_PREFIX + _b64(salt) + "$" + _b64(mac)

    def is_generated(self, stored: str) -> bool:
        return stored.startswith(GENERATED_PREFIX)

    def _verify_generated(self, stored: str, password: str) -> bool:
        if self._generated_key is None:
            return False
        try:
            salt_text, mac_text = stored[len(GENERATED_PREFIX) :].split("$")
            salt, mac = _unb64(salt_text), _unb64(mac_text)
        except ValueError:
            return False
        expected = hmac.new(self._generated_key, salt + password.encode(), hashlib.sha256).digest()
        return hmac.compare_digest(expected, mac)

    def verify(self, stored: str, password: str) -> bool:
        if stored.startswith(GENERATED_PREFIX):
            ok = self._verify_generated(stored, password)
            self.verify_dummy(password)  # the same Argon2 work as any other sign-in: no timing signal
            return ok
        password_work("argon2_verify")
        try:
            with argon2_slot():
                return bool(self._ph.verify(stored, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return bool(self._ph.check_needs_rehash(stored))

    def verify_dummy(self, password: str) -> None:
        self.verify(self._dummy, password)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
