"""Compromised credentials: a password checked against breached-password corpora, and
CompromisedCredentialsRiskConfiguration's action taken (docs/threat-protection.md, "Compromised
credentials").

Two corpora, both local (no network call, ever):

- the set shipped with Ostiary (``corpus/common-passwords.sha1-64``, 40,101 of the most common
  breached passwords; sources and licences in ``corpus/README.md``): sorted 8-byte SHA-1
  prefixes, memory-mapped on first use and binary-searched. The lists are lowercase, so a password
  and its lowercase form are looked up;
- when the operator sets ``pwned_passwords_path``, Have I Been Pwned's Pwned Passwords corpus as
  its downloader writes it: a directory of range files (``<5 hex>.txt``, lines ``SUFFIX:COUNT``)
  or one file sorted by hash (lines ``HASH:COUNT``), SHA-1 or NTLM (told apart by the hashes'
  length). A lookup opens one range file (or the one file, mapped once) and binary-searches its
  lines in place: a hash, one ``open`` and ~log2(lines) comparisons. ``pwned_passwords_min_count``
  ignores hashes seen fewer times.

Which events are checked, and what happens, is AWS's (``assess``): with AdvancedSecurityMode OFF
nothing runs; in AUDIT or ENFORCED every SIGN_UP (SignUp, the hosted UI's sign-up),
PASSWORD_CHANGE (ChangePassword, ConfirmForgotPassword, AdminSetUserPassword,
NEW_PASSWORD_REQUIRED) and SIGN_IN with the password in clear (USER_PASSWORD_AUTH,
ADMIN_USER_PASSWORD_AUTH, USER_AUTH's PASSWORD, the hosted UI; never SRP, which never shows the
password) is checked and the finding recorded in the event (``CompromisedCredentialsDetected``);
only in ENFORCED mode, with ``Actions.EventAction`` BLOCK and the event in ``EventFilter`` (all
three when absent), is it acted on: a new password is refused, a sign-in refused and the user set
to RESET_REQUIRED (as AWS documents).
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
import struct
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Connection

from ostiary.config import Settings
from ostiary.protocol.context import RequestContext
from ostiary.userpools import directory, threat_protection
from ostiary.userpools.directory import PoolView, User, UserStatus
from ostiary.userpools.errors import InvalidPasswordException

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).resolve().parent / "corpus" / "common-passwords.sha1-64"
PREFIX_BYTES = 8
BREACHED = "The password has been found in a data breach and cannot be used. Choose a different password."
MAX_PASSWORD = 256  # Cognito's passwords are at most 256 characters (PasswordType)


class Event(StrEnum):
    """CompromisedCredentialsRiskConfiguration.EventFilter's values."""

    SIGN_IN = "SIGN_IN"
    SIGN_UP = "SIGN_UP"
    PASSWORD_CHANGE = "PASSWORD_CHANGE"


@dataclass(frozen=True)
class Finding:
    detected: bool
    blocked: bool


CLEAN = Finding(detected=False, blocked=False)


# --------------------------------------------------------------------------------------------
# hashes


def _md4(data: bytes) -> bytes:
    """MD4 (RFC 1320), for NTLM hashes: OpenSSL 3 no longer offers it to hashlib."""

    def rotl(x: int, n: int) -> int:
        x &= 0xFFFFFFFF
        return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF

    length = len(data) * 8
    data += b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", length)
    h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    for offset in range(0, len(data), 64):
        x = struct.unpack("<16I", data[offset : offset + 64])
        a, b, c, d = h
        for i in range(16):
            k = i
            s = (3, 7, 11, 19)[i % 4]
            a, b, c, d = d, rotl(a + ((b & c) | (~b & d)) + x[k], s), b, c
        for i in range(16):
            k = (i % 4) * 4 + i // 4
            s = (3, 5, 9, 13)[i % 4]
            a, b, c, d = d, rotl(a + ((b & c) | (b & d) | (c & d)) + x[k] + 0x5A827999, s), b, c
        for i in range(16):
            k = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)[i]
            s = (3, 9, 11, 15)[i % 4]
            a, b, c, d = d, rotl(a + (b ^ c ^ d) + x[k] + 0x6ED9EBA1, s), b, c
        h = [(v + n) & 0xFFFFFFFF for v, n in zip(h, (a, b, c, d), strict=True)]
    return struct.pack("<4I", *h)


def sha1(password: str) -> bytes:
    return hashlib.sha1(password.encode("utf-8", "surrogatepass"), usedforsecurity=False).digest()


def ntlm(password: str) -> bytes:
    return _md4(password.encode("utf-16-le", "surrogatepass"))


# --------------------------------------------------------------------------------------------
# the shipped set: fixed-width sorted records


class SortedPrefixes:
    """A file of sorted fixed-width binary records, memory-mapped, binary-searched."""

    def __init__(self, path: Path, width: int) -> None:
        self.width = width
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size % width:
                raise ValueError(f"{path}: {size} bytes is not a whole number of {width}-byte records")
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        self.count = size // width

    def __contains__(self, key: bytes) -> bool:
        key = key[: self.width]
        m, w = self._map, self.width
        if m is None:
            return False
        lo, hi = 0, self.count
        while lo < hi:
            mid = (lo + hi) // 2
            record = m[mid * w : mid * w + w]
            if record < key:
                lo = mid + 1
            elif record > key:
                hi = mid
            else:
                return True
        return False


# --------------------------------------------------------------------------------------------
# the operator's Pwned Passwords corpus: sorted text lines HEX:COUNT


def _find_line(m: mmap.mmap | bytes, key: bytes) -> int | None:
    """The COUNT of the line whose hex hash (case-insensitive) is ``key`` (upper-case hex), in a
    buffer of lines sorted by hash; None when absent. Binary search over byte offsets: each step
    finds the line around the middle, so variable-length lines need no index."""
    n = len(key)
    lo, hi = 0, len(m)
    while lo < hi:
        mid = (lo + hi) // 2
        start = m.rfind(b"\n", 0, mid) + 1
        if start < lo:
            start = lo
        end = m.find(b"\n", start, hi)
        if end < 0:
            end = hi
        line = m[start:end].strip()
        head = line[:n].upper()
        if head < key:
            lo = end + 1
        elif head > key or (len(line) > n and line[n : n + 1] != b":"):
            hi = start
        else:
            count = line[n + 1 :]
            return int(count) if count.isdigit() else 1
    return None


class PwnedPasswords:
    """Have I Been Pwned's corpus at ``path``: a directory of range files or one sorted file."""

    def __init__(self, path: Path, min_count: int = 1) -> None:
        self.path = path
        self.min_count = max(1, min_count)
        self._file: mmap.mmap | None = None
        if path.is_dir():
            self.ranges = True
            sample = next((p for p in path.iterdir() if p.suffix.lower() == ".txt" and len(p.stem) == 5), None)
            if sample is None:
                raise ValueError(f"{path}: no range file (<5 hex digits>.txt) in this directory")
            width = self._hash_width(sample) + 5
        elif path.is_file():
            self.ranges = False
            width = self._hash_width(path)
            with open(path, "rb") as fh:
                if os.fstat(fh.fileno()).st_size:
                    self._file = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        else:
            raise ValueError(f"pwned_passwords_path {path}: no such file or directory")
        if width not in (40, 32):
            raise ValueError(f"{path}: hashes of {width} hex digits are neither SHA-1 (40) nor NTLM (32)")
        self.kind = "sha1" if width == 40 else "ntlm"

    @staticmethod
    def _hash_width(path: Path) -> int:
        with open(path, "rb") as fh:
            first = fh.readline(256).strip()
        return len(first.split(b":", 1)[0])

    def count(self, password: str) -> int:
        digest = (sha1(password) if self.kind == "sha1" else ntlm(password)).hex().upper().encode()
        if not self.ranges:
            return (_find_line(self._file, digest) or 0) if self._file is not None else 0
        name = self.path / (digest[:5].decode() + ".txt")
        try:
            fh = open(name, "rb")  # noqa: SIM115 (closed below, mapped meanwhile)
        except FileNotFoundError:
            return 0
        with fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return 0
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
                return _find_line(m, digest[5:]) or 0

    def __contains__(self, password: str) -> bool:
        return self.count(password) >= self.min_count


# --------------------------------------------------------------------------------------------
# the check


_lock = threading.Lock()
_shipped: SortedPrefixes | None = None
_operator: dict[tuple[str, int], PwnedPasswords | None] = {}


def shipped() -> SortedPrefixes:
    global _shipped  # loaded once per process, on first use
    if _shipped is None:
        with _lock:
            if _shipped is None:
                _shipped = SortedPrefixes(SHIPPED, PREFIX_BYTES)
    return _shipped


def operator_corpus(settings: Settings) -> PwnedPasswords | None:
    """The operator's corpus (None when not configured). A path that cannot be read is logged
    once and the shipped set alone is used, so a bad setting never stops sign-in."""
    if not settings.pwned_passwords_path:
        return None
    key = (settings.pwned_passwords_path, settings.pwned_passwords_min_count)
    if key not in _operator:
        with _lock:
            if key not in _operator:
                try:
                    _operator[key] = PwnedPasswords(Path(key[0]).expanduser(), key[1])
                except (OSError, ValueError) as e:
                    log.error("pwned_passwords_path is not usable, only the shipped set is checked: %s", e)
                    _operator[key] = None
    return _operator[key]


def breached(settings: Settings, password: str) -> bool:
    """Is this password in the shipped set or the operator's corpus?"""
    if not password or len(password) > MAX_PASSWORD:
        return False
    digest = sha1(password)
    corpus = shipped()
    if digest in corpus:
        return True
    lower = password.lower()
    if lower != password and sha1(lower) in corpus:
        return True
    pwned = operator_corpus(settings)
    return pwned is not None and password in pwned


def decide(mode: str, configuration: dict[str, object] | None, event: Event, detected: bool) -> Finding:
    """AWS's rule: detection recorded in AUDIT and ENFORCED; BLOCK acted on in ENFORCED only, for
    the events of EventFilter (all three when it is absent)."""
    if not detected:
        return CLEAN
    if mode != "ENFORCED" or not configuration:
        return Finding(detected=True, blocked=False)
    actions = configuration.get("Actions")
    action = actions.get("EventAction") if isinstance(actions, dict) else None
    events = configuration.get("EventFilter")
    applies = not events or (isinstance(events, list) and event.value in events)
    return Finding(detected=True, blocked=action == "BLOCK" and applies)


def assess(ctx: RequestContext, pool: PoolView, client_id: str | None, event: Event, password: str) -> Finding:
    """Check a password given in clear at ``event``: nothing runs when threat protection is OFF;
    the risk configuration is read only when a breached password may be blocked."""
    mode = threat_protection.mode(pool)
    if mode == "OFF":
        return CLEAN
    detected = breached(ctx.settings, password)
    if not detected or mode != "ENFORCED":
        return Finding(detected=detected, blocked=False)
    section = threat_protection.configuration(ctx, pool, client_id).get("CompromisedCredentialsRiskConfiguration")
    return decide(mode, section if isinstance(section, dict) else None, event, detected)


def event_risk(finding: Finding) -> dict[str, object]:
    """The EventRisk an event records for this finding."""
    return {
        "RiskDecision": "Block" if finding.blocked else "NoRisk",
        "CompromisedCredentialsDetected": finding.detected,
    }


def check_new_password(
    ctx: RequestContext,
    pool: PoolView,
    client_id: str | None,
    event: Event,
    password: str,
    user: User | None = None,
    event_type: str | None = None,
) -> Finding:
    """A password about to be set (SignUp, ChangePassword, ConfirmForgotPassword,
    AdminSetUserPassword, NEW_PASSWORD_REQUIRED), after the pool's password policy: a blocked one
    is refused with InvalidPasswordException (the event recorded for a known ``user``)."""
    finding = assess(ctx, pool, client_id, event, password)
    if finding.blocked:
        if user is not None:
            with ctx.store.tx() as conn:
                record(ctx, conn, pool, user, event, "Fail", finding, event_type)
        raise InvalidPasswordException(BREACHED)
    return finding


def record(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    user: User,
    event: Event,
    response: str,
    finding: Finding,
    event_type: str | None = None,
) -> None:
    """The SignUp / PasswordChange / ForgotPassword (``event_type``) event of a checked password."""
    kind = (
        event_type or {Event.SIGN_UP: "SignUp", Event.PASSWORD_CHANGE: "PasswordChange", Event.SIGN_IN: "SignIn"}[event]
    )
    threat_protection.record_event(ctx, conn, pool, user, kind, response, event_risk(finding))


def block_sign_in(ctx: RequestContext, conn: Connection, pool: PoolView, user: User, finding: Finding) -> None:
    """A sign-in with a breached password, blocked: the user must reset the password (status
    RESET_REQUIRED, as AWS documents); the caller then answers PasswordResetRequiredException."""
    directory.set_fields(conn, user, ctx.now, status=UserStatus.RESET_REQUIRED)
    threat_protection.record_sign_in(ctx, conn, pool, user, None, event_risk(finding))
