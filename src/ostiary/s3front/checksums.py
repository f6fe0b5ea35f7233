"""The checksums S3 accepts for an object (``x-amz-checksum-<algorithm>``, in a header or an aws-chunked
trailer): CRC32 (zlib), CRC32C and CRC64NVME (table-driven here: botocore computes them only with
``awscrt``, which is not installed), SHA1 and SHA256 (hashlib). Each value is the big-endian digest,
base64-encoded, as S3 sends and checks it.

CRC32C (Castagnoli, reflected polynomial 0x82F63B78) and CRC64NVME (reflected 0x9A6C9329AC4BC9B5)
start from all ones and are inverted at the end. The pure-Python byte loop runs at a few MB/s: clients
choose CRC32 unless told otherwise (botocore's default without awscrt), which runs in C.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Protocol


class Checksum(Protocol):
    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...


def _table(poly: int) -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC32C = _table(0x82F63B78)
_CRC64NVME = _table(0x9A6C9329AC4BC9B5)


class _Crc32:
    def __init__(self) -> None:
        self._crc = 0

    def update(self, data: bytes) -> None:
        self._crc = zlib.crc32(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(4, "big")


class _TableCrc:
    def __init__(self, table: tuple[int, ...], width: int) -> None:
        self._table = table
        self._mask = (1 << (8 * width)) - 1
        self._width = width
        self._crc = self._mask

    def update(self, data: bytes) -> None:
        crc, table = self._crc, self._table
        for b in data:
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
        self._crc = crc

    def digest(self) -> bytes:
        return (self._crc ^ self._mask).to_bytes(self._width, "big")


class _Hash:
    def __init__(self, name: str) -> None:
        self._h = hashlib.new(name)

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        return self._h.digest()


ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")


def new(algorithm: str) -> Checksum:
    """A running checksum for ``algorithm`` (lower case: crc32, crc32c, crc64nvme, sha1, sha256)."""
    if algorithm == "crc32":
        return _Crc32()
    if algorithm == "crc32c":
        return _TableCrc(_CRC32C, 4)
    if algorithm == "crc64nvme":
        return _TableCrc(_CRC64NVME, 8)
    if algorithm in {"sha1", "sha256"}:
        return _Hash(algorithm)
    raise ValueError(algorithm)


def b64(checksum: Checksum) -> str:
    return base64.b64encode(checksum.digest()).decode()


def of(algorithm: str, data: bytes) -> str:
    c = new(algorithm)
    c.update(data)
    return b64(c)
