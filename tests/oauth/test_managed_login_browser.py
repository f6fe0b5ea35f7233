"""Managed login branding in Chromium (issue 17): on a domain with ManagedLoginVersion 2 the hosted
sign-in page is drawn from the app client's style (colors, radii, form logo, page background, light
and dark mode); a client without a style has no page; back on version 1 the classic customization
applies again. The branded page is saved as a screenshot (``12-managed-login*.png``)."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Server, flush_caches
from tests.oauth.conftest import add_user, make_hosted, query_of
from tests.oauth.test_browser import app_url, authorize_url, browser, page, shot, sign_in  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="48" viewBox="0 0 200 48">'
    b'<rect x="0" y="4" width="40" height="40" rx="10" fill="#e11d48"/>'
    b'<circle cx="20" cy="24" r="9" fill="#fff1f2"/>'
    b'<text x="52" y="33" font-family="Helvetica, Arial, sans-serif" font-size="22" font-weight="700" '
    b'fill="#881337">Rosewood</text></svg>\n'
)


def gradient(width: int, height: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> bytes:
    """A PNG shading from ``top`` to ``bottom``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = []
    for y in range(height):
        f = y / max(1, height - 1)
        rgb = bytes(round(a + (b - a) * f) for a, b in zip(top, bottom, strict=True))
        rows.append(b"\x00" + rgb * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"".join(rows))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


SETTINGS = {
    "categories": {"global": {"colorSchemeMode": "DYNAMIC"}, "form": {"location": {"horizontal": "END"}}},
    "componentClasses": {
        "buttons": {"borderRadius": 20},
        "input": {"borderRadius": 20, "lightMode": {"defaults": {"borderColor": "fda4afff"}}},
        "link": {"lightMode": {"defaults": {"textColor": "be123cff"}}},
        "focusState": {"lightMode": {"borderColor": "e11d48ff"}, "darkMode": {"borderColor": "fb7185ff"}},
    },
    "components": {
        "form": {
            "borderRadius": 24,
            "logo": {"enabled": True},
            "lightMode": {"backgroundColor": "fffffff2", "borderColor": "fecdd3ff"},
        },
        "pageText": {"lightMode": {"headingColor": "881337ff"}},
        "primaryButton": {
            "lightMode": {"defaults": {"backgroundColor": "e11d48ff", "textColor": "ffffffff"}},
            "darkMode": {"defaults": {"backgroundColor": "fb7185ff", "textColor": "1f0a10ff"}},
        },
        "pageBackground": {"lightMode": {"color": "fff1f2ff"}, "darkMode": {"color": "1f0a10ff"}},
    },
}


def test_managed_login_style_applied(page: Any, dev_server: Server, app_url: str) -> None:  # noqa: F811
    site = make_hosted(dev_server, callback=f"{app_url}/callback", signed_out=f"{app_url}/signed-out")
    site.callback = f"{app_url}/callback"
    idp = site.idp
    try:
        idp.update_user_pool_domain(UserPoolId=site.pool_id, Domain=site.domain, ManagedLoginVersion=2)
        flush_caches(dev_server)

        # managed login without a style: the client has no page
        page.goto(authorize_url(site, site.client_id, prompt="login"))
        expect(page.get_by_role("heading", name="Not configured")).to_be_visible()

        idp.create_managed_login_branding(
            UserPoolId=site.pool_id,
            ClientId=site.client_id,
            Settings=SETTINGS,
            Assets=[
                {"Category": "FORM_LOGO", "ColorMode": "DYNAMIC", "Extension": "SVG", "Bytes": LOGO},
                {
                    "Category": "PAGE_BACKGROUND",
                    "ColorMode": "LIGHT",
                    "Extension": "PNG",
                    "Bytes": gradient(48, 96, (255, 241, 242), (251, 113, 133)),
                },
                {
                    "Category": "PAGE_BACKGROUND",
                    "ColorMode": "DARK",
                    "Extension": "PNG",
                    "Bytes": gradient(48, 96, (31, 10, 16), (76, 5, 25)),
                },
            ],
        )
        page.goto(authorize_url(site, site.client_id, prompt="login"))
        button = page.get_by_role("button", name="Sign in")
        assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(225, 29, 72)"
        assert button.evaluate("b => getComputedStyle(b).borderTopLeftRadius") == "20px"
        assert page.locator(".card").evaluate("c => getComputedStyle(c).borderTopLeftRadius") == "24px"
        heading = page.get_by_role("heading", name="Sign in to web")
        assert heading.evaluate("h => getComputedStyle(h).color") == "rgb(136, 19, 55)"
        body = page.locator("body")
        assert body.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(255, 241, 242)"
        background = body.evaluate("b => getComputedStyle(b).backgroundImage")
        assert f"/_ostiary/branding/{site.pool_id}/" in background and "/PAGE_BACKGROUND/LIGHT" in background
        logo = page.locator("img#form-logo")
        expect(logo).to_be_visible()
        assert logo.evaluate("img => img.complete && img.naturalWidth") == 200  # the SVG logo loaded
        # the form sits at the end of the row (categories.form.location.horizontal END)
        card = page.locator(".card").bounding_box()
        assert card is not None and card["x"] + card["width"] > 1024 - 40
        shot(page, "12-managed-login")

        # the browser in dark mode: the style's dark values and dark background (colorSchemeMode DYNAMIC)
        page.emulate_media(color_scheme="dark")
        page.reload()
        button = page.get_by_role("button", name="Sign in")
        assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(251, 113, 133)"
        assert page.locator("body").evaluate("b => getComputedStyle(b).backgroundImage").count("PAGE_BACKGROUND/DARK")
        shot(page, "12-managed-login-dark")
        page.emulate_media(color_scheme="light")

        # the branded page signs in as any other
        add_user(site, "rosa", email="rosa@example.com", email_verified="true")
        page.goto(authorize_url(site, site.client_id, prompt="login"))
        sign_in(page, "rosa")
        page.wait_for_url(f"{site.callback}*")
        assert "code" in query_of(page.url)

        # version 1 again: the classic customization, not the style
        idp.set_ui_customization(
            UserPoolId=site.pool_id,
            ClientId=site.client_id,
            CSS=".submitButton-customizable { background-color: rgb(20, 120, 60); }",
        )
        idp.update_user_pool_domain(UserPoolId=site.pool_id, Domain=site.domain, ManagedLoginVersion=1)
        flush_caches(dev_server)
        page.goto(authorize_url(site, site.client_id, prompt="login"))
        button = page.get_by_role("button", name="Sign in")
        assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(20, 120, 60)"
        assert page.locator("#managed-login-style").count() == 0
    finally:
        idp.delete_user_pool(UserPoolId=site.pool_id)
