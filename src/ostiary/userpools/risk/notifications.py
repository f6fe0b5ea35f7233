"""Adaptive authentication's notification e-mails (AccountTakeoverRiskConfiguration's
NotifyConfiguration: BlockEmail, MfaEmail, NoActionEmail; Cognito Developer Guide, "Working with
adaptive authentication", notification messages), sent through ``notify/`` after commit, with the
one-click feedback links of the event (``/_feedback/auth-event``, web/risk_feedback.py).

Template variables: ``{username}``, ``{ip-address}``, ``{city}``, ``{country}``, ``{login-time}``,
``{device-name}``, ``{one-click-link-valid}``, ``{one-click-link-invalid}``. The sender address is
the server's ``smtp_from`` (NotifyConfiguration.From is kept; Ostiary has no SES identity to send
as).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection

from ostiary.config import Settings
from ostiary.crypto.secrets import SecretBox
from ostiary.notify import delivery as delivery_queue
from ostiary.notify import outbox
from ostiary.notify.delivery import Message, SmtpSender
from ostiary.store.db import after_commit
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.risk.adaptive import Assessment

FEEDBACK_PATH = "/_feedback/auth-event"
_FEEDBACK_KEY = "auth-event-feedback"
PURPOSE = "AdaptiveAuthentication"

TEMPLATE_OF = {"BLOCK": "BlockEmail", "MFA": "MfaEmail", "NONE": "NoActionEmail", "MFA_UNAVAILABLE": "NoActionEmail"}

DEFAULTS: dict[str, tuple[str, str]] = {
    "BlockEmail": (
        "Blocked sign-in attempt",
        "We blocked an unrecognized sign-in to your account {username} from {device-name} at {ip-address} "
        "({city}, {country}) on {login-time}. If this was you, tell us: {one-click-link-valid} . "
        "If it was not you, tell us: {one-click-link-invalid} and change your password.",
    ),
    "MfaEmail": (
        "New sign-in attempt",
        "We asked for a second factor before a sign-in to your account {username} from {device-name} at "
        "{ip-address} ({city}, {country}) on {login-time}. If this was you: {one-click-link-valid} . "
        "If it was not you: {one-click-link-invalid} and change your password.",
    ),
    "NoActionEmail": (
        "New sign-in attempt",
        "Your account {username} was signed in to from {device-name} at {ip-address} ({city}, {country}) on "
        "{login-time}. If this was you: {one-click-link-valid} . If it was not you: {one-click-link-invalid} "
        "and change your password.",
    ),
}


def feedback_token(box: SecretBox, pool_id: str, event_id: str) -> str:
    """The FeedbackToken of an event: an HMAC of the pool and event ids under a key derived from the
    server's key-encryption key (checked by recomputing it; nothing secret is stored)."""
    mac = hmac.new(box.mac_key(_FEEDBACK_KEY), f"{pool_id}/{event_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def feedback_link(settings: Settings, box: SecretBox, pool: PoolView, user: User, event_id: str, value: str) -> str:
    query = urlencode(
        {
            "pool": pool.id,
            "username": user.username,
            "event": event_id,
            "value": value,
            "token": feedback_token(box, pool.id, event_id),
        }
    )
    return f"{settings.effective_public_url}{FEEDBACK_PATH}?{query}"


def render(template: str, values: dict[str, str], as_html: bool) -> str:
    out = template
    for name, value in values.items():
        out = out.replace("{" + name + "}", html.escape(value) if as_html else value)
    return out


def send(
    conn: Connection,
    settings: Settings,
    box: SecretBox,
    pool: PoolView,
    user: User,
    event_id: str,
    assessment: Assessment,
    takeover: dict[str, Any],
    now: dt.datetime,
) -> str | None:
    """The e-mail of the action taken, when the level's action notifies and the user has an e-mail
    address; which template was used (None: nothing sent)."""
    destination = user.attributes.get("email")
    if not destination:
        return None
    name = TEMPLATE_OF[assessment.done]
    configured = (takeover.get("NotifyConfiguration") or {}).get(name) or {}
    default_subject, default_text = DEFAULTS[name]
    as_html = bool(configured.get("HtmlBody"))
    body = configured.get("HtmlBody") or configured.get("TextBody") or default_text
    obs = assessment.observation
    values = {
        "username": user.username,
        "ip-address": obs.ip or "unknown",
        "city": obs.city or "unknown",
        "country": obs.country_name or obs.country or "unknown",
        "login-time": now.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "device-name": obs.device_name or "an unknown device",
        "one-click-link-valid": feedback_link(settings, box, pool, user, event_id, "valid"),
        "one-click-link-invalid": feedback_link(settings, box, pool, user, event_id, "invalid"),
    }
    message = Message(
        medium="EMAIL",
        destination=destination,
        subject=configured.get("Subject") or default_subject,
        body=render(body, values, as_html),
        html=as_html,
        user_pool_id=pool.id,
        username=user.username,
        purpose=PURPOSE,
    )
    if outbox.enabled(settings, "EMAIL"):
        outbox.keep(conn, settings, message, now)
    if outbox.sender_configured(settings, "EMAIL"):
        try:
            delivery_queue.reserve()
        except delivery_queue.DeliveryBacklog:
            return None  # a notification is best effort: the sign-in is not failed for it
        sender = SmtpSender(settings)
        after_commit(conn, lambda: delivery_queue.dispatch(sender, message), on_rollback=delivery_queue.release)
    return name
