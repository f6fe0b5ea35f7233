"""``PUT /_ostiary/import/<jobId>``: a user-import job's CSV, uploaded as to an S3 pre-signed URL
(``ostiary.userpools.user_import`` makes the URL and imports the file). The front door (app.py)
limits this path's body to ``max_upload_bytes``."""

from __future__ import annotations

import time

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ostiary.protocol.context import Runtime
from ostiary.userpools import user_import


def routes(runtime: Runtime) -> list[BaseRoute]:
    async def upload(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        try:
            expires = int(request.query_params.get("X-Ostiary-Expires", "0"))
        except ValueError:
            expires = 0
        given = request.query_params.get("X-Ostiary-Signature", "")
        if not user_import.upload_authorized(runtime, job_id, expires, given, time.time()):
            return Response("The upload URL is invalid or has expired.", status_code=403, media_type="text/plain")
        body = await request.body()
        if len(body) > user_import.MAX_CSV_BYTES:
            return Response("The file is larger than 100 MB.", status_code=413, media_type="text/plain")
        try:  # decoded and kept a slice at a time: the file is never held as one text
            waiting = await to_thread.run_sync(user_import.store_upload, runtime, job_id, body)
        except UnicodeDecodeError:
            return Response("The file must be UTF-8 CSV.", status_code=400, media_type="text/plain")
        if not waiting:
            return Response("No import job is waiting for this file.", status_code=404, media_type="text/plain")
        return Response(status_code=200)

    return [Route(user_import.UPLOAD_PATH + "{job_id}", upload, methods=["PUT"])]
