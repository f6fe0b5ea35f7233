"""IAM credential reports (IAM API Reference): GenerateCredentialReport, GetCredentialReport.

The report is the CSV of the IAM User Guide ("Getting credential reports for your AWS account"):
one row for the account root (``<root_account>``) and one per IAM user, by name, with its
password, MFA, access keys and signing certificates. Values are written as IAM writes them:
``true``/``false``; ``N/A`` where there is nothing to report (no password, no key, a key never
used); ``not_supported`` for the root's password fields; ``no_information`` for a password never
used to sign in (Ostiary has no console, so an existing password is never "used"); times in ISO
8601 with ``+00:00``.

GenerateCredentialReport builds the report at once and keeps it (``iam_credential_reports``, one row
per account): it answers ``STARTED`` when it made a new one and ``COMPLETE`` while the kept report
is younger than four hours (IAM generates at most one report every four hours). GetCredentialReport
returns the kept report unchanged; before any generation it is ReportNotPresent, once four hours
old ReportExpired (both 410, without a message, as AWS answers them).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from ostiary.iam.account_settings import password_policy
from ostiary.iam.entities import user_arn
from ostiary.iam.errors import CredentialReportExpiredException, CredentialReportNotPresentException
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

LIFETIME = dt.timedelta(hours=4)
STARTED_DESCRIPTION = "No report exists. Starting a new report generation task"
ROOT = "<root_account>"
COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)
NA = "N/A"
_R = t.iam_credential_reports.c


def _resource(ctx: RequestContext, params: Params) -> str:
    return "*"  # these actions name no resource (Service Authorization Reference, IAM)


def _time(value: dt.datetime) -> str:
    return utc(value).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _keys(rows: list[Any]) -> list[str]:
    """The access-key columns for a principal's keys (oldest first; at most two)."""
    out: list[str] = []
    for n in range(2):
        if n < len(rows):
            k = rows[n]
            used = k.last_used_at is not None
            out += [
                _bool(k.status == "Active"),
                _time(k.created_at),
                _time(k.last_used_at) if used else NA,
                (k.last_used_region or NA) if used else NA,
                (k.last_used_service or NA) if used else NA,
            ]
        else:
            out += ["false", NA, NA, NA, NA]
    return out


def _certificates(rows: list[Any]) -> list[str]:
    out: list[str] = []
    for n in range(2):
        if n < len(rows):
            out += [_bool(rows[n].status == "Active"), _time(rows[n].uploaded_at)]
        else:
            out += ["false", NA]
    return out


def build(conn: Connection, account: str) -> str:
    """The account's credential report as IAM writes it (rows separated by newlines, no newline at
    the end)."""
    k = t.access_keys.c
    keys: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in conn.execute(
        select(t.access_keys).where(k.account_id == account).order_by(k.created_at, k.access_key_id)
    ).all():
        keys[(r.principal_type, r.principal_name)].append(r)
    c = t.iam_signing_certificates.c
    certs: dict[str | None, list[Any]] = defaultdict(list)
    for r in conn.execute(
        select(t.iam_signing_certificates).where(c.account_id == account).order_by(c.uploaded_at, c.certificate_id)
    ).all():
        certs[r.user_key].append(r)
    m = t.iam_mfa_devices.c
    with_mfa = {
        r.user_key
        for r in conn.execute(select(m.user_key).where(m.account_id == account, m.user_key.is_not(None))).all()
    }
    lp = t.iam_login_profiles.c
    profiles = {r.user_key: r for r in conn.execute(select(t.iam_login_profiles).where(lp.account_id == account))}
    policy = password_policy(conn, account) or {}
    max_age = int(policy.get("MaxPasswordAge") or 0)
    created = conn.execute(select(t.accounts.c.created_at).where(t.accounts.c.id == account)).scalar_one()

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow(
        [
            ROOT,
            f"arn:aws:iam::{account}:root",
            _time(created),
            "not_supported",
            "no_information",
            "not_supported",
            "not_supported",
            "false",  # the root has no MFA device in Ostiary
            *_keys(keys[("root", "root")]),
            *_certificates(certs[None]),
        ]
    )
    u = t.iam_users.c
    for user in conn.execute(select(t.iam_users).where(u.account_id == account).order_by(u.name_key)).all():
        profile = profiles.get(user.name_key)
        if profile is None:
            password = ["false", NA, NA, NA]
        else:
            changed = utc(profile.password_changed_at or profile.created_at)
            rotation = _time(changed + dt.timedelta(days=max_age)) if max_age else NA
            password = ["true", "no_information", _time(changed), rotation]
        writer.writerow(
            [
                user.name,
                user_arn(account, user.path, user.name),
                _time(user.created_at),
                *password,
                _bool(user.name_key in with_mfa),
                *_keys(keys[("user", user.name)]),
                *_certificates(certs[user.name_key]),
            ]
        )
    return out.getvalue().removesuffix("\n")


@operation("iam", "GenerateCredentialReport", resource=_resource)
def generate_credential_report(ctx: RequestContext, params: Params) -> Result:
    try:
        with ctx.store.tx() as conn:
            row = conn.execute(select(_R.generated_at).where(_R.account_id == ctx.account_id).with_for_update()).first()
            if row is not None and ctx.now - utc(row.generated_at) < LIFETIME:
                return {"State": "COMPLETE"}
            content = build(conn, ctx.account_id)
            if row is None:
                conn.execute(
                    insert(t.iam_credential_reports).values(
                        account_id=ctx.account_id, content=content, generated_at=ctx.now
                    )
                )
            else:
                conn.execute(
                    update(t.iam_credential_reports)
                    .where(_R.account_id == ctx.account_id)
                    .values(content=content, generated_at=ctx.now)
                )
    except IntegrityError:  # a concurrent call generated the account's first report
        return {"State": "COMPLETE"}
    return {"State": "STARTED", "Description": STARTED_DESCRIPTION}


@operation("iam", "GetCredentialReport", resource=_resource)
def get_credential_report(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = conn.execute(select(t.iam_credential_reports).where(_R.account_id == ctx.account_id)).first()
    if row is None:
        raise CredentialReportNotPresentException()
    generated = utc(row.generated_at)
    if ctx.now - generated >= LIFETIME:
        raise CredentialReportExpiredException()
    return {"Content": row.content.encode(), "ReportFormat": "text/csv", "GeneratedTime": generated}
