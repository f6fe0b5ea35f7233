"""The [forward_auth] table and the Lambda-style authorizers' sections: each mistake names its key."""

from __future__ import annotations

from typing import Any

import pytest

from ostiary.config import load_settings
from ostiary.gateway import forward_auth
from ostiary.gateway.authorizers import lambda_style
from ostiary.gateway.model import GatewayEnv
from ostiary.gateway.sections import ConfigError


def test_forward_auth_table() -> None:
    parsed = forward_auth.parse({"listen": "127.0.0.1:8081"})
    assert parsed.allows("127.0.0.1") and parsed.allows("::1") and not parsed.allows("10.0.0.1")
    assert not parsed.allows("not an address")
    wide = forward_auth.parse({"listen": "[::1]:8081", "allowed_peers": ["10.0.0.0/8"], "shared_secret": "x" * 16})
    assert wide.allows("10.1.2.3") and not wide.allows("127.0.0.1")
    for section, key in (
        ({}, "forward_auth.listen"),
        ({"listen": "nope"}, "forward_auth.listen"),
        ({"listen": "127.0.0.1:1", "allowed_peers": ["nowhere"]}, "forward_auth.allowed_peers"),
        ({"listen": "127.0.0.1:1", "shared_secret": "short"}, "forward_auth.shared_secret"),
        ({"listen": "127.0.0.1:1", "peers": []}, "unknown key"),
    ):
        with pytest.raises(ConfigError, match=key):
            forward_auth.parse(section)


def test_original_request_from_the_headers() -> None:
    nginx = forward_auth.original(
        "nginx",
        "GET",
        "",
        "",
        [("x-original-method", "post"), ("x-original-uri", "/a/b?c=1"), ("x-real-ip", "10.0.0.9")],
        "127.0.0.1",
    )
    assert nginx == forward_auth.Original("POST", "/a/b", "c=1", "", "10.0.0.9")
    for uri in ("a/b", "/a b", "/a\r\nX: y", "/" + "a" * 9000):
        assert (
            forward_auth.original(
                "nginx", "GET", "", "", [("x-original-method", "GET"), ("x-original-uri", uri)], "127.0.0.1"
            )
            is None
        )
    spoofed = forward_auth.original(
        "nginx",
        "GET",
        "",
        "",
        [("x-original-method", "GET"), ("x-original-uri", "/"), ("x-real-ip", "evil")],
        "127.0.0.1",
    )
    assert spoofed is not None and spoofed.source_ip == "127.0.0.1"
    envoy = forward_auth.original("envoy", "delete", "pets/1", "x=2", [("host", "app.test")], "127.0.0.1")
    assert envoy == forward_auth.Original("DELETE", "/pets/1", "x=2", "app.test", "127.0.0.1")
    assert forward_auth.original("haproxy", "GET", "", "", [], "127.0.0.1") is None


def _env() -> GatewayEnv:
    settings = load_settings({"lambda_functions": "fn=python:mod:handler"}, environ={})
    return GatewayEnv(settings=settings, store=None, public_url="")


def test_lambda_sections() -> None:
    env = _env()
    built = lambda_style.build("t", {"type": "token", "function": "fn"}, env)
    assert (built.kind, built.payload, built.ttl) == ("TOKEN", "rest", 300)
    http = lambda_style.build(
        "h",
        {"type": "request", "function": "fn", "payload_format_version": "2.0", "enable_simple_responses": True},
        env,
    )
    assert (http.kind, http.payload, http.ttl, http.simple) == ("REQUEST", "2.0", 0, True)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"type": "token", "function": "missing"}, "function"),
        ({"type": "token", "function": "fn", "payload_format_version": "2.0"}, "payload_format_version"),
        ({"type": "request", "function": "fn", "payload_format_version": "3.0"}, "payload_format_version"),
        ({"type": "token", "function": "fn", "identity_source": "$request.querystring.t"}, "identity_source"),
        ({"type": "token", "function": "fn", "identity_validation_expression": "("}, "identity_validation_expression"),
        ({"type": "request", "function": "fn", "result_ttl_seconds": 60}, "result_ttl_seconds"),
        ({"type": "token", "function": "fn", "result_ttl_seconds": 3601}, "result_ttl_seconds"),
        ({"type": "request", "function": "fn", "enable_simple_responses": True}, "enable_simple_responses"),
        ({"type": "token", "function": "fn", "ttl": 1}, "unknown key"),
    ]
    for section, key in bad:
        with pytest.raises(ConfigError, match=key):
            lambda_style.build("x", section, env)


def test_handler_answers() -> None:
    env = _env()
    rest = lambda_style.build("t", {"type": "token", "function": "fn"}, env)
    arn = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/pets/1"
    allow = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:api/*/GET/*"}
        ],
    }
    verdict = rest.verdict({"principalId": "u", "policyDocument": allow, "context": {"a": "b", "n": 1}})
    assert rest.judge(verdict, arn).allowed
    assert rest.judge(verdict, arn.replace("/GET/", "/DELETE/")).body == {
        "Message": "User is not authorized to access this resource"
    }
    for answer in (
        "text",
        {"policyDocument": allow},  # no principalId
        {"principalId": "u"},
        {"principalId": "u", "policyDocument": {"Statement": "nonsense"}},
        {"principalId": "u", "policyDocument": allow, "context": {"nested": {"a": 1}}},
        {"principalId": "u", "policyDocument": allow, "context": {str(i): i for i in range(101)}},
    ):
        with pytest.raises(lambda_style.InvalidResponse):
            rest.verdict(answer)
    simple = lambda_style.build(
        "h",
        {"type": "request", "function": "fn", "payload_format_version": "2.0", "enable_simple_responses": True},
        env,
    )
    with pytest.raises(lambda_style.InvalidResponse):
        simple.verdict({"isAuthorized": "yes"})
    assert simple.judge(simple.verdict({"isAuthorized": False}), arn).body == {"message": "Forbidden"}
