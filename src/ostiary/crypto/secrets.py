"""Secrets at rest: AES-256-GCM under the key-encryption key (KEK) from configuration.

Used for values the server must read back in clear to verify something: IAM secret access keys
(SigV4 needs the secret) and app client secrets (SECRET_HASH is an HMAC keyed with the secret).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import string
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"
_BYTES_VERSION = b"\x01"


class SecretBox:
    """Encrypts and decrypts small secrets with AES-GCM; the associated data binds a secret to its row."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != 32:
            raise ValueError("the key-encryption key must be 32 bytes")
        self._aead = AESGCM(kek)
        self._mac_root = hmac.new(kek, b"ostiary mac keys", hashlib.sha256).digest()
        self._aeads: dict[str, AESGCM] = {}

    def aead(self, purpose: str) -> AESGCM:
        """An AES-256-GCM cipher under a key derived from the KEK for ``purpose`` alone (e.g. STS's
        self-contained session tokens): the same in every process sharing the KEK, unrelated to the
        key that seals secrets at rest, to ``mac_key``'s keys and to other purposes (HMAC-SHA256 of
        the purpose under a KEK-derived root, with its own domain prefix)."""
        found = self._aeads.get(purpose)
        if found is None:
            key = hmac.new(self._mac_root, b"aead\x00" + purpose.encode(), hashlib.sha256).digest()
            found = self._aeads[purpose] = AESGCM(key)
        return found

    def mac_key(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose`` (e.g. CSRF tokens), derived from the KEK: the same in every
        process that shares the KEK, unrelated to the encryption key and to other purposes."""
        return hmac.new(self._mac_root, purpose.encode(), hashlib.sha256).digest()

    def seal(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return f"{_VERSION}:" + base64.urlsafe_b64encode(nonce + ct).decode("ascii")

    def open(self, sealed: str, context: str) -> str:
        version, _, payload = sealed.partition(":")
        if version != _VERSION:
            raise ValueError("unknown sealed-secret version")
        raw = base64.urlsafe_b64decode(payload)
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()

    def seal_bytes(self, plaintext: bytes, context: str) -> bytes:
        """Binary sealing for state handed to clients and read back (SRP challenge state): a version
        byte, the 12-byte nonce, then ciphertext and tag; ``context`` is authenticated, not stored."""
        nonce = os.urandom(12)
        return _BYTES_VERSION + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open_bytes(self, sealed: bytes, context: str) -> bytes:
        """The plaintext of ``seal_bytes``; ValueError when the data was not sealed by this key for
        ``context`` (altered, truncated, another key or context)."""
        if len(sealed) < 29 or sealed[:1] != _BYTES_VERSION:
            raise ValueError("not a sealed value")
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], context.encode())
        except InvalidTag:
            raise ValueError("sealed value does not authenticate") from None


def load_or_create_kek(configured: str, data_dir: Path) -> bytes:
    """The KEK from configuration (base64 of 32 bytes), else from ``<data dir>/kek`` (created 0600)."""
    if configured:
        raw = base64.b64decode(configured)
        if len(raw) != 32:
            raise ValueError("OSTIARY_KEK must be the base64 encoding of 32 random bytes")
        return raw
    path = data_dir / "kek"
    if path.exists():
        return base64.b64decode(path.read_text().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    raw = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(raw).decode() + "\n")
    return raw


_B32 = string.ascii_uppercase + "234567"
_ALNUM = string.ascii_letters + string.digits


@functools.cache
def _byte_table(alphabet: str) -> tuple[bytes, bytes]:
    """A ``bytes.translate`` table mapping each random byte to a character of ``alphabet`` (ASCII),
    and the bytes to drop so that every character stays equally likely (rejection sampling)."""
    size = len(alphabet)
    limit = 256 - 256 % size
    table = bytes(ord(alphabet[b % size]) for b in range(256))
    return table, bytes(range(limit, 256))


def random_string(alphabet: str, n: int) -> str:
    """``n`` characters drawn uniformly from ``alphabet`` (ASCII, at most 256 characters) with the OS
    CSPRNG: one read, mapped by ``bytes.translate`` (``secrets.choice`` costs a system call each)."""
    if len(alphabet) > 256 or not alphabet.isascii():
        raise ValueError("alphabet too large or not ASCII")
    table, rejected = _byte_table(alphabet)
    out = b""
    while len(out) < n:
        out += os.urandom(2 * n if rejected else n).translate(table, rejected)
    return out[:n].decode("ascii")


def new_access_key_id(prefix: str = "AKIA") -> str:
    return prefix + random_string(_B32, 16)


def new_secret_access_key() -> str:
    return random_string(_ALNUM + "+/", 40)
