"""Hosted UI (classic) branding: GetUICustomization and SetUICustomization (Cognito API Reference;
Developer Guide, "Customizing hosted UI (classic) branding").

Settings are per app client, or pool-wide under ClientId ``ALL``; a client with settings of its own
no longer falls back to ``ALL``. Each SetUICustomization replaces both the CSS and the logo ("You
can't set CSS and logo customization separately"). The CSS may only style the classes AWS lists, and
may not load anything (no ``url(``, no at-rules, no ``expression(``). The logo (PNG or JPEG,
at most 100 KB) is served at ``GET /_ostiary/ui/<poolId>/<clientId>/logo``, the ImageUrl.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.engine import Row

from ostiary.config import Settings
from ostiary.protocol.context import RequestContext, Runtime
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools.errors import InvalidParameterException
from ostiary.userpools.lookup import client_in_pool, pool_for_caller

ALL = "ALL"
MAX_IMAGE_BYTES = 100 * 1024
# the class names the Developer Guide allows, with the pseudo-classes it lists for some of them
ALLOWED_CLASSES = frozenset(
    {
        "background-customizable",
        "banner-customizable",
        "errorMessage-customizable",
        "idpButton-customizable",
        "idpDescription-customizable",
        "inputField-customizable",
        "label-customizable",
        "legalText-customizable",
        "logo-customizable",
        "passwordCheck-notValid-customizable",
        "passwordCheck-valid-customizable",
        "redirect-customizable",
        "socialButton-customizable",
        "submitButton-customizable",
        "textDescription-customizable",
    }
)
ALLOWED_PSEUDO = {
    "idpButton-customizable": {"hover"},
    "submitButton-customizable": {"hover"},
    "inputField-customizable": {"focus"},
}
_FORBIDDEN = ("url(", "@", "expression(", "javascript:", "vbscript:", "behavior", "-moz-binding", "<", "\\", "image(")
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_RULE = re.compile(r"\s*([^{}]+)\{([^{}]*)\}\s*")
_SELECTOR = re.compile(r"^\.([A-Za-z-]+)(?::([a-z-]+))?$")
_PROPERTY = re.compile(r"^-?[a-z][a-z-]*$")
_IMAGE_TYPES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))

_ROW = select(t.ui_customizations).where(
    t.ui_customizations.c.user_pool_id == bindparam("pool_id"), t.ui_customizations.c.client_id == bindparam("client")
)
_HAS_DOMAIN = select(t.user_pool_domains.c.domain).where(t.user_pool_domains.c.user_pool_id == bindparam("pool_id"))


def check_css(css: str) -> None:
    """Rules ``<selectors> { <declarations> }`` over the allowed classes only; nothing that loads or
    runs anything. Raises InvalidParameterException."""
    text = _COMMENT.sub(" ", css)
    lowered = text.lower()
    for bad in _FORBIDDEN:
        if bad in lowered:
            raise InvalidParameterException(f"CSS is invalid: '{bad}' is not allowed.")
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = _RULE.match(text, pos)
        if m is None:
            raise InvalidParameterException("CSS is invalid: expected '<class selector> { <declarations> }'.")
        for selector in m.group(1).split(","):
            _check_selector(selector.strip())
        for declaration in m.group(2).split(";"):
            if not declaration.strip():
                continue
            prop, sep, value = declaration.partition(":")
            if not sep or not _PROPERTY.match(prop.strip()) or not value.strip():
                raise InvalidParameterException(f"CSS is invalid: bad declaration '{declaration.strip()}'.")
        pos = m.end()


def _check_selector(selector: str) -> None:
    m = _SELECTOR.match(selector)
    if m is None or m.group(1) not in ALLOWED_CLASSES:
        raise InvalidParameterException(f"CSS is invalid: the selector '{selector}' is not allowed.")
    pseudo = m.group(2)
    if pseudo is not None and pseudo not in ALLOWED_PSEUDO.get(m.group(1), set()):
        raise InvalidParameterException(f"CSS is invalid: the selector '{selector}' is not allowed.")


def image_type(data: bytes) -> str | None:
    """The media type of a PNG or JPEG file, else None."""
    for magic, media in _IMAGE_TYPES:
        if data.startswith(magic):
            return media
    return None


def check_image(data: bytes) -> None:
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidParameterException("The logo image must be no larger than 100 KB.")
    if image_type(data) is None:
        raise InvalidParameterException("The logo image must be a PNG or JPEG file.")


def logo_path(pool_id: str, client_id: str) -> str:
    return f"/_ostiary/ui/{pool_id}/{client_id}/logo"


def _css_version(row: Row[Any]) -> str:
    return utc(row.updated_at).strftime("%Y%m%d%H%M%S%f")


def effective_row(conn: Connection, pool_id: str, client_id: str | None) -> Row[Any] | None:
    """The customization that applies to a client: its own, else the pool's ``ALL``."""
    if client_id and client_id != ALL:
        row = conn.execute(_ROW, {"pool_id": pool_id, "client": client_id}).first()
        if row is not None:
            return row
    return conn.execute(_ROW, {"pool_id": pool_id, "client": ALL}).first()


def effective_customization(conn: Connection, pool_id: str, client_id: str) -> tuple[str | None, bool]:
    """(CSS, whether there is a logo) for a client's hosted pages; the logo is at ``logo_path``."""
    row = effective_row(conn, pool_id, client_id)
    if row is None:
        return None, False
    return row.css, row.image is not None


def _customization_type(settings: Settings, pool_id: str, client_id: str, row: Row[Any] | None) -> dict[str, Any]:
    if row is None:
        return {"UserPoolId": pool_id, "ClientId": client_id}
    out: dict[str, Any] = {
        "UserPoolId": pool_id,
        "ClientId": row.client_id,
        "CSSVersion": _css_version(row),
        "LastModifiedDate": utc(row.updated_at),
        "CreationDate": utc(row.created_at),
    }
    if row.css is not None:
        out["CSS"] = row.css
    if row.image is not None:
        path = logo_path(pool_id, row.client_id)
        out["ImageUrl"] = f"{settings.effective_public_url}{path}?v={out['CSSVersion']}"
    return out


@operation("cognito-idp", "SetUICustomization")
def set_ui_customization(ctx: RequestContext, params: Params) -> Result:
    """Replaces the CSS and the logo of a client, or of the pool (ClientId ``ALL`` or omitted).
    As in AWS, the pool needs a domain first."""
    client_id = params.get("ClientId") or ALL
    css = params.get("CSS")
    image = params.get("ImageFile") or None
    if css is not None:
        check_css(css)
    if image is not None:
        check_image(bytes(image))
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        if client_id != ALL:
            client_in_pool(conn, ctx.box, pool, client_id)
        if conn.execute(_HAS_DOMAIN, {"pool_id": pool.id}).first() is None:
            raise InvalidParameterException("There has to be an existing domain associated with this user pool")
        values = {"css": css, "image": bytes(image) if image is not None else None, "updated_at": ctx.now}
        existing = conn.execute(_ROW, {"pool_id": pool.id, "client": client_id}).first()
        if existing is None:
            conn.execute(
                insert(t.ui_customizations).values(
                    user_pool_id=pool.id, client_id=client_id, created_at=ctx.now, **values
                )
            )
        else:
            ui = t.ui_customizations.c
            conn.execute(
                update(t.ui_customizations)
                .where(ui.user_pool_id == pool.id, ui.client_id == client_id)
                .values(**values)
            )
        row = conn.execute(_ROW, {"pool_id": pool.id, "client": client_id}).one()
    return {"UICustomization": _customization_type(ctx.settings, pool.id, client_id, row)}


@operation("cognito-idp", "GetUICustomization")
def get_ui_customization(ctx: RequestContext, params: Params) -> Result:
    """The customization that applies: the client's own, else the pool's (reported as ClientId
    ``ALL``), else only UserPoolId and ClientId."""
    client_id = params.get("ClientId") or ALL
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        if client_id != ALL:
            client_in_pool(conn, ctx.box, pool, client_id)
        row = effective_row(conn, pool.id, client_id)
    return {"UICustomization": _customization_type(ctx.settings, pool.id, client_id, row)}


def logo(runtime: Runtime, pool_id: str, client_id: str) -> bytes | None:
    """The logo that applies to the client (its own, else the pool's ``ALL``), served at the ImageUrl
    (``ostiary.web.ui_logo``)."""
    with runtime.store.read() as conn:
        row = effective_row(conn, pool_id, client_id)
    return bytes(row.image) if row is not None and row.image is not None else None
