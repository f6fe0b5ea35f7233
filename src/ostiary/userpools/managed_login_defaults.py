"""The style Amazon Cognito provides for managed login (``UseCognitoProvidedValues``; the values
DescribeManagedLoginBranding adds with ``ReturnMergedResources``).

AWS does not publish its default document; this one has the shape of the documents the branding
editor writes (``categories``, ``componentClasses``, ``components``; colors as ``RRGGBBAA`` hex)
with Ostiary's own default look. The keys ``managed_login.page_css`` reads are all here, so a
merged document always yields a complete stylesheet.
"""

from __future__ import annotations

from typing import Any


def _modes(light: dict[str, Any], dark: dict[str, Any]) -> dict[str, Any]:
    return {"lightMode": light, "darkMode": dark}


DEFAULT_SETTINGS: dict[str, Any] = {
    "categories": {
        "auth": {
            "authMethodOrder": [
                [{"display": "BUTTON", "type": "FEDERATED"}, {"display": "INPUT", "type": "USERNAME_PASSWORD"}]
            ],
            "federation": {"interfaceStyle": "BUTTON_LIST", "order": []},
        },
        "form": {
            "displayGraphics": True,
            "instructions": {"enabled": False},
            "languageSelector": {"enabled": False},
            "location": {"horizontal": "CENTER", "vertical": "CENTER"},
            "sessionTimerDisplay": "NONE",
        },
        "global": {
            "colorSchemeMode": "LIGHT",
            "pageFooter": {"enabled": False},
            "pageHeader": {"enabled": False},
            "spacingDensity": "REGULAR",
        },
    },
    "componentClasses": {
        "buttons": {"borderRadius": 8.0},
        "divider": _modes({"borderColor": "ebebf0ff"}, {"borderColor": "232b37ff"}),
        "focusState": _modes({"borderColor": "0972d3ff"}, {"borderColor": "539fe5ff"}),
        "idpButtons": {"icons": {"enabled": True}},
        "input": {
            "borderRadius": 8.0,
            **_modes(
                {
                    "defaults": {"backgroundColor": "ffffffff", "borderColor": "8c8c94ff"},
                    "placeholderColor": "5f6b7aff",
                },
                {
                    "defaults": {"backgroundColor": "0f1b2aff", "borderColor": "5f6b7aff"},
                    "placeholderColor": "8d99a8ff",
                },
            ),
        },
        "inputLabel": _modes({"textColor": "000716ff"}, {"textColor": "d1d5dbff"}),
        "inputDescription": _modes({"textColor": "5f6b7aff"}, {"textColor": "8d99a8ff"}),
        "link": _modes(
            {"defaults": {"textColor": "0972d3ff"}, "hover": {"textColor": "033160ff"}},
            {"defaults": {"textColor": "539fe5ff"}, "hover": {"textColor": "89bdeeff"}},
        ),
        "statusIndicator": _modes(
            {"error": {"backgroundColor": "fff7f7ff", "borderColor": "d91515ff", "indicatorColor": "d91515ff"}},
            {"error": {"backgroundColor": "1a0000ff", "borderColor": "eb6f6fff", "indicatorColor": "eb6f6fff"}},
        ),
    },
    "components": {
        "alert": {
            "borderRadius": 12.0,
            **_modes(
                {"error": {"backgroundColor": "fff7f7ff", "borderColor": "d91515ff"}},
                {"error": {"backgroundColor": "1a0000ff", "borderColor": "eb6f6fff"}},
            ),
        },
        "favicon": {"enabledTypes": ["ICO", "SVG"]},
        "form": {
            "backgroundImage": {"enabled": False},
            "borderRadius": 8.0,
            "logo": {"enabled": False, "formInclusion": "IN", "location": "CENTER", "position": "TOP"},
            **_modes(
                {"backgroundColor": "ffffffff", "borderColor": "c6c6cdff"},
                {"backgroundColor": "0f1b2aff", "borderColor": "424650ff"},
            ),
        },
        "idpButton": {
            "standard": _modes(
                {"defaults": {"backgroundColor": "ffffffff", "borderColor": "424650ff", "textColor": "424650ff"}},
                {"defaults": {"backgroundColor": "0f1b2aff", "borderColor": "c6c6cdff", "textColor": "c6c6cdff"}},
            ),
            "custom": {},
        },
        "pageBackground": {"image": {"enabled": True}, **_modes({"color": "ffffffff"}, {"color": "0f1b2aff"})},
        "pageFooter": {
            "logo": {"enabled": False, "location": "START"},
            **_modes(
                {"background": {"color": "fafafaff"}, "borderColor": "d5dbdbff"},
                {"background": {"color": "0f141aff"}, "borderColor": "424650ff"},
            ),
        },
        "pageHeader": {
            "logo": {"enabled": False, "location": "START"},
            **_modes(
                {"background": {"color": "fafafaff"}, "borderColor": "d5dbdbff"},
                {"background": {"color": "0f141aff"}, "borderColor": "424650ff"},
            ),
        },
        "pageText": _modes(
            {"bodyColor": "414d5cff", "descriptionColor": "414d5cff", "headingColor": "000716ff"},
            {"bodyColor": "b6bec9ff", "descriptionColor": "b6bec9ff", "headingColor": "d1d5dbff"},
        ),
        "phoneNumberSelector": {"displayType": "TEXT"},
        "primaryButton": _modes(
            {
                "defaults": {"backgroundColor": "0972d3ff", "textColor": "ffffffff"},
                "hover": {"backgroundColor": "033160ff", "textColor": "ffffffff"},
                "active": {"backgroundColor": "033160ff", "textColor": "ffffffff"},
                "disabled": {"backgroundColor": "ffffffff", "borderColor": "ffffffff"},
            },
            {
                "defaults": {"backgroundColor": "539fe5ff", "textColor": "000716ff"},
                "hover": {"backgroundColor": "89bdeeff", "textColor": "000716ff"},
                "active": {"backgroundColor": "539fe5ff", "textColor": "000716ff"},
                "disabled": {"backgroundColor": "ffffffff", "borderColor": "ffffffff"},
            },
        ),
        "secondaryButton": _modes(
            {"defaults": {"backgroundColor": "ffffffff", "borderColor": "0972d3ff", "textColor": "0972d3ff"}},
            {"defaults": {"backgroundColor": "0f1b2aff", "borderColor": "539fe5ff", "textColor": "539fe5ff"}},
        ),
    },
}
