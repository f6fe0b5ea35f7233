"""``GET /_ostiary/branding/<poolId>/<brandingId>/<category>/<colorMode>``: an image asset of a
managed login branding style, for the hosted pages of a domain with ManagedLoginVersion 2
(``ostiary.userpools.managed_login``). Public, as the hosted pages' images are. An SVG is served
sandboxed (no scripts, nothing loaded), whatever it contains."""

from __future__ import annotations

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ostiary.protocol.context import Runtime
from ostiary.userpools import managed_login


def routes(runtime: Runtime) -> list[BaseRoute]:
    async def asset(request: Request) -> Response:
        p = request.path_params
        found = None
        if p["color_mode"] in managed_login.COLOR_MODES and len(p["branding_id"]) == 36:
            found = await to_thread.run_sync(
                managed_login.asset, runtime, p["pool_id"], p["branding_id"], p["category"], p["color_mode"]
            )
        if found is None:
            return Response("No such asset.", status_code=404, media_type="text/plain")
        extension, data = found
        headers = {
            "cache-control": "public, max-age=300",
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        }
        return Response(data, media_type=managed_login.MEDIA_TYPES[extension], headers=headers)

    return [Route("/_ostiary/branding/{pool_id}/{branding_id}/{category}/{color_mode}", asset, methods=["GET"])]
