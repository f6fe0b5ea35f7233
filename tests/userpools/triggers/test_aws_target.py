"""The ``aws`` target up to the boto3 boundary (a real Lambda cannot run offline): Ostiary's
``lambda:Invoke`` request, and how it reads the answer and a function error. botocore's Stubber
stands in for AWS; nothing of Ostiary is mocked."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from ostiary.config import load_settings
from ostiary.userpools import triggers
from ostiary.userpools.errors import UserLambdaValidationException

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:pre-signup"


def _body(value: Any) -> StreamingBody:
    raw = json.dumps(value).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = boto3.client("lambda", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    stubber = Stubber(client)
    monkeypatch.setattr(boto3, "client", lambda service, region_name=None: client)
    return stubber


def test_invokes_the_function_request_response(stubbed: Stubber) -> None:
    settings = load_settings(environ={"OSTIARY_LAMBDA_FUNCTIONS": f"{ARN}=aws"})
    event = {"version": "1", "triggerSource": "PreSignUp_SignUp", "request": {}, "response": {}}
    answer = {**event, "response": {"autoConfirmUser": True}}
    stubbed.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": _body(answer)},
        {"FunctionName": ARN, "InvocationType": "RequestResponse", "Payload": json.dumps(event).encode()},
    )
    with stubbed:
        assert triggers.invoke(settings, "PreSignUp", ARN, event) == answer
    stubbed.assert_no_pending_responses()


def test_a_function_error_is_the_handlers_error(stubbed: Stubber) -> None:
    settings = load_settings(environ={"OSTIARY_LAMBDA_FUNCTIONS": f"{ARN}=aws"})
    stubbed.add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": _body({"errorMessage": "Domain not allowed", "errorType": "Exception"}),
        },
    )
    with stubbed, pytest.raises(UserLambdaValidationException) as exc:
        triggers.invoke(settings, "PreSignUp", ARN, {"request": {}, "response": {}})
    assert str(exc.value) == "PreSignUp failed with error Domain not allowed."
