"""CPU of the compromised-credentials check (userpools/risk/compromised.py) per password sign-in,
against the CPU of the sign-in's Argon2id verification with the default settings (the floor of a
password sign-in: a real one also reads the user and signs two tokens, so the ratio printed is an
upper bound of the check's share).

    python bench/compromised_check.py                 # 20,000 checks per case
    python bench/compromised_check.py --calls 100000 --json

Cases, each timed with ``time.process_time`` (this process's CPU, whoever else runs):

- ``shipped``: the shipped set only (two SHA-1 and two binary searches of the memory-mapped
  prefixes when the password has upper-case letters, one of each otherwise), strong passwords
  (the common case: not found);
- ``shipped+sha1 ranges``: with an operator corpus of SHA-1 range files as the downloader writes
  them (each file ~900 lines, the size of a range of the full 1-billion-hash corpus): one ``open`` +
  ``mmap`` and a binary search of lines;
- ``shipped+ntlm ranges``: the same with NTLM files (MD4 in pure Python: OpenSSL 3 lacks it);
- ``argon2id verify``: one verification of a right password, t=2, m=19456 KiB, p=1 (Ostiary's
  defaults).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from argon2 import PasswordHasher
from argon2.low_level import Type

from ostiary.config import Settings
from ostiary.userpools.risk import compromised

LINES_PER_RANGE = 900


def _ranges(directory: Path, passwords: list[str], ntlm: bool) -> None:
    """Range files holding the prefixes of ``passwords`` (the passwords themselves absent)."""
    directory.mkdir(parents=True, exist_ok=True)
    for password in passwords:
        digest = (compromised.ntlm(password) if ntlm else compromised.sha1(password)).hex().upper()
        prefix, width = digest[:5], len(digest) - 5
        path = directory / f"{prefix}.txt"
        if path.exists():
            continue
        lines = sorted(
            f"{hashlib.sha256(f'{prefix}-{i}'.encode()).hexdigest().upper()[:width]}:{i % 50 + 1}"
            for i in range(LINES_PER_RANGE)
        )
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode())


def _time(calls: int, fn: Callable[[int], object]) -> float:
    start = time.process_time()
    for i in range(calls):
        fn(i)
    return (time.process_time() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--argon2-calls", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    passwords = [secrets.token_urlsafe(12) + "Aa1!" for _ in range(min(args.calls, 2000))]
    n = len(passwords)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        _ranges(base / "sha1", passwords, ntlm=False)
        _ranges(base / "ntlm", passwords, ntlm=True)
        cases = {
            "shipped": Settings(),
            "shipped+sha1 ranges": Settings(pwned_passwords_path=str(base / "sha1")),
            "shipped+ntlm ranges": Settings(pwned_passwords_path=str(base / "ntlm")),
        }
        for name, settings in cases.items():
            compromised.breached(settings, passwords[0])  # load the corpora once
            assert not any(compromised.breached(settings, p) for p in passwords[:50])
            results[name] = _time(args.calls, lambda i, s=settings: compromised.breached(s, passwords[i % n]))
    hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
    stored = hasher.hash(passwords[0])
    results["argon2id verify"] = _time(args.argon2_calls, lambda _i: hasher.verify(stored, passwords[0]))
    argon2 = results["argon2id verify"]
    if args.json:
        print(json.dumps({k: round(v * 1e6, 2) for k, v in results.items()} | {"unit": "us CPU per call"}))
        return
    print(f"{'case':<22} {'CPU per call':>14} {'of an Argon2id verify':>22}")
    for name, seconds in results.items():
        print(f"{name:<22} {seconds * 1e6:>11.1f} us {seconds / argon2 * 100:>20.3f} %")


if __name__ == "__main__":
    main()
