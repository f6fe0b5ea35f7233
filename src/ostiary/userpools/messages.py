"""One-time codes and the messages that carry them (verification, forgot password, invitations).

Codes are 6 digits, single-use, stored as SHA-256 hashes, expire (sign-up and attribute
verification 24 h, forgot password 1 h) and allow 5 wrong attempts; issuing and failed attempts
are also limited across re-issued codes (ostiary.userpools.code_limits). Messages use the pool's
templates (VerificationMessageTemplate, InviteMessageTemplate; ``{####}`` is the code or temporary
password, ``{username}`` the user name) and go out by SMTP / the SMS webhook when configured, and
to the outbox (sealed, for ``outbox_ttl_seconds``; read with ``ostiary outbox`` or ``GET
/_ostiary/outbox`` in development mode) when the outbox is on or no sender is configured.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from ostiary import egress
from ostiary.config import Settings
from ostiary.notify import delivery as delivery_queue
from ostiary.notify import outbox
from ostiary.notify.delivery import Message, Sender, SmtpSender, WebhookSmsSender
from ostiary.protocol.context import RequestContext
from ostiary.store import tables as t
from ostiary.store.db import after_commit, utc
from ostiary.userpools import code_limits, log_delivery, triggers
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import (
    CodeDeliveryFailureException,
    CodeMismatchException,
    ExpiredCodeException,
    InvalidLambdaResponseException,
)
from ostiary.userpools.masking import mask

log = logging.getLogger("ostiary.messages")

CODE_LIFETIMES = {
    "SignUp": dt.timedelta(hours=24),
    "ForgotPassword": dt.timedelta(hours=1),
    "VerifyAttribute:email": dt.timedelta(hours=24),
    "VerifyAttribute:phone_number": dt.timedelta(hours=24),
    "Authentication": dt.timedelta(minutes=3),  # SMS and email MFA codes
}
MAX_ATTEMPTS = 5

DEFAULT_EMAIL_SUBJECT = "Your verification code"
DEFAULT_EMAIL_MESSAGE = "Your verification code is {####}. "
DEFAULT_SMS_MESSAGE = "Your verification code is {####}. "
DEFAULT_INVITE_SUBJECT = "Your temporary password"
DEFAULT_INVITE_MESSAGE = "Your username is {username} and temporary password is {####}. "
DEFAULT_FORGOT_MESSAGE = "Your password reset code is {####}. "
DEFAULT_MFA_SMS_MESSAGE = "Your authentication code is {####}. "
DEFAULT_MFA_EMAIL_SUBJECT = "Your sign-in code"
DEFAULT_MFA_EMAIL_MESSAGE = "Your sign-in code is {####}. "


def _hash(user_id: str, purpose: str, code: str) -> str:
    return hashlib.sha256(f"{user_id}:{purpose}:{code}".encode()).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def issue_code(
    conn: Connection,
    user: User,
    purpose: str,
    now: dt.datetime,
    *,
    limits: code_limits.Limits,
    destination: str,
) -> str:
    """A fresh code for ``purpose``, replacing any earlier one; LimitExceededException (or
    code_limits.DestinationLimited) past the user's or the destination's issuance limit, or while the
    user is locked out of this kind of code."""
    # the earlier code's row first, then the limits' rows: the order check_code locks them in
    # (PostgreSQL; a reversed order could deadlock a new code against a concurrent check)
    conn.execute(
        select(t.codes.c.user_id).where(t.codes.c.user_id == user.id, t.codes.c.purpose == purpose).with_for_update()
    )
    code_limits.allow_issue(conn, limits, user.user_pool_id, code_limits.for_user(user.id), purpose, destination, now)
    code = new_code()
    conn.execute(delete(t.codes).where(t.codes.c.user_id == user.id, t.codes.c.purpose == purpose))
    conn.execute(
        insert(t.codes).values(
            user_id=user.id,
            purpose=purpose,
            code_hash=_hash(user.id, purpose, code),
            expires_at=now + CODE_LIFETIMES.get(purpose, dt.timedelta(hours=24)),
            attempts=0,
            created_at=now,
        )
    )
    return code


class CodeCheck:
    """The result of checking a code; wrong attempts must be committed even though the call fails."""

    def __init__(self, ok: bool, error: Exception | None) -> None:
        self.ok = ok
        self.error = error


def check_code(
    conn: Connection, user: User, purpose: str, code: str, now: dt.datetime, *, limits: code_limits.Limits
) -> CodeCheck:
    """Consume ``code`` when right; count the attempt when wrong, on the code and across re-issued
    codes (code_limits: past the limit, every code is refused for the back-off). The caller commits,
    then raises the error."""
    # the code's row is locked first (PostgreSQL), so that concurrent guesses are checked one by one
    row = conn.execute(
        select(t.codes.c.code_hash, t.codes.c.expires_at, t.codes.c.attempts)
        .where(t.codes.c.user_id == user.id, t.codes.c.purpose == purpose)
        .with_for_update()
    ).first()
    subject = code_limits.for_user(user.id)
    counted = code_limits.state(conn, user.user_pool_id, subject, purpose)
    if code_limits.locked(counted, now):
        return CodeCheck(False, code_limits.exceeded())
    if row is None:
        return CodeCheck(False, ExpiredCodeException("Invalid code provided, please request a code again."))
    if row.attempts >= MAX_ATTEMPTS:
        return CodeCheck(False, code_limits.exceeded())
    if utc(row.expires_at) < now:
        conn.execute(delete(t.codes).where(t.codes.c.user_id == user.id, t.codes.c.purpose == purpose))
        return CodeCheck(False, ExpiredCodeException("Invalid code provided, please request a code again."))
    if not hmac.compare_digest(row.code_hash, _hash(user.id, purpose, code)):
        conn.execute(
            update(t.codes)
            .where(t.codes.c.user_id == user.id, t.codes.c.purpose == purpose)
            .values(attempts=row.attempts + 1)
        )
        code_limits.record_failure(conn, limits, user.user_pool_id, subject, purpose, now)
        return CodeCheck(False, CodeMismatchException("Invalid verification code provided, please try again."))
    conn.execute(delete(t.codes).where(t.codes.c.user_id == user.id, t.codes.c.purpose == purpose))
    code_limits.record_success(conn, user.user_pool_id, subject, purpose, counted)
    return CodeCheck(True, None)


# --------------------------------------------------------------------------------------------
# delivery


@dataclass(frozen=True)
class Delivery:
    medium: str  # EMAIL | SMS
    attribute: str  # email | phone_number
    destination: str

    def details(self) -> dict[str, str]:
        """CodeDeliveryDetails as AWS answers it (destination masked)."""
        return {
            "Destination": mask(self.medium, self.destination),
            "DeliveryMedium": self.medium,
            "AttributeName": self.attribute,
        }


def choose_delivery(pool: PoolView, attributes: dict[str, str], prefer: str | None = None) -> Delivery | None:
    """Where a verification code goes: the auto-verified attribute the user has (email before phone,
    unless ``prefer`` names one)."""
    order = ["email", "phone_number"]
    if prefer in order:
        order.remove(prefer)
        order.insert(0, prefer)
    for attribute in order:
        if attribute in pool.auto_verified and attributes.get(attribute):
            return Delivery("EMAIL" if attribute == "email" else "SMS", attribute, attributes[attribute])
    return None


def recovery_delivery(pool: PoolView, user: User) -> Delivery | None:
    """Where a forgot-password code goes, by the pool's AccountRecoverySetting (verified only)."""
    setting = pool.config.get("AccountRecoverySetting") or {}
    mechanisms = sorted(setting.get("RecoveryMechanisms") or [], key=lambda m: m.get("Priority", 9))
    names = [m["Name"] for m in mechanisms] or ["verified_phone_number", "verified_email"]
    for name in names:
        attribute = {"verified_email": "email", "verified_phone_number": "phone_number"}.get(name)
        if attribute and user.attributes.get(attribute) and user.verified(attribute):
            return Delivery("EMAIL" if attribute == "email" else "SMS", attribute, user.attributes[attribute])
    return None


def _template(pool: PoolView, medium: str, purpose: str) -> tuple[str, str]:
    cfg = pool.config
    vmt = cfg.get("VerificationMessageTemplate") or {}
    if purpose == "Authentication":  # MFA codes: SmsAuthenticationMessage, EmailMfaConfiguration
        if medium == "SMS":
            return "", cfg.get("SmsAuthenticationMessage") or DEFAULT_MFA_SMS_MESSAGE
        email = (cfg.get("MfaSettings") or {}).get("EmailMfaConfiguration") or {}
        return email.get("Subject") or DEFAULT_MFA_EMAIL_SUBJECT, email.get("Message") or DEFAULT_MFA_EMAIL_MESSAGE
    if purpose == "AdminCreateUser":
        invite = (cfg.get("AdminCreateUserConfig") or {}).get("InviteMessageTemplate") or {}
        if medium == "SMS":
            return "", invite.get("SMSMessage") or DEFAULT_INVITE_MESSAGE
        return invite.get("EmailSubject") or DEFAULT_INVITE_SUBJECT, invite.get(
            "EmailMessage"
        ) or DEFAULT_INVITE_MESSAGE
    if medium == "SMS":
        text = vmt.get("SmsMessage") or cfg.get("SmsVerificationMessage") or DEFAULT_SMS_MESSAGE
        return "", text
    subject = vmt.get("EmailSubject") or cfg.get("EmailVerificationSubject") or DEFAULT_EMAIL_SUBJECT
    body = vmt.get("EmailMessage") or cfg.get("EmailVerificationMessage") or DEFAULT_EMAIL_MESSAGE
    return subject, body


def render(pool: PoolView, medium: str, purpose: str, code: str, username: str) -> tuple[str, str]:
    subject, body = _template(pool, medium, purpose)
    return subject, body.replace("{####}", code).replace("{username}", username)


def send(
    conn: Connection,
    settings: Settings,
    pool: PoolView,
    user: User,
    delivery: Delivery,
    purpose: str,
    code: str,
    now: dt.datetime,
    *,
    request: RequestContext | None = None,
) -> None:
    """Deliver a rendered message; the outbox copy is part of the caller's transaction. The CustomMessage
    and custom sender triggers get the ``request``'s ClientMetadata and ClientId (``client_metadata``,
    ``app_client_id``: set by the operation's decorator, triggers.with_client_metadata)."""
    subject, body = render(pool, delivery.medium, purpose, code, user.username)
    client_metadata = request.client_metadata if request is not None else {}
    client_id = request.app_client_id if request is not None else None
    custom = _custom_message(settings, pool, user, delivery, purpose, code, client_metadata, client_id)
    if custom is not None:
        subject, body = custom[0] or subject, custom[1]
    message = Message(
        medium=delivery.medium,
        destination=delivery.destination,
        subject=subject,
        body=body,
        html="<" in body and ">" in body,
        user_pool_id=pool.id,
        username=user.username,
        purpose=purpose,
    )
    senders_configured = outbox.sender_configured(settings, delivery.medium)
    if outbox.enabled(settings, delivery.medium):
        outbox.keep(conn, settings, message, now)  # sealed under the KEK, expires (outbox_ttl_seconds)
    if _custom_sender(settings, pool, user, delivery, purpose, code, client_metadata, client_id):
        return  # the pool's custom sender function delivered it
    if not senders_configured:
        return
    sender: Sender = (
        SmtpSender(settings)
        if delivery.medium == "EMAIL"
        else WebhookSmsSender(settings.sms_webhook_url, egress.policy(settings))
    )
    sender = log_delivery.notification_errors(conn, settings, pool, sender)  # failures: userNotification logs
    try:
        delivery_queue.reserve()
    except delivery_queue.DeliveryBacklog:
        raise CodeDeliveryFailureException("Unable to deliver the message.") from None
    # sent once the transaction commits, in the background: the request neither waits for the SMTP
    # server or the webhook nor holds its transaction meanwhile
    after_commit(conn, lambda: delivery_queue.dispatch(sender, message), on_rollback=delivery_queue.release)


def outbox_rows(
    conn: Connection, settings: Settings, destination: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest unexpired outbox messages, opened (ostiary.notify.outbox)."""
    return outbox.rows(conn, settings, destination, limit)


# what a message is for (the ``purpose`` callers give ``send``) → the triggers' source suffix
MESSAGE_SOURCES = {
    "SignUp": "SignUp",
    "ResendCode": "ResendCode",
    "ForgotPassword": "ForgotPassword",
    "AdminCreateUser": "AdminCreateUser",
    "UpdateUserAttribute": "UpdateUserAttribute",
    "VerifyUserAttribute": "VerifyUserAttribute",
    "Authentication": "Authentication",
}


def _custom_message(
    settings: Settings,
    pool: PoolView,
    user: User,
    delivery: Delivery,
    purpose: str,
    code: str,
    client_metadata: dict[str, str],
    client_id: str | None,
) -> tuple[str | None, str] | None:
    """The CustomMessage trigger's (subject, body) for this message, or None (not configured).
    Its messages must keep the ``{####}`` placeholder, where the code goes."""
    if not triggers.configured(pool, "CustomMessage"):
        return None
    request: dict[str, Any] = {
        "userAttributes": triggers.user_attributes(user),
        "codeParameter": "{####}",
        "linkParameter": "{##Click Here##}",
        "usernameParameter": "{username}" if purpose == "AdminCreateUser" else None,
        "clientMetadata": client_metadata,
    }
    source = "CustomMessage_" + MESSAGE_SOURCES.get(purpose, "SignUp")
    response = triggers.run(settings, pool, "CustomMessage", source, user.username, client_id, request)
    if not response:
        return None
    key = "smsMessage" if delivery.medium == "SMS" else "emailMessage"
    text = response.get(key)
    if not text:
        return None
    if not isinstance(text, str) or "{####}" not in text:
        raise InvalidLambdaResponseException(
            f"The {key} of the custom message must contain the code placeholder {{####}}."
        )
    subject = response.get("emailSubject") if delivery.medium == "EMAIL" else None
    return (str(subject) if subject else None), text.replace("{####}", code).replace("{username}", user.username)


def _custom_sender(
    settings: Settings,
    pool: PoolView,
    user: User,
    delivery: Delivery,
    purpose: str,
    code: str,
    client_metadata: dict[str, str],
    client_id: str | None,
) -> bool:
    """CustomEmailSender / CustomSMSSender: the pool's function sends the message itself. AWS hands it
    the code encrypted with the pool's KMS key (AWS Encryption SDK); Ostiary has no KMS, so ``code``
    is the code base64-encoded — a handler skips its decrypt step (see docs/compatibility.md)."""
    trigger = "CustomEmailSender" if delivery.medium == "EMAIL" else "CustomSMSSender"
    if not triggers.configured(pool, trigger):
        return False
    source = f"{trigger}_{MESSAGE_SOURCES.get(purpose, 'SignUp')}"
    request = {
        "type": "customEmailSenderRequestV1" if delivery.medium == "EMAIL" else "customSMSSenderRequestV1",
        "code": base64.b64encode(code.encode()).decode(),
        "userAttributes": triggers.user_attributes(user),
        "clientMetadata": client_metadata,
    }
    triggers.run(settings, pool, trigger, source, user.username, client_id, request)
    return True
