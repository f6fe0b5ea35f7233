"""Every issue-13 measurement in one command, HEAD and a baseline commit side by side, SQLite and PostgreSQL.

    python bench/run_all.py --quick                  # short runs, 100,000-user ListUsers pool: < 15 min quiet
    python bench/run_all.py                          # the full run: 1,000,000 users, default durations
    python bench/run_all.py --only signin,floors --stores sqlite --no-baseline
    python bench/run_all.py --baseline 2d0d087 --users 300000 --out bench/results/mine.md
    python bench/run_all.py --resume bench/results/2026-12-06T2007Z   # run only what that run lacks
    python bench/run_all.py --resume bench/results/2026-12-06T2007Z --report-only   # rewrite its report

What it runs (each bench is a subprocess; its printed tables are kept through `--json PATH`,
bench/benchjson.py — a bench without that option is run through the same recorder):

| key | bench | measures |
|---|---|---|
| floors | floors.py (HEAD only) | Argon2id verify, SRP server math, RS256 signature: the sign-in floors |
| api | api_throughput.py | DescribeUserPool, GetCallerIdentity, AssumeRole: server CPU per request |
| signin | signin_throughput.py | USER_PASSWORD_AUTH, USER_SRP_AUTH, REFRESH_TOKEN_AUTH, GetUser |
| identity | identity_throughput.py | GetCredentialsForIdentity (ID token, guest), GetId |
| loading | user_loading.py | the CSV import job (--import-users), AdminCreateUser per core |
| search | user_search.py | ListUsers, every filter kind, a --users pool; mixed load (GetUser, ListUsers, import) |
| workers | workers.py | the spread of the load over 2 workers, RSS per worker |
| two_nodes | two_nodes.py (PostgreSQL only) | one node against two on one PostgreSQL |

Trees: HEAD is this checkout (its src/ on PYTHONPATH); the baseline is a `git worktree` of --baseline
(default 2d0d087, the commit issue 13 measured) under /tmp, run with the same venv and the same bench
scripts (HEAD's: the method does not change between the columns), its src/ on PYTHONPATH, so the
server each bench starts (`python -m ostiary.cli serve`) is the baseline's. A bench that cannot run
against the baseline (it imports a module the baseline lacks, e.g. user_search) is "n/a" there.

Stores: SQLite (a fresh data dir per bench, as each bench does) and PostgreSQL 15: a throwaway cluster
this script starts (initdb/pg_ctl from /usr/lib/postgresql/15/bin, `runuser -u postgres` when run as
root) on a free loopback port, a fresh database per bench run, stopped and removed at the end.

Output: rich tables on the console, and a markdown file (default bench/results/<UTC date-time>.md) with
the conditions (commits, machine, load average before and after), a targets table (floors ratios,
per-core rates, PostgreSQL/SQLite ratios) and every bench's tables, baseline and HEAD side by side;
logs and JSON of each run beside it (bench/results/<stamp>/).

Durations (2 vCPU machine): --quick (3 s per operation, 100,000-user pool, a 20,000-row import) took
34 min at load averages of 22-40 (seven sessions sharing the machine; per bench and tree: api,
signin, identity 35-60 s, the import 35-330 s, ListUsers 180-270 s at HEAD, workers 80-120 s), an
estimated 12-15 min quiet. The full run ≈ 2.5-3.5 h: the 1,000,000-user fills (bulk SQL, ~10 min each on
SQLite and PostgreSQL for HEAD), the 1,000,000-row import (3-5 min at HEAD, 10+ min at the baseline,
per store), 8-10 s per operation elsewhere. On a loaded machine wall times grow several-fold; the
server CPU per request (from /proc) is the figure that carries.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PGBIN = Path("/usr/lib/postgresql/15/bin")
NA = "n/a"


@dataclasses.dataclass
class Bench:
    key: str
    script: str
    full: dict[str, Any]
    quick: dict[str, Any]
    stores: tuple[str, ...] = ("sqlite", "postgresql")
    head_only: bool = False
    timeout_full: float = 4 * 3600
    timeout_quick: float = 420


def benches(users: int, import_users: int, quick: bool) -> list[Bench]:
    return [
        Bench("floors", "floors.py", {}, {"--scale": 0.3, "--rounds": 3}, stores=("-",), head_only=True),
        Bench("api", "api_throughput.py", {"--duration": 10}, {"--duration": 3, "--concurrency": 16}),
        Bench("signin", "signin_throughput.py", {"--duration": 8}, {"--duration": 3}),
        Bench(
            "identity",
            "identity_throughput.py",
            {"--workers": "1,2", "--duration": 8},
            {"--workers": "1", "--duration": 3},
        ),
        Bench(
            "loading",
            "user_loading.py",
            {"--users": import_users, "--create-seconds": 10},
            {"--users": import_users, "--create-seconds": 3},
        ),
        Bench(
            "search",
            "user_search.py",
            {"--users": users},
            {"--users": users, "--repeat": 20, "--mixed-seconds": 4, "--mixed-rounds": 1, "--import-users": 2000},
            timeout_quick=900,
        ),
        Bench("workers", "workers.py", {"--runs": 10}, {"--runs": 3, "--seconds": 3}, stores=("sqlite",)),
        Bench("two_nodes", "two_nodes.py", {}, {"--duration": 3, "--rounds": 1}, stores=("postgresql",)),
    ]


# --- machine conditions ---------------------------------------------------------------------------


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the baseline tree ------------------------------------------------------------------------------


def baseline_tree(commit: str, console: Console) -> Path:
    full = git("rev-parse", "--verify", f"{commit}^{{commit}}")
    path = Path(tempfile.gettempdir()) / f"ostiary-bench-base-{full[:10]}"
    if (path / "src" / "ostiary").is_dir():
        try:
            if git("rev-parse", "HEAD", cwd=path) == full:
                return path
        except subprocess.CalledProcessError:
            pass
    git("worktree", "prune")
    if path.exists():
        shutil.rmtree(path)
    console.print(f"[dim]git worktree add --detach {path} {full[:10]}[/]")
    git("worktree", "add", "--detach", str(path), full)
    return path


# --- a throwaway PostgreSQL ------------------------------------------------------------------------


class Postgres:
    """initdb + pg_ctl start on a free loopback port; a fresh database per run; stop() removes it all."""

    def __init__(self, console: Console, port: int = 0) -> None:
        if not (PGBIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL 15 binaries not found in {PGBIN}")
        self.console = console
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ostiary-bench-pg-"))
        self.root = os.geteuid() == 0
        if self.root:
            shutil.chown(self.dir, "postgres")
        self._run(str(PGBIN / "initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres")
        self._run(
            str(PGBIN / "pg_ctl"),
            "-D",
            str(self.dir / "data"),
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300 "
            "-c shared_buffers=256MB",
        )
        self.count = 0
        console.print(f"[dim]PostgreSQL 15 on 127.0.0.1:{self.port} ({self.dir})[/]")

    def _run(self, *cmd: str) -> None:
        full = ["runuser", "-u", "postgres", "--", *cmd] if self.root else list(cmd)
        subprocess.run(full, check=True, capture_output=True, cwd=self.dir)

    def _sql(self, statement: str) -> None:
        self._run(
            str(PGBIN / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            statement,
        )

    def new_database(self) -> str:
        self.count += 1
        name = f"bench{self.count}"
        self._sql(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def drop(self, url: str) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._sql(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(PGBIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


# --- running one bench ------------------------------------------------------------------------------


_RECORDER = (
    "import runpy, sys; sys.path.insert(0, {bench!r}); import benchjson; benchjson.record({out!r}); "
    "sys.argv = [{script!r}, *{args!r}]; runpy.run_path({script!r}, run_name='__main__')"
)


def supported(script: Path, options: dict[str, Any]) -> list[str]:
    """The options the script knows (its text names them): benches change while this runs."""
    text = script.read_text()
    out: list[str] = []
    for opt, value in options.items():
        if f'"{opt}"' in text:
            out += [opt] if value is True else [opt, str(value)]
    return out


def run_bench(
    pg_log: Path | None,
    b: Bench,
    tree: Path,
    store: str,
    db_url: str,
    quick: bool,
    out_dir: Path,
    label: str,
    console: Console,
) -> dict[str, Any]:
    script = BENCH / b.script  # HEAD's bench, whichever tree serves
    stem = f"{b.key}-{label}-{store}"
    log = out_dir / f"{stem}.log"
    out = out_dir / f"{stem}.json"
    if not script.exists():
        return {"status": "not in this checkout", "tables": [], "seconds": 0, "load": loadavg()}
    args = supported(script, b.quick if quick else b.full)
    if db_url and '"--database-url"' in script.read_text():
        args += ["--database-url", db_url]
    if db_url and pg_log and '"--pg-log"' in script.read_text():
        args += ["--pg-log", str(pg_log)]
    text = script.read_text()
    if "benchjson.record(" in text and ('"--json", metavar="PATH"' in text or '"--json", nargs="?"' in text):
        cmd = [sys.executable, str(script), *args, "--json", str(out)]
    else:
        cmd = [sys.executable, "-c", _RECORDER.format(bench=str(BENCH), out=str(out), script=str(script), args=args)]
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "PYTHONUNBUFFERED": "1"}
    env.pop("OSTIARY_DATABASE_URL", None)
    if db_url:
        env["OSTIARY_DATABASE_URL"] = db_url
    timeout = b.timeout_quick if quick else b.timeout_full
    started = time.monotonic()
    load0 = loadavg()
    console.print(f"[bold]{b.key}[/] · {label} · {store}: {b.script} {' '.join(args)}")
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            rc = None
    took = time.monotonic() - started
    doc: dict[str, Any] = {"tables": [], "notes": []}
    if out.exists():
        with contextlib.suppress(ValueError):
            doc = json.loads(out.read_text())
    if rc is None:
        doc["status"] = f"timeout after {timeout:.0f} s"
    elif rc != 0:
        tail = [x for x in log.read_text(errors="replace").splitlines() if x.strip()][-1:]
        doc["status"] = f"failed (exit {rc}): {tail[0][:160] if tail else ''}"
    doc.setdefault("status", "ok")
    doc.update(
        seconds=round(took),
        load=f"{load0} → {loadavg()}",
        log=str(log.relative_to(ROOT)) if log.is_relative_to(ROOT) else str(log),
    )
    colour = "green" if doc["status"] == "ok" else "yellow"
    console.print(f"  [{colour}]{doc['status']}[/] in {took:.0f} s (load {doc['load']})")
    with contextlib.suppress(OSError):  # the run's facts kept with its tables (--resume reads them)
        out.write_text(json.dumps(doc, ensure_ascii=False))
    return doc


def resumed(b: Bench, label: str, store: str, out_dir: Path) -> dict[str, Any] | None:
    """The result an earlier run left in ``out_dir`` for this bench, tree and store (--resume), or None."""
    out = out_dir / f"{b.key}-{label}-{store}.json"
    try:
        doc: dict[str, Any] = json.loads(out.read_text())
    except (OSError, ValueError):
        return None
    doc.setdefault("status", "ok")
    doc.setdefault("seconds", 0)
    doc.setdefault("load", "?")
    return doc


# --- reading the tables -----------------------------------------------------------------------------


def number(text: str) -> float | None:
    m = re.search(r"-?\d[\d,]*(?:\.\d+)?", text or "")
    if not m:
        return None
    try:
        return float(m.group(0).replace(",", ""))
    except ValueError:
        return None


def find(doc: dict[str, Any] | None, row_has: str, col_has: str | list[str], table_has: str = "") -> float | None:
    """The first cell whose row's first column contains `row_has` and whose header matches `col_has`
    (a list: the first header that matches any, in that order of preference)."""
    if not doc:
        return None
    wanted = [col_has] if isinstance(col_has, str) else col_has
    for table in doc.get("tables", []):
        if table_has and table_has.lower() not in table["title"].lower():
            continue
        cols = [c.lower() for c in table["columns"]]
        for want in wanted:
            idx = next((i for i, c in enumerate(cols) if want.lower() in c), None)
            if idx is None:
                continue
            for row in table["rows"]:
                if row and row_has.lower() in row[0].lower():
                    value = number(row[idx])
                    if value is not None:
                        return value
    return None


def worst(doc: dict[str, Any] | None, row_has: str, col_has: str, table_has: str) -> float | None:
    """The largest figure of a column over every row whose first column contains `row_has`."""
    out: float | None = None
    for table in (doc or {}).get("tables", []):
        if table_has.lower() not in table["title"].lower():
            continue
        idx = next((i for i, c in enumerate(table["columns"]) if col_has.lower() in c.lower()), None)
        if idx is None:
            continue
        for row in table["rows"]:
            value = number(row[idx]) if row and row_has.lower() in row[0].lower() else None
            if value is not None and (out is None or value > out):
                out = value
    return out


def extra(doc: dict[str, Any] | None, key: str) -> float | None:
    if not doc:
        return None
    value = doc.get("extra", {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return NA
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


# CPU per operation: prefer a column with PostgreSQL's share included, when a bench reports one.
CPU_COLS = ["ostiary + postgresql", "total cpu", "server cpu ms", "cpu ms/op", "cpu ms"]
CPU_US_COLS = ["server cpu µs", "cpu µs"]


def cpu_ms(doc: dict[str, Any] | None, row: str) -> float | None:
    value = find(doc, row, CPU_COLS)
    if value is None:
        us = find(doc, row, CPU_US_COLS)
        value = us / 1000 if us is not None else None
    return value


def targets(
    results: dict[tuple[str, str, str], dict[str, Any]], labels: list[str], stores: list[str]
) -> list[list[str]]:
    """[target, then per (label, store) the figure] rows."""
    floors = results.get(("floors", "head", "-"))
    srp_floor = extra(floors, "srp_floor_ms")
    pw_floor = extra(floors, "password_floor_ms")
    refresh_floor = extra(floors, "refresh_floor_ms")
    rows: list[list[str]] = []

    def per_store(name: str, fn: Any) -> None:
        cells = [name]
        for label in labels:
            for store in stores:
                try:
                    cells.append(fn(label, store))
                except (TypeError, ZeroDivisionError):
                    cells.append(NA)
        rows.append(cells)

    def ratio(floor: float | None, row: str) -> Any:
        def fn(label: str, store: str) -> str:
            cpu = cpu_ms(results.get(("signin", label, store)), row)
            return f"{floor / cpu:.2f} ({fmt(cpu)} ms)" if floor and cpu else NA

        return fn

    def per_core(bench: str, row: str) -> Any:
        def fn(label: str, store: str) -> str:
            cpu = cpu_ms(results.get((bench, label, store)), row)
            return f"{1000 / cpu:,.0f} ({fmt(cpu, 3)} ms)" if cpu else NA

        return fn

    def pg_over_sqlite(bench: str, row: str) -> Any:
        def fn(label: str, store: str) -> str:
            if store == "sqlite":
                return "—"
            lite = cpu_ms(results.get((bench, label, "sqlite")), row)
            pg = cpu_ms(results.get((bench, label, "postgresql")), row)
            return f"{pg / lite:.2f}x" if lite and pg else NA

        return fn

    per_store("SRP sign-in ≥ 0.6 of its floor (floor / server CPU)", ratio(srp_floor, "SRP"))
    per_store("password sign-in ≥ 0.85 of the Argon2 floor", ratio(pw_floor, "PASSWORD"))
    per_store("refresh ≥ 0.75 of its two-signature floor", ratio(refresh_floor, "REFRESH"))
    per_store("GetUser ≥ 8,000/s per core", per_core("signin", "GetUser"))
    per_store("GetCredentialsForIdentity ≥ 3,000/s per core", per_core("identity", "GetCredentialsForIdentity (ID"))
    per_store("AssumeRole ≥ 3,000/s per core", per_core("api", "AssumeRole"))
    for bench, row, name in (
        ("signin", "GetUser", "GetUser"),
        ("api", "AdminGetUser", "AdminGetUser"),
        ("signin", "REFRESH", "refresh"),
        ("identity", "GetId", "GetId"),
        ("identity", "GetCredentialsForIdentity (ID", "GetCredentialsForIdentity"),
        ("api", "AssumeRole", "AssumeRole"),
    ):
        per_store(f"PostgreSQL ≤ 1.25 x SQLite CPU: {name}", pg_over_sqlite(bench, row))

    def listusers_p99(label: str, store: str) -> str:
        doc = results.get(("search", label, store))
        if not doc or not doc.get("tables"):
            return NA
        worst = None
        for table in doc["tables"]:
            cols = [c.lower() for c in table["columns"]]
            idx = next((i for i, c in enumerate(cols) if "p99" in c and "client" in c), None)
            if idx is None:
                idx = next((i for i, c in enumerate(cols) if "p99" in c), None)
            if idx is None or "listusers" not in table["title"].lower():
                continue
            for row in table["rows"]:
                v = number(row[idx])
                if v is not None and (worst is None or v > worst):
                    worst = v
        return f"{fmt(worst)} ms (worst filter)" if worst is not None else NA

    per_store("ListUsers p99 ≤ 20 ms, every filter (client p99)", listusers_p99)
    per_store(
        "GetUser p99 ≤ 10 ms under mixed load",
        lambda label, store: (
            fmt(worst(results.get(("search", label, store)), "+", "p99", "mixed")) + " ms (worst round)"
        ),
    )
    per_store(
        "import rows per server CPU second (1M in 3 min ≈ 7,000/s)",
        lambda label, store: fmt(_rows_per_cpu(results.get(("loading", label, store)))),
    )
    per_store(
        "AdminCreateUser ≥ 500/s per core",
        lambda label, store: fmt(
            find(results.get(("loading", label, store)), "per core, PostgreSQL included", "value")
            or find(results.get(("loading", label, store)), "per core", "value")
        ),
    )
    return rows


def _rows_per_cpu(doc: dict[str, Any] | None) -> float | None:
    """user_loading's "server CPU s (rows per CPU second)" cell: the figure in parentheses."""
    for table in (doc or {}).get("tables", []):
        for row in table["rows"]:
            if row and row[0].startswith("server CPU s") and len(row) > 1:
                m = re.search(r"\(([\d,]+)\)", row[1])
                if m:
                    return float(m.group(1).replace(",", ""))
    return None


# --- side by side -------------------------------------------------------------------------------------


_KEEP = re.compile(r"what|nodes|cpu|per core|p50|p99|max|rss|value|per second|requests/s|rows|share|calls|import", re.I)


def _row_keys(rows: list[list[str]]) -> list[tuple[str, int]]:
    seen: dict[str, int] = {}
    keys = []
    for row in rows:
        n = seen.get(row[0], 0)
        seen[row[0]] = n + 1
        keys.append((row[0], n))
    return keys


def side_by_side(
    base: dict[str, Any] | None, head: dict[str, Any] | None
) -> list[tuple[str, list[str], list[list[str]]]]:
    """For each of HEAD's tables: (title, columns, rows) with each kept column as "baseline → HEAD"."""
    out = []
    base_tables = (base or {}).get("tables", [])
    for i, table in enumerate((head or {}).get("tables", [])):
        cols = table["columns"]
        keep = [j for j, c in enumerate(cols) if j == 0 or _KEEP.search(c)]
        other = base_tables[i] if i < len(base_tables) and base_tables[i]["columns"] == cols else None
        # rows pair by name and, for a name that repeats (two_nodes: one node, then two), by occurrence
        by_name = dict(zip(_row_keys(other["rows"]), other["rows"], strict=True)) if other else {}
        rows = []
        for key, row in zip(_row_keys(table["rows"]), table["rows"], strict=True):
            b = by_name.get(key)
            cells = [row[0]]
            for j in keep[1:]:
                if base is None:
                    cells.append(row[j])
                else:
                    cells.append(f"{b[j] if b else NA} → {row[j]}")
            rows.append(cells)
        out.append((table["title"], [cols[j] for j in keep], rows))
    return out


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    def esc(x: str) -> str:
        return x.replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(esc(c) for c in columns) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|",
    ]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs: 3 s per operation, a 100,000-user pool")
    ap.add_argument(
        "--users", type=int, default=None, help="users of the ListUsers pool (full 1,000,000; quick 100,000)"
    )
    ap.add_argument(
        "--import-users", type=int, default=None, help="rows of the CSV import (full 1,000,000; quick 20,000)"
    )
    ap.add_argument("--baseline", default="2d0d087", help="the commit measured beside HEAD")
    ap.add_argument("--no-baseline", action="store_true", help="HEAD only")
    ap.add_argument("--stores", default="sqlite,postgresql", help="sqlite, postgresql or both")
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated bench keys (floors, api, signin, identity, loading, search, workers, two_nodes)",
    )
    ap.add_argument("--skip", default="", help="comma-separated bench keys not to run")
    ap.add_argument("--pg-port", type=int, default=0, help="port of the throwaway PostgreSQL (default: a free one)")
    ap.add_argument("--out", default="", help="markdown file (default bench/results/<UTC stamp>.md)")
    ap.add_argument(
        "--resume",
        default="",
        metavar="DIR",
        help="an earlier run's results dir (bench/results/<stamp>): its benches are not run again, the others are",
    )
    ap.add_argument("--report-only", action="store_true", help="with --resume: run nothing, write the report")
    args = ap.parse_args()
    console = Console(width=None if sys.stdout.isatty() else 160)

    users = args.users or (100_000 if args.quick else 1_000_000)
    import_users = args.import_users or (20_000 if args.quick else 1_000_000)
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    chosen = [b for b in benches(users, import_users, args.quick) if (not only or b.key in only) and b.key not in skip]

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%MZ")
    if args.resume:
        resume_dir = Path(args.resume)
        stamp = resume_dir.name
        out_md = Path(args.out) if args.out else resume_dir.parent / f"{stamp}.md"
        out_dir = resume_dir
    else:
        out_md = Path(args.out) if args.out else BENCH / "results" / f"{stamp}.md"
        out_dir = out_md.with_suffix("")
    out_dir.mkdir(parents=True, exist_ok=True)
    earlier: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        earlier = json.loads((out_dir / "run.json").read_text()) if args.resume else {}

    head_commit = git("rev-parse", "--short=10", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "src"))
    trees: list[tuple[str, Path, str]] = [("head", ROOT, head_commit + (" + uncommitted src" if dirty else ""))]
    if not args.no_baseline:
        base_path = baseline_tree(args.baseline, console)
        trees.insert(0, ("baseline", base_path, git("rev-parse", "--short=10", "HEAD", cwd=base_path)))
    if earlier.get("commits"):  # the trees the resumed run measured
        trees = [(n, p, earlier["commits"].get(n, c)) for n, p, c in trees]
    labels = [t[0] for t in trees]
    started = time.monotonic()
    load_start = loadavg()
    console.print(
        f"[bold]issue 13 benches[/]: {', '.join(b.key for b in chosen)}; trees "
        f"{', '.join(f'{n} {c}' for n, _, c in trees)}; stores {', '.join(stores)}; users {users:,}; "
        f"import {import_users:,}; load {load_start}"
    )

    pg: Postgres | None = None
    results: dict[tuple[str, str, str], dict[str, Any]] = {}
    try:
        if "postgresql" in stores and any("postgresql" in b.stores for b in chosen) and not args.report_only:
            pg = Postgres(console, args.pg_port)
        for b in chosen:
            for store in b.stores:
                if store != "-" and store not in stores:
                    continue
                for label, tree, _ in trees:
                    if b.head_only and label != "head":
                        continue
                    found = resumed(b, label, store, out_dir) if args.resume else None
                    if found is not None or args.report_only:
                        results[(b.key, label, store)] = found or {"status": "not run", "tables": [], "seconds": 0}
                        continue
                    db_url = pg.new_database() if store == "postgresql" and pg else ""
                    try:
                        results[(b.key, label, store)] = run_bench(
                            pg.dir / "log" if pg else None, b, tree, store, db_url, args.quick, out_dir, label, console
                        )
                    finally:
                        if db_url and pg:
                            pg.drop(db_url)
    finally:
        if pg:
            pg.stop()
    elapsed = time.monotonic() - started
    if earlier:  # a resumed run: its first part's time and load too
        elapsed += float(earlier.get("seconds", 0))
        load_start = str(earlier.get("load_start", load_start))
    with contextlib.suppress(OSError):
        if not args.report_only:
            (out_dir / "run.json").write_text(
                json.dumps({"commits": {n: c for n, _, c in trees}, "seconds": elapsed, "load_start": load_start})
            )

    # --- report ---
    md: list[str] = [
        f"# Issue 13 benches — {stamp}",
        "",
        f"`python bench/run_all.py {' '.join(sys.argv[1:])}` · {elapsed / 60:.0f} min · "
        f"{os.cpu_count()} CPUs · load average {load_start} at the start, {loadavg()} at the end · "
        f"Python {sys.version.split()[0]}",
        "",
        "Trees: " + "; ".join(f"**{n}** {c}" for n, _, c in trees) + '. Cells read "baseline → HEAD". '
        "Server CPU per request comes from /proc (the figure that carries on a shared machine); rates and "
        "latencies depend on the load of the machine.",
        "",
    ]
    cols = ["target"] + [f"{label} {store}" for label in labels for store in stores]
    trows = targets(results, labels, stores)
    tt = Table(title="Issue 13 targets")
    for c in cols:
        tt.add_column(c, justify="left" if c == "target" else "right")
    for r in trows:
        tt.add_row(*r)
    console.print(tt)
    md += ["## Targets", "", markdown_table(cols, trows), ""]
    floors = results.get(("floors", "head", "-"))
    if floors:
        md += [
            "Floors (in process, HEAD, this machine): "
            + ", ".join(
                f"{k.removesuffix('_ms').replace('_', ' ')} {v:.3f} ms" for k, v in floors.get("extra", {}).items()
            ),
            "",
        ]

    status = Table(title="Runs")
    for c in ("bench", "tree", "store", "status", "s", "load"):
        status.add_column(c)
    md += [
        "## Runs",
        "",
        "| bench | tree | store | status | seconds | load average (start → end) |",
        "|---|---|---|---|---:|---|",
    ]
    for (key, label, store), doc in results.items():
        status.add_row(key, label, store, doc["status"], str(doc["seconds"]), doc["load"])
        md.append(f"| {key} | {label} | {store} | {doc['status']} | {doc['seconds']} | {doc['load']} |")
    console.print(status)
    md.append("")

    for b in chosen:
        for store in b.stores:
            if store != "-" and store not in stores:
                continue
            head = results.get((b.key, "head", store))
            base = None if b.head_only or args.no_baseline else results.get((b.key, "baseline", store))
            if not head:
                continue
            md += [f"## {b.key} — {b.script}{'' if store == '-' else ', ' + store}", ""]
            if base is not None and base.get("status") != "ok":
                md += [f"Baseline: {base.get('status')} (its cells read n/a).", ""]
            if head.get("status") != "ok":
                md += [f"HEAD: {head.get('status')}.", ""]
            for title, columns, rows in side_by_side(
                base if base and base.get("tables") else ({"tables": []} if base is not None else None), head
            ):
                t = Table(title=f"{b.key} · {store} · {title}")
                for c in columns:
                    t.add_column(c, justify="left" if c == columns[0] else "right")
                for r in rows:
                    t.add_row(*r)
                console.print(t)
                md += [f"**{title}**", "", markdown_table(columns, rows), ""]
            notes = [n for n in head.get("notes", []) if n.strip() and len(n) < 300][:8]
            if notes:
                md += ["Notes (HEAD): " + " · ".join(n.strip() for n in notes), ""]
    out_md.write_text("\n".join(md) + "\n")
    console.print(f"[bold]written[/] {out_md} (logs and JSON in {out_dir}/) after {elapsed / 60:.1f} min")


if __name__ == "__main__":
    main()
