"""Managed login branding: Create/Describe/DescribeByClient/Update/DeleteManagedLoginBranding (Cognito
API Reference; Developer Guide, "The branding editor and customizing managed login").

A style belongs to one app client (a second one is ManagedLoginBrandingExistsException). It holds a
``Settings`` document (the branding editor's JSON: ``categories``, ``componentClasses``,
``components``) and image ``Assets``, one per category and color mode. What a request leaves out is
kept: Settings are merged into the stored document (objects key by key, anything else replaced),
Assets replace the stored asset of the same category and color mode. ``UseCognitoProvidedValues``
drops both and uses Cognito's style (managed_login_defaults); it cannot come with Settings or
Assets. ``ReturnMergedResources`` answers the stored document merged over the defaults.

Bounds (Ostiary's, AWS publishes none but the 2 MB request): the Settings document at most 128 KiB
as compact JSON and 10 levels deep; colors ``RRGGBBAA`` hex; border radii 0-100; each asset at most
1,000,000 bytes (the model's) of the file type its Extension names, checked by content; an SVG may
not carry scripts, event handlers, entities or external references.

When the domain's ManagedLoginVersion is 2, the hosted pages of a client with a style are drawn
from it (``page_brand``: CSS variables, logo, background, favicons; assets served by
``ostiary.web.managed_login_assets``); version 1 keeps the classic customization (ui_customization).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from ostiary.protocol.context import RequestContext, Runtime
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools.errors import (
    InvalidParameterException,
    ManagedLoginBrandingExistsException,
    ResourceNotFoundException,
)
from ostiary.userpools.lookup import client_in_pool, pool_for_caller
from ostiary.userpools.managed_login_defaults import DEFAULT_SETTINGS

MAX_SETTINGS_BYTES = 128 * 1024
MAX_SETTINGS_DEPTH = 10
MAX_STRING = 2048
MAX_ASSET_BYTES = 1_000_000
MAX_ASSETS = 40
TOP_LEVEL = frozenset({"categories", "componentClasses", "components"})
COLOR_MODES = ("LIGHT", "DARK", "DYNAMIC")
_HEX = re.compile(r"^[0-9a-fA-F]{8}$")
# keys whose values the branding editor limits to a set
_ENUMS: dict[str, frozenset[str]] = {
    "colorSchemeMode": frozenset(COLOR_MODES),
    "horizontal": frozenset({"START", "CENTER", "END"}),
    "vertical": frozenset({"START", "CENTER", "END"}),
    "spacingDensity": frozenset({"COMPACT", "REGULAR", "SPACIOUS"}),
}
MEDIA_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "ICO": "image/x-icon",
    "SVG": "image/svg+xml",
}
_IMAGES = frozenset({"PNG", "JPEG", "SVG", "WEBP"})
# the file types each category takes: the favicons are their own types, the rest are pictures
CATEGORY_EXTENSIONS: dict[str, frozenset[str]] = {
    "FAVICON_ICO": frozenset({"ICO"}),
    "FAVICON_SVG": frozenset({"SVG"}),
}
_SVG_FORBIDDEN = re.compile(
    rb"<!doctype|<!entity|<script|<foreignobject|<iframe|<embed|<object|@import|javascript:|data:"
    rb"|\son[a-z]+\s*="  # event handlers
    rb"|(?:href|src)\s*=\s*(?![\"']?#)"  # a reference to anything but a fragment of the file itself
    rb"|url\(\s*(?![\"']?#)",  # the same in CSS
    re.IGNORECASE,
)


# -- checks ------------------------------------------------------------------------------------------
def check_settings(settings: Any) -> dict[str, Any]:
    """A Settings document as the branding editor writes it, bounded; InvalidParameterException."""
    if not isinstance(settings, dict):
        raise InvalidParameterException("Settings must be a JSON object.")
    if len(json.dumps(settings, separators=(",", ":"))) > MAX_SETTINGS_BYTES:
        raise InvalidParameterException(f"Settings must be no larger than {MAX_SETTINGS_BYTES} bytes.")
    unknown = sorted(set(settings) - TOP_LEVEL)
    if unknown:
        raise InvalidParameterException(
            f"Settings has unknown members {unknown}: expected categories, componentClasses and components."
        )
    _check_value(settings, "Settings", 0)
    return settings


def _check_value(value: Any, path: str, depth: int) -> None:
    if depth > MAX_SETTINGS_DEPTH:
        raise InvalidParameterException(f"Settings is nested too deeply at {path}.")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key or len(key) > 64:
                raise InvalidParameterException(f"Settings has an invalid member name at {path}.")
            where = f"{path}.{key}"
            if key == "color" or key.endswith("Color"):
                if not isinstance(item, str) or not _HEX.match(item):
                    raise InvalidParameterException(f"{where} must be a color as 8 hex digits (RRGGBBAA).")
            elif key == "borderRadius":
                if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0 <= item <= 100:
                    raise InvalidParameterException(f"{where} must be a number from 0 to 100.")
            elif key == "enabled":
                if not isinstance(item, bool):
                    raise InvalidParameterException(f"{where} must be true or false.")
            elif key in _ENUMS and item not in _ENUMS[key]:
                raise InvalidParameterException(f"{where} must be one of {sorted(_ENUMS[key])}.")
            _check_value(item, where, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, f"{path}[{i}]", depth + 1)
    elif isinstance(value, str) and len(value) > MAX_STRING:
        raise InvalidParameterException(f"{path} is longer than {MAX_STRING} characters.")


def sniff(data: bytes) -> str | None:
    """The file type of an image's bytes (an AssetExtensionType value), else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data.startswith(b"\x00\x00\x01\x00"):
        return "ICO"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<?xml"):
        head = head[head.find(b"?>") + 2 :].lstrip() if b"?>" in head else b""
    if head.startswith(b"<svg") and b"</svg>" in data[-64:]:
        return "SVG"
    return None


def check_asset(asset: dict[str, Any]) -> None:
    category, extension = asset["Category"], asset["Extension"]
    allowed = CATEGORY_EXTENSIONS.get(category, _IMAGES)
    if extension not in allowed:
        raise InvalidParameterException(
            f"Assets of category {category} must be of type {' or '.join(sorted(allowed))}, not {extension}."
        )
    data = asset.get("Bytes")
    if data is None:
        return
    data = bytes(data)
    if not data:
        raise InvalidParameterException(f"The {category} asset is empty.")
    if len(data) > MAX_ASSET_BYTES:
        raise InvalidParameterException(f"The {category} asset must be no larger than {MAX_ASSET_BYTES} bytes.")
    if sniff(data) != extension:
        raise InvalidParameterException(f"The {category} asset is not a valid {extension} file.")
    if extension == "SVG" and _SVG_FORBIDDEN.search(data):
        raise InvalidParameterException(
            f"The {category} SVG asset may not contain scripts, event handlers, entities or external references."
        )


def _check_request(params: Params) -> None:
    assets = params.get("Assets")
    if params.get("UseCognitoProvidedValues") and (params.get("Settings") is not None or assets):
        raise InvalidParameterException(
            "When UseCognitoProvidedValues is true, Settings and Assets must not be provided."
        )
    if params.get("Settings") is not None:
        check_settings(params["Settings"])
    seen: set[tuple[str, str]] = set()
    for asset in assets or []:
        key = (asset["Category"], asset["ColorMode"])
        if key in seen:
            raise InvalidParameterException(f"Assets has more than one {key[0]} asset for color mode {key[1]}.")
        seen.add(key)
        check_asset(asset)


def merge(base: Any, overlay: Any) -> Any:
    """``overlay`` over ``base``: objects merged member by member, anything else replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for key, value in overlay.items():
            out[key] = merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(overlay)


# -- storage -----------------------------------------------------------------------------------------
_B = t.managed_login_brandings
_A = t.managed_login_assets
_BY_ID = select(_B).where(_B.c.user_pool_id == bindparam("pool_id"), _B.c.id == bindparam("branding_id"))
_BY_CLIENT = select(_B).where(_B.c.user_pool_id == bindparam("pool_id"), _B.c.client_id == bindparam("client_id"))
_ASSETS = select(_A).where(_A.c.branding_id == bindparam("branding_id")).order_by(_A.c.category, _A.c.color_mode)
_ASSET_KEYS = select(_A.c.category, _A.c.color_mode, _A.c.extension).where(_A.c.branding_id == bindparam("branding_id"))
_ONE_ASSET = select(_A.c.extension, _A.c.data).where(
    _A.c.branding_id == bindparam("branding_id"),
    _A.c.category == bindparam("category"),
    _A.c.color_mode == bindparam("color_mode"),
)


def _branding_id(params: Params) -> str:
    value = params.get("ManagedLoginBrandingId")
    if not value:
        raise InvalidParameterException("ManagedLoginBrandingId is required.")
    return str(value).lower()


def _not_found(branding_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Managed login branding {branding_id} does not exist.")


def _write_assets(conn: Connection, branding_id: str, assets: list[dict[str, Any]]) -> None:
    for asset in assets:
        key = {"branding_id": branding_id, "category": asset["Category"], "color_mode": asset["ColorMode"]}
        data = asset.get("Bytes")
        if data is None:
            existing = conn.execute(_ONE_ASSET, key).first()
            if existing is None:
                raise InvalidParameterException(f"The {asset['Category']} asset needs Bytes.")
            if existing.extension != asset["Extension"]:
                raise InvalidParameterException(
                    f"The {asset['Category']} asset's Extension can only change with new Bytes."
                )
            if asset.get("ResourceId") is not None:
                conn.execute(
                    update(_A)
                    .where(_A.c.branding_id == branding_id, _A.c.category == key["category"])
                    .where(_A.c.color_mode == key["color_mode"])
                    .values(resource_id=asset["ResourceId"])
                )
            continue
        raw = bytes(data)
        conn.execute(
            delete(_A).where(
                _A.c.branding_id == branding_id, _A.c.category == key["category"], _A.c.color_mode == key["color_mode"]
            )
        )
        conn.execute(
            insert(_A).values(
                **key, extension=asset["Extension"], resource_id=asset.get("ResourceId"), size=len(raw), data=raw
            )
        )
    count = len(conn.execute(_ASSET_KEYS, {"branding_id": branding_id}).all())
    if count > MAX_ASSETS:
        raise InvalidParameterException(f"A managed login branding style can have at most {MAX_ASSETS} assets.")


def _shape(conn: Connection, row: Row[Any], merged: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ManagedLoginBrandingId": row.id,
        "UserPoolId": row.user_pool_id,
        "UseCognitoProvidedValues": bool(row.use_cognito_provided_values),
        "CreationDate": utc(row.created_at),
        "LastModifiedDate": utc(row.updated_at),
    }
    stored = dict(row.settings or {})
    settings = merge(DEFAULT_SETTINGS, stored) if merged else stored
    if settings:
        out["Settings"] = settings
    assets = []
    for a in conn.execute(_ASSETS, {"branding_id": row.id}):
        item: dict[str, Any] = {
            "Category": a.category,
            "ColorMode": a.color_mode,
            "Extension": a.extension,
            "Bytes": bytes(a.data),
        }
        if a.resource_id is not None:
            item["ResourceId"] = a.resource_id
        assets.append(item)
    out["Assets"] = assets
    return out


# -- operations --------------------------------------------------------------------------------------
@operation("cognito-idp", "CreateManagedLoginBranding")
def create_managed_login_branding(ctx: RequestContext, params: Params) -> Result:
    _check_request(params)
    branding_id = str(uuid.uuid4())
    use_defaults = bool(params.get("UseCognitoProvidedValues"))
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        client = client_in_pool(conn, ctx.box, pool, params["ClientId"])
        if conn.execute(_BY_CLIENT, {"pool_id": pool.id, "client_id": client.id}).first() is not None:
            raise ManagedLoginBrandingExistsException(
                f"A managed login branding style already exists for app client {client.id}."
            )
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(_B).values(
                        id=branding_id,
                        user_pool_id=pool.id,
                        client_id=client.id,
                        use_cognito_provided_values=use_defaults,
                        settings=dict(params.get("Settings") or {}),
                        created_at=ctx.now,
                        updated_at=ctx.now,
                    )
                )
        except IntegrityError:  # a concurrent create for the same client won
            raise ManagedLoginBrandingExistsException(
                f"A managed login branding style already exists for app client {client.id}."
            ) from None
        _write_assets(conn, branding_id, list(params.get("Assets") or []))
        row = conn.execute(_BY_ID, {"pool_id": pool.id, "branding_id": branding_id}).one()
        return {"ManagedLoginBranding": _shape(conn, row, merged=False)}


@operation("cognito-idp", "DescribeManagedLoginBranding")
def describe_managed_login_branding(ctx: RequestContext, params: Params) -> Result:
    branding_id = _branding_id(params)
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = conn.execute(_BY_ID, {"pool_id": pool.id, "branding_id": branding_id}).first()
        if row is None:
            raise _not_found(branding_id)
        return {"ManagedLoginBranding": _shape(conn, row, bool(params.get("ReturnMergedResources")))}


@operation("cognito-idp", "DescribeManagedLoginBrandingByClient")
def describe_managed_login_branding_by_client(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        client = client_in_pool(conn, ctx.box, pool, params["ClientId"])
        row = conn.execute(_BY_CLIENT, {"pool_id": pool.id, "client_id": client.id}).first()
        if row is None:
            raise ResourceNotFoundException(f"App client {client.id} has no managed login branding style.")
        return {"ManagedLoginBranding": _shape(conn, row, bool(params.get("ReturnMergedResources")))}


@operation("cognito-idp", "UpdateManagedLoginBranding")
def update_managed_login_branding(ctx: RequestContext, params: Params) -> Result:
    if not params.get("UserPoolId"):
        raise InvalidParameterException("UserPoolId is required.")
    branding_id = _branding_id(params)
    _check_request(params)
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = conn.execute(_BY_ID.with_for_update(), {"pool_id": pool.id, "branding_id": branding_id}).first()
        if row is None:
            raise _not_found(branding_id)
        values: dict[str, Any] = {"updated_at": ctx.now}
        if params.get("UseCognitoProvidedValues"):
            values.update(use_cognito_provided_values=True, settings={})
            conn.execute(delete(_A).where(_A.c.branding_id == branding_id))
        else:
            if params.get("Settings") is not None:
                merged = merge(dict(row.settings or {}), params["Settings"])
                check_settings(merged)
                values.update(settings=merged, use_cognito_provided_values=False)
            if params.get("Assets"):
                _write_assets(conn, branding_id, list(params["Assets"]))
                values["use_cognito_provided_values"] = False
        conn.execute(update(_B).where(_B.c.id == branding_id).values(**values))
        row = conn.execute(_BY_ID, {"pool_id": pool.id, "branding_id": branding_id}).one()
        return {"ManagedLoginBranding": _shape(conn, row, merged=False)}


@operation("cognito-idp", "DeleteManagedLoginBranding")
def delete_managed_login_branding(ctx: RequestContext, params: Params) -> Result:
    branding_id = _branding_id(params)
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        done = conn.execute(delete(_B).where(_B.c.user_pool_id == pool.id, _B.c.id == branding_id))
        if done.rowcount == 0:
            raise _not_found(branding_id)
    return {}


# -- the hosted pages --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Picture:
    """An image for the page's color scheme: ``main`` always, ``dark`` for dark mode when the scheme
    follows the browser."""

    main: str
    dark: str | None = None


@dataclass(frozen=True)
class PageBrand:
    """What a hosted page draws from a client's style: a stylesheet of validated values only (colors,
    numbers, asset paths built here), the form logo, favicons."""

    css: str
    logo: Picture | None = None
    favicons: list[tuple[str, str]] = field(default_factory=list)


def asset_path(pool_id: str, branding_id: str, category: str, color_mode: str, version: str) -> str:
    return f"/_ostiary/branding/{pool_id}/{branding_id}/{category}/{color_mode}?v={version}"


def asset(runtime: Runtime, pool_id: str, branding_id: str, category: str, color_mode: str) -> tuple[str, bytes] | None:
    """(extension, bytes) of a style's asset, for ``ostiary.web.managed_login_assets``."""
    with runtime.store.read() as conn:
        owner = conn.execute(_BY_ID, {"pool_id": pool_id, "branding_id": branding_id.lower()}).first()
        if owner is None:
            return None
        row = conn.execute(
            _ONE_ASSET, {"branding_id": owner.id, "category": category, "color_mode": color_mode}
        ).first()
    return (row.extension, bytes(row.data)) if row is not None else None


def _get(doc: dict[str, Any], *path: str) -> Any:
    node: Any = doc
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _color(doc: dict[str, Any], *path: str) -> str | None:
    value = _get(doc, *path)
    return f"#{value}" if isinstance(value, str) and _HEX.match(value) else None


def _radius(doc: dict[str, Any], *path: str) -> str | None:
    value = _get(doc, *path)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        return None
    return f"{float(value):g}px"


# CSS variable of hosted.css (and this module's rules) <- where the style's document holds it, per mode
_VARIABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("--bg", ("components", "pageBackground", "{mode}", "color")),
    ("--card", ("components", "form", "{mode}", "backgroundColor")),
    ("--line", ("components", "form", "{mode}", "borderColor")),
    ("--ink", ("components", "pageText", "{mode}", "headingColor")),
    ("--body", ("components", "pageText", "{mode}", "bodyColor")),
    ("--muted", ("components", "pageText", "{mode}", "descriptionColor")),
    ("--accent", ("components", "primaryButton", "{mode}", "defaults", "backgroundColor")),
    ("--accent-ink", ("components", "primaryButton", "{mode}", "defaults", "textColor")),
    ("--accent-hover", ("components", "primaryButton", "{mode}", "hover", "backgroundColor")),
    ("--accent-hover-ink", ("components", "primaryButton", "{mode}", "hover", "textColor")),
    ("--input-bg", ("componentClasses", "input", "{mode}", "defaults", "backgroundColor")),
    ("--input-line", ("componentClasses", "input", "{mode}", "defaults", "borderColor")),
    ("--label", ("componentClasses", "inputLabel", "{mode}", "textColor")),
    ("--link", ("componentClasses", "link", "{mode}", "defaults", "textColor")),
    ("--link-hover", ("componentClasses", "link", "{mode}", "hover", "textColor")),
    ("--focus", ("componentClasses", "focusState", "{mode}", "borderColor")),
    ("--idp-bg", ("components", "idpButton", "standard", "{mode}", "defaults", "backgroundColor")),
    ("--idp-line", ("components", "idpButton", "standard", "{mode}", "defaults", "borderColor")),
    ("--idp-ink", ("components", "idpButton", "standard", "{mode}", "defaults", "textColor")),
    ("--danger", ("components", "alert", "{mode}", "error", "borderColor")),
    ("--danger-bg", ("components", "alert", "{mode}", "error", "backgroundColor")),
)
_RULES = (
    "body.background-customizable{background-color:var(--bg);color:var(--body)}"
    "h1{color:var(--ink)}"
    ".card{background-color:var(--card);border-color:var(--line);border-radius:var(--form-radius)}"
    ".label-customizable{color:var(--label)}"
    ".inputField-customizable{background:var(--input-bg);border-color:var(--input-line);color:var(--body);"
    "border-radius:var(--input-radius)}"
    ".inputField-customizable:focus{border-color:var(--focus);outline-color:var(--focus)}"
    ".submitButton-customizable{background:var(--accent);color:var(--accent-ink);border-radius:var(--button-radius)}"
    ".submitButton-customizable:hover{background:var(--accent-hover);color:var(--accent-hover-ink);filter:none}"
    ".idpButton-customizable{background:var(--idp-bg);border-color:var(--idp-line);color:var(--idp-ink);"
    "border-radius:var(--button-radius)}"
    ".redirect-customizable,.secondary{color:var(--link)}"
    ".redirect-customizable:hover,.secondary:hover{color:var(--link-hover)}"
    ".errorMessage-customizable{background:var(--danger-bg);color:var(--danger);border:1px solid var(--danger)}"
    ".textDescription-customizable,.footer{color:var(--muted)}"
)
_ALIGN = {"START": "flex-start", "CENTER": "center", "END": "flex-end"}


def _declarations(doc: dict[str, Any], mode: str) -> str:
    out = []
    for name, path in _VARIABLES:
        value = _color(doc, *(mode if p == "{mode}" else p for p in path))
        if value is not None:
            out.append(f"{name}:{value}")
    return ";".join(out)


def _pick(assets: dict[tuple[str, str], str], category: str, scheme: str) -> Picture | None:
    """The asset of a category for the page's color scheme (``DYNAMIC`` assets serve every mode)."""
    light = assets.get((category, "LIGHT"))
    dark = assets.get((category, "DARK"))
    dynamic = assets.get((category, "DYNAMIC"))
    if scheme == "DARK":
        main = dark or dynamic
        return Picture(main) if main else None
    if scheme == "LIGHT":
        main = light or dynamic
        return Picture(main) if main else None
    main = light or dynamic or dark
    return Picture(main, dark if dark and dark != main else None) if main else None


def page_brand(runtime: Runtime, pool_id: str, client_id: str) -> PageBrand | None:
    """The client's style for its hosted pages, or None when the client has none."""
    with runtime.store.read() as conn:
        row = conn.execute(_BY_CLIENT, {"pool_id": pool_id, "client_id": client_id}).first()
        if row is None:
            return None
        keys = conn.execute(_ASSET_KEYS, {"branding_id": row.id}).all()
    doc = merge(DEFAULT_SETTINGS, dict(row.settings or {}))
    version = utc(row.updated_at).strftime("%Y%m%d%H%M%S%f")
    urls = {(k.category, k.color_mode): asset_path(pool_id, row.id, k.category, k.color_mode, version) for k in keys}
    scheme = _get(doc, "categories", "global", "colorSchemeMode")
    scheme = scheme if scheme in COLOR_MODES else "LIGHT"
    radii = {
        "--form-radius": _radius(doc, "components", "form", "borderRadius"),
        "--input-radius": _radius(doc, "componentClasses", "input", "borderRadius"),
        "--button-radius": _radius(doc, "componentClasses", "buttons", "borderRadius"),
    }
    common = ";".join(f"{k}:{v}" for k, v in radii.items() if v)
    light, dark = _declarations(doc, "lightMode"), _declarations(doc, "darkMode")
    css = [f":root{{{common};{dark if scheme == 'DARK' else light}}}", _RULES]
    if scheme == "DYNAMIC":
        css.append(f"@media (prefers-color-scheme: dark){{:root{{{dark}}}}}")
    if scheme == "DARK":
        css.append(":root{color-scheme:dark}")
    location = _get(doc, "categories", "form", "location") or {}
    horizontal = _ALIGN.get(location.get("horizontal", "CENTER"), "center")
    vertical = _ALIGN.get(location.get("vertical", "CENTER"), "center")
    css.append(f".page{{align-items:{horizontal};justify-content:{vertical}}}")
    backgrounds = (
        ("PAGE_BACKGROUND", "body.background-customizable", ("components", "pageBackground", "image", "enabled")),
        ("FORM_BACKGROUND", ".card", ("components", "form", "backgroundImage", "enabled")),
    )
    for category, selector, switch in backgrounds:
        picture = _pick(urls, category, scheme)
        if picture is None or _get(doc, *switch) is False:
            continue
        css.append(
            f"{selector}{{background-image:url({picture.main});background-size:cover;background-position:center}}"
        )
        if picture.dark:
            css.append(f"@media (prefers-color-scheme: dark){{{selector}{{background-image:url({picture.dark})}}}}")
    logo = _pick(urls, "FORM_LOGO", scheme) if _get(doc, "components", "form", "logo", "enabled") is True else None
    favicons = []
    enabled = _get(doc, "components", "favicon", "enabledTypes") or []
    for category, kind, media in (("FAVICON_ICO", "ICO", "image/x-icon"), ("FAVICON_SVG", "SVG", "image/svg+xml")):
        picture = _pick(urls, category, scheme)
        if picture is not None and kind in enabled:
            favicons.append((picture.main, media))
    return PageBrand(css="\n".join(css), logo=logo, favicons=favicons)
