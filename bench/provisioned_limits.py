"""What the provisioned request-rate limits add to one request when they are on: the wall and CPU time
of ``userpools.provisioned_limits.enforce`` (the hook the dispatcher calls before an operation), in this
process, on SQLite or PostgreSQL. Off (the default), the dispatcher's hook is None and nothing runs.

    python bench/provisioned_limits.py                     # SQLite, a fresh data dir
    python bench/provisioned_limits.py --database-url postgresql+psycopg://postgres@127.0.0.1:55432/bench

Each call counts one signed AdminGetUser (UserRead) request of one account: one read of the account's
provisioned limits (cached) and one write transaction with the window's upsert-increment. The limit is
raised out of reach first, so every call takes the path of an allowed request.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from ostiary.access.principals import root_principal
from ostiary.app import build_runtime
from ostiary.config import load_settings
from ostiary.protocol.context import RequestContext
from ostiary.store import tables as t
from ostiary.userpools import provisioned_limits


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", default="")
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = build_runtime(load_settings({"data_dir": data_dir, "database_url": args.database_url}))
        account = "123456789012"
        with runtime.store.tx() as conn:
            conn.execute(t.accounts.insert().values(id=account, name="bench", created_at=dt.datetime.now(dt.UTC)))
            conn.execute(
                t.provisioned_limits.insert().values(
                    account_id=account, region="us-east-1", category="UserRead", value=10**9,
                    updated_at=dt.datetime.now(dt.UTC),
                )
            )
        principal = root_principal(account, "AKIABENCH")
        params = {"UserPoolId": "us-east-1_bench", "Username": "alice"}
        walls, cpus = [], []
        for _ in range(args.rounds):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            for _ in range(args.calls):
                ctx = RequestContext(runtime, "r", "cognito-idp", "AdminGetUser", "us-east-1", principal, "127.0.0.1")
                provisioned_limits.enforce(ctx, params)
            walls.append((time.perf_counter() - wall0) / args.calls * 1e6)
            cpus.append((time.process_time() - cpu0) / args.calls * 1e6)
        kind = "PostgreSQL" if args.database_url else "SQLite"
        print(f"{kind}: enforce() per request: {statistics.median(walls):.0f} µs wall, "
              f"{statistics.median(cpus):.0f} µs CPU of this process (median of {args.rounds} x {args.calls})")


if __name__ == "__main__":
    main()
