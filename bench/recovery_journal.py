"""What the point-in-time recovery journal adds to the writes of user data: AdminCreateUser and
AdminUpdateUserAttributes called in one process (the registered operation functions, without HTTP
or SigV4), with the journal's triggers and without them (dropped, then made again), on SQLite or
PostgreSQL. The figure is wall time per call, the median of ``--rounds`` rounds of ``--calls`` calls.

    python bench/recovery_journal.py
    python bench/recovery_journal.py --database-url postgresql+psycopg://postgres@127.0.0.1:55432/bench
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson

from ostiary.access.accounts import bootstrap
from ostiary.access.principals import root_principal
from ostiary.app import build_runtime
from ostiary.config import Settings
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import load_handlers, lookup
from ostiary.store import journal

ACCOUNT = "123456789012"


def _call(runtime: Any, name: str, params: dict[str, Any]) -> Any:
    op = lookup("cognito-idp", name)
    assert op is not None
    ctx = RequestContext(
        runtime=runtime,
        request_id="bench",
        service="cognito-idp",
        operation=name,
        region="us-east-1",
        principal=root_principal(ACCOUNT, "AKIABENCH"),
        source_ip="127.0.0.1",
    )
    return op.func(ctx, params)


def _round(runtime: Any, pool_id: str, calls: int) -> tuple[float, float]:
    names = [f"u{secrets.token_hex(6)}" for _ in range(calls)]
    start = time.perf_counter()
    for name in names:
        _call(runtime, "AdminCreateUser", {"UserPoolId": pool_id, "Username": name, "MessageAction": "SUPPRESS"})
    created = (time.perf_counter() - start) / calls
    start = time.perf_counter()
    for i, name in enumerate(names):
        attrs = [{"Name": "name", "Value": f"n{i}"}, {"Name": "family_name", "Value": "x"}]
        _call(runtime, "AdminUpdateUserAttributes", {"UserPoolId": pool_id, "Username": name, "UserAttributes": attrs})
    updated = (time.perf_counter() - start) / calls
    return created * 1e6, updated * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    benchjson.record(args.json)
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), database_url=args.database_url, root_account_id=ACCOUNT)
        runtime = build_runtime(settings)
        load_handlers()
        bootstrap(runtime.store, runtime.box, settings.data_dir, "AKIABENCH", "x" * 40, ACCOUNT)
        pool_id = _call(runtime, "CreateUserPool", {"PoolName": "bench"})["UserPool"]["Id"]
        _round(runtime, pool_id, 20)  # warm caches
        results: dict[str, list[tuple[float, float]]] = {"with journal": [], "without": []}
        for _ in range(args.rounds):  # interleaved, so drift hits both alike
            results["with journal"].append(_round(runtime, pool_id, args.calls))
            with runtime.store.tx() as conn:
                journal.drop_triggers(conn)
            results["without"].append(_round(runtime, pool_id, args.calls))
            with runtime.store.tx() as conn:
                journal.create_triggers(conn)
        runtime.store.dispose()
    table = Table(title=f"journal cost per call, µs ({'PostgreSQL' if args.database_url else 'SQLite'})")
    for col in ("", "AdminCreateUser", "AdminUpdateUserAttributes"):
        table.add_column(col)
    med = {k: (statistics.median(c for c, _ in v), statistics.median(u for _, u in v)) for k, v in results.items()}
    for key, (c, u) in med.items():
        table.add_row(key, f"{c:.0f}", f"{u:.0f}")
    added = (med["with journal"][0] - med["without"][0], med["with journal"][1] - med["without"][1])
    table.add_row("added", f"{added[0]:+.0f}", f"{added[1]:+.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
