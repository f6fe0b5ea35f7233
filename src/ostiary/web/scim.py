"""``/scim/<identity store id>/v2/…``: the SCIM 2.0 endpoint of an identity store
(``ostiary.identitystore.scim``). Every request carries one of the store's SCIM tokens
(``Authorization: Bearer …``); anything else is 401 with SCIM's error body. Bodies are JSON
(``application/scim+json`` or ``application/json``), bounded by the front door's ``max_body_bytes``
and by nesting depth (``jsonlimits``)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

from anyio import to_thread
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ostiary import jsonlimits
from ostiary.identitystore import network
from ostiary.identitystore.scim import discovery, service, tokens
from ostiary.identitystore.scim.service import Endpoint, ScimError
from ostiary.protocol.context import RequestContext, Runtime
from ostiary.ssoadmin import instances

PREFIX = "/scim"
MEDIA_TYPE = "application/scim+json"
_JSON_DEPTH = 16


def base_url(public_url: str, store_id: str) -> str:
    """The SCIM endpoint an administrator gives the external IdP."""
    return f"{public_url.rstrip('/')}{PREFIX}/{store_id}/v2"


def _response(status: int, body: Any = None, etag: str | None = None, location: str | None = None) -> Response:
    headers: dict[str, str] = {"cache-control": "no-store"}
    if etag:
        headers["etag"] = etag
    if location:
        headers["location"] = location
    if status == 401:
        headers["www-authenticate"] = 'Bearer realm="scim"'
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return Response(content, status_code=status, media_type=MEDIA_TYPE if body is not None else None, headers=headers)


def _error(e: ScimError) -> Response:
    return _response(e.status, e.body())


def _body(raw: bytes) -> Any:
    try:
        return jsonlimits.loads(raw, _JSON_DEPTH)
    except (ValueError, UnicodeDecodeError):
        raise ScimError(400, "The request body is not valid JSON.", "invalidSyntax") from None


def _object(raw: bytes) -> dict[str, Any]:
    body = _body(raw)
    if not isinstance(body, dict):
        raise ScimError(400, "The request body must be a JSON object.", "invalidSyntax")
    return body


def _bearer(request: Request) -> str:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.casefold() == "bearer" else ""


def routes(runtime: Runtime) -> list[BaseRoute]:
    def handle(
        method: str,
        store_id: str,
        parts: list[str],
        params: dict[str, str],
        headers: dict[str, str],
        raw: bytes,
        bearer: str,
        client_ip: str,
    ) -> Response:
        now = dt.datetime.now(dt.UTC)
        with runtime.store.tx() as conn:
            if tokens.authenticate(conn, store_id, bearer, now) is None:
                raise ScimError(401, "The bearer token is missing, invalid or expired.")
            instance = instances.by_identity_store(conn, store_id)
        if instance is None or not network.scim_allowed(network.config(instance), client_ip):
            raise ScimError(403, "The identity store's network configuration does not allow SCIM from this address.")
        ctx = RequestContext(
            runtime=runtime,
            request_id=str(uuid.uuid4()),
            service="identitystore",
            operation="SCIM",
            region=runtime.settings.region,
            principal=None,
            source_ip=client_ip,
            now=now,
            user_agent=headers.get("user-agent"),
        )
        ep = Endpoint(
            store_id, base_url(runtime.settings.effective_public_url, store_id), now, instance["account_id"], ctx
        )
        if_match = headers.get("if-match")
        kind = parts[0] if parts else ""
        rid = parts[1] if len(parts) == 2 else None
        if len(parts) > 2 or not kind:
            raise ScimError(404, "No such SCIM resource.")
        if kind in ("ServiceProviderConfig", "ResourceTypes", "Schemas"):
            if method != "GET":
                raise ScimError(405, f"{method} is not allowed on {kind}.")
            return _discovery(ep, kind, rid)
        if kind in ("Bulk", ".search"):
            raise ScimError(501, f"{kind} is not supported (search /Users/.search or /Groups/.search).")
        if kind not in ("Users", "Groups"):
            raise ScimError(404, "No such SCIM resource.")
        users = kind == "Users"
        if rid == ".search":  # a SearchRequest: the GET's query in a body
            if method != "POST":
                raise ScimError(405, f"{method} is not allowed on /{kind}/.search.")
            params, method, rid = service.search_params(_object(raw)), "GET", None
        if rid is None:
            if method == "GET":
                with runtime.store.read() as conn:
                    return _response(200, (service.list_users if users else service.list_groups)(conn, ep, params))
            if method == "POST":
                new = _object(raw)
                with runtime.store.tx() as conn:
                    created = (service.create_user if users else service.create_group)(conn, ep, new)
                return _response(201, created, created["meta"]["version"], created["meta"]["location"])
            raise ScimError(405, f"{method} is not allowed on /{kind}.")
        if method == "GET":
            with runtime.store.read() as conn:
                found = (service.get_user if users else service.get_group)(conn, ep, rid, params)
            version = found["meta"]["version"]
            if headers.get("if-none-match") in (version, version.removeprefix("W/")):
                return _response(304, etag=version)
            return _response(200, found, version)
        if method == "DELETE":
            with runtime.store.tx() as conn:
                (service.delete_user if users else service.delete_group)(conn, ep, rid, if_match)
            return _response(204)
        write: Callable[[Connection, Endpoint, str, Any, str | None], dict[str, Any]]
        if method == "PUT":
            write = service.replace_user if users else service.replace_group
            body: Any = _object(raw)
        elif method == "PATCH":
            write = service.patch_user if users else service.patch_group
            body = _body(raw)
        else:
            raise ScimError(405, f"{method} is not allowed on /{kind}/{{id}}.")
        with runtime.store.tx() as conn:
            written = write(conn, ep, rid, body, if_match)
        return _response(200, written, written["meta"]["version"], written["meta"]["location"])

    async def endpoint(request: Request) -> Response:
        store_id = request.path_params["store_id"]
        path = request.path_params.get("path", "")
        parts = [p for p in path.split("/") if p]
        params = dict(request.query_params)
        headers = {
            k.lower(): v for k, v in request.headers.items() if k.lower() in ("if-match", "if-none-match", "user-agent")
        }
        raw = await request.body()
        try:
            return await to_thread.run_sync(
                handle,
                request.method,
                store_id,
                parts,
                params,
                headers,
                raw,
                _bearer(request),
                request.client.host if request.client else "",
            )
        except ScimError as e:
            return _error(e)

    return [
        Route(PREFIX + "/{store_id}/v2/{path:path}", endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]


def _discovery(ep: Endpoint, kind: str, rid: str | None) -> Response:
    if kind == "ServiceProviderConfig":
        return _response(200, discovery.service_provider_config(ep.base))
    items = discovery.resource_types(ep.base) if kind == "ResourceTypes" else discovery.schemas(ep.base)
    if rid is None:
        return _response(
            200,
            {
                "schemas": [service.LIST],
                "totalResults": len(items),
                "itemsPerPage": len(items),
                "startIndex": 1,
                "Resources": items,
            },
        )
    for item in items:
        if item["id"] == rid:
            return _response(200, item)
    raise ScimError(404, f"No {kind} {rid}.")
