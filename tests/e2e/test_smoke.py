"""The server starts, answers /health and /metrics, and boto3 reaches it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ACCOUNT_ID, Server


def test_health(server: Server) -> None:
    r = httpx.get(server.url + "/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_get_caller_identity_root(sts: Any) -> None:
    ident = sts.get_caller_identity()
    assert ident["Account"] == ACCOUNT_ID
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert ident["UserId"] == ACCOUNT_ID
    assert ident["ResponseMetadata"]["RequestId"]


def test_metrics_count_requests(server: Server, sts: Any) -> None:
    sts.get_caller_identity()
    text = httpx.get(server.url + "/metrics").text
    assert 'ostiary_requests_total{operation="GetCallerIdentity",service="sts",status="200"}' in text
    assert "ostiary_request_duration_seconds_bucket" in text


def test_cors_for_browser_clients(server: Server) -> None:
    pre = httpx.options(
        server.url + "/",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target,x-amz-user-agent",
        },
    )
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "*"
    assert "x-amz-target" in pre.headers["access-control-allow-headers"]
    r = httpx.post(
        server.url + "/",
        content=b"{}",
        headers={
            "Origin": "https://app.example.com",
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityProviderService.GetUser",
        },
    )
    assert r.headers["access-control-allow-origin"] == "*"
    assert "x-amzn-RequestId" in r.headers["access-control-expose-headers"]
