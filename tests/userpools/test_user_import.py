"""Importing users from CSV with boto3: GetCSVHeader, CreateUserImportJob, the upload to the
job's pre-signed URL (as with S3), StartUserImportJob, DescribeUserImportJob and ListUserImportJobs;
imported users are RESET_REQUIRED and set their password with ForgotPassword."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

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
    deadline = time.monotonic() + 30
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
