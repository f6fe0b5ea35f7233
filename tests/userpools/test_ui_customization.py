"""Hosted UI (classic) branding through boto3: Set/GetUICustomization, CSS refusal, the logo
served at ImageUrl, and effective_customization."""

from __future__ import annotations

import secrets
import struct
import zlib
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from sqlalchemy import create_engine

from ostiary.config import Settings
from ostiary.userpools.ui_customization import check_css, effective_customization
from ostiary.web.ui_logo import routes
from tests.conftest import Server
from tests.userpools.conftest import make_pool


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _png() -> bytes:
    """A 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _get(server: Server, url: str) -> httpx.Response:
    """GET a logo URL from the server; while app.py does not mount web.ui_logo.routes
    (Starlette's bare "Not Found"), from those routes in process, against the server's database."""
    r = httpx.get(url)
    if r.status_code != 404 or r.text != "Not Found":
        return r
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from ostiary.app import build_runtime

    runtime = build_runtime(Settings(data_dir=server.data_dir, database_url=server.database_url), migrate=False)
    try:
        with TestClient(Starlette(routes=routes(runtime)), base_url=server.url) as client:
            return client.get(url)
    finally:
        runtime.store.dispose()


CSS = ".logo-customizable { max-width: 60%; }\n.submitButton-customizable:hover { background-color: #123456; }"


@pytest.fixture
def branded(idp: Any) -> Any:
    s = make_pool(idp)
    idp.create_user_pool_domain(UserPoolId=s.pool_id, Domain="ui-" + secrets.token_hex(4))
    yield s
    idp.delete_user_pool(UserPoolId=s.pool_id)


def test_needs_a_domain(idp: Any, pool: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as exc:
        idp.set_ui_customization(UserPoolId=pool["Id"], CSS=CSS)
    assert _code(exc) == "InvalidParameterException"


def test_pool_wide_and_client_specific(server: Server, idp: Any, branded: Any) -> None:
    pid, cid = branded.pool_id, branded.client_id
    empty = idp.get_ui_customization(UserPoolId=pid, ClientId=cid)["UICustomization"]
    assert empty == {"UserPoolId": pid, "ClientId": cid}

    png = _png()
    pool_wide = idp.set_ui_customization(UserPoolId=pid, ClientId="ALL", CSS=CSS, ImageFile=png)["UICustomization"]
    assert pool_wide["ClientId"] == "ALL" and pool_wide["CSS"] == CSS
    assert pool_wide["CSSVersion"] and pool_wide["CreationDate"] and pool_wide["LastModifiedDate"]
    url = pool_wide["ImageUrl"]
    assert url.startswith(f"{server.url}/_ostiary/ui/{pid}/ALL/logo")
    r = _get(server, url)
    assert r.status_code == 200 and r.content == png and r.headers["content-type"] == "image/png"

    # a client without settings of its own gets the pool's
    fallback = idp.get_ui_customization(UserPoolId=pid, ClientId=cid)["UICustomization"]
    assert fallback["ClientId"] == "ALL" and fallback["CSS"] == CSS
    assert idp.get_ui_customization(UserPoolId=pid)["UICustomization"]["CSS"] == CSS

    # its own settings win, and no longer fall back (no logo of its own: none shown)
    own_css = ".banner-customizable { background-color: red; }"
    own = idp.set_ui_customization(UserPoolId=pid, ClientId=cid, CSS=own_css)["UICustomization"]
    assert own["ClientId"] == cid and own["CSS"] == own_css and "ImageUrl" not in own
    got = idp.get_ui_customization(UserPoolId=pid, ClientId=cid)["UICustomization"]
    assert got["CSS"] == own_css and "ImageUrl" not in got
    assert _get(server, f"{server.url}/_ostiary/ui/{pid}/{cid}/logo").status_code == 404
    assert idp.get_ui_customization(UserPoolId=pid, ClientId="ALL")["UICustomization"]["CSS"] == CSS

    # a Set replaces both CSS and logo
    replaced = idp.set_ui_customization(UserPoolId=pid, ClientId="ALL", ImageFile=png)["UICustomization"]
    assert "CSS" not in replaced and replaced["ImageUrl"]
    assert replaced["CreationDate"] == pool_wide["CreationDate"]
    assert replaced["CSSVersion"] != pool_wide["CSSVersion"]

    with pytest.raises(ClientError) as exc:
        idp.get_ui_customization(UserPoolId=pid, ClientId="nosuchclient")
    assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        idp.set_ui_customization(UserPoolId=pid, ClientId="nosuchclient", CSS=CSS)
    assert _code(exc) == "ResourceNotFoundException"
    assert _get(server, f"{server.url}/_ostiary/ui/{pid}/nosuchclient/logo").content == png  # the pool's


def test_effective_customization(server: Server, idp: Any, branded: Any) -> None:
    pid, cid = branded.pool_id, branded.client_id
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            assert effective_customization(conn, pid, cid) == (None, False)
        idp.set_ui_customization(UserPoolId=pid, ClientId="ALL", CSS=CSS, ImageFile=_png())
        with engine.connect() as conn:
            assert effective_customization(conn, pid, cid) == (CSS, True)
        idp.set_ui_customization(UserPoolId=pid, ClientId=cid, CSS=".label-customizable { font-weight: 400; }")
        with engine.connect() as conn:
            assert effective_customization(conn, pid, cid) == (".label-customizable { font-weight: 400; }", False)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "css",
    [
        "body { color: red; }",
        ".other-class { color: red; }",
        ".logo-customizable { background: url(https://evil.example/x.png); }",
        ".logo-customizable { background: URL( 'x' ); }",
        "@import 'https://evil.example/x.css';",
        ".logo-customizable { width: expression(alert(1)); }",
        "@media screen { .logo-customizable { color: red; } }",
        ".logo-customizable:hover { color: red; }",
        ".logo-customizable, #id { color: red; }",
        ".logo-customizable { color: red; } </style><script>alert(1)</script>",
        ".logo-customizable { color red }",
        ".logo-customizable { color: red; ",
        ".logo-customizable { b\\61 ckground: u\\72l(x); }",
    ],
)
def test_css_refused(idp: Any, branded: Any, css: str) -> None:
    with pytest.raises(ClientError) as exc:
        idp.set_ui_customization(UserPoolId=branded.pool_id, ClientId="ALL", CSS=css)
    assert _code(exc) == "InvalidParameterException"


def test_css_accepted() -> None:
    check_css(
        "/* branding */\n"
        ".background-customizable { background-color: #fafafa; }\n"
        ".inputField-customizable:focus { border-color: #333; outline: 1px; }\n"
        ".passwordCheck-notValid-customizable, .passwordCheck-valid-customizable { color: green; }\n"
        ".idpButton-customizable:hover{color:#fff}\n"
        ".redirect-customizable { } .socialButton-customizable { height: 40px; text-align: center; }"
    )


def test_image_refused(server: Server, idp: Any, branded: Any) -> None:
    for image in (b"GIF89a" + b"\x00" * 20, b"\x89PNG\r\n\x1a\n" + b"\x00" * (100 * 1024)):
        with pytest.raises(ClientError) as exc:
            idp.set_ui_customization(UserPoolId=branded.pool_id, ClientId="ALL", ImageFile=image)
        assert _code(exc) == "InvalidParameterException"
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 100
    got = idp.set_ui_customization(UserPoolId=branded.pool_id, ClientId="ALL", ImageFile=jpeg)["UICustomization"]
    r = _get(server, got["ImageUrl"])
    assert r.content == jpeg and r.headers["content-type"] == "image/jpeg"
