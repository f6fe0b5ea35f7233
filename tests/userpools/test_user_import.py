"""Importing users from CSV with boto3: GetCSVHeader, CreateUserImportJob, the upload to the
job's pre-signed URL (as with S3), StartUserImportJob, DescribeUserImportJob and ListUserImportJobs;
imported users are RESET_REQUIRED and set their password with ForgotPassword."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from ostiary.store import tables as t
from ostiary.userpools import import_batch
from tests.conftest import ACCOUNT_ID, Server
from tests.userpools.conftest import make_pool, outbox_code

ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/CognitoImport"


def _csv(header: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in header})
    return out.getvalue().encode()


def _wait(idp: Any, pool_id: str, job_id: str) -> dict[str, Any]:
    # the job's process starts first (about a second of imports; many on a loaded machine)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, Any] = idp.describe_user_import_job(UserPoolId=pool_id, JobId=job_id)["UserImportJob"]
        if job["Status"] in ("Succeeded", "Failed", "Stopped"):
            return job
        time.sleep(0.2)
    raise AssertionError("the import did not finish")


def test_import_users_from_csv(dev_server: Server) -> None:
    s = make_pool(
        dev_server.client("cognito-idp"),
        {
            "Schema": [{"Name": "team", "AttributeDataType": "String", "Mutable": True}],
            "AutoVerifiedAttributes": ["email"],
        },
    )
    header = s.idp.get_csv_header(UserPoolId=s.pool_id)["CSVHeader"]
    assert header[:3] == ["name", "given_name", "family_name"]
    assert header[-3:] == ["custom:team", "cognito:mfa_enabled", "cognito:username"]
    job = s.idp.create_user_import_job(UserPoolId=s.pool_id, JobName="first", CloudWatchLogsRoleArn=ROLE)[
        "UserImportJob"
    ]
    assert job["Status"] == "Created" and job["JobId"].startswith("import-")
    with pytest.raises(ClientError) as exc:  # nothing uploaded yet
        s.idp.start_user_import_job(UserPoolId=s.pool_id, JobId=job["JobId"])
    assert exc.value.response["Error"]["Code"] == "PreconditionNotMetException"

    rows = [
        {
            "cognito:username": "vera",
            "email": "vera@example.com",
            "email_verified": "true",
            "custom:team": "red",
            "cognito:mfa_enabled": "false",
        },
        {
            "cognito:username": "walt",
            "email": "walt@example.com",
            "email_verified": "TRUE",
            "given_name": "Walt",
            "cognito:mfa_enabled": "false",
        },
        {"cognito:username": "", "email": "nobody@example.com", "cognito:mfa_enabled": "false"},  # fails
        {"cognito:username": "xena", "email_verified": "maybe", "cognito:mfa_enabled": "false"},  # fails
    ]
    # uploaded as AWS's documentation does it with curl: PUT with the KMS header
    put = httpx.put(
        job["PreSignedUrl"], content=_csv(header, rows), headers={"x-amz-server-side-encryption": "aws:kms"}
    )
    assert put.status_code == 200, put.text
    forged = httpx.put(job["PreSignedUrl"].replace("Signature=", "Signature=0"), content=b"x")
    assert forged.status_code == 403

    started = s.idp.start_user_import_job(UserPoolId=s.pool_id, JobId=job["JobId"])["UserImportJob"]
    assert started["Status"] in ("Pending", "InProgress", "Succeeded")
    done = _wait(s.idp, s.pool_id, job["JobId"])
    assert done["Status"] == "Succeeded"
    assert (done["ImportedUsers"], done["FailedUsers"], done["SkippedUsers"]) == (2, 2, 0)
    assert done["StartDate"] <= done["CompletionDate"]

    vera = s.idp.admin_get_user(UserPoolId=s.pool_id, Username="vera")
    assert vera["UserStatus"] == "RESET_REQUIRED"
    assert {"Name": "custom:team", "Value": "red"} in vera["UserAttributes"]
    # the imported user sets a password with ForgotPassword
    s.idp.forgot_password(ClientId=s.client_id, Username="vera")
    s.idp.confirm_forgot_password(
        ClientId=s.client_id,
        Username="vera",
        ConfirmationCode=outbox_code(dev_server, "vera@example.com"),
        Password="N3w-Passw0rd!x",
    )
    assert s.idp.admin_get_user(UserPoolId=s.pool_id, Username="vera")["UserStatus"] == "CONFIRMED"

    listed = s.idp.list_user_import_jobs(UserPoolId=s.pool_id, MaxResults=10)["UserImportJobs"]
    assert [j["JobId"] for j in listed] == [job["JobId"]]
    with pytest.raises(ClientError) as exc:  # a finished job does not start again
        s.idp.start_user_import_job(UserPoolId=s.pool_id, JobId=job["JobId"])
    assert exc.value.response["Error"]["Code"] == "PreconditionNotMetException"


def test_a_bad_header_fails_the_job(dev_server: Server) -> None:
    s = make_pool(dev_server.client("cognito-idp"))
    job = s.idp.create_user_import_job(UserPoolId=s.pool_id, JobName="bad", CloudWatchLogsRoleArn=ROLE)["UserImportJob"]
    httpx.put(job["PreSignedUrl"], content=b"cognito:username,shoe_size\nyuri,42\n").raise_for_status()
    s.idp.start_user_import_job(UserPoolId=s.pool_id, JobId=job["JobId"])
    done = _wait(s.idp, s.pool_id, job["JobId"])
    assert done["Status"] == "Failed" and "shoe_size" in done["CompletionMessage"]
    second = s.idp.create_user_import_job(UserPoolId=s.pool_id, JobName="two", CloudWatchLogsRoleArn=ROLE)
    page = s.idp.list_user_import_jobs(UserPoolId=s.pool_id, MaxResults=1)
    assert [j["JobId"] for j in page["UserImportJobs"]] == [second["UserImportJob"]["JobId"]]
    rest = s.idp.list_user_import_jobs(UserPoolId=s.pool_id, MaxResults=1, PaginationToken=page["PaginationToken"])
    assert [j["JobId"] for j in rest["UserImportJobs"]] == [job["JobId"]] and "PaginationToken" not in rest


# --- issue 13: chunked import, exact counts, per-row errors as AWS logs them, Stop, progress, CLI ---


def _cli(srv: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ostiary.cli",
            "users",
            *args,
            "--data-dir",
            str(srv.data_dir),
            "--database-url",
            srv.database_url,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


def _upload_and_start(s: Any, body: bytes) -> str:
    job = s.idp.create_user_import_job(UserPoolId=s.pool_id, JobName="rows", CloudWatchLogsRoleArn=ROLE)[
        "UserImportJob"
    ]
    httpx.put(job["PreSignedUrl"], content=body).raise_for_status()
    s.idp.start_user_import_job(UserPoolId=s.pool_id, JobId=job["JobId"])
    return str(job["JobId"])


def test_good_and_bad_rows_exact_counts_and_row_errors(server: Server) -> None:
    s = make_pool(
        server.client("cognito-idp"), {"AliasAttributes": ["email"], "UsernameConfiguration": {"CaseSensitive": False}}
    )
    s.idp.admin_create_user(
        UserPoolId=s.pool_id,
        Username="taken",
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "owned@example.com"}, {"Name": "email_verified", "Value": "true"}],
    )
    lines = [
        "email,email_verified,phone_number,cognito:mfa_enabled,cognito:username",
        "ok1@example.com,true,,false,ok1",  # 2 imported
        "x@example.com,true,,false,taken",  # 3 skipped: the username exists
        "y@example.com,false,,false,OK1",  # 4 skipped: the same username (not case sensitive) earlier in the file
        "OWNED@example.com,true,,false,ok2",  # 5 failed: a verified alias another user holds
        "ok1@example.com,true,,false,ok3",  # 6 failed: the alias an earlier row of the file took
        "ok1@example.com,false,,false,ok4",  # 7 imported: an unverified email is no alias
        ",,,false,",  # 8 failed: no username
        "not-an-email,false,,false,ok5",  # 9 failed
        "ok6@example.com,false,,true,ok6",  # 10 failed: MFA without a phone number
        "",  # 11 a blank line is no record
        "ok7@example.com,maybe,,false,ok7",  # 12 failed
        "ok8@example.com,TRUE,+15555550100,true,ok8",  # 13 imported, with SMS MFA
    ]
    job_id = _upload_and_start(s, ("\n".join(lines) + "\n").encode())
    done = _wait(s.idp, s.pool_id, job_id)
    assert (done["Status"], done["ImportedUsers"], done["SkippedUsers"], done["FailedUsers"]) == ("Succeeded", 3, 2, 6)
    assert done["CompletionMessage"] == "The user import job has completed with failures."
    out = _cli(server, "import-errors", "--job", job_id, "--json")
    assert out.returncode == 0, out.stderr
    errors = {e["LineNumber"]: e["Message"] for e in json.loads(out.stdout)["Errors"]}
    assert errors == {
        3: "[SKIPPED] Line Number 3 - The user already exists.",
        4: "[SKIPPED] Line Number 4 - The user already exists.",
        5: "[FAILED] Line Number 5 - An account with the given email already exists.",
        6: "[FAILED] Line Number 6 - An account with the given email already exists.",
        8: "[FAILED] Line Number 8 - cognito:username is empty",
        9: "[FAILED] Line Number 9 - Invalid email address format.",
        10: "[FAILED] Line Number 10 - cognito:mfa_enabled needs a phone_number",
        12: "[FAILED] Line Number 12 - email_verified must be true or false",
    }
    ok8 = s.idp.admin_get_user(UserPoolId=s.pool_id, Username="ok8")
    assert ok8["UserStatus"] == "RESET_REQUIRED" and ok8["PreferredMfaSetting"] == "SMS_MFA"
    assert {"Name": "email_verified", "Value": "true"} in ok8["UserAttributes"]
    ok4 = s.idp.admin_get_user(UserPoolId=s.pool_id, Username="ok4")
    assert {"Name": "email", "Value": "ok1@example.com"} in ok4["UserAttributes"]


def test_duplicates_across_chunks_are_counted_once(server: Server) -> None:
    s = make_pool(server.client("cognito-idp"))
    rows = 2500  # three chunks; the last 500 rows repeat usernames of the first chunk
    body = "cognito:username\n" + "".join(f"u{i % 2000}\n" for i in range(rows))
    done = _wait(s.idp, s.pool_id, _upload_and_start(s, body.encode()))
    assert (done["Status"], done["ImportedUsers"], done["SkippedUsers"], done["FailedUsers"]) == (
        "Succeeded",
        2000,
        500,
        0,
    )


def test_stop_mid_job_with_progress_visible(server: Server) -> None:
    s = make_pool(server.client("cognito-idp"))
    rows = 40_000
    body = "cognito:username,email\n" + "".join(f"user{i},user{i}@example.com\n" for i in range(rows))
    job_id = _upload_and_start(s, body.encode())
    deadline = time.monotonic() + 60
    while True:  # DescribeUserImportJob shows the rows imported so far while the job runs
        job = s.idp.describe_user_import_job(UserPoolId=s.pool_id, JobId=job_id)["UserImportJob"]
        if job["ImportedUsers"] > 0 or job["Status"] not in ("Pending", "InProgress"):
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["Status"] == "InProgress" and 0 < job["ImportedUsers"] < rows
    stopping = s.idp.stop_user_import_job(UserPoolId=s.pool_id, JobId=job_id)["UserImportJob"]
    assert stopping["Status"] == "Stopping"
    done = _wait(s.idp, s.pool_id, job_id)
    assert done["Status"] == "Stopped" and job["ImportedUsers"] <= done["ImportedUsers"] < rows
    assert done["FailedUsers"] == done["SkippedUsers"] == 0
    engine = sa.create_engine(server.database_url)  # every user the job counts is there, and no other
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                sa.select(sa.func.count()).select_from(t.users).where(t.users.c.user_pool_id == s.pool_id)
            ).scalar_one()
    finally:
        engine.dispose()
    assert stored == done["ImportedUsers"]
    with pytest.raises(ClientError) as exc:
        s.idp.admin_get_user(UserPoolId=s.pool_id, Username=f"user{rows - 1}")
    assert exc.value.response["Error"]["Code"] == "UserNotFoundException"


def test_cli_import(server: Server, tmp_path: Path) -> None:
    s = make_pool(server.client("cognito-idp"))
    header = s.idp.get_csv_header(UserPoolId=s.pool_id)["CSVHeader"]
    good = tmp_path / "users.csv"
    good.write_bytes(
        _csv(
            header,
            [
                {"cognito:username": "cli1", "email": "cli1@example.com", "email_verified": "true"},
                {"cognito:username": "cli2", "email": "bad", "email_verified": "true"},
                {"cognito:username": "cli1"},
            ],
        )
    )
    out = _cli(server, "import", "--pool", s.pool_id, str(good), "--json")
    assert out.returncode == 1, out.stderr  # some rows were not imported
    result = json.loads(out.stdout)
    assert (
        result["Status"],
        result["Rows"],
        result["ImportedUsers"],
        result["FailedUsers"],
        result["SkippedUsers"],
    ) == (
        "Succeeded",
        3,
        1,
        1,
        1,
    )
    assert [e["Message"] for e in result["Errors"]] == [
        "[FAILED] Line Number 3 - Invalid email address format.",
        "[SKIPPED] Line Number 4 - The user already exists.",
    ]
    # an ordinary job: the API describes it, and the user is there
    job = s.idp.describe_user_import_job(UserPoolId=s.pool_id, JobId=result["JobId"])["UserImportJob"]
    assert (job["Status"], job["ImportedUsers"], job["JobName"]) == ("Succeeded", 1, "users.csv")
    assert s.idp.admin_get_user(UserPoolId=s.pool_id, Username="cli1")["UserStatus"] == "RESET_REQUIRED"
    # the tables and the progress display
    second = tmp_path / "more.csv"
    second.write_bytes(_csv(["cognito:username"], [{"cognito:username": "cli3"}]))
    shown = _cli(server, "import", "--pool", s.pool_id, str(second))
    assert shown.returncode == 0, shown.stderr
    assert "Succeeded" in shown.stderr and "Imported" in shown.stderr
    # a header GetCSVHeader does not know is refused before any job is made
    bad = tmp_path / "bad.csv"
    bad.write_text("cognito:username,shoe_size\nzed,42\n")
    refused = _cli(server, "import", "--pool", s.pool_id, str(bad))
    assert refused.returncode == 1 and "shoe_size" in refused.stderr
    jobs = s.idp.list_user_import_jobs(UserPoolId=s.pool_id, MaxResults=10)["UserImportJobs"]
    assert len(jobs) == 2


# --- issue 13: the file in slices, the rows through store.bulk --------------------------------


def _user_row(url: str, pool_id: str, username: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(t.users).where(t.users.c.user_pool_id == pool_id, t.users.c.username == username)
            ).one()
            return dict(row._mapping)
    finally:
        engine.dispose()


def test_imported_users_get_the_columns_admin_create_user_gives(server: Server) -> None:
    """The bulk INSERT gives every derived column (sign-in keys, ListUsers' search_* keys, the defaults
    of search_username and search_sub) the value the service's own INSERT gives."""
    idp = server.client("cognito-idp")
    config = {"AliasAttributes": ["email", "preferred_username"], "UsernameConfiguration": {"CaseSensitive": False}}
    imported, created = make_pool(idp, config), make_pool(idp, config)
    values = {
        "name": "Zoë Ünal 日本",
        "given_name": "Zoë",
        "family_name": "Ü" + "x" * 299,  # longer than the search key: cut to 256
        "email": "Mixed.Case@Example.com",
        "email_verified": "true",
        "phone_number": "+15555550123",
        "preferred_username": "ZoeU",
    }
    header = [*values, "cognito:mfa_enabled", "cognito:username"]
    done = _wait(
        imported.idp,
        imported.pool_id,
        _upload_and_start(
            imported, _csv(header, [{**values, "cognito:mfa_enabled": "false", "cognito:username": "Ünal.Zoë"}])
        ),
    )
    assert (done["Status"], done["ImportedUsers"]) == ("Succeeded", 1)
    idp.admin_create_user(
        UserPoolId=created.pool_id,
        Username="Ünal.Zoë",
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": k, "Value": v} for k, v in values.items()],
    )
    a = _user_row(server.database_url, imported.pool_id, "Ünal.Zoë")
    b = _user_row(server.database_url, created.pool_id, "Ünal.Zoë")
    assert a["search_sub"] == a["id"] and b["search_sub"] == b["id"]
    assert a["search_username"] == "ünal.zoë" and len(a["search_family_name"]) == 256
    same = ("username", "username_key", "enabled", "attributes", "mfa", "search_username", "pending_attributes")
    derived = [c.name for c in t.users.c if c.name.endswith("_key") or c.name.startswith("search_")]
    for column in (*same, *derived):
        if column != "search_sub":
            assert a[column] == b[column], column
    assert a["created_at"] == a["updated_at"] and a["password_hash"] is None and a["status"] == "RESET_REQUIRED"
    # and ListUsers finds the imported user through those keys
    for flt in ('email = "Mixed.Case@Example.com"', 'family_name ^= "Üxx"', 'username = "ÜNAL.ZOË"', 'name ^= "Zoë"'):
        found = idp.list_users(UserPoolId=imported.pool_id, Filter=flt)["Users"]
        assert [u["Username"] for u in found] == ["Ünal.Zoë"], flt


def test_a_file_of_several_slices(server: Server) -> None:
    """A file larger than a slice, a multi-byte character cut by the slice's end, a quoted value over two
    lines: the same rows, line numbers and counts as one text would give; the slices go with the job."""
    s = make_pool(server.client("cognito-idp"))
    rows = ["given_name,email,cognito:mfa_enabled,cognito:username", '"two\nlines",two@example.com,false,two']
    i = 0
    while sum(len(r.encode()) + 1 for r in rows) < import_batch.SLICE_BYTES + 4096:
        rows.append(f"日本語{i},u{i}@example.com,false,u{i}")
        i += 1
    rows.append("After,not-an-email,false,late")  # failed, past the first slice
    rows.append("After,u0@example.com,false,u0")  # skipped
    body = ("\n".join(rows) + "\n").encode()
    pad = 0
    while body[import_batch.SLICE_BYTES] & 0xC0 != 0x80:  # the slice's last byte cuts a character
        pad += 1
        body = ("\n".join([rows[0], rows[1].replace("two@", "t" * pad + "two@"), *rows[2:]]) + "\n").encode()
    job_id = _upload_and_start(s, body)
    done = _wait(s.idp, s.pool_id, job_id)
    assert (done["Status"], done["ImportedUsers"], done["FailedUsers"], done["SkippedUsers"]) == (
        "Succeeded",
        i + 1,
        1,
        1,
    )
    out = _cli(server, "import-errors", "--job", job_id, "--json")
    lines = len(rows) + 1  # the quoted value's second line
    assert [e["Message"] for e in json.loads(out.stdout)["Errors"]] == [
        f"[FAILED] Line Number {lines - 1} - Invalid email address format.",
        f"[SKIPPED] Line Number {lines} - The user already exists.",
    ]
    last = s.idp.admin_get_user(UserPoolId=s.pool_id, Username=f"u{i - 1}")
    assert {"Name": "given_name", "Value": f"日本語{i - 1}"} in last["UserAttributes"]
    first = s.idp.admin_get_user(UserPoolId=s.pool_id, Username="two")
    assert {"Name": "given_name", "Value": "two\nlines"} in first["UserAttributes"]
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            left = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.user_import_slices)
                .where(t.user_import_slices.c.job_id == job_id)
            ).scalar_one()
    finally:
        engine.dispose()
    assert left == 0
    assert httpx.put(_presigned(s, "bad"), content="x,\xff".encode("latin-1")).status_code == 400


def _presigned(s: Any, name: str) -> str:
    job = s.idp.create_user_import_job(UserPoolId=s.pool_id, JobName=name, CloudWatchLogsRoleArn=ROLE)
    return str(job["UserImportJob"]["PreSignedUrl"])


def _children(pid: int) -> list[tuple[int, str]]:
    """The processes whose parent is ``pid``: (pid, command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append((int(entry.name), command))
    return found


def test_the_job_runs_in_its_own_process_which_stops_with_its_server(server_factory: Any) -> None:
    """StartUserImportJob imports in a child process of the worker (the import's Python work never holds
    the worker's interpreter lock); when the server stops, the job stops after its chunk and ends Failed,
    with every user it counts stored."""
    srv: Server = server_factory()
    s = make_pool(srv.client("cognito-idp"))
    rows = 100_000
    body = "cognito:username,email\n" + "".join(f"user{i},user{i}@example.com\n" for i in range(rows))
    job_id = _upload_and_start(s, body.encode())
    deadline = time.monotonic() + 60
    while s.idp.describe_user_import_job(UserPoolId=s.pool_id, JobId=job_id)["UserImportJob"]["ImportedUsers"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert srv.proc is not None
    jobs = [pid for pid, command in _children(srv.proc.pid) if "ostiary.import_job" in command]
    assert len(jobs) == 1
    srv.stop()
    engine = sa.create_engine(srv.database_url)
    try:
        deadline = time.monotonic() + 60
        while True:
            with engine.connect() as conn:
                job = conn.execute(sa.select(t.user_import_jobs).where(t.user_import_jobs.c.job_id == job_id)).one()
                stored = conn.execute(
                    sa.select(sa.func.count()).select_from(t.users).where(t.users.c.user_pool_id == s.pool_id)
                ).scalar_one()
            if job.status != "InProgress":
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        engine.dispose()
    assert job.status == "Failed" and "interrupted" in job.message
    assert 0 < job.imported == stored < rows


def test_a_job_process_sent_sigterm_stops_after_its_chunk(server: Server) -> None:
    """SIGTERM to the job's process (a server stopped as a process group, as systemd does) stops the job
    between chunks: it ends Failed with every user it counts stored, and the server goes on."""
    s = make_pool(server.client("cognito-idp"))
    rows = 100_000
    body = "cognito:username,email\n" + "".join(f"user{i},user{i}@example.com\n" for i in range(rows))
    job_id = _upload_and_start(s, body.encode())
    deadline = time.monotonic() + 120
    while s.idp.describe_user_import_job(UserPoolId=s.pool_id, JobId=job_id)["UserImportJob"]["ImportedUsers"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert server.proc is not None
    jobs = [pid for pid, command in _children(server.proc.pid) if "ostiary.import_job" in command]
    assert len(jobs) == 1
    os.kill(jobs[0], signal.SIGTERM)
    done = _wait(s.idp, s.pool_id, job_id)
    assert done["Status"] == "Failed" and "interrupted" in done["CompletionMessage"]
    listed = s.idp.list_users(UserPoolId=s.pool_id, Limit=1)  # the server is still there
    assert len(listed["Users"]) == 1
    assert 0 < done["ImportedUsers"] < rows
