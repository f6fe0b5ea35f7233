"""A small upstream for the gateway's tests, run as a real process:
``python -m tests.gateway.upstream_app PORT``.

- ``/download/<n>``: n bytes, streamed in 256 KiB chunks (no Content-Length);
- ``/upload``: reads the body as it arrives and answers its length and sha256 (never holds it);
- ``/slow/<seconds>``: answers after that long (the upstream is slow; the test does not wait it out);
- anything else: echoes the method, path, query, headers and body (JSON).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from typing import Any

import uvicorn

CHUNK = 256 * 1024


async def _json(send: Any, doc: dict[str, Any], status: int = 200) -> None:
    body = json.dumps(doc).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    path: str = scope["path"]
    if path.startswith("/download/"):
        left = int(path.rsplit("/", 1)[1])
        headers = [(b"content-type", b"application/octet-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        block = b"x" * CHUNK
        while left > 0:
            piece = block if left >= CHUNK else block[:left]
            left -= len(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": left > 0})
        return
    digest = hashlib.sha256()
    length = 0
    kept = bytearray()
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        digest.update(chunk)
        length += len(chunk)
        if len(kept) < 65536:
            kept += chunk[: 65536 - len(kept)]
        if not message.get("more_body"):
            break
    if path.startswith("/slow/"):
        await asyncio.sleep(float(path.rsplit("/", 1)[1]))
    await _json(
        send,
        {
            "method": scope["method"],
            "path": path,
            "raw_path": scope.get("raw_path", b"").decode("latin-1"),
            "query": scope.get("query_string", b"").decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
            "body": kept.decode("latin-1") if path != "/upload" else "",
            "length": length,
            "sha256": digest.hexdigest(),
        },
    )


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="on")
