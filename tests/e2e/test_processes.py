"""Server processes keep no state of their own: several share one database, workers share metrics,
and a restart keeps everything."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ACCOUNT_ID


def test_two_servers_share_one_database(server_factory: Any) -> None:
    a = server_factory()
    b = server_factory(share_with=a)
    assert a.client("sts").get_caller_identity()["Account"] == ACCOUNT_ID
    assert b.client("sts").get_caller_identity()["Account"] == ACCOUNT_ID
    created = a.client("cognito-idp").create_user_pool(PoolName="shared")["UserPool"]
    seen = b.client("cognito-idp").describe_user_pool(UserPoolId=created["Id"])["UserPool"]
    assert seen["Name"] == "shared"
    b.client("cognito-idp").delete_user_pool(UserPoolId=created["Id"])
    names = [p["Name"] for p in a.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]]
    assert "shared" not in names


def test_workers_serve_and_aggregate_metrics(server_factory: Any) -> None:
    srv = server_factory(args=("--workers", "2"))
    sts = srv.client("sts")
    for _ in range(20):
        sts.get_caller_identity()
    text = httpx.get(srv.url + "/metrics").text
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("ostiary_requests_total{") and 'operation="GetCallerIdentity"' in ln
    )
    assert float(line.rsplit(" ", 1)[1]) == 20.0


def test_dev_mode_is_off_by_default_and_opt_in(server: Any, server_factory: Any) -> None:
    assert httpx.get(server.url + "/_ostiary/settings").status_code == 404
    dev = server_factory(args=("--dev",))
    body = httpx.get(dev.url + "/_ostiary/settings").json()
    assert body["dev"] is True
    assert body["settings"]["root_secret_access_key"] == "***"
    log = dev.log_path.read_text()
    assert "DEVELOPMENT MODE IS ON" in log
