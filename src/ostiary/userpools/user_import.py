"""Importing users from a CSV file: GetCSVHeader, CreateUserImportJob, StartUserImportJob,
StopUserImportJob, DescribeUserImportJob, ListUserImportJobs (Cognito Developer Guide, "Importing
users into a user pool").

CreateUserImportJob answers a ``PreSignedUrl`` on Ostiary itself (``PUT /_ostiary/import/<jobId>``,
valid for a day, authorized by an HMAC in its query string) where the CSV is uploaded as with S3's
pre-signed URLs (``curl -T users.csv -H 'x-amz-server-side-encryption:aws:kms' "$URL"``).
StartUserImportJob imports it in the background: each row becomes a user in ``RESET_REQUIRED`` (no
password; the user sets one with ForgotPassword), or is counted as failed (bad values, an alias
already taken) or skipped (the username exists) without stopping the others. ``CloudWatchLogsRoleArn``
is required, as by AWS, and stored; the lines AWS writes to CloudWatch Logs for rows not imported
(``[FAILED] Line Number 3 - …``) are kept in ``user_import_errors`` instead (``import_errors``,
``ostiary users import``). The import itself is ``import_batch``: chunks of rows, one transaction each,
in a process of its own (``ostiary.import_job``, started here by ``spawn_job``) so that it never holds
the worker's interpreter lock (issue 13); ``ostiary users import`` runs it in a thread of the CLI.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO
from urllib.parse import quote

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import NoResultFound

from ostiary.protocol.context import RequestContext, Runtime
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import statistics
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import import_batch, paging
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import (
    InvalidParameterException,
    PreconditionNotMetException,
    ResourceNotFoundException,
)
from ostiary.userpools.lookup import pool_by_id, pool_for_caller

log = logging.getLogger("ostiary.userpools.import")

STANDARD_COLUMNS = (
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
)
URL_SECONDS = 24 * 3600
MAX_CSV_BYTES = 100 * 1024 * 1024  # AWS's limit for one import file
UPLOAD_PATH = "/_ostiary/import/"


def csv_header(pool: PoolView) -> list[str]:
    schema = pool.schema
    custom = sorted(name for name in schema if name.startswith("custom:"))
    return [c for c in STANDARD_COLUMNS if c in schema] + custom + ["cognito:mfa_enabled", "cognito:username"]


@operation("cognito-idp", "GetCSVHeader")
def get_csv_header(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
    return {"UserPoolId": pool.id, "CSVHeader": csv_header(pool)}


# --- the pre-signed upload URL -------------------------------------------------------------------


def upload_signature(key: bytes, job_id: str, expires: int) -> str:
    return hmac.new(key, f"{job_id}|{expires}".encode(), hashlib.sha256).hexdigest()


def _presigned_url(ctx: RequestContext, job_id: str, created: dt.datetime) -> str:
    expires = int(created.timestamp()) + URL_SECONDS
    signature = upload_signature(ctx.box.mac_key("user-import"), job_id, expires)
    base = ctx.settings.effective_public_url
    return f"{base}{UPLOAD_PATH}{quote(job_id)}?X-Ostiary-Expires={expires}&X-Ostiary-Signature={signature}"


def upload_authorized(runtime: Runtime, job_id: str, expires: int, given: str, now: float) -> bool:
    """Whether a pre-signed upload URL's signature and expiry (``X-Ostiary-Signature``,
    ``X-Ostiary-Expires``) are good for ``job_id`` at ``now``."""
    expected = upload_signature(runtime.box.mac_key("user-import"), job_id, expires)
    return hmac.compare_digest(expected, given) and expires >= now


def store_upload(runtime: Runtime, job_id: str, data: bytes | BinaryIO) -> bool:
    """Keep an uploaded CSV for its job, in slices (``import_batch.store_file``); False when no job is
    waiting for a file under that id, UnicodeDecodeError (nothing kept) when it is not UTF-8."""
    with runtime.store.tx() as conn:
        waiting = conn.execute(  # the job's row stays locked until the file is in (a second PUT waits)
            update(t.user_import_jobs)
            .where(t.user_import_jobs.c.job_id == job_id, t.user_import_jobs.c.status == "Created")
            .values(csv=None)
        ).rowcount
        if waiting:
            import_batch.store_file(conn, job_id, data)
    return bool(waiting)


# --- jobs ----------------------------------------------------------------------------------------


def _status_of(row: Row[Any]) -> str:
    """A job never started within a day has expired (its file is no longer accepted)."""
    if row.status == "Created" and utc(row.created_at).timestamp() + URL_SECONDS < time.time():
        return "Expired"
    return str(row.status)


def _job(ctx: RequestContext, row: Row[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "JobName": row.name,
        "JobId": row.job_id,
        "UserPoolId": row.user_pool_id,
        "PreSignedUrl": _presigned_url(ctx, row.job_id, utc(row.created_at)),
        "CreationDate": utc(row.created_at),
        "Status": _status_of(row),
        "CloudWatchLogsRoleArn": row.cloudwatch_logs_role_arn,
        "ImportedUsers": row.imported,
        "SkippedUsers": row.skipped,
        "FailedUsers": row.failed,
    }
    if row.started_at is not None:
        out["StartDate"] = utc(row.started_at)
    if row.completed_at is not None:
        out["CompletionDate"] = utc(row.completed_at)
    if row.message:
        out["CompletionMessage"] = row.message
    return out


def _row(conn: Connection, pool: PoolView, job_id: str) -> Row[Any]:
    row = conn.execute(select(t.user_import_jobs).where(t.user_import_jobs.c.job_id == job_id)).first()
    if row is None or row.user_pool_id != pool.id:
        raise ResourceNotFoundException(f"User import job {job_id} does not exist.")
    return row


def new_job(conn: Connection, pool: PoolView, name: str, role_arn: str, now: dt.datetime) -> str:
    """A Created job for ``pool`` (CreateUserImportJob, ``ostiary users import``); its id."""
    job_id = "import-" + secrets.token_hex(5)
    conn.execute(
        insert(t.user_import_jobs).values(
            job_id=job_id,
            user_pool_id=pool.id,
            name=name,
            status="Created",
            cloudwatch_logs_role_arn=role_arn,
            imported=0,
            skipped=0,
            failed=0,
            created_at=now,
        )
    )
    return job_id


@operation("cognito-idp", "CreateUserImportJob")
def create_user_import_job(ctx: RequestContext, params: Params) -> Result:
    if params.get("PasswordHashingAlgorithm"):
        raise InvalidParameterException("Ostiary does not import password hashes (PasswordHashingAlgorithm).")
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        job_id = new_job(conn, pool, params["JobName"], params["CloudWatchLogsRoleArn"], ctx.now)
        row = _row(conn, pool, job_id)
    return {"UserImportJob": _job(ctx, row)}


@operation("cognito-idp", "DescribeUserImportJob")
def describe_user_import_job(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _row(conn, pool, params["JobId"])
    return {"UserImportJob": _job(ctx, row)}


@operation("cognito-idp", "ListUserImportJobs")
def list_user_import_jobs(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        rows = conn.execute(
            select(t.user_import_jobs)
            .where(t.user_import_jobs.c.user_pool_id == pool.id)
            .order_by(t.user_import_jobs.c.created_at.desc(), t.user_import_jobs.c.job_id)
        ).all()
    chunk, token = paging.slice_after(
        list(rows), lambda r: str(r.job_id), params.get("PaginationToken"), int(params["MaxResults"]), "PaginationToken"
    )
    out: dict[str, Any] = {"UserImportJobs": [_job(ctx, r) for r in chunk]}
    if token:
        out["PaginationToken"] = token
    return out


def mark_started(conn: Connection, pool: PoolView, job_id: str, now: dt.datetime) -> Row[Any]:
    """A Created job with its file becomes Pending (its import is then ``run_job``'s); else
    PreconditionNotMetException."""
    row = _row(conn, pool, job_id)
    if _status_of(row) != "Created":
        raise PreconditionNotMetException(f"The import job is {_status_of(row)}; only a Created job can start.")
    if not import_batch.has_file(conn, row.job_id):
        raise PreconditionNotMetException("No file was uploaded to the import job's PreSignedUrl.")
    conn.execute(
        update(t.user_import_jobs)
        .where(t.user_import_jobs.c.job_id == row.job_id)
        .values(status="Pending", started_at=now)
    )
    return _row(conn, pool, row.job_id)


def spawn_job(runtime: Runtime, pool_id: str, job_id: str) -> None:
    """Run a started job's import in a process of its own (``python -m ostiary.import_job``): its work
    never holds this worker's interpreter lock. The child gets this process's settings on a pipe that
    stays open while this process lives (the child stops between chunks when it ends); a thread reaps it."""
    settings = {
        name: str(value) if isinstance(value, os.PathLike) else value
        for name, value in dataclasses.asdict(runtime.settings).items()
        if name != "config_file"  # read already: its values are among the others
    }
    order = json.dumps({"settings": settings, "pool": pool_id, "job": job_id}).encode() + b"\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # where this process found Ostiary
    child = subprocess.Popen([sys.executable, "-m", "ostiary.import_job"], stdin=subprocess.PIPE, env=env)
    assert child.stdin is not None
    child.stdin.write(order)
    child.stdin.flush()

    def reap() -> None:
        code = child.wait()
        if child.stdin is not None:
            child.stdin.close()
        if code != 0:
            log.error("user import %s: its process exited with %s", job_id, code)

    threading.Thread(target=reap, daemon=True, name=f"user-import-{job_id}").start()


# Off the event loop: starting the job's process (fork and exec) is a few milliseconds of system time.
@operation("cognito-idp", "StartUserImportJob", offload=True)
def start_user_import_job(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = mark_started(conn, pool, params["JobId"], ctx.now)
    spawn_job(ctx.runtime, pool.id, row.job_id)
    return {"UserImportJob": _job(ctx, row)}


@operation("cognito-idp", "StopUserImportJob")
def stop_user_import_job(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _row(conn, pool, params["JobId"])
        if row.status not in ("Pending", "InProgress"):
            raise PreconditionNotMetException(f"The import job is {row.status}; only a running job can stop.")
        conn.execute(
            update(t.user_import_jobs).where(t.user_import_jobs.c.job_id == row.job_id).values(status="Stopping")
        )
        row = _row(conn, pool, row.job_id)
    return {"UserImportJob": _job(ctx, row)}


# --- the import itself ---------------------------------------------------------------------------


def _status(runtime: Runtime, job_id: str) -> str:
    with runtime.store.read() as conn:
        return str(
            conn.execute(select(t.user_import_jobs.c.status).where(t.user_import_jobs.c.job_id == job_id)).scalar_one()
        )


def _finish(runtime: Runtime, job_id: str, status: str, counts: dict[str, int], message: str) -> None:
    with runtime.store.tx() as conn:
        conn.execute(
            update(t.user_import_jobs)
            .where(t.user_import_jobs.c.job_id == job_id)
            .values(status=status, completed_at=dt.datetime.now(dt.UTC), message=message[:1024], **counts)
        )
        import_batch.drop_file(conn, job_id)


def _running(job_id: str, abandoned: Callable[[], bool]) -> Callable[[Connection], bool]:
    """Whether the job goes on: read in each chunk's transaction (StopUserImportJob sets Stopping; a
    deleted pool takes its jobs with it; ``abandoned``: the worker that started the job is gone)."""

    def check(conn: Connection) -> bool:
        if abandoned():
            return False
        status = conn.execute(
            select(t.user_import_jobs.c.status).where(t.user_import_jobs.c.job_id == job_id)
        ).scalar_one_or_none()
        return status == "InProgress"

    return check


def _never() -> bool:
    return False


def run_job(runtime: Runtime, pool_id: str, job_id: str, abandoned: Callable[[], bool] = _never) -> None:
    """Import a started job's file (in the job's process, ``ostiary.import_job``, or a thread of the
    CLI: never on the event loop): rows are checked and written a chunk at a time (``import_batch``),
    the job's counts committed with each chunk, so DescribeUserImportJob shows the progress and
    StopUserImportJob takes effect between chunks. When ``abandoned()`` (the worker that started the
    job is gone), the job stops between chunks and ends Failed."""
    counts = {"imported": 0, "skipped": 0, "failed": 0}
    try:
        with runtime.store.tx() as conn:
            conn.execute(  # a job stopped while Pending stays Stopping: it stops before its first chunk
                update(t.user_import_jobs)
                .where(t.user_import_jobs.c.job_id == job_id, t.user_import_jobs.c.status == "Pending")
                .values(status="InProgress")
            )
            pool = pool_by_id(conn, pool_id)
        if pool is None:
            return
        reader = csv.reader(import_batch.file_lines(runtime.store, job_id))  # a slice of the file at a time
        header = next(reader, [])
        allowed = set(csv_header(pool))
        unknown = [c for c in header if c not in allowed]
        if "cognito:username" not in header or unknown:
            problem = f"unknown columns {unknown}" if unknown else "no cognito:username column"
            _finish(runtime, job_id, "Failed", counts, f"The CSV header does not match GetCSVHeader: {problem}.")
            return
        importer = import_batch.Importer(pool, header, job_id)
        keep_going = _running(job_id, abandoned)
        rows: list[import_batch.Row] = []
        problems: list[import_batch.Problem] = []
        whole = False  # every chunk written
        for fields in reader:
            if not fields:
                continue  # a blank line is no record
            checked = importer.prepare(reader.line_num, fields)
            if isinstance(checked, import_batch.Problem):
                problems.append(checked)
            else:
                rows.append(checked)
            if len(rows) + len(problems) >= import_batch.CHUNK_ROWS:
                if not importer.commit(runtime.store, rows, problems, keep_going):
                    break
                rows, problems = [], []
        else:
            whole = importer.commit(runtime.store, rows, problems, keep_going)
        counts = importer.counts.as_columns()
        with runtime.store.engine.begin() as conn:  # the planner's estimates of the users table (issue 13)
            statistics.after_bulk_load(conn, counts["imported"])
        status = _status(runtime, job_id)
        if status == "Stopping":
            _finish(runtime, job_id, "Stopped", counts, "The import was stopped.")
            return
        if not whole and abandoned():
            log.warning("user import %s: interrupted, its server stopped (%s)", job_id, counts)
            _finish(runtime, job_id, "Failed", counts, "The import was interrupted: the server running it stopped.")
            return
        log.info("user import %s: %s", job_id, counts)
        _finish(
            runtime,
            job_id,
            "Succeeded",
            counts,
            "The user import job has completed."
            if not counts["failed"]
            else "The user import job has completed with failures.",
        )
    except NoResultFound:
        return  # the job went with its pool
    except Exception:  # the job must end, whatever happens
        log.exception("user import %s failed", job_id)
        _finish(runtime, job_id, "Failed", counts, "The user import job failed.")


def import_errors(conn: Connection, job_id: str, limit: int | None = None) -> list[tuple[int, str | None, str]]:
    """The job's per-row lines, as AWS logs them to CloudWatch (``[FAILED] Line Number 3 - …``), by line."""
    query = (
        select(t.user_import_errors.c.line_number, t.user_import_errors.c.username, t.user_import_errors.c.message)
        .where(t.user_import_errors.c.job_id == job_id)
        .order_by(t.user_import_errors.c.line_number)
    )
    if limit is not None:
        query = query.limit(limit)
    return [(int(r.line_number), r.username, str(r.message)) for r in conn.execute(query)]
