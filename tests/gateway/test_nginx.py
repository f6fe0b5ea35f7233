"""nginx end to end: Debian's nginx, started as a real process with a generated configuration, asks
the gateway's forward-auth endpoint (``auth_request``) before it proxies to the echo upstream, and
passes the claim headers on with ``auth_request_set``; allowed, 401 and 403; a client's forged claim
header is replaced. Skipped only when nginx is absent outside CI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.gateway.conftest import ROOT, GatewayProcess, Upstream, start_gateway

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
if NGINX is None:
    if os.environ.get("CI"):
        raise RuntimeError("nginx is missing: .ci/run installs nginx-light")
    pytest.skip("nginx is not installed (apt-get install nginx-light)", allow_module_level=True)

FUNCTIONS = "token-fn=python:tests.gateway.lambda_handlers:token"


def nginx_config(directory: Path, port: int, forward_port: int, upstream: Upstream) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"  {name}_temp_path {directory / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
daemon off;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} info;
events {{ worker_connections 64; }}
http {{
  access_log off;
{temp}
  server {{
    listen 127.0.0.1:{port};
    location = /_ostiary_auth {{
      internal;
      proxy_pass http://127.0.0.1:{forward_port}/_gateway/auth/nginx;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Host $host;
      proxy_set_header X-Real-IP $remote_addr;
    }}
    location / {{
      auth_request /_ostiary_auth;
      auth_request_set $ostiary_principal $upstream_http_x_authorizer_principal_id;
      auth_request_set $ostiary_context $upstream_http_x_authorizer_context;
      proxy_set_header X-Authorizer-Principal-Id $ostiary_principal;
      proxy_set_header X-Authorizer-Context $ostiary_context;
      proxy_pass {upstream.url};
    }}
  }}
}}
"""


@pytest.fixture(scope="module")
def nginx(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("nginx")
    forward_port = free_port()
    rest = f"""
[authorizers.tok]
type = "token"
function = "token-fn"

[[routes]]
route = "ANY /pets/{{proxy+}}"
upstream = "{upstream.url}"
authorizer = "tok"

[forward_auth]
listen = "127.0.0.1:{forward_port}"
"""
    env = {
        "OSTIARY_LAMBDA_FUNCTIONS": FUNCTIONS,
        "OSTIARY_LAMBDA_PATH": str(ROOT),
        "OSTIARY_LAMBDA_TIMEOUT_SECONDS": "20",
    }
    gateway: GatewayProcess = start_gateway(directory, "", rest, env=env)
    port = free_port()
    conf = directory / "nginx.conf"
    conf.write_text(nginx_config(directory, port, forward_port, upstream))
    assert NGINX is not None
    with open(directory / "nginx.out", "ab") as out:
        proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(directory)], stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError((directory / "error.log").read_text()[-3000:])
            try:
                # the first call also waits for the handler's worker process to start
                if httpx.get(url + "/pets/1", headers={"Authorization": "warm"}, timeout=60).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (directory / "error.log").read_text()[-3000:]
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        gateway.stop()


def _echo_headers(answer: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in answer.json()["headers"]}


def test_allowed_with_claim_headers(nginx: str) -> None:
    answer = httpx.get(nginx + "/pets/1?x=1", headers={"Authorization": "alice", "X-Authorizer-Principal-Id": "root"})
    assert answer.status_code == 200, answer.text
    headers = _echo_headers(answer)
    assert headers["x-authorizer-principal-id"] == "user-alice"  # the client's forged value replaced
    assert json.loads(headers["x-authorizer-context"])["token"] == "alice"
    assert answer.json()["path"] == "/pets/1"


def test_unauthorized_and_forbidden(nginx: str) -> None:
    assert httpx.get(nginx + "/pets/1").status_code == 401
    assert httpx.get(nginx + "/pets/1", headers={"Authorization": "unauthorized"}).status_code == 401
    assert httpx.get(nginx + "/pets/1", headers={"Authorization": "deny"}).status_code == 403
    # the cached Allow of alice covers GET only: nginx's original method reaches the policy
    assert httpx.post(nginx + "/pets/1", headers={"Authorization": "alice"}, content=b"{}").status_code == 403
