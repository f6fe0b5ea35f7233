"""BulkPublish to the pool's Cognito stream (a JSON-lines file under the data dir when the stream has
no URL in ``cognito_streams``) and GetBulkPublishDetails' statuses; AWS's refusals."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.cognitosync.conftest import device, err, put, sync_setup
from tests.conftest import Server


def _wait(admin: Any, pool_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        details: dict[str, Any] = admin.get_bulk_publish_details(IdentityPoolId=pool_id)
        if details["BulkPublishStatus"] not in ("IN_PROGRESS",) or time.monotonic() > deadline:
            return details
        time.sleep(0.05)


def test_bulk_publish_to_a_file_stream(server: Server) -> None:
    w = sync_setup(server)
    admin = server.client("cognito-sync")
    assert admin.get_bulk_publish_details(IdentityPoolId=w.pool_id)["BulkPublishStatus"] == "NOT_STARTED"
    with pytest.raises(ClientError) as exc:
        admin.bulk_publish(IdentityPoolId=w.pool_id)
    assert err(exc)[0] == "InvalidParameterException"
    a = device(server, w)
    b = device(server, w)
    put(a, w.pool_id, "one", [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    put(b, w.pool_id, "two", [{"Op": "replace", "Key": "x", "Value": "y", "SyncCount": 0}])
    stream = "stream-" + w.pool_id.split(":")[1][:8]
    role = w.auth_role
    admin.set_identity_pool_configuration(
        IdentityPoolId=w.pool_id, CognitoStreams={"StreamName": stream, "RoleArn": role, "StreamingStatus": "DISABLED"}
    )
    with pytest.raises(ClientError) as exc:
        admin.bulk_publish(IdentityPoolId=w.pool_id)
    assert err(exc)[0] == "InvalidParameterException"
    admin.set_identity_pool_configuration(
        IdentityPoolId=w.pool_id, CognitoStreams={"StreamName": stream, "RoleArn": role, "StreamingStatus": "ENABLED"}
    )
    assert admin.bulk_publish(IdentityPoolId=w.pool_id)["IdentityPoolId"] == w.pool_id
    details = _wait(admin, w.pool_id)
    assert details["BulkPublishStatus"] == "SUCCEEDED"
    assert details["BulkPublishCompleteTime"] >= details["BulkPublishStartTime"]
    lines = (server.data_dir / "cognito-streams" / f"{stream}.jsonl").read_text().splitlines()
    published = {(r["identityId"], r["dataSetName"]): r for r in map(json.loads, lines)}
    assert set(published) == {(a.identity_id, "one"), (b.identity_id, "two")}
    one = published[(a.identity_id, "one")]
    assert one["identityPoolId"] == w.pool_id and one["payloadType"] == "Inline" and one["syncCount"] == 1
    assert [(r["key"], r["value"], r["op"]) for r in one["kinesisSyncRecords"]] == [("k", "v", "replace")]
    with pytest.raises(ClientError) as exc:  # one successful bulk publish per 24 hours
        admin.bulk_publish(IdentityPoolId=w.pool_id)
    assert err(exc)[0] == "AlreadyStreamedException"


def test_bulk_publish_to_an_http_stream(server_factory: Any) -> None:
    """A stream named in ``cognito_streams`` is an HTTP endpoint: each record is POSTed to it as JSON."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[dict[str, Any]] = []

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Sink)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        srv = server_factory(env={"OSTIARY_COGNITO_STREAMS": f"web-stream=http://127.0.0.1:{httpd.server_port}/sink"})
        w = sync_setup(srv)
        a = device(srv, w)
        put(a, w.pool_id, "web", [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
        admin = srv.client("cognito-sync")
        admin.set_identity_pool_configuration(
            IdentityPoolId=w.pool_id, CognitoStreams={"StreamName": "web-stream", "StreamingStatus": "ENABLED"}
        )
        admin.bulk_publish(IdentityPoolId=w.pool_id)
        assert _wait(admin, w.pool_id)["BulkPublishStatus"] == "SUCCEEDED"
        assert [(r["identityId"], r["dataSetName"]) for r in received] == [(a.identity_id, "web")]
        assert not (srv.data_dir / "cognito-streams").exists()
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
