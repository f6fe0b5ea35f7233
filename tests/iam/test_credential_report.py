"""GenerateCredentialReport and GetCredentialReport through boto3: the CSV report of the account's
users and their credentials, in the columns and values of the IAM User Guide ("Getting credential
reports for your AWS account"): the <root_account> row first, true/false, N/A, not_supported,
no_information, ISO 8601 times with +00:00. Generation answers STARTED (with "No report exists.
Starting a new report generation task"), then COMPLETE while the report is fresh; GetCredentialReport
before any generation is ReportNotPresent (410), after four hours ReportExpired (410)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import ACCOUNT_ID, Server, make_client
from tests.iam.test_certificates import _cert
from tests.iam.test_mfa import _enabled_device

COLUMNS = [
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
]
STARTED = {"State": "STARTED", "Description": "No report exists. Starting a new report generation task"}


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def _time(value: str) -> dt.datetime:
    assert value.endswith("+00:00") and "." not in value, value  # 2014-09-01T22:28:48+00:00
    return dt.datetime.fromisoformat(value)


def _report(iam: Any) -> tuple[dict[str, Any], list[str], list[dict[str, str]]]:
    got = iam.get_credential_report()
    text = got["Content"].decode()
    assert not text.endswith("\n")  # rows separated by newlines, none after the last
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return got, list(reader.fieldnames or []), rows


def _wait_for_use(iam: Any, akid: str) -> None:
    """Until the key's last use is recorded (a background write, access/access_keys.py)."""
    deadline = time.monotonic() + 30
    while "LastUsedDate" not in iam.get_access_key_last_used(AccessKeyId=akid)["AccessKeyLastUsed"]:
        assert time.monotonic() < deadline, "the use of the key was never recorded"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def srv(server_factory: Any) -> Server:
    s: Server = server_factory()
    return s


def test_report_is_not_present_before_generation(srv: Server) -> None:
    iam = srv.client("iam")
    with pytest.raises(ClientError) as exc:
        iam.get_credential_report()
    assert _err(exc) == ("ReportNotPresent", 410)
    assert "Message" not in exc.value.response["Error"]  # AWS sends no message (recorded response)


def test_report_rows_columns_and_values(srv: Server) -> None:
    iam = srv.client("iam")
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    iam.update_account_password_policy(MinimumPasswordLength=8, MaxPasswordAge=30)
    # a user with a password, two keys (the first inactive, the second used) and a signing certificate
    iam.create_user(UserName="report-alice")
    iam.create_login_profile(UserName="report-alice", Password="Corr3ct-Horse!")
    first = iam.create_access_key(UserName="report-alice")["AccessKey"]
    iam.update_access_key(UserName="report-alice", AccessKeyId=first["AccessKeyId"], Status="Inactive")
    iam.put_user_policy(
        UserName="report-alice",
        PolicyName="iam-read",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]}
        ),
    )
    second = iam.create_access_key(UserName="report-alice")["AccessKey"]
    make_client(
        srv.url,
        "iam",
        region_name="eu-west-1",
        aws_access_key_id=second["AccessKeyId"],
        aws_secret_access_key=second["SecretAccessKey"],
    ).get_user()
    cert = _cert(ec.generate_private_key(ec.SECP256R1()), "report-alice")
    iam.upload_signing_certificate(UserName="report-alice", CertificateBody=cert)
    # a user with nothing
    iam.create_user(UserName="report-bob")

    _wait_for_use(iam, second["AccessKeyId"])
    _, _, mfa_step = _enabled_device(srv, "report-alice", "report-alice-mfa")
    started = iam.generate_credential_report()
    assert {k: v for k, v in started.items() if k != "ResponseMetadata"} == STARTED
    generated = iam.generate_credential_report()
    assert {k: v for k, v in generated.items() if k != "ResponseMetadata"} == {"State": "COMPLETE"}

    got, columns, rows = _report(iam)
    assert got["ReportFormat"] == "text/csv" and isinstance(got["GeneratedTime"], dt.datetime)
    assert columns == COLUMNS
    assert [r["user"] for r in rows] == ["<root_account>", "report-alice", "report-bob"]
    root, alice, bob = rows

    assert root["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    _time(root["user_creation_time"])
    assert (root["password_enabled"], root["password_last_changed"], root["password_next_rotation"]) == (
        "not_supported",
        "not_supported",
        "not_supported",
    )
    assert root["password_last_used"] == "no_information"
    assert root["mfa_active"] == "false"
    assert root["access_key_1_active"] == "true" and _time(root["access_key_1_last_rotated"])
    assert root["access_key_2_active"] == "false" and root["access_key_2_last_rotated"] == "N/A"
    assert (root["cert_1_active"], root["cert_1_last_rotated"]) == ("false", "N/A")

    assert alice["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/report-alice"
    created = _time(alice["user_creation_time"])
    assert created >= before - dt.timedelta(seconds=1)
    assert alice["password_enabled"] == "true" and alice["password_last_used"] == "no_information"
    changed = _time(alice["password_last_changed"])
    assert _time(alice["password_next_rotation"]) == changed + dt.timedelta(days=30)
    assert alice["mfa_active"] == "true" and mfa_step
    assert alice["access_key_1_active"] == "false"  # inactive, still reported with its creation time
    assert _time(alice["access_key_1_last_rotated"]) >= created
    assert (
        alice["access_key_1_last_used_date"],
        alice["access_key_1_last_used_region"],
        alice["access_key_1_last_used_service"],
    ) == ("N/A", "N/A", "N/A")
    assert alice["access_key_2_active"] == "true"
    assert _time(alice["access_key_2_last_rotated"]) >= _time(alice["access_key_1_last_rotated"])
    assert (alice["access_key_2_last_used_region"], alice["access_key_2_last_used_service"]) == ("eu-west-1", "iam")
    assert _time(alice["access_key_2_last_used_date"]) >= created
    assert alice["cert_1_active"] == "true" and _time(alice["cert_1_last_rotated"]) >= created
    assert (alice["cert_2_active"], alice["cert_2_last_rotated"]) == ("false", "N/A")

    assert {k: v for k, v in bob.items() if k not in ("user", "arn", "user_creation_time")} == {
        "password_enabled": "false",
        "password_last_used": "N/A",
        "password_last_changed": "N/A",
        "password_next_rotation": "N/A",
        "mfa_active": "false",
        **{f"access_key_{n}_{c}": "N/A" for n in (1, 2) for c in ("last_rotated", "last_used_date")},
        **{f"access_key_{n}_{c}": "N/A" for n in (1, 2) for c in ("last_used_region", "last_used_service")},
        "access_key_1_active": "false",
        "access_key_2_active": "false",
        "cert_1_active": "false",
        "cert_1_last_rotated": "N/A",
        "cert_2_active": "false",
        "cert_2_last_rotated": "N/A",
    }

    # the report is the one generated: a user created since does not appear until the next one
    iam.create_user(UserName="report-carol")
    assert [r["user"] for r in _report(iam)[2]] == ["<root_account>", "report-alice", "report-bob"]


def test_old_reports_expire_and_are_generated_again(srv: Server) -> None:
    iam = srv.client("iam")
    iam.generate_credential_report()
    iam.create_user(UserName="report-dave")  # not in the report until it is generated again
    engine = sa.create_engine(srv.database_url)
    try:
        with engine.begin() as conn:  # the report was generated five hours ago
            conn.execute(
                sa.text("UPDATE iam_credential_reports SET generated_at = :t WHERE account_id = :a"),
                {"t": dt.datetime.now(dt.UTC) - dt.timedelta(hours=5), "a": ACCOUNT_ID},
            )
    finally:
        engine.dispose()
    with pytest.raises(ClientError) as exc:
        iam.get_credential_report()
    assert _err(exc) == ("ReportExpired", 410)
    started = iam.generate_credential_report()
    assert {k: v for k, v in started.items() if k != "ResponseMetadata"} == STARTED
    users = [r["user"] for r in _report(iam)[2]]
    assert users[0] == "<root_account>" and "report-dave" in users
    generated = iam.generate_credential_report()
    assert {k: v for k, v in generated.items() if k != "ResponseMetadata"} == {"State": "COMPLETE"}


def test_report_needs_permission(srv: Server) -> None:
    iam = srv.client("iam")
    iam.create_user(UserName="report-nobody")
    key = iam.create_access_key(UserName="report-nobody")["AccessKey"]
    nobody = make_client(
        srv.url, "iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    for call in (nobody.generate_credential_report, nobody.get_credential_report):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc) == ("AccessDenied", 403)
