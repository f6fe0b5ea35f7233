"""The cognito-identity OpenID issuer's documents (``ostiary.identitypools.openid``):
``GET /cognito-identity/.well-known/openid-configuration`` and ``…/jwks_uri`` (also served as
``…/jwks.json``). Mount them before the user pools' ``/{pool_id}/.well-known/…`` routes."""

from __future__ import annotations

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ostiary.identitypools import openid
from ostiary.protocol.context import Runtime


def routes(runtime: Runtime) -> list[BaseRoute]:
    cache = {"cache-control": "public, max-age=300"}

    async def keyset(_: Request) -> Response:
        return JSONResponse(await to_thread.run_sync(openid.jwks, runtime.keys), headers=cache)

    async def configuration(_: Request) -> Response:
        return JSONResponse(openid.discovery_document(runtime.settings), headers=cache)

    return [
        Route(f"/{openid.OWNER}/.well-known/openid-configuration", configuration, methods=["GET"]),
        Route(f"/{openid.OWNER}/.well-known/jwks_uri", keyset, methods=["GET"]),
        Route(f"/{openid.OWNER}/.well-known/jwks.json", keyset, methods=["GET"]),
    ]
