"""Importing users from a CSV file: GetCSVHeader, CreateUserImportJob, StartUserImportJob,
StopUserImportJob, DescribeUserImportJob, ListUserImportJobs (Cognito Developer Guide, "Importing
users into a user pool").

CreateUserImportJob answers a ``PreSignedUrl`` on Ostiary itself (``PUT /_ostiary/import/<jobId>``,
valid for a day, authorized by an HMAC in its query string) where the CSV is uploaded as with S3's
pre-signed URLs (``curl -T users.csv -H 'x-amz-server-side-encryption:aws:kms' "$URL"``).
StartUserImportJob imports it in the background: each row becomes a user in ``RESET_REQUIRED`` (no
password; the user sets one with ForgotPassword), or is counted as failed (bad values, a username or
alias already taken) without stopping the others. ``CloudWatchLogsRoleArn`` is required, as by AWS,
and stored; Ostiary writes the import's problems to its own log, not to CloudWatch.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import logging
import secrets
import threading
import time
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import Row

from ostiary.protocol.context import RequestContext, Runtime
from ostiary.protocol.errors import ServiceError
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import attributes as attrs
from ostiary.userpools import directory, paging
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import (
    InvalidParameterException,
    PreconditionNotMetException,
    ResourceNotFoundException,
)
from ostiary.userpools.lookup import pool_by_id, pool_for_caller
from ostiary.userpools.users import claim_aliases, resolve_new_username

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


def store_upload(runtime: Runtime, job_id: str, text: str) -> bool:
    """Keep an uploaded CSV for its job; False when no job is waiting for a file under that id."""
    with runtime.store.tx() as conn:
        done = conn.execute(
            update(t.user_import_jobs)
            .where(t.user_import_jobs.c.job_id == job_id, t.user_import_jobs.c.status == "Created")
            .values(csv=text)
        ).rowcount
    return bool(done)


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


@operation("cognito-idp", "CreateUserImportJob")
def create_user_import_job(ctx: RequestContext, params: Params) -> Result:
    if params.get("PasswordHashingAlgorithm"):
        raise InvalidParameterException("Ostiary does not import password hashes (PasswordHashingAlgorithm).")
    job_id = "import-" + secrets.token_hex(5)
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        conn.execute(
            insert(t.user_import_jobs).values(
                job_id=job_id,
                user_pool_id=pool.id,
                name=params["JobName"],
                status="Created",
                cloudwatch_logs_role_arn=params["CloudWatchLogsRoleArn"],
                imported=0,
                skipped=0,
                failed=0,
                created_at=ctx.now,
            )
        )
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


@operation("cognito-idp", "StartUserImportJob")
def start_user_import_job(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _row(conn, pool, params["JobId"])
        if _status_of(row) != "Created":
            raise PreconditionNotMetException(f"The import job is {_status_of(row)}; only a Created job can start.")
        if row.csv is None:
            raise PreconditionNotMetException("No file was uploaded to the import job's PreSignedUrl.")
        conn.execute(
            update(t.user_import_jobs)
            .where(t.user_import_jobs.c.job_id == row.job_id)
            .values(status="Pending", started_at=ctx.now)
        )
        row = _row(conn, pool, row.job_id)
    threading.Thread(target=_run, args=(ctx.runtime, pool.id, row.job_id), daemon=True, name="user-import").start()
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
            .values(status=status, completed_at=dt.datetime.now(dt.UTC), message=message[:1024], csv=None, **counts)
        )


def _run(runtime: Runtime, pool_id: str, job_id: str) -> None:
    counts = {"imported": 0, "skipped": 0, "failed": 0}
    try:
        with runtime.store.tx() as conn:
            text = conn.execute(
                select(t.user_import_jobs.c.csv).where(t.user_import_jobs.c.job_id == job_id)
            ).scalar_one()
            conn.execute(
                update(t.user_import_jobs).where(t.user_import_jobs.c.job_id == job_id).values(status="InProgress")
            )
            pool = pool_by_id(conn, pool_id)
        if pool is None:
            return
        reader = csv.DictReader(io.StringIO(text or ""))
        header = reader.fieldnames or []
        allowed = set(csv_header(pool))
        unknown = [c for c in header if c not in allowed]
        if "cognito:username" not in header or unknown:
            problem = f"unknown columns {unknown}" if unknown else "no cognito:username column"
            _finish(runtime, job_id, "Failed", counts, f"The CSV header does not match GetCSVHeader: {problem}.")
            return
        for number, record in enumerate(reader, start=2):
            if number % 50 == 0 and _status(runtime, job_id) == "Stopping":
                _finish(runtime, job_id, "Stopped", counts, "The import was stopped.")
                return
            try:
                _import_row(runtime, pool, record)
                counts["imported"] += 1
            except (ServiceError, ValueError) as err:
                counts["failed"] += 1
                message = err.message if isinstance(err, ServiceError) else str(err)
                log.warning("user import %s: line %d failed: %s", job_id, number, message)
            if number % 100 == 0:
                with runtime.store.tx() as conn:
                    conn.execute(
                        update(t.user_import_jobs).where(t.user_import_jobs.c.job_id == job_id).values(**counts)
                    )
        if _status(runtime, job_id) == "Stopping":
            _finish(runtime, job_id, "Stopped", counts, "The import was stopped.")
            return
        _finish(
            runtime,
            job_id,
            "Succeeded",
            counts,
            "The user import job has completed."
            if not counts["failed"]
            else "The user import job has completed with failures; see the server log.",
        )
    except Exception:  # the job must end, whatever happens
        log.exception("user import %s failed", job_id)
        _finish(runtime, job_id, "Failed", counts, "The user import job failed.")


def _import_row(runtime: Runtime, pool: PoolView, record: dict[str, str]) -> None:
    username = (record.get("cognito:username") or "").strip()
    if not username:
        raise ValueError("cognito:username is empty")
    values = {k: v for k, v in record.items() if k and v not in (None, "") and not k.startswith("cognito:")}
    for flag in ("email_verified", "phone_number_verified"):
        if flag in values:
            values[flag] = values[flag].strip().lower()
            if values[flag] not in ("true", "false"):
                raise ValueError(f"{flag} must be true or false")
    values = attrs.normalize(values)
    username = resolve_new_username(pool, username, values)
    attrs.check_values(pool, values, admin=True, creating=True)
    mfa_enabled = (record.get("cognito:mfa_enabled") or "false").strip().lower() == "true"
    if mfa_enabled and not values.get("phone_number"):
        raise ValueError("cognito:mfa_enabled needs a phone_number")
    now = dt.datetime.now(dt.UTC)
    with runtime.store.tx() as conn:
        if directory.find(conn, pool, username, by_alias=False) is not None:
            raise ValueError(f"the username {username} is taken")
        claim_aliases(conn, pool, values, None, False, now)
        user = directory.insert_user(conn, pool, username=username, status="RESET_REQUIRED", attributes=values, now=now)
        if mfa_enabled:
            directory.set_fields(
                conn, user, now, mfa={"UserMFASettingList": ["SMS_MFA"], "PreferredMfaSetting": "SMS_MFA"}
            )
