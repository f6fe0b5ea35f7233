"""Cognito's SRP-6a variant, server side (USER_SRP_AUTH → PASSWORD_VERIFIER, and device SRP).

Follows the math of AWS's own clients (amazon-cognito-identity-js ``AuthenticationHelper.js``,
pycognito ``aws_srp.py``); see NOTES-cognito.md §2.4. RFC 5054's 3072-bit group, g = 2,
k = H(padHex(N) || padHex(g)), u = H(padHex(A) || padHex(B)), HKDF-SHA256 with info
"Caldera Derived Key", and the PASSWORD_CLAIM_SIGNATURE HMAC over
poolName || userId || secretBlock || timestamp.

The server's secret exponent b is 256 bits: short exponents are standard for 3072-bit groups
(NIST SP 800-56A: twice the security strength) and make the server's work three 256-bit
exponentiations (~1.6 ms with gmpy2) instead of 3072-bit ones; g^b uses a fixed-base table (below),
which leaves two (~1.2 ms).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ostiary.crypto.secrets import SecretBox
from ostiary.observability import password_work

try:  # gmpy2 is ~8x faster than Python's pow for 3072-bit moduli
    import gmpy2

    def _powmod(base: int, exp: int, mod: int) -> int:
        return int(gmpy2.powmod(base, exp, mod))

    _mpz: Callable[[int], Any] = gmpy2.mpz

except ImportError:  # pragma: no cover - gmpy2 is a dependency; keep a pure-Python fallback

    def _powmod(base: int, exp: int, mod: int) -> int:
        return pow(base, exp, mod)

    _mpz = int


N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
N = int(N_HEX, 16)
G = 2
INFO = b"Caldera Derived Key"
SERVER_EXPONENT_BITS = 256


class SrpError(ValueError):
    """An SRP value that must be refused (A ≡ 0 mod N, u = 0, malformed hex)."""


def pad_hex(value: int | str) -> str:
    """Java ``BigInteger.toByteArray`` style hex: even length, a leading 00 when the top bit is set."""
    text = value if isinstance(value, str) else format(value, "x")
    if len(text) % 2 == 1:
        text = "0" + text
    elif text[0] in "89abcdefABCDEF":
        text = "00" + text
    return text


def hash_hex(hex_text: str) -> str:
    """SHA-256 of the bytes a hex string encodes, as 64 hex digits."""
    return hashlib.sha256(bytes.fromhex(hex_text)).hexdigest().rjust(64, "0")


K = int(hash_hex(pad_hex(N) + pad_hex(G)), 16)


def parse_hex(text: str) -> int:
    if not text or not re.fullmatch(r"[0-9a-fA-F]+", text):
        raise SrpError("not a hexadecimal number")
    return int(text, 16)


def new_salt() -> str:
    """16 random bytes whose first nibble is 1-7: every client's reading of the salt then agrees
    (JS parses it as an integer and re-pads it; pycognito pads the string as given)."""
    raw = bytearray(secrets.token_bytes(16))
    raw[0] = (raw[0] & 0x6F) | 0x10
    return raw.hex()


def compute_x(group: str, user_id: str, password: str, salt_hex: str) -> int:
    """x = H(padHex(salt) || hex(SHA256(group + user_id + ":" + password)))."""
    inner = hashlib.sha256(f"{group}{user_id}:{password}".encode()).hexdigest()
    return int(hash_hex(pad_hex(salt_hex) + inner), 16)


def make_verifier(group: str, user_id: str, password: str, salt_hex: str | None = None) -> tuple[str, int]:
    """(salt hex, v = g^x mod N) for a password; ``group`` is the pool name part of the pool id."""
    salt = salt_hex or new_salt()
    return salt, g_pow(compute_x(group, user_id, password, salt))  # x is a SHA-256: < 2^256, the table's range


def _verifier_context(pool_id: str) -> str:
    return f"srp-verifier:{pool_id}"


def seal_verifier(box: SecretBox, pool_id: str, verifier: int) -> str:
    """The verifier as stored: sealed under the KEK (AES-GCM), so that a copy of the database alone
    allows no offline guessing through it (one SHA-256 and one modexp a guess, far cheaper than the
    Argon2id hash beside it); see docs/security.md."""
    return box.seal(format(verifier, "x"), _verifier_context(pool_id))


def open_verifier(box: SecretBox, pool_id: str, stored: str) -> int:
    """A stored verifier: sealed, or plain hex as written before sealing (read as it is)."""
    if ":" in stored:
        return int(box.open(stored, _verifier_context(pool_id)), 16)
    return int(stored, 16)


@dataclass(frozen=True)
class ServerEphemeral:
    b: int
    B: int


# g^b with a fixed base: a table of g^(d·256^i) mod N for every byte position i of the 256-bit
# exponent and every byte value d (32 by 256 numbers, 3.4 MB, built once per process in ~25 ms), so
# that g^b is 32 modular multiplications (~0.08 ms) instead of a 256-bit exponentiation (~0.46 ms).
# Every position costs one multiplication, whatever the byte (d = 0 multiplies by 1).
_G_TABLE: list[list[Any]] | None = None
_G_TABLE_LOCK = threading.Lock()


def _g_table() -> list[list[Any]]:
    global _G_TABLE
    if _G_TABLE is None:
        with _G_TABLE_LOCK:
            if _G_TABLE is None:
                n = _mpz(N)
                rows: list[list[Any]] = []
                base = _mpz(G)
                for _ in range(SERVER_EXPONENT_BITS // 8):
                    row = [_mpz(1)]
                    for _ in range(255):
                        row.append(row[-1] * base % n)
                    rows.append(row)
                    base = row[-1] * base % n  # g^(256^(i+1))
                _G_TABLE = rows
    return _G_TABLE


def g_pow(exponent: int) -> int:
    """g^exponent mod N for 0 ≤ exponent < 2^SERVER_EXPONENT_BITS (the fixed-base table)."""
    n = _mpz(N)
    acc = _mpz(1)
    for row, digit in zip(_g_table(), exponent.to_bytes(SERVER_EXPONENT_BITS // 8, "little"), strict=True):
        acc = acc * row[digit] % n
    return int(acc)


def server_ephemeral(verifier: int) -> ServerEphemeral:
    """Random b and B = (k·v + g^b) mod N (never 0 mod N)."""
    while True:
        b = secrets.randbits(SERVER_EXPONENT_BITS) | (1 << (SERVER_EXPONENT_BITS - 1))
        big_b = (K * verifier + g_pow(b)) % N
        if big_b != 0:
            return ServerEphemeral(b, big_b)


def _hkdf16(ikm: bytes, salt: bytes) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, INFO + b"\x01", hashlib.sha256).digest()[:16]


def server_session_key(big_a: int, big_b: int, b: int, verifier: int) -> bytes:
    """The 16-byte key both sides derive: S = (A · v^u)^b mod N, then HKDF(S, salt=u)."""
    password_work("srp_session_key")
    if big_a % N == 0:
        raise SrpError("SRP_A mod N is zero")
    u = int(hash_hex(pad_hex(big_a) + pad_hex(big_b)), 16)
    if u == 0:
        raise SrpError("u is zero")
    s = _powmod((big_a * _powmod(verifier, u, N)) % N, b, N)
    return _hkdf16(bytes.fromhex(pad_hex(s)), bytes.fromhex(pad_hex(u)))


def claim_signature(key: bytes, group: str, user_id: str, secret_block: bytes, timestamp: str) -> bytes:
    msg = group.encode() + user_id.encode() + secret_block + timestamp.encode()
    return hmac.new(key, msg, hashlib.sha256).digest()


def verify_claim(key: bytes, group: str, user_id: str, secret_block: bytes, timestamp: str, signature_b64: str) -> bool:
    """Constant-time check of PASSWORD_CLAIM_SIGNATURE."""
    try:
        given = base64.b64decode(signature_b64, validate=True)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(claim_signature(key, group, user_id, secret_block, timestamp), given)


_TIMESTAMP = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) "
    r"(\d{2}):(\d{2}):(\d{2}) UTC (\d{4})"
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_timestamp(text: str) -> dt.datetime | None:
    """``EEE MMM d HH:mm:ss UTC yyyy`` (day zero-padded or not), as AWS's clients send TIMESTAMP."""
    m = _TIMESTAMP.fullmatch(text.strip())
    if m is None:
        return None
    try:
        return dt.datetime(
            int(m.group(7)),
            _MONTHS.index(m.group(2)) + 1,
            int(m.group(3)),
            int(m.group(4)),
            int(m.group(5)),
            int(m.group(6)),
            tzinfo=dt.UTC,
        )
    except ValueError:
        return None


def format_timestamp(when: dt.datetime) -> str:
    """The client-side TIMESTAMP format (for tests and device flows)."""
    return f"{when:%a} {when:%b} {when.day} {when:%H:%M:%S} UTC {when.year}"


def client_respond(
    group: str, user_id: str, password: str, salt_hex: str, big_b: int, a: int, secret_block: bytes, timestamp: str
) -> dict[str, Any]:
    """Client side of the proof, as AWS's SDKs compute it (used by tests and the bench)."""
    big_a = _powmod(G, a, N)
    u = int(hash_hex(pad_hex(big_a) + pad_hex(big_b)), 16)
    x = compute_x(group, user_id, password, salt_hex)
    s = _powmod((big_b - K * _powmod(G, x, N)) % N, a + u * x, N)
    key = _hkdf16(bytes.fromhex(pad_hex(s)), bytes.fromhex(pad_hex(u)))
    return {"key": key, "signature": base64.b64encode(claim_signature(key, group, user_id, secret_block, timestamp))}
