"""CPU per call of GetUser, AdminGetUser, GetCallerIdentity, DescribeUserPool, AssumeRole,
REFRESH_TOKEN_AUTH and USER_SRP_AUTH inside one process, on SQLite or PostgreSQL.

    python bench/hot_paths.py                                   # SQLite
    python bench/hot_paths.py --database-url postgresql+psycopg://postgres@127.0.0.1:55502/bench
    python bench/hot_paths.py --profile 25                      # and cProfile's 25 costliest functions
    HOT_PATHS_SORT=cumulative python bench/hot_paths.py --profile 60   # the profile by cumulative time
    HOT_PATHS_CALLERS='db.py.*\\(tx\\)' python bench/hot_paths.py --only =AssumeRole --profile 5  # and their callers
    HOT_PATHS_DEBUG=1 python bench/hot_paths.py     # per round: thread vs process CPU, user/system, context switches

A server started once (`ostiary serve`, as the other benches) creates a pool, a client and a user, signs
the user in and signs one AdminGetUser request with SigV4; it is then stopped and the same data dir and
database are opened in this process (`create_app`), and each request is handed to the ASGI application
``--calls`` times in a row on the event loop (the thread that serves requests inline in the server),
without HTTP: what the figures leave out is uvicorn's parsing and writing (measured by
signin_throughput.py and api_throughput.py, which run the real server). CPU time is this process's
(``time.process_time``) and, on PostgreSQL, that of the backends serving it (their /proc/<pid>/stat,
found in pg_stat_activity). On a machine shared with other work this is the stable figure: the CPU
one call costs, whoever else runs.

USER_SRP_AUTH is the whole two-request sign-in (InitiateAuth inline on the event loop,
RespondToAuthChallenge through the dispatcher's worker pool, as the server runs them); the client's SRP
math between the two is not counted (CPU is read around each request only). Its floor is floors.py's:
the server's SRP math and the two signatures.

The refresh floor is the CPU of the two RS256 signatures a refresh makes (ID and access token, the same
claims as the refresh's), timed in the same process right after; the ratio floor / refresh is the
fraction of a refresh that is unavoidable signing.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchjson
from api_throughput import KEY, REGION, SECRET, pg_backends, raw_request, start_server

PASSWORD = "Bench-Passw0rd!"


def _asgi_request(raw: bytes) -> tuple[dict[str, Any], bytes]:
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    method, path, _ = lines[0].split(b" ")
    headers = [(k.strip().lower(), v.strip()) for k, v in (line.split(b":", 1) for line in lines[1:])]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method.decode(),
        "scheme": "http", "path": path.decode(), "raw_path": path, "query_string": b"", "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 4590),
    }
    return scope, body


async def _call(app: Any, scope: dict[str, Any], body: bytes) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def _srp_requests(spec: bytes) -> Any:
    """A generator of USER_SRP_AUTH's two requests: it yields InitiateAuth's (scope, body), is sent
    the answer, yields RespondToAuthChallenge's and is sent its answer; the client's math runs in it."""
    import base64
    import datetime as dt
    import secrets

    from ostiary.userpools import srp

    names = json.loads(spec)
    group = names["pool"].split("_", 1)[1]

    def request(op: str, payload: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        body = json.dumps(payload).encode()
        head = ["POST / HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
                f"X-Amz-Target: AWSCognitoIdentityProviderService.{op}",
                "Content-Type: application/x-amz-json-1.1"]
        return _asgi_request(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    while True:
        a = secrets.randbits(256) | (1 << 255)
        answer = yield request("InitiateAuth", {
            "ClientId": names["client"], "AuthFlow": "USER_SRP_AUTH",
            "AuthParameters": {"USERNAME": "user0", "SRP_A": format(srp._powmod(srp.G, a, srp.N), "x")}})
        challenge = json.loads(answer)["ChallengeParameters"]
        stamp = srp.format_timestamp(dt.datetime.now(dt.UTC))
        proof = srp.client_respond(group, challenge["USER_ID_FOR_SRP"], PASSWORD, challenge["SALT"],
                                   int(challenge["SRP_B"], 16), a, base64.b64decode(challenge["SECRET_BLOCK"]), stamp)
        answer = yield request("RespondToAuthChallenge", {
            "ClientId": names["client"], "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeResponses": {"USERNAME": challenge["USERNAME"], "TIMESTAMP": stamp,
                                   "PASSWORD_CLAIM_SECRET_BLOCK": challenge["SECRET_BLOCK"],
                                   "PASSWORD_CLAIM_SIGNATURE": proof["signature"].decode()}})
        if "AuthenticationResult" not in json.loads(answer):
            raise RuntimeError(answer.decode())


async def _repeat_srp(app: Any, spec: bytes, calls: int) -> float:
    """``calls`` SRP sign-ins; the process CPU seconds of their requests alone (without the client's math)."""
    flow = _srp_requests(spec)
    scope, body = next(flow)
    used = 0.0
    for _ in range(calls * 2):
        started = time.process_time()
        status, answer = await _call(app, scope, body)
        used += time.process_time() - started
        if status != 200:
            raise RuntimeError(answer.decode(errors="replace"))
        scope, body = flow.send(answer)
    return used


async def _repeat(app: Any, scope: dict[str, Any], body: bytes, calls: int) -> None:
    for _ in range(calls):
        status, answer = await _call(app, scope, body)
        if status != 200:
            raise RuntimeError(answer.decode(errors="replace"))


def setup(database_url: str) -> tuple[Path, str, dict[str, bytes]]:
    """A data dir and database with a pool, a client and a signed-in user; the server's URL (its
    tokens' issuer); the requests."""
    proc, url, data_dir = start_server(1)
    try:
        idp = boto3.client("cognito-idp", endpoint_url=url, region_name=REGION,
                           aws_access_key_id=KEY, aws_secret_access_key=SECRET)
        pool_id = idp.create_user_pool(PoolName="bench")["UserPool"]["Id"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName="bench", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH",
                                                                       "ALLOW_USER_SRP_AUTH",
                                                                       "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        idp.admin_create_user(UserPoolId=pool_id, Username="user0", MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": "user0@example.com"},
                                              {"Name": "given_name", "Value": "Zoë"}])
        idp.admin_set_user_password(UserPoolId=pool_id, Username="user0", Password=PASSWORD, Permanent=True)
        idp.create_group(UserPoolId=pool_id, GroupName="readers")
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username="user0", GroupName="readers")
        tokens = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": "user0", "PASSWORD": PASSWORD})["AuthenticationResult"]
        iam = boto3.client("iam", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY,
                           aws_secret_access_key=SECRET)
        account = boto3.client("sts", endpoint_url=url, region_name=REGION, aws_access_key_id=KEY,
                               aws_secret_access_key=SECRET).get_caller_identity()["Account"]
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]}
        role_arn = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        target = "AWSCognitoIdentityProviderService."
        unsigned = {"Content-Type": "application/x-amz-json-1.1"}

        def plain(op: str, payload: dict[str, Any]) -> bytes:
            body = json.dumps(payload).encode()
            head = ["POST / HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
                    f"X-Amz-Target: {target}{op}", *(f"{k}: {v}" for k, v in unsigned.items())]
            return ("\r\n".join(head) + "\r\n\r\n").encode() + body

        requests = {
            "GetUser": plain("GetUser", {"AccessToken": tokens["AccessToken"]}),
            "AdminGetUser": raw_request(url, "cognito-idp", target + "AdminGetUser",
                                        json.dumps({"UserPoolId": pool_id, "Username": "user0"}).encode(), KEY, SECRET),
            "GetCallerIdentity": raw_request(url, "sts", None, b"Action=GetCallerIdentity&Version=2011-06-15",
                                             KEY, SECRET),
            "DescribeUserPool": raw_request(url, "cognito-idp", target + "DescribeUserPool",
                                            json.dumps({"UserPoolId": pool_id}).encode(), KEY, SECRET),
            "AssumeRole": raw_request(url, "sts", None,
                                      f"Action=AssumeRole&RoleArn={role_arn}&RoleSessionName=bench"
                                      "&Version=2011-06-15".encode(), KEY, SECRET),
            "REFRESH_TOKEN_AUTH": plain("InitiateAuth", {"ClientId": client_id, "AuthFlow": "REFRESH_TOKEN_AUTH",
                                                         "AuthParameters": {"REFRESH_TOKEN": tokens["RefreshToken"]}}),
            # built per call (SRP_A, then the proof): this entry names the pool and client
            "USER_SRP_AUTH": json.dumps({"pool": pool_id, "client": client_id}).encode(),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return data_dir, url, requests


def signature_floor(calls: int) -> float:
    """CPU seconds of the two RS256 signatures of one refresh (an access and an ID token's claims)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from ostiary.crypto import jwt

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    access = {"sub": "1b2c3d4e-0000-4000-8000-000000000000", "iss": "http://127.0.0.1:4590/us-east-1_abcdefghi",
              "client_id": "a" * 26, "origin_jti": "o" * 36, "event_id": "e" * 32, "token_use": "access",
              "scope": "aws.cognito.signin.user.admin", "auth_time": now, "exp": now + 3600, "iat": now,
              "jti": "j" * 36, "username": "user0", "cognito:groups": ["readers"]}
    ident = {**access, "token_use": "id", "aud": "a" * 26, "email": "user0@example.com", "given_name": "Zoë",
             "cognito:username": "user0", "email_verified": False}
    try:
        for _ in range(20):
            jwt.sign(access, "kid", key)
    except (TypeError, AttributeError):  # an older tree's jwt module (a baseline worktree): no floor
        return 0.0
    started = time.process_time()
    for _ in range(calls):
        jwt.sign(access, "kid", key)
        jwt.sign(ident, "kid", key)
    return (time.process_time() - started) / calls


def _srp_floor() -> float:
    """floors.py's SRP floor (the server's SRP math and two signatures), CPU seconds, in this process."""
    try:
        import floors
    except ImportError:
        return 0.0
    return float(floors.measure(rounds=3)["srp_floor_ms"]) / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default="", help="an empty PostgreSQL database (default: SQLite)")
    ap.add_argument("--calls", type=int, default=3000, help="calls per operation (refresh: a third)")
    ap.add_argument("--rounds", type=int, default=3, help="measured rounds per operation (the median is shown)")
    ap.add_argument("--profile", type=int, default=0, help="print cProfile's N costliest functions per operation")
    ap.add_argument("--only", default="", help="operations whose name contains this text (=Name: exactly this one)")
    ap.add_argument("--json", metavar="PATH", help="also write the printed tables to PATH as JSON (bench/benchjson.py)")
    args = ap.parse_args()
    benchjson.record(args.json)
    if args.database_url:
        os.environ["OSTIARY_DATABASE_URL"] = args.database_url
    os.environ.update({"OSTIARY_ROOT_ACCESS_KEY_ID": KEY, "OSTIARY_ROOT_SECRET_ACCESS_KEY": SECRET,
                       "OSTIARY_ACCESS_LOG": "false"})
    data_dir, url, requests = setup(args.database_url)

    from ostiary.app import create_app
    from ostiary.config import load_settings

    app: Any = create_app(load_settings({"data_dir": data_dir, "public_url": url}))
    if os.environ.get("HOT_PATHS_INLINE"):  # every operation on the event loop (to profile offloaded ones)
        dispatcher = app.dispatcher

        async def inline(req: Any) -> Any:
            return dispatcher.handle_sync(req)

        dispatcher.handle = inline
    backends = pg_backends(args.database_url)
    results: dict[str, dict[str, float]] = {}
    console = Console(width=160)
    loop = asyncio.new_event_loop()
    try:
        for name, raw in requests.items():
            only = args.only.lower()
            if (name.lower() != only[1:]) if only.startswith("=") else (only not in name.lower()):
                continue
            srp_flow = name == "USER_SRP_AUTH"
            scope, body = ({}, raw) if srp_flow else _asgi_request(raw)
            calls = args.calls // 3 if name.startswith("REFRESH") else args.calls // 10 if srp_flow else args.calls
            if srp_flow:
                loop.run_until_complete(_repeat_srp(app, raw, 20))  # warm-up
            else:
                loop.run_until_complete(_repeat(app, scope, body, max(calls // 10, 20)))  # warm-up
            rounds = []
            for _ in range(args.rounds):
                gc.collect()
                pg_before = backends.cpu() if backends else {}
                started, thread_started, usage = time.process_time(), time.thread_time(), resource.getrusage(0)
                if srp_flow:
                    own = loop.run_until_complete(_repeat_srp(app, raw, calls)) / calls
                else:
                    loop.run_until_complete(_repeat(app, scope, body, calls))
                    own = (time.process_time() - started) / calls
                if os.environ.get("HOT_PATHS_DEBUG"):
                    after = resource.getrusage(0)
                    print(name, "thread", (time.thread_time() - thread_started) / calls * 1e6, "process", own * 1e6,
                          "user", (after.ru_utime - usage.ru_utime) / calls * 1e6,
                          "sys", (after.ru_stime - usage.ru_stime) / calls * 1e6,
                          "vcsw", (after.ru_nvcsw - usage.ru_nvcsw) / calls, "ivcsw", (after.ru_nivcsw - usage.ru_nivcsw) / calls)
                pg = backends.used(pg_before, backends.cpu()) / calls if backends else 0.0
                rounds.append((own + pg, own, pg))
            rounds.sort()
            total, own, pg = rounds[len(rounds) // 2]
            results[name] = {"ostiary_us": own * 1e6, "postgres_us": pg * 1e6, "total_us": total * 1e6}
            if args.profile:
                prof = cProfile.Profile(time.process_time)
                prof.enable()
                if srp_flow:  # (the worker pool's threads are not profiled: HOT_PATHS_INLINE=1 runs them inline)
                    loop.run_until_complete(_repeat_srp(app, raw, calls))
                else:
                    loop.run_until_complete(_repeat(app, scope, body, calls))
                prof.disable()
                console.print(f"[bold]{name}[/]: cProfile, {calls} calls")
                stats = pstats.Stats(prof).sort_stats(os.environ.get("HOT_PATHS_SORT", "tottime"))
                stats.print_stats(args.profile)
                if os.environ.get("HOT_PATHS_CALLERS"):  # who calls the functions matching this text
                    stats.print_callers(os.environ["HOT_PATHS_CALLERS"])
                if os.environ.get("HOT_PATHS_CALLEES"):  # what the functions matching this text call
                    stats.print_callees(os.environ["HOT_PATHS_CALLEES"])
    finally:
        loop.close()
        if backends:
            backends.close()
        app.dispatcher.runtime.store.dispose()
        shutil.rmtree(data_dir, ignore_errors=True)
    floor = signature_floor(300) if "REFRESH_TOKEN_AUTH" in results else 0.0
    srp_floor = _srp_floor() if "USER_SRP_AUTH" in results else 0.0

    store = "PostgreSQL" if args.database_url else "SQLite"
    table = Table(title=f"Hot paths in process — {store}, {args.calls} calls x {args.rounds} rounds (median), "
                        f"load average {os.getloadavg()[0]:.1f}")
    for col in ("operation", "Ostiary µs/call", "PostgreSQL µs/call", "total µs/call", "per core", "floor ratio"):
        table.add_column(col, justify="left" if col == "operation" else "right")
    for name, r in results.items():
        ratio = f"{floor * 1e6 / r['total_us']:.2f} (floor {floor * 1e6:.0f} µs)" if name.startswith("REFRESH") else ""
        if name == "USER_SRP_AUTH" and srp_floor:
            ratio = f"{srp_floor * 1e6 / r['total_us']:.2f} (floor {srp_floor * 1e6:.0f} µs)"
        table.add_row(name, f"{r['ostiary_us']:.0f}", f"{r['postgres_us']:.0f}" if args.database_url else "-",
                      f"{r['total_us']:.0f}", f"{1e6 / r['total_us']:,.0f}", ratio)
    console.print(table)



if __name__ == "__main__":
    main()
