"""The floors of sign-in: the CPU a sign-in cannot avoid, measured in this process on this machine.

    python bench/floors.py                 # prints the table
    python bench/floors.py --json floors.json

What a floor counts (the definition docs/performance.md uses since issue 3: the cryptography a
sign-in must do, nothing of HTTP, JSON, SQL or session handling):

- **password** (USER_PASSWORD_AUTH): one Argon2id verification at the server's default cost
  (Settings: m, t, p; never lowered) + the two RS256 signatures of the tokens (ID and access; the
  refresh token is opaque).
- **SRP** (USER_SRP_AUTH + PASSWORD_VERIFIER): the server side of SRP-6a as Ostiary computes it
  (`ostiary.userpools.srp`, gmpy2): B = k·v + g^b (g^b from the fixed-base table), u = H(A, B),
  S = (A·v^u)^b, the HKDF of S and the HMAC of PASSWORD_CLAIM_SIGNATURE; + the two RS256
  signatures. Not counted: the phantom verifier derived for every sign-in so that unknown users cost
  the same (issue 10; one g^x from the table), sealing the SECRET_BLOCK, the user's rows.
- **refresh** (REFRESH_TOKEN_AUTH): the two RS256 signatures.

Each figure is the CPU time (time.process_time, one thread) of a batch of calls divided by the
calls, the median of --rounds batches. Ratios: bench/run_all.py divides a floor by the server CPU per
sign-in measured by bench/signin_throughput.py on the same machine (1.0 = nothing but the floor).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson

from ostiary.config import Settings
from ostiary.crypto import jwt
from ostiary.crypto.passwords import PasswordHasher
from ostiary.userpools import srp


def cpu_ms(fn: Callable[[], object], calls: int, rounds: int) -> float:
    """Median over `rounds` batches of the CPU ms per call."""
    fn()  # warm: tables, keys, imports
    out = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            fn()
        out.append((time.process_time() - started) / calls * 1000)
    return statistics.median(out)


def measure(rounds: int = 5, scale: float = 1.0) -> dict[str, float]:
    s = Settings()
    hasher = PasswordHasher(s.argon2_time_cost, s.argon2_memory_kib, s.argon2_parallelism)
    stored = hasher.hash("Bench-Passw0rd!")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {
        "sub": "8f0e3c1a-0000-4000-8000-000000000000",
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/x",
        "client_id": "abcdefghijklmnopqrstuvwxyz",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": 1764900000,
        "exp": 1764903600,
        "iat": 1764900000,
        "jti": "x" * 36,
        "username": "user1",
    }

    group = "bench"
    _salt, verifier = srp.make_verifier(group, "user1", "Bench-Passw0rd!")
    a = secrets.randbits(256) | (1 << 255)
    big_a = srp._powmod(srp.G, a, srp.N)
    block = secrets.token_bytes(1700)
    stamp = "Sat Dec 5 07:00:00 UTC 2026"

    def srp_math() -> None:
        eph = srp.server_ephemeral(verifier)  # b, g^b (table), B = k·v + g^b
        k = srp.server_session_key(big_a, eph.B, eph.b, verifier)  # u, v^u, (A·v^u)^b, HKDF
        srp.claim_signature(k, group, "user1", block, stamp)

    def signature() -> None:
        jwt.sign(claims, "kid", key)

    def argon2_verify() -> None:
        hasher.verify(stored, "Bench-Passw0rd!")

    def phantom() -> None:
        srp.g_pow(secrets.randbits(256) | 1)

    n = max(1, int(50 * scale))
    out = {
        "argon2id_verify_ms": cpu_ms(argon2_verify, max(1, int(10 * scale)), rounds),
        "rs256_signature_ms": cpu_ms(signature, n * 4, rounds),
        "srp_server_math_ms": cpu_ms(srp_math, n, rounds),
        "srp_phantom_g_pow_ms": cpu_ms(phantom, n * 4, rounds),
    }
    out["password_floor_ms"] = out["argon2id_verify_ms"] + 2 * out["rs256_signature_ms"]
    out["srp_floor_ms"] = out["srp_server_math_ms"] + 2 * out["rs256_signature_ms"]
    out["refresh_floor_ms"] = 2 * out["rs256_signature_ms"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="batches per figure (the median is kept)")
    ap.add_argument("--scale", type=float, default=1.0, help="calls per batch, relative (0.2 for a quick run)")
    ap.add_argument("--json", metavar="PATH", help="also write the printed tables to PATH as JSON (bench/benchjson.py)")
    args = ap.parse_args()
    benchjson.record(args.json)
    s = Settings()
    f = measure(args.rounds, args.scale)
    for k, v in f.items():
        benchjson.note(k, round(v, 4))
    table = Table(
        title=f"Sign-in floors, in process (CPU ms, median of {args.rounds} batches), "
        f"argon2id m={s.argon2_memory_kib}KiB t={s.argon2_time_cost} p={s.argon2_parallelism}"
    )
    table.add_column("floor")
    table.add_column("what it counts")
    table.add_column("CPU ms", justify="right")
    table.add_row(
        "component: Argon2id verify", "one verification at the default cost", f"{f['argon2id_verify_ms']:.3f}"
    )
    table.add_row(
        "component: RS256 signature",
        "one token signature (crypto/jwt.sign, 2048-bit)",
        f"{f['rs256_signature_ms']:.3f}",
    )
    table.add_row(
        "component: SRP server math",
        "g^b (table), B, u, v^u, (A·v^u)^b, HKDF, claim HMAC",
        f"{f['srp_server_math_ms']:.3f}",
    )
    table.add_row(
        "(not in a floor) SRP phantom g^x",
        "the unknown-user verifier every sign-in derives (issue 10)",
        f"{f['srp_phantom_g_pow_ms']:.3f}",
    )
    table.add_row("password sign-in floor", "Argon2id verify + 2 signatures", f"{f['password_floor_ms']:.3f}")
    table.add_row("SRP sign-in floor", "SRP server math + 2 signatures", f"{f['srp_floor_ms']:.3f}")
    table.add_row("refresh floor", "2 signatures", f"{f['refresh_floor_ms']:.3f}")
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
