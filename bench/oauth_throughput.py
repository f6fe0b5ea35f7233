"""OAuth 2.0 token endpoint throughput of a user pool domain against a running Ostiary.

    python bench/oauth_throughput.py                  # starts its own servers: 1 worker, then 2
    python bench/oauth_throughput.py --workers 1 --duration 10

Set-up through boto3: a pool with a domain, a resource server with a custom scope, a confidential
client allowed client_credentials, a public code-flow client and a user. Measured:

- client_credentials grants: the same request (HTTP Basic client authentication) replayed over
  keep-alive connections; each one authenticates the client, checks the scopes and signs an RS256
  access token;
- authorization codes issued: GET /oauth2/authorize with the single-sign-on cookie (each one stores
  a new single-use code and redirects);
- code exchanges: the codes issued above redeemed at /oauth2/token with their PKCE verifier (each
  one deletes the code, starts a refresh-token lineage, signs an ID and an access token).

Server CPU time per request comes from /proc, so "per core" does not depend on what the load
generator took. Loopback only; bounded by --duration; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import multiprocessing as mp
import os
import re
import secrets
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_throughput import KEY, REGION, SECRET, Result, cpu_seconds, start_server
from identity_throughput import measure

PASSWORD = "Bench-Passw0rd!"
CALLBACK = "http://localhost:9/callback"


def _post(url: str, path: str, form: dict[str, str], headers: dict[str, str]) -> bytes:
    body = urlencode(form).encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\n{extra}Content-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def _get(url: str, path: str, headers: dict[str, str]) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"GET {path} HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n{extra}Connection: keep-alive\r\n\r\n".encode()


def set_up(url: str) -> dict[str, object]:
    idp = boto3.client("cognito-idp", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY,
                       aws_secret_access_key=SECRET)
    pool_id = idp.create_user_pool(PoolName="bench-oauth")["UserPool"]["Id"]
    domain = "bench-" + secrets.token_hex(3)
    idp.create_user_pool_domain(Domain=domain, UserPoolId=pool_id)
    idp.create_resource_server(UserPoolId=pool_id, Identifier="https://api.example.com", Name="api",
                               Scopes=[{"ScopeName": "read", "ScopeDescription": "read"}])
    m2m = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="m2m", GenerateSecret=True,
                                      AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["client_credentials"],
                                      AllowedOAuthScopes=["https://api.example.com/read"])["UserPoolClient"]
    web = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="web", AllowedOAuthFlowsUserPoolClient=True,
                                      AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid", "email"],
                                      CallbackURLs=[CALLBACK])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="bench", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="bench", Password=PASSWORD, Permanent=True)
    base = f"/_domain/{domain}"
    basic = base64.b64encode(f"{m2m['ClientId']}:{m2m['ClientSecret']}".encode()).decode()
    cc = _post(url, f"{base}/oauth2/token", {"grant_type": "client_credentials"}, {"Authorization": f"Basic {basic}"})

    # one real sign-in through the hosted page gives the single-sign-on cookie
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"client_id": web, "response_type": "code", "redirect_uri": CALLBACK, "scope": "openid email",
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    with httpx.Client(base_url=url) as client:
        login = client.get(f"{base}/login?{query}")
        csrf = re.search(r'name="_csrf" value="([^"]+)"', login.text)
        assert csrf is not None, login.text[:500]
        done = client.post(f"{base}/login?{query}", data={"_csrf": csrf.group(1), "username": "bench",
                                                          "password": PASSWORD})
        assert done.status_code == 302, done.text[:500]
        sso = client.cookies.get("cognito")
    authorize = _get(url, f"{base}/oauth2/authorize?{query}", {"Cookie": f"cognito={sso}"})
    return {"cc": cc, "authorize": authorize, "web": web, "verifier": verifier, "base": base}


async def _issue_codes(url: str, request: bytes, seconds: float, concurrency: int) -> tuple[list[str], Result]:
    parts = urlsplit(url)
    out = Result("authorization codes issued (authorize with SSO cookie)", 0, 0, seconds, [])
    codes: list[str] = []
    deadline = time.perf_counter() + seconds

    async def one() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    low = line.lower()
                    if low.startswith(b"content-length:"):
                        length = int(line[15:])
                    elif low.startswith(b"location:"):
                        found = parse_qs(urlsplit(line[9:].strip().decode()).query).get("code")
                        if found:
                            codes.append(found[0])
                await reader.readexactly(length)
                out.latencies.append(time.perf_counter() - started)
                out.requests += 1
                if head[9:12] != b"302":
                    out.errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    out.seconds = time.perf_counter() - started
    return codes, out


async def _exchange(url: str, requests: list[bytes], concurrency: int) -> Result:
    parts = urlsplit(url)
    out = Result("code exchanges (authorization_code + PKCE)", 0, 0, 0.0, [])
    queue = list(reversed(requests))

    async def one() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while queue:
                payload = queue.pop()
                started = time.perf_counter()
                writer.write(payload)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line[15:])
                await reader.readexactly(length)
                out.latencies.append(time.perf_counter() - started)
                out.requests += 1
                if head[9:12] != b"200":
                    out.errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    out.seconds = time.perf_counter() - started
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts to run, one server each")
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--clients", type=int, default=2, help="load-generator processes (client_credentials)")
    args = ap.parse_args()
    console = Console()
    for workers in (int(w) for w in args.workers.split(",")):
        proc, url, data_dir = start_server(workers)
        rows: list[tuple[Result, float]] = []
        try:
            setup = set_up(url)
            rows.append(measure(url, proc.pid, "client_credentials grants", setup["cc"],  # type: ignore[arg-type]
                                args.duration, args.concurrency, args.clients))
            before = cpu_seconds(proc.pid)
            codes, issued = asyncio.run(_issue_codes(url, setup["authorize"], args.duration,  # type: ignore[arg-type]
                                                     args.concurrency))
            rows.append((issued, (cpu_seconds(proc.pid) - before) / max(issued.requests, 1)))
            exchanges = [
                _post(url, f"{setup['base']}/oauth2/token",
                      {"grant_type": "authorization_code", "code": code, "client_id": str(setup["web"]),
                       "redirect_uri": CALLBACK, "code_verifier": str(setup["verifier"])}, {})
                for code in codes
            ]
            before = cpu_seconds(proc.pid)
            exchanged = asyncio.run(_exchange(url, exchanges, args.concurrency))
            rows.append((exchanged, (cpu_seconds(proc.pid) - before) / max(exchanged.requests, 1)))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            shutil.rmtree(data_dir, ignore_errors=True)
        table = Table(title=f"Ostiary OAuth endpoints — {workers} worker(s), {os.cpu_count()} cores, SQLite")
        for col in ("operation", "requests", "per second", "p50 ms", "p99 ms", "errors", "server CPU ms/op",
                    "per core (CPU bound)"):
            table.add_column(col, justify="left" if col == "operation" else "right")
        for r, cpu in rows:
            ms = cpu * 1000
            table.add_row(r.name, f"{r.requests:,}", f"{r.rate:,.0f}", f"{r.pct(0.5):.1f}", f"{r.pct(0.99):.1f}",
                          str(r.errors), f"{ms:.2f}", f"{1000 / ms:,.0f}" if ms else "-")
        console.print(table)
        time.sleep(0.5)


if __name__ == "__main__":
    mp.freeze_support()
    main()
