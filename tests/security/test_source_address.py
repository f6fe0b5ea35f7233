"""The address a request comes from (aws:SourceIp, lockout and risk per address, audit events) is the
TCP peer's unless the operator names the proxies in front (setting ``trusted_proxies``): a client
cannot pick its own address with X-Forwarded-For."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from tests.conftest import Server

SPOOFED = "203.0.113.7"


TRUST = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
)


def _create_role_as(srv: Server, forwarded_for: str) -> str:
    iam = srv.client("iam")

    def add_header(request: Any, **_: Any) -> None:
        request.headers["X-Forwarded-For"] = forwarded_for

    iam.meta.events.register("before-send.iam.CreateRole", add_header)
    name = "source-" + secrets.token_hex(4)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    iam.delete_role(RoleName=name)
    return name


def _source_of_creation(srv: Server, role: str) -> str:
    trail = srv.client("cloudtrail")
    attribute = [{"AttributeKey": "EventName", "AttributeValue": "CreateRole"}]
    for page in trail.get_paginator("lookup_events").paginate(LookupAttributes=attribute):
        for event in page["Events"]:
            record = json.loads(event["CloudTrailEvent"])
            if role in json.dumps([event.get("Resources"), record.get("resources")]):
                return str(record["sourceIPAddress"])
    raise AssertionError(f"no CreateRole event for {role}")


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(server: Server) -> None:
    role = _create_role_as(server, SPOOFED)
    assert _source_of_creation(server, role) == "127.0.0.1"


@pytest.fixture(scope="module")
def behind_proxy(server_factory: Any) -> Server:
    srv: Server = server_factory(env={"OSTIARY_TRUSTED_PROXIES": "127.0.0.0/8, ::1"})
    return srv


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(behind_proxy: Server) -> None:
    role = _create_role_as(behind_proxy, f"198.51.100.1, {SPOOFED}")
    # the right-most address that is not a trusted proxy: what the proxy itself saw
    assert _source_of_creation(behind_proxy, role) == SPOOFED
