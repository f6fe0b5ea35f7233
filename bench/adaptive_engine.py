"""The adaptive-authentication engine's CPU per scored sign-in, in this process (no HTTP, no Argon2).

    python bench/adaptive_engine.py            # SQLite file database in a temporary directory

Runs what a scored password sign-in calls in userpools/risk: ``signals.observe`` (ContextData with
an address and a browser User-Agent), the risk configuration
(always-allow list), ``adaptive.score`` (the user's known values, the user's and
the address's recent attempts), the event's EventRisk / EventContextData / explanation, the attempt
when the address is new to the user, ``learn``; 8 rotating addresses the user already has. CPU time
(time.process_time) of batches of --calls, median of --rounds. With --geoip (a MaxMind-format City
database placing 198.51.100.0/24) each sign-in is also located and travel is scored (one more read).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson

from ostiary.config import Settings
from ostiary.store import tables as t
from ostiary.userpools.risk import adaptive, signals

AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument(
        "--geoip", metavar="MMDB", help="a GeoIP City database: the sign-ins are located and travel is scored"
    )
    args = parser.parse_args()
    benchjson.record(args.json)
    engine = create_engine(f"sqlite:///{tempfile.mkdtemp(prefix='ostiary-adaptive-')}/bench.db")
    t.metadata.create_all(engine)
    pool: Any = types.SimpleNamespace(
        id="us-east-1_bench", config={"UserPoolAddOns": {"AdvancedSecurityMode": "AUDIT"}}
    )
    user: Any = types.SimpleNamespace(id="user-1")
    settings = Settings(geoip_database_path=args.geoip or "")

    def scored_sign_in(i: int, conn: Connection) -> None:
        now = dt.datetime.now(dt.UTC)
        context = {
            "IpAddress": f"198.51.100.{i % 8}",
            "HttpHeaders": [{"headerName": "User-Agent", "headerValue": AGENT}],
        }
        obs = signals.observe("127.0.0.1", None, context, trusted=True, propagate=False, device_key=None)
        obs = adaptive.locate_observation(settings, obs)
        adaptive.skipped(adaptive.risk_configuration(conn, pool, "client-1"), obs.ip)
        fired, known = adaptive.score(conn, pool, user, obs, now)
        moved, last = adaptive.travel(conn, settings, user, obs, now)
        assessment = adaptive.Assessment(observation=obs, signals=fired + moved, mode="AUDIT", known=known, last=last)
        assessment.event_risk(), assessment.context_data(), assessment.explanation()
        if obs.ip not in known.get("ip", {}):
            adaptive.record_attempt(conn, pool, user.id, obs.ip, False, now)
        adaptive.learn(conn, pool, user.id, obs, now, known, last=last)

    with engine.begin() as conn:
        for i in range(20):
            scored_sign_in(i, conn)
    per_call = []
    for _ in range(args.rounds):
        with engine.begin() as conn:
            start = time.process_time()
            for i in range(args.calls):
                scored_sign_in(i, conn)
            per_call.append((time.process_time() - start) / args.calls * 1e6)
    engine.dispose()
    median = statistics.median(per_call)
    print(
        f"adaptive engine CPU per scored sign-in: {median:.0f} µs (rounds: {', '.join(f'{v:.0f}' for v in per_call)})"
    )
    benchjson.note("adaptive_engine_us", round(median, 1))


if __name__ == "__main__":
    main()
