"""Invitation and password-reset e-mails: a one-time link (``/start/<store>/invitation?token=…``, seven days) to the
user's primary e-mail address, through the mail path user pools use (``notify/``): kept sealed in the
outbox when no SMTP server is configured (or in --dev), sent in the background once the transaction
commits otherwise. The token is never stored, only its sha256 (``credentials.invite``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from ostiary.accessportal import credentials, urls
from ostiary.config import Settings
from ostiary.identitystore import directory
from ostiary.notify import delivery, outbox
from ostiary.notify.delivery import Message, SmtpSender
from ostiary.store.db import after_commit

SUBJECT = "Invitation to join AWS IAM Identity Center"
RESET_SUBJECT = "Reset your AWS access portal password"
RESEND_AFTER = dt.timedelta(minutes=1)  # a user gets at most one reset e-mail a minute


def primary_email(user: RowMapping) -> str | None:
    emails: list[dict[str, Any]] = [e for e in (user["document"] or {}).get("Emails") or [] if e.get("Value")]
    chosen = next((e for e in emails if e.get("Primary")), emails[0] if emails else None)
    return str(chosen["Value"]) if chosen else None


def link(settings: Settings, store_id: str, token: str) -> str:
    return f"{urls.start_url(settings.effective_public_url, store_id)}/invitation?token={token}"


def send(
    conn: Connection, settings: Settings, store_id: str, user: RowMapping, now: dt.datetime, *, reset: bool = False
) -> str:
    """Invite ``user`` (a row of ``identitystore_users``) by e-mail, or (``reset``) send a link to choose a
    new password; the address. ValueError when the user has no e-mail address."""
    address = primary_email(user)
    if not address:
        raise ValueError(f"user {user['user_name']} has no e-mail address")
    token = credentials.invite(conn, store_id, user["user_id"], now)
    url = link(settings, store_id, token)
    start = urls.start_url(settings.effective_public_url, store_id)
    if reset:
        subject = RESET_SUBJECT
        body = (
            f"Hello {user['user_name']},\n\n"
            "Someone asked to reset the password of your AWS access portal user. If it was you, choose a new\n"
            f"password within 7 days at:\n{url}\n\n"
            "If it was not you, ignore this message: your password has not changed.\n"
        )
    else:
        subject = SUBJECT
        body = (
            f"Hello {user['user_name']},\n\n"
            "You have been invited to use the AWS access portal of your organization.\n\n"
            f"Accept the invitation and choose your password within 7 days:\n{url}\n\n"
            f"Afterwards, sign in at {start} with the user name {user['user_name']}.\n"
        )
    message = Message(
        medium="EMAIL",
        destination=address,
        subject=subject,
        body=body,
        html=False,
        user_pool_id=store_id,
        username=user["user_name"],
        purpose="PasswordReset" if reset else "Invitation",
    )
    if outbox.enabled(settings, "EMAIL"):
        outbox.keep(conn, settings, message, now)
    if outbox.sender_configured(settings, "EMAIL"):
        sender = SmtpSender(settings)
        delivery.reserve()
        after_commit(conn, lambda: delivery.dispatch(sender, message), on_rollback=delivery.release)
    return address


def reset(conn: Connection, settings: Settings, store_id: str, user: RowMapping | None, now: dt.datetime) -> None:
    """ "Forgot password": a reset link to a user with an e-mail address, at most one a minute; nothing
    for an unknown user or one without an address (the page answers the same either way)."""
    if user is None or not directory.enabled(user) or not primary_email(user):
        return
    if credentials.invited_since(conn, user["user_id"], now - RESEND_AFTER):
        return
    try:
        send(conn, settings, store_id, user, now, reset=True)
    except delivery.DeliveryBacklog:
        return  # the page answers the same; the user may ask again
