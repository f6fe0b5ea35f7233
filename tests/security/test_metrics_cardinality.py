"""Metrics are labelled only with names Ostiary knows: a client cannot grow the process's memory (and
every scrape) by inventing operation names."""

from __future__ import annotations

import secrets

import httpx

from tests.conftest import Server


def test_invented_operation_names_never_become_metric_labels(server: Server) -> None:
    invented = [f"Invented{secrets.token_hex(6)}" for _ in range(20)]
    for name in invented:
        json_call = httpx.post(
            server.url,
            headers={
                "x-amz-target": f"AWSCognitoIdentityProviderService.{name}",
                "content-type": "application/x-amz-json-1.1",
            },
            content=b"{}",
        )
        assert json_call.status_code == 400
        query_call = httpx.post(server.url, data={"Action": name, "Version": "2011-06-15"})
        assert query_call.status_code == 400
    scrape = httpx.get(server.url + "/metrics").text
    assert not [name for name in invented if name in scrape]
    assert 'operation="unknown"' in scrape
