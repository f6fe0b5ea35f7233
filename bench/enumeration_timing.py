"""Latency of known vs unknown users where the client prevents user existence errors (issue 10,
item 6): does the answer for a name that does not exist take as long as a real user's?

    python bench/enumeration_timing.py              # starts its own server (default Argon2 cost)
    python bench/enumeration_timing.py --samples 60

For each operation, requests for real users and for unknown names are interleaved (one of each per
round, the order alternating) and the median and 90th percentile of the client-observed latency are
printed with their difference. Each sample uses its own user or name, so that no lockout or code
limit changes the path taken; every failure-counting operation stays under the per-address limit
(a fresh pool per operation). Loopback only. This is a measurement, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_throughput import KEY, REGION, SECRET, start_server

PASSWORD = "Bench-Passw0rd!"
WRONG = "Wrong-Passw0rd!"


def _pool(idp: Any, n: int, prefix: str) -> tuple[str, str]:
    pool = idp.create_user_pool(PoolName="enum-" + secrets.token_hex(3), AutoVerifiedAttributes=["email"])["UserPool"]
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="app",
        PreventUserExistenceErrors="ENABLED",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    for i in range(n):
        name = f"{prefix}{i}"
        idp.admin_create_user(
            UserPoolId=pool["Id"],
            Username=name,
            MessageAction="SUPPRESS",
            UserAttributes=[
                {"Name": "email", "Value": f"{name}@example.com"},
                {"Name": "email_verified", "Value": "true"},
            ],
        )
        idp.admin_set_user_password(UserPoolId=pool["Id"], Username=name, Password=PASSWORD, Permanent=True)
    return pool["Id"], client["ClientId"]


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    with contextlib.suppress(ClientError):
        call()
    return (time.perf_counter() - started) * 1000


def _rounds(
    samples: int, known: Callable[[int], Any], unknown: Callable[[int], Any]
) -> tuple[list[float], list[float]]:
    k: list[float] = []
    u: list[float] = []
    for i in range(samples):
        pair = [(k, lambda i=i: known(i)), (u, lambda i=i: unknown(i))]
        if i % 2:
            pair.reverse()
        for out, call in pair:
            out.append(_timed(call))
    return k, u


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=40, help="samples per side and operation (max 45)")
    args = parser.parse_args()
    n = min(args.samples, 45)
    proc, url, data = start_server(1)
    console = Console()
    results: list[tuple[str, list[float], list[float]]] = []
    try:
        idp = boto3.client(
            "cognito-idp", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET
        )
        app = boto3.client(
            "cognito-idp", endpoint_url=url, region_name=REGION, config=Config(signature_version=UNSIGNED)
        )
        ghost = "ghost-" + secrets.token_hex(2)

        pool_id, client_id = _pool(idp, n, "pw")

        def password(name: str) -> Any:
            return app.initiate_auth(
                ClientId=client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": name, "PASSWORD": WRONG},
            )

        results.append(
            (
                "USER_PASSWORD_AUTH (wrong password)",
                *_rounds(n, lambda i: password(f"pw{i}"), lambda i: password(f"{ghost}{i}")),
            )
        )

        pool_id, client_id = _pool(idp, n, "srp")
        starts: dict[str, tuple[AWSSRP, dict[str, Any]]] = {}
        clients: dict[str, AWSSRP] = {}
        for name in [f"srp{i}" for i in range(n)] + [f"{ghost}{i}" for i in range(n)]:
            # the client's own SRP math (A = g^a) is done here, outside the timing
            clients[name] = AWSSRP(username=name, password=WRONG, pool_id=pool_id, client_id=client_id, client=app)
        auth_params = {name: c.get_auth_params() for name, c in clients.items()}

        def srp_start(name: str) -> None:
            first = app.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=auth_params[name])
            starts[name] = (clients[name], first["ChallengeParameters"])

        results.append(
            ("USER_SRP_AUTH start", *_rounds(n, lambda i: srp_start(f"srp{i}"), lambda i: srp_start(f"{ghost}{i}")))
        )
        answers: dict[str, dict[str, str]] = {}
        for name, (client, params) in starts.items():  # client-side proofs computed outside the timing
            answers[name] = client.process_challenge(params, {"USERNAME": params["USER_ID_FOR_SRP"]})

        def srp_answer(name: str) -> Any:
            return app.respond_to_auth_challenge(
                ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answers[name]
            )

        results.append(
            (
                "PASSWORD_VERIFIER (wrong proof)",
                *_rounds(n, lambda i: srp_answer(f"srp{i}"), lambda i: srp_answer(f"{ghost}{i}")),
            )
        )

        pool_id, client_id = _pool(idp, n, "fp")
        results.append(
            (
                "ForgotPassword",
                *_rounds(
                    n,
                    lambda i: app.forgot_password(ClientId=client_id, Username=f"fp{i}"),
                    lambda i: app.forgot_password(ClientId=client_id, Username=f"{ghost}{i}"),
                ),
            )
        )

        def confirm(name: str) -> Any:
            return app.confirm_forgot_password(
                ClientId=client_id, Username=name, ConfirmationCode="000000", Password="N3w-Passw0rd!"
            )

        results.append(
            (
                "ConfirmForgotPassword (wrong code)",
                *_rounds(n, lambda i: confirm(f"fp{i}"), lambda i: confirm(f"{ghost}{i}")),
            )
        )
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(data, ignore_errors=True)

    table = Table(title=f"Known vs unknown users, {n} samples each (ms, client-observed, loopback)")
    for col in ("operation", "known p50", "unknown p50", "Δ p50", "known p90", "unknown p90"):
        table.add_column(col, justify="right" if col != "operation" else "left")
    for name, k, u in results:
        kq = statistics.quantiles(k, n=10)
        uq = statistics.quantiles(u, n=10)
        km, um = statistics.median(k), statistics.median(u)
        table.add_row(name, f"{km:.2f}", f"{um:.2f}", f"{um - km:+.2f}", f"{kq[8]:.2f}", f"{uq[8]:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
