"""`ostiary users import --pool ID FILE.csv`: a user import job run from the command line, with a
progress bar, through the same functions as CreateUserImportJob, the upload to its pre-signed URL and
StartUserImportJob (``userpools.user_import``). The job is an ordinary one: DescribeUserImportJob and
ListUserImportJobs show it, StopUserImportJob (or Ctrl-C here) stops it between chunks.
`ostiary users import-errors --job ID` prints a job's per-row lines, as AWS writes them to CloudWatch."""

from __future__ import annotations

import csv
import datetime as dt
import json
import threading
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select, update

from ostiary.protocol.context import Runtime
from ostiary.store import tables as t
from ostiary.userpools import user_import
from ostiary.userpools.lookup import pool_by_id

FINAL = ("Succeeded", "Failed", "Stopped")


def _job(runtime: Runtime, job_id: str) -> Any:
    with runtime.store.read() as conn:
        return conn.execute(select(t.user_import_jobs).where(t.user_import_jobs.c.job_id == job_id)).one()


def _errors_table(lines: list[tuple[int, str | None, str]], total: int) -> Table:
    table = Table(title=f"Rows not imported ({len(lines)} of {total} shown)")
    for col in ("Line", "Username", "Result"):
        table.add_column(col)
    for line, username, message in lines:
        table.add_row(str(line), username or "", message)
    return table


def _summary(job: Any, errors: list[tuple[int, str | None, str]]) -> dict[str, Any]:
    return {
        "JobId": job.job_id,
        "Status": job.status,
        "ImportedUsers": job.imported,
        "SkippedUsers": job.skipped,
        "FailedUsers": job.failed,
        "CompletionMessage": job.message,
        "Errors": [{"LineNumber": n, "Username": u, "Message": m} for n, u, m in errors],
    }


def import_users(
    runtime: Runtime,
    pool_id: str,
    path: Path,
    *,
    job_name: str,
    role_arn: str,
    show_errors: int,
    as_json: bool,
    console: Console,
) -> int:
    """Check the file against GetCSVHeader, create and start a job, import with a progress bar; the
    exit status: 0 when every row was imported, 1 when some were not, 2 when the job failed."""
    with runtime.store.read() as conn:
        pool = pool_by_id(conn, pool_id)
    if pool is None:
        raise click.ClickException(f"User pool {pool_id} does not exist.")
    if path.stat().st_size > user_import.MAX_CSV_BYTES:
        raise click.ClickException("The file is larger than 100 MB (AWS's limit for one import job).")
    expected = user_import.csv_header(pool)
    try:  # read as a stream (the file is never held whole), for the header and the progress bar's total
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            unknown = [c for c in header if c not in expected]
            if "cognito:username" not in header or unknown:
                problem = f"unknown columns {unknown}" if unknown else "no cognito:username column"
                raise click.ClickException(
                    f"The CSV header does not match GetCSVHeader: {problem}. The pool's columns: {','.join(expected)}"
                )
            total = sum(1 for fields in reader if fields)
    except UnicodeDecodeError as exc:
        raise click.ClickException("The file must be UTF-8 CSV.") from exc
    now = dt.datetime.now(dt.UTC)
    role = role_arn or f"arn:aws:iam::{pool.account_id}:role/ostiary-users-import"
    with runtime.store.tx() as conn:
        job_id = user_import.new_job(conn, pool, job_name, role, now)
    with path.open("rb") as fh:
        user_import.store_upload(runtime, job_id, fh)
    with runtime.store.tx() as conn:
        user_import.mark_started(conn, pool, job_id, now)
    runtime.store.tune_for_bulk_load()  # this command only loads rows (store/db.py)
    worker = threading.Thread(target=user_import.run_job, args=(runtime, pool.id, job_id), name="user-import")
    worker.start()
    started = time.monotonic()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TextColumn("imported {task.fields[imported]}, skipped {task.fields[skipped]}, failed {task.fields[failed]}"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, disable=as_json) as progress:
            task = progress.add_task(job_id, total=total, rate="0", imported=0, skipped=0, failed=0)
            try:
                while worker.is_alive():
                    worker.join(0.25)
                    job = _job(runtime, job_id)
                    done = job.imported + job.skipped + job.failed
                    rate = done / max(time.monotonic() - started, 1e-9)
                    progress.update(
                        task,
                        completed=done,
                        rate=f"{rate:,.0f}",
                        imported=f"{job.imported:,}",
                        skipped=f"{job.skipped:,}",
                        failed=f"{job.failed:,}",
                    )
            except KeyboardInterrupt:
                with runtime.store.tx() as conn:  # as StopUserImportJob: the job stops after its chunk
                    conn.execute(
                        update(t.user_import_jobs)
                        .where(t.user_import_jobs.c.job_id == job_id, t.user_import_jobs.c.status == "InProgress")
                        .values(status="Stopping")
                    )
                worker.join()
    finally:
        worker.join()  # the job's thread ends with its chunk (the process would wait for it anyway)
        runtime.store.checkpoint()  # a server's next write must not inherit the import's log
    job = _job(runtime, job_id)
    seconds = time.monotonic() - started
    with runtime.store.read() as conn:
        errors = user_import.import_errors(conn, job_id, show_errors)
    if as_json:
        click.echo(json.dumps({**_summary(job, errors), "Rows": total, "Seconds": round(seconds, 3)}, indent=2))
    else:
        table = Table(title=f"Import job {job_id} ({job.name}) into {pool.id}")
        for col in ("Status", "Rows", "Imported", "Skipped", "Failed", "Seconds", "Rows/s"):
            table.add_column(col, justify="right")
        processed = job.imported + job.skipped + job.failed
        table.add_row(
            job.status,
            f"{total:,}",
            f"{job.imported:,}",
            f"{job.skipped:,}",
            f"{job.failed:,}",
            f"{seconds:.1f}",
            f"{processed / max(seconds, 1e-9):,.0f}",
        )
        console.print(table)
        if errors:
            console.print(_errors_table(errors, job.skipped + job.failed))
        if job.message:
            console.print(job.message)
    if job.status != "Succeeded":
        return 2
    return 1 if job.skipped or job.failed else 0


def print_errors(runtime: Runtime, job_id: str, limit: int | None, as_json: bool, console: Console) -> None:
    with runtime.store.read() as conn:
        job = conn.execute(select(t.user_import_jobs).where(t.user_import_jobs.c.job_id == job_id)).first()
        if job is None:
            raise click.ClickException(f"User import job {job_id} does not exist.")
        errors = user_import.import_errors(conn, job_id, limit)
    if as_json:
        click.echo(json.dumps(_summary(job, errors), indent=2))
        return
    console.print(_errors_table(errors, job.skipped + job.failed))
