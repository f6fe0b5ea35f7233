"""The gateway inside ``ostiary serve`` (setting ``gateway_config``): the server's own pools' tokens
through the gateway's listener, in the same process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port
from tests.gateway.conftest import Upstream


def test_serve_runs_the_gateway(server_factory: Any, upstream: Upstream, tmp_path: Path) -> None:
    port, admin = free_port(), free_port()
    path = tmp_path / "gateway.toml"
    srv = server_factory(start=False)
    path.write_text(
        f'[gateway]\nlisten = "127.0.0.1:{port}"\nadmin_listen = "127.0.0.1:{admin}"\n'
        f'[[routes]]\nroute = "ANY /{{proxy+}}"\nupstream = "{upstream.url}"\n'
    )
    srv.env_extra["OSTIARY_GATEWAY_CONFIG"] = str(path)
    srv.start()
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/hello?x=1", timeout=10)
        assert answer.status_code == 200 and answer.json()["path"] == "/hello"
        assert httpx.get(f"http://127.0.0.1:{admin}/health").json() == {"status": "ok"}
        # the server's own /metrics shows the gateway's requests (one registry, one process)
        assert (
            'ostiary_gateway_requests_total{route="ANY /{proxy+}",status="200"}' in httpx.get(srv.url + "/metrics").text
        )
        # the server itself still serves its API
        assert srv.client("cognito-idp").list_user_pools(MaxResults=1)["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        srv.stop()


def test_a_mistake_in_the_file_stops_serve(server_factory: Any, tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[[routes]]\nroute = "GET /x"\nupstream = "ftp://nope"\n')
    srv = server_factory(start=False, env={"OSTIARY_GATEWAY_CONFIG": str(path)})
    try:
        srv.start()
    except RuntimeError as exc:
        assert "routes[0].upstream" in str(exc)
    else:
        raise AssertionError("the server started with a broken gateway file")
    finally:
        srv.stop()
