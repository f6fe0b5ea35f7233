"""``GET /_ostiary/ui/<poolId>/<clientId>/logo``: the logo that applies to the client (its own, else
the pool's ``ALL``); public, as AWS's ImageUrl is (``ostiary.userpools.ui_customization``)."""

from __future__ import annotations

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ostiary.protocol.context import Runtime
from ostiary.userpools import ui_customization


def routes(runtime: Runtime) -> list[BaseRoute]:
    async def logo(request: Request) -> Response:
        data = await to_thread.run_sync(
            ui_customization.logo, runtime, request.path_params["pool_id"], request.path_params["client_id"]
        )
        if data is None:
            return Response("No logo for this client.", status_code=404, media_type="text/plain")
        headers = {"cache-control": "public, max-age=300", "x-content-type-options": "nosniff"}
        return Response(
            data, media_type=ui_customization.image_type(data) or "application/octet-stream", headers=headers
        )

    return [Route("/_ostiary/ui/{pool_id}/{client_id}/logo", logo, methods=["GET"])]
