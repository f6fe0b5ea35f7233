"""Log delivery (issue 16): SetLogDeliveryConfiguration / GetLogDeliveryConfiguration through boto3,
and the records delivered, in AWS's shapes, to the destinations the operator mapped: a JSON-lines
file, the server's stdout and an HTTP receiver on loopback (userAuthEvents), and a failed email
(userNotification)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, REGION
from tests.userpools.conftest import PoolSetup, make_pool
from tests.userpools.risk.conftest import (
    BUCKET,
    FIREHOSE,
    LOG_GROUP,
    LOG_GROUP_STDOUT,
    UNMAPPED,
    RiskServer,
)

PASSWORD = "mQ7#vL2!pX9$kR4"


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


@contextlib.contextmanager
def _pool(idp: Any, mode: str = "AUDIT", tier: str = "PLUS", **more: Any) -> Iterator[PoolSetup]:
    s = make_pool(idp, {"UserPoolAddOns": {"AdvancedSecurityMode": mode}, "UserPoolTier": tier, **more})
    try:
        yield s
    finally:
        with contextlib.suppress(Exception):
            idp.delete_user_pool(UserPoolId=s.pool_id)


def _auth_events(arn: str, kind: str = "CloudWatchLogsConfiguration") -> dict[str, Any]:
    member = {"CloudWatchLogsConfiguration": "LogGroupArn", "S3Configuration": "BucketArn"}.get(kind, "StreamArn")
    return {"EventSource": "userAuthEvents", "LogLevel": "INFO", kind: {member: arn}}


def _wait_for(found: Callable[[], list[dict[str, Any]]], what: str, timeout: float = 15) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = found()
        if records:
            return records
        time.sleep(0.05)
    raise AssertionError(f"no {what} delivered within {timeout} s")


def _file_records(risk_server: RiskServer) -> list[dict[str, Any]]:
    if not risk_server.log_file.exists():
        return []
    return [json.loads(line) for line in risk_server.log_file.read_text().splitlines() if line.strip()]


def _stdout_records(risk_server: RiskServer) -> list[dict[str, Any]]:
    assert risk_server.server.log_path is not None
    out = []
    for line in risk_server.server.log_path.read_text().splitlines():
        if line.startswith('{"event') or '"logSourceId"' in line:
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if "logSourceId" in record:
                    out.append(record)
    return out


def test_configuration_round_trip_and_refusals(risk_server: RiskServer, idp: Any) -> None:
    ridp = risk_server.idp
    with _pool(ridp) as s:
        empty = ridp.get_log_delivery_configuration(UserPoolId=s.pool_id)["LogDeliveryConfiguration"]
        assert empty == {"UserPoolId": s.pool_id, "LogConfigurations": []}
        both = [
            {
                "EventSource": "userNotification",
                "LogLevel": "ERROR",
                "CloudWatchLogsConfiguration": {"LogGroupArn": LOG_GROUP},
            },
            _auth_events(FIREHOSE, "FirehoseConfiguration"),
        ]
        out = ridp.set_log_delivery_configuration(UserPoolId=s.pool_id, LogConfigurations=both)
        assert out["LogDeliveryConfiguration"] == {"UserPoolId": s.pool_id, "LogConfigurations": both}
        got = ridp.get_log_delivery_configuration(UserPoolId=s.pool_id)["LogDeliveryConfiguration"]
        assert got["LogConfigurations"] == both
        refused = [
            # an ARN the operator did not map: Ostiary cannot deliver there
            ([_auth_events(UNMAPPED)], "InvalidParameterException"),
            # userNotification: ERROR, to a log group only
            (
                [
                    {
                        "EventSource": "userNotification",
                        "LogLevel": "INFO",
                        "CloudWatchLogsConfiguration": {"LogGroupArn": LOG_GROUP},
                    }
                ],
                "InvalidParameterException",
            ),
            (
                [{"EventSource": "userNotification", "LogLevel": "ERROR", "S3Configuration": {"BucketArn": BUCKET}}],
                "InvalidParameterException",
            ),
            # no destination, two destinations, a repeated source
            ([{"EventSource": "userAuthEvents", "LogLevel": "INFO"}], "InvalidParameterException"),
            ([{**_auth_events(LOG_GROUP), "S3Configuration": {"BucketArn": BUCKET}}], "InvalidParameterException"),
            ([_auth_events(LOG_GROUP), _auth_events(LOG_GROUP_STDOUT)], "InvalidParameterException"),
            # the ARN's service must be the destination's; another account's log group is refused
            ([_auth_events(FIREHOSE)], "InvalidParameterException"),
            ([_auth_events(f"arn:aws:logs:{REGION}:210987654321:log-group:/other")], "InvalidParameterException"),
        ]
        for configurations, code in refused:
            with pytest.raises(ClientError) as exc:
                ridp.set_log_delivery_configuration(UserPoolId=s.pool_id, LogConfigurations=configurations)
            assert _err(exc)[0] == code, configurations
        # the refusals changed nothing; an empty list removes the configuration
        assert (
            ridp.get_log_delivery_configuration(UserPoolId=s.pool_id)["LogDeliveryConfiguration"]["LogConfigurations"]
            == both
        )
        ridp.set_log_delivery_configuration(UserPoolId=s.pool_id, LogConfigurations=[])
        assert (
            ridp.get_log_delivery_configuration(UserPoolId=s.pool_id)["LogDeliveryConfiguration"]["LogConfigurations"]
            == []
        )
    with _pool(ridp, tier="ESSENTIALS") as s:  # user-activity logs are threat protection's (PLUS)
        with pytest.raises(ClientError) as exc:
            ridp.set_log_delivery_configuration(UserPoolId=s.pool_id, LogConfigurations=[_auth_events(LOG_GROUP)])
        assert _err(exc)[0] == "FeatureUnavailableInTierException"
    # another account's pool is not found; the default server maps no destination at all
    with _pool(idp) as s:
        with pytest.raises(ClientError) as exc:
            idp.set_log_delivery_configuration(UserPoolId=s.pool_id, LogConfigurations=[_auth_events(LOG_GROUP)])
        assert _err(exc)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        ridp.get_log_delivery_configuration(UserPoolId=f"{REGION}_doesNotExist")
    assert _err(exc)[0] == "ResourceNotFoundException"


def test_user_activity_records_reach_file_stdout_and_http(risk_server: RiskServer) -> None:
    ridp = risk_server.idp
    with _pool(ridp) as s, _pool(ridp) as quiet:
        ridp.set_log_delivery_configuration(
            UserPoolId=s.pool_id,
            LogConfigurations=[_auth_events(FIREHOSE, "FirehoseConfiguration")],
        )
        ridp.set_log_delivery_configuration(UserPoolId=quiet.pool_id, LogConfigurations=[_auth_events(LOG_GROUP)])
        ridp.set_log_delivery_configuration(UserPoolId=quiet.pool_id, LogConfigurations=[])  # exports nothing
        for setup in (s, quiet):
            ridp.admin_create_user(UserPoolId=setup.pool_id, Username="lena", MessageAction="SUPPRESS")
            ridp.admin_set_user_password(UserPoolId=setup.pool_id, Username="lena", Password=PASSWORD, Permanent=True)
            ridp.initiate_auth(
                ClientId=setup.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": "lena", "PASSWORD": PASSWORD},
            )
            with pytest.raises(ClientError):
                ridp.initiate_auth(
                    ClientId=setup.client_id,
                    AuthFlow="USER_PASSWORD_AUTH",
                    AuthParameters={"USERNAME": "lena", "PASSWORD": "wrong-password"},
                )

        def mine(records: list[dict[str, Any]], pool_id: str) -> list[dict[str, Any]]:
            return [
                r
                for r in records
                if r["logSourceId"]["userPoolId"] == pool_id and r["message"]["eventType"] == "SignIn"
            ]

        http = _wait_for(
            lambda: [
                r for r in mine(risk_server.receiver.records(), s.pool_id) if r["message"]["eventResponse"] == "Fail"
            ],
            "HTTP records",
        )
        records = mine(risk_server.receiver.records(), s.pool_id)
        assert {r["message"]["eventResponse"] for r in records} == {"Pass", "Fail"}
        passed = next(r for r in records if r["message"]["eventResponse"] == "Pass")
        assert passed["eventSource"] == "USER_AUTH_EVENTS" and passed["logLevel"] == "INFO"
        assert passed["eventTimestamp"].isdigit()
        message = passed["message"]
        assert message["userPoolId"] == s.pool_id and message["username"] == "lena"
        assert message["clientId"] == s.client_id
        assert message["compromisedCredentialDetected"] is False
        assert message["riskDecision"] and message["ipAddress"] == "127.0.0.1"
        assert message["challenges"] == [{"challengeName": "Password", "challengeResponse": "Success"}]
        events = ridp.admin_list_user_auth_events(UserPoolId=s.pool_id, Username="lena")["AuthEvents"]
        assert {e["EventId"] for e in events if e["EventType"] == "SignIn"} <= {
            r["message"]["eventId"] for r in records
        } | {r["message"]["eventId"] for r in http}
        # the pool that exports nothing sent nothing anywhere
        assert not mine(risk_server.receiver.records(), quiet.pool_id)
        assert not mine(_file_records(risk_server), quiet.pool_id)

        # the same pool, now to the file and to stdout (another account's ARNs are refused above)
        ridp.set_log_delivery_configuration(UserPoolId=s.pool_id, LogConfigurations=[_auth_events(LOG_GROUP)])
        ridp.initiate_auth(
            ClientId=s.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "lena", "PASSWORD": PASSWORD},
        )
        in_file = _wait_for(lambda: mine(_file_records(risk_server), s.pool_id), "file records")
        assert in_file[0]["message"]["eventResponse"] == "Pass"
        ridp.set_log_delivery_configuration(UserPoolId=s.pool_id, LogConfigurations=[_auth_events(LOG_GROUP_STDOUT)])
        ridp.initiate_auth(
            ClientId=s.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "lena", "PASSWORD": PASSWORD},
        )
        printed = _wait_for(lambda: mine(_stdout_records(risk_server), s.pool_id), "stdout records")
        assert printed[0]["eventSource"] == "USER_AUTH_EVENTS"


def test_compromised_credentials_show_in_the_records(risk_server: RiskServer) -> None:
    ridp = risk_server.idp
    relaxed: dict[str, Any] = {"MinimumLength": 8, "RequireUppercase": False, "RequireLowercase": False}
    relaxed.update(RequireNumbers=False, RequireSymbols=False)
    with _pool(ridp, "AUDIT", Policies={"PasswordPolicy": relaxed}) as s:
        ridp.set_log_delivery_configuration(
            UserPoolId=s.pool_id, LogConfigurations=[_auth_events(BUCKET, "S3Configuration")]
        )
        ridp.sign_up(ClientId=s.client_id, Username="mia", Password="password1")
        records = _wait_for(
            lambda: [r for r in _file_records(risk_server) if r["logSourceId"]["userPoolId"] == s.pool_id],
            "sign-up records",
        )
        assert records[0]["message"]["eventType"] == "SignUp"
        assert records[0]["message"]["compromisedCredentialDetected"] is True


def test_a_failed_email_is_a_user_notification_record(risk_server: RiskServer) -> None:
    ridp = risk_server.idp
    with _pool(ridp, "OFF", "ESSENTIALS") as s:
        ridp.set_log_delivery_configuration(
            UserPoolId=s.pool_id,
            LogConfigurations=[
                {
                    "EventSource": "userNotification",
                    "LogLevel": "ERROR",
                    "CloudWatchLogsConfiguration": {"LogGroupArn": LOG_GROUP},
                }
            ],
        )
        # the server's SMTP port has nothing listening: the confirmation email fails, after the response
        ridp.sign_up(
            ClientId=s.client_id,
            Username="nia",
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": "nia@example.com"}],
        )
        records = _wait_for(
            lambda: [r for r in _file_records(risk_server) if r["logSourceId"]["userPoolId"] == s.pool_id],
            "userNotification records",
            timeout=30,
        )
        record = records[0]
        assert record["eventSource"] == "USER_NOTIFICATION" and record["logLevel"] == "ERROR"
        assert record["message"]["medium"] == "EMAIL" and record["message"]["purpose"] == "SignUp"
        assert record["message"]["username"] == "nia"
        assert "nia@example.com" not in json.dumps(record)  # no address, no code, no body
        assert ACCOUNT_ID not in json.dumps(record)
