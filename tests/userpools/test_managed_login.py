"""Managed login branding through boto3: Create/Describe/DescribeByClient/Update/DeleteManagedLoginBranding,
one style per client, UseCognitoProvidedValues, ReturnMergedResources, the checks of Settings and
Assets, and the assets served to the hosted pages."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from ostiary.userpools.managed_login import merge
from ostiary.userpools.managed_login_defaults import DEFAULT_SETTINGS
from tests.conftest import Server
from tests.userpools.conftest import PoolSetup, make_pool


def png(rgb: tuple[int, int, int] = (0, 255, 0), size: int = 1) -> bytes:
    """A size x size PNG of one color."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><rect width="8" height="8" fill="#e11d48"/></svg>\n'
SETTINGS = {
    "components": {
        "primaryButton": {"lightMode": {"defaults": {"backgroundColor": "e11d48ff", "textColor": "ffffffff"}}},
        "pageBackground": {"lightMode": {"color": "fff1f2ff"}},
    },
    "categories": {"global": {"colorSchemeMode": "LIGHT"}},
}


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.fixture
def s(idp: Any) -> Iterator[PoolSetup]:
    setup = make_pool(idp)
    yield setup
    idp.delete_user_pool(UserPoolId=setup.pool_id)


def test_lifecycle(idp: Any, s: PoolSetup) -> None:
    logo = png((225, 29, 72))
    created = idp.create_managed_login_branding(
        UserPoolId=s.pool_id,
        ClientId=s.client_id,
        Settings=SETTINGS,
        Assets=[{"Category": "FORM_LOGO", "ColorMode": "LIGHT", "Extension": "PNG", "Bytes": logo}],
    )["ManagedLoginBranding"]
    bid = created["ManagedLoginBrandingId"]
    assert created["UserPoolId"] == s.pool_id and created["UseCognitoProvidedValues"] is False
    assert created["Settings"] == SETTINGS
    assert created["Assets"] == [{"Category": "FORM_LOGO", "ColorMode": "LIGHT", "Extension": "PNG", "Bytes": logo}]
    assert created["CreationDate"] == created["LastModifiedDate"]

    # one style per client
    with pytest.raises(ClientError) as exc:
        idp.create_managed_login_branding(UserPoolId=s.pool_id, ClientId=s.client_id, UseCognitoProvidedValues=True)
    assert _code(exc) == "ManagedLoginBrandingExistsException"

    by_id = idp.describe_managed_login_branding(UserPoolId=s.pool_id, ManagedLoginBrandingId=bid)
    by_client = idp.describe_managed_login_branding_by_client(UserPoolId=s.pool_id, ClientId=s.client_id)
    assert by_id["ManagedLoginBranding"] == by_client["ManagedLoginBranding"] == created

    # merged: the defaults under what was customized
    merged = idp.describe_managed_login_branding(
        UserPoolId=s.pool_id, ManagedLoginBrandingId=bid, ReturnMergedResources=True
    )["ManagedLoginBranding"]["Settings"]
    assert merged == merge(DEFAULT_SETTINGS, SETTINGS)
    assert merged["components"]["primaryButton"]["lightMode"]["defaults"]["backgroundColor"] == "e11d48ff"
    assert (
        merged["components"]["primaryButton"]["darkMode"] == DEFAULT_SETTINGS["components"]["primaryButton"]["darkMode"]
    )

    # an update keeps what it does not name: settings merged, assets by category and color mode
    dark_logo = png((10, 10, 10))
    updated = idp.update_managed_login_branding(
        UserPoolId=s.pool_id,
        ManagedLoginBrandingId=bid,
        Settings={"components": {"pageBackground": {"lightMode": {"color": "000000ff"}}}},
        Assets=[{"Category": "FORM_LOGO", "ColorMode": "DARK", "Extension": "PNG", "Bytes": dark_logo}],
    )["ManagedLoginBranding"]
    assert updated["Settings"]["components"]["pageBackground"]["lightMode"]["color"] == "000000ff"
    assert updated["Settings"]["components"]["primaryButton"] == SETTINGS["components"]["primaryButton"]
    assert [(a["ColorMode"], a["Bytes"]) for a in updated["Assets"]] == [("DARK", dark_logo), ("LIGHT", logo)]
    assert updated["LastModifiedDate"] >= created["LastModifiedDate"]
    assert updated["CreationDate"] == created["CreationDate"]

    # back to Cognito's style: settings and assets dropped
    reset = idp.update_managed_login_branding(
        UserPoolId=s.pool_id, ManagedLoginBrandingId=bid, UseCognitoProvidedValues=True
    )["ManagedLoginBranding"]
    assert reset["UseCognitoProvidedValues"] is True and reset["Assets"] == [] and "Settings" not in reset
    merged_reset = idp.describe_managed_login_branding_by_client(
        UserPoolId=s.pool_id, ClientId=s.client_id, ReturnMergedResources=True
    )["ManagedLoginBranding"]
    assert merged_reset["Settings"] == DEFAULT_SETTINGS

    idp.delete_managed_login_branding(UserPoolId=s.pool_id, ManagedLoginBrandingId=bid)
    for call in (
        lambda: idp.describe_managed_login_branding(UserPoolId=s.pool_id, ManagedLoginBrandingId=bid),
        lambda: idp.describe_managed_login_branding_by_client(UserPoolId=s.pool_id, ClientId=s.client_id),
        lambda: idp.delete_managed_login_branding(UserPoolId=s.pool_id, ManagedLoginBrandingId=bid),
        lambda: idp.update_managed_login_branding(
            UserPoolId=s.pool_id, ManagedLoginBrandingId=bid, UseCognitoProvidedValues=True
        ),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == "ResourceNotFoundException"
    # the client can have a new one
    again = idp.create_managed_login_branding(UserPoolId=s.pool_id, ClientId=s.client_id, UseCognitoProvidedValues=True)
    assert again["ManagedLoginBranding"]["UseCognitoProvidedValues"] is True
    assert again["ManagedLoginBranding"]["ManagedLoginBrandingId"] != bid


def test_unknown_pool_client_and_other_pools(idp: Any, s: PoolSetup) -> None:
    with pytest.raises(ClientError) as exc:
        idp.create_managed_login_branding(UserPoolId=s.pool_id, ClientId="nosuchclient1", UseCognitoProvidedValues=True)
    assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        idp.create_managed_login_branding(UserPoolId="us-east-1_nosuch", ClientId=s.client_id)
    assert _code(exc) == "ResourceNotFoundException"
    bid = idp.create_managed_login_branding(UserPoolId=s.pool_id, ClientId=s.client_id)["ManagedLoginBranding"][
        "ManagedLoginBrandingId"
    ]
    other = make_pool(idp)
    try:  # a style is found only in its own pool
        with pytest.raises(ClientError) as exc:
            idp.describe_managed_login_branding(UserPoolId=other.pool_id, ManagedLoginBrandingId=bid)
        assert _code(exc) == "ResourceNotFoundException"
        with pytest.raises(ClientError) as exc:
            idp.delete_managed_login_branding(UserPoolId=other.pool_id, ManagedLoginBrandingId=bid)
        assert _code(exc) == "ResourceNotFoundException"
    finally:
        idp.delete_user_pool(UserPoolId=other.pool_id)
    # deleting the client deletes its style
    idp.delete_user_pool_client(UserPoolId=s.pool_id, ClientId=s.client_id)
    with pytest.raises(ClientError) as exc:
        idp.describe_managed_login_branding(UserPoolId=s.pool_id, ManagedLoginBrandingId=bid)
    assert _code(exc) == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "args",
    [
        {"UseCognitoProvidedValues": True, "Settings": SETTINGS},
        {
            "UseCognitoProvidedValues": True,
            "Assets": [{"Category": "FORM_LOGO", "ColorMode": "LIGHT", "Extension": "PNG", "Bytes": png()}],
        },
        {"Settings": ["not", "an", "object"]},
        {"Settings": {"styles": {}}},
        {"Settings": {"components": {"pageBackground": {"lightMode": {"color": "red"}}}}},
        {"Settings": {"components": {"pageBackground": {"lightMode": {"color": "ff0000ff;x"}}}}},
        {"Settings": {"componentClasses": {"buttons": {"borderRadius": 1000}}}},
        {"Settings": {"categories": {"global": {"colorSchemeMode": "SEPIA"}}}},
        {"Settings": {"components": {"form": {"logo": {"enabled": "yes"}}}}},
        {"Settings": {"components": {"x": "y" * 5000}}},
        {"Settings": {"components": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": {}}}}}}}}}}}}}},
        # the file type must be the category's and the bytes must be that type
        {"Assets": [{"Category": "FAVICON_ICO", "ColorMode": "LIGHT", "Extension": "PNG", "Bytes": png()}]},
        {"Assets": [{"Category": "FORM_LOGO", "ColorMode": "LIGHT", "Extension": "ICO", "Bytes": b"\0\0\1\0xx"}]},
        {"Assets": [{"Category": "FORM_LOGO", "ColorMode": "LIGHT", "Extension": "JPEG", "Bytes": png()}]},
        {"Assets": [{"Category": "FORM_LOGO", "ColorMode": "LIGHT", "Extension": "SVG", "Bytes": b"<html></html>"}]},
        {"Assets": [{"Category": "FORM_LOGO", "ColorMode": "LIGHT", "Extension": "PNG"}]},
        {
            "Assets": [
                {
                    "Category": "FAVICON_SVG",
                    "ColorMode": "LIGHT",
                    "Extension": "SVG",
                    "Bytes": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                }
            ]
        },
        {
            "Assets": [
                {
                    "Category": "PAGE_BACKGROUND",
                    "ColorMode": "LIGHT",
                    "Extension": "SVG",
                    "Bytes": b'<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/x.png"/></svg>',
                }
            ]
        },
        {
            "Assets": [
                {
                    "Category": "FORM_LOGO",
                    "ColorMode": "LIGHT",
                    "Extension": "SVG",
                    "Bytes": b'<svg xmlns="http://www.w3.org/2000/svg"><use href="//evil.example/x.svg#a"/></svg>',
                }
            ]
        },
        {
            "Assets": [
                {
                    "Category": "FORM_LOGO",
                    "ColorMode": "LIGHT",
                    "Extension": "SVG",
                    "Bytes": b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://e.example/)"/></svg>',
                }
            ]
        },
        {
            "Assets": [
                {"Category": "FORM_LOGO", "ColorMode": "LIGHT", "Extension": "PNG", "Bytes": png()},
                {"Category": "FORM_LOGO", "ColorMode": "LIGHT", "Extension": "PNG", "Bytes": png()},
            ]
        },
        {
            "Assets": [
                {"Category": "FORM_LOGO", "ColorMode": "LIGHT", "Extension": "PNG", "Bytes": b"\x89PNG" * 250_001}
            ]
        },
    ],
)
def test_refused(idp: Any, s: PoolSetup, args: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as exc:
        idp.create_managed_login_branding(UserPoolId=s.pool_id, ClientId=s.client_id, **args)
    assert _code(exc) == "InvalidParameterException"
    # nothing was created
    with pytest.raises(ClientError) as exc:
        idp.describe_managed_login_branding_by_client(UserPoolId=s.pool_id, ClientId=s.client_id)
    assert _code(exc) == "ResourceNotFoundException"


def test_bad_update_changes_nothing(idp: Any, s: PoolSetup) -> None:
    bid = idp.create_managed_login_branding(UserPoolId=s.pool_id, ClientId=s.client_id, Settings=SETTINGS)[
        "ManagedLoginBranding"
    ]["ManagedLoginBrandingId"]
    with pytest.raises(ClientError) as exc:
        idp.update_managed_login_branding(
            UserPoolId=s.pool_id,
            ManagedLoginBrandingId=bid,
            Settings={"components": {"pageBackground": {"lightMode": {"color": "000000ff"}}}},
            Assets=[{"Category": "FORM_LOGO", "ColorMode": "LIGHT", "Extension": "PNG"}],  # no bytes, none stored
        )
    assert _code(exc) == "InvalidParameterException"
    got = idp.describe_managed_login_branding(UserPoolId=s.pool_id, ManagedLoginBrandingId=bid)["ManagedLoginBranding"]
    assert got["Settings"] == SETTINGS and got["Assets"] == []
    with pytest.raises(ClientError) as exc:
        idp.update_managed_login_branding(UserPoolId=s.pool_id, UseCognitoProvidedValues=True)
    assert _code(exc) == "InvalidParameterException"


def test_assets_served_sandboxed(server: Server, idp: Any, s: PoolSetup) -> None:
    branding = idp.create_managed_login_branding(
        UserPoolId=s.pool_id,
        ClientId=s.client_id,
        Assets=[
            {"Category": "FAVICON_SVG", "ColorMode": "DYNAMIC", "Extension": "SVG", "Bytes": SVG},
            {"Category": "PAGE_BACKGROUND", "ColorMode": "LIGHT", "Extension": "PNG", "Bytes": png()},
        ],
    )["ManagedLoginBranding"]
    base = f"{server.url}/_ostiary/branding/{s.pool_id}/{branding['ManagedLoginBrandingId']}"
    svg = httpx.get(f"{base}/FAVICON_SVG/DYNAMIC")
    assert svg.status_code == 200 and svg.content == SVG
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "sandbox" in svg.headers["content-security-policy"] and svg.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{base}/PAGE_BACKGROUND/LIGHT").headers["content-type"] == "image/png"
    assert httpx.get(f"{base}/PAGE_BACKGROUND/DARK").status_code == 404
    assert (
        httpx.get(
            f"{server.url}/_ostiary/branding/us-east-1_other/{branding['ManagedLoginBrandingId']}/PAGE_BACKGROUND/LIGHT"
        ).status_code
        == 404
    )
