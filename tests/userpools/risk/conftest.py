"""Fixtures of the risk engine's tests (issue 16): a server configured with an operator's Pwned
Passwords corpus (generated here, in the downloader's range-file format) and log delivery
destinations (a JSON-lines file, the server's stdout, and an HTTP receiver on loopback)."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ostiary.userpools.risk.compromised import ntlm as ntlm_hash
from tests.conftest import ACCOUNT_ID, REGION, Server

# passwords in the generated operator corpus only (the shipped set does not have them)
OPERATOR_BREACHED = "Zq7!operator-only-breach"
OPERATOR_RARE = "Zq7!seen-once-only"  # count 1: ignored with pwned_passwords_min_count 2
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/ostiary/tests"
LOG_GROUP_STDOUT = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/ostiary/stdout"
FIREHOSE = f"arn:aws:firehose:{REGION}:{ACCOUNT_ID}:deliverystream/ostiary-tests"
BUCKET = "arn:aws:s3:::ostiary-tests-logs"
UNMAPPED = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/nobody/configured/this"


def write_range_files(directory: Path, counts: dict[str, int], *, ntlm: bool = False) -> None:
    """Pwned Passwords range files as the official downloader writes them: ``<PREFIX>.txt``, lines
    ``SUFFIX:COUNT`` (upper-case hex, CRLF), sorted, with neighbours around each real entry."""
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[str]] = {}
    for password, count in counts.items():
        digest = (ntlm_hash(password) if ntlm else hashlib.sha1(password.encode()).digest()).hex().upper()
        files.setdefault(digest[:5], []).append(f"{digest[5:]}:{count}")
    for prefix, lines in files.items():
        width = len(lines[0].split(":")[0])
        for i in range(200):  # filler around the entries: a binary search has to find them
            lines.append(f"{hashlib.sha256(f'{prefix}{i}'.encode()).hexdigest().upper()[:width]}:{i + 1}")
        (directory / f"{prefix}.txt").write_bytes(("\r\n".join(sorted(lines)) + "\r\n").encode())


@dataclass
class Receiver:
    """An HTTP endpoint on loopback collecting the JSON bodies POSTed to it."""

    server: ThreadingHTTPServer
    bodies: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/logs"

    def records(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for body in list(self.bodies):
            out.extend(body if isinstance(body, list) else [body])
        return out


@pytest.fixture(scope="session")
def log_receiver() -> Iterator[Receiver]:
    bodies: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(httpd, bodies)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RiskServer:
    server: Server
    log_file: Path
    receiver: Receiver
    idp: Any


@pytest.fixture(scope="session")
def risk_server(server_factory: Any, tmp_path_factory: pytest.TempPathFactory, log_receiver: Receiver) -> RiskServer:
    base = tmp_path_factory.mktemp("risk-server")
    write_range_files(base / "pwned", {OPERATOR_BREACHED: 42, OPERATOR_RARE: 1})
    log_file = base / "user-pool-logs.jsonl"
    destinations = "\n".join(
        [
            f"{LOG_GROUP}=file:{log_file}",
            f"{LOG_GROUP_STDOUT}=stdout",
            f"{FIREHOSE}={log_receiver.url}",
            f"{BUCKET}=file:{log_file}",
        ]
    )
    srv: Server = server_factory(
        env={
            "OSTIARY_PWNED_PASSWORDS_PATH": str(base / "pwned"),
            "OSTIARY_PWNED_PASSWORDS_MIN_COUNT": "2",
            "OSTIARY_LOG_DELIVERY_DESTINATIONS": destinations,
            # email delivery fails (nothing listens there): userNotification records
            "OSTIARY_SMTP_HOST": "127.0.0.1",
            "OSTIARY_SMTP_PORT": str(_closed_port()),
        }
    )
    return RiskServer(srv, log_file, log_receiver, srv.client("cognito-idp"))
