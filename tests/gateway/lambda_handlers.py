"""Lambda authorizer handlers for the gateway's tests, run by the trigger runtime's worker processes
(``lambda_functions`` = ``python:tests.gateway.lambda_handlers:<name>``)."""

from __future__ import annotations

import uuid
from typing import Any


def token(event: dict[str, Any], context: Any) -> Any:
    """REST TOKEN: the token says what to answer; an Allow covers GET on any path only."""
    value = event["authorizationToken"]
    if value == "unauthorized":
        raise Exception("Unauthorized")
    if value == "error":
        raise RuntimeError("boom")
    if value == "garbage":
        return "not a policy"
    effect = "Deny" if value == "deny" else "Allow"
    return {
        "principalId": f"user-{value}",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": "arn:aws:execute-api:*:*:*/*/GET/*"}
            ],
        },
        "context": {"nonce": uuid.uuid4().hex, "token": value, "number": 7, "flag": True, "type": event["type"]},
    }


def request(event: dict[str, Any], context: Any) -> Any:
    """REST REQUEST: allows user alice of tenant t1; echoes parts of the event in the context."""
    allowed = (
        event["headers"].get("x-user") == "alice" and (event.get("queryStringParameters") or {}).get("tenant") == "t1"
    )
    return {
        "principalId": "alice",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow" if allowed else "Deny",
                    "Resource": event["methodArn"],
                }
            ],
        },
        "context": {
            "type": event["type"],
            "resource": event["resource"],
            "path": event["path"],
            "method": event["httpMethod"],
            "id": event["pathParameters"]["id"],
            "stage": event["requestContext"]["stage"],
        },
    }


def simple(event: dict[str, Any], context: Any) -> Any:
    """HTTP API payload 2.0, simple responses."""
    return {
        "isAuthorized": event["headers"].get("x-user") == "alice",
        "context": {
            "version": event["version"],
            "routeKey": event["routeKey"],
            "source": ",".join(event["identitySource"]),
        },
    }
