"""Where the access portal's pages are, from the server's public URL (``settings.effective_public_url``).

AWS's start URL is ``https://d-xxxxxxxxxx.awsapps.com/start``; Ostiary's is
``<public URL>/start/<identity store id>``, printed by the CLI. The device-code approval page is not an
instance's page in AWS (``https://device.sso.<region>.amazonaws.com/``): the user code names the request,
so Ostiary's is ``<public URL>/start/device``. These functions are the one place that spells them.
"""

from __future__ import annotations

PREFIX = "/start"
DEVICE_PATH = PREFIX + "/device"


def start_url(public_url: str, identity_store_id: str) -> str:
    return f"{public_url.rstrip('/')}{PREFIX}/{identity_store_id}"


def device_url(public_url: str) -> str:
    return f"{public_url.rstrip('/')}{DEVICE_PATH}"


def device_url_complete(public_url: str, user_code: str) -> str:
    return f"{device_url(public_url)}?user_code={user_code}"


def identity_store_of(start_url: str) -> str | None:
    """The identity store id a start URL names (``…/start/<id>``, a trailing ``/`` or ``#`` allowed, as
    AWS's start URLs are often written), or None."""
    path = start_url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    head, sep, last = path.rpartition("/")
    if not sep or not head.endswith(PREFIX) or not last.startswith("d-") or len(last) != 12:
        return None
    return last
