"""Delivery of email and SMS messages: SMTP, an HTTP webhook for SMS, and the development outbox.

Codes and invitations are rendered by the caller; this module only moves a finished message.
Senders never log message bodies (they carry codes and temporary passwords).
"""

from __future__ import annotations

import logging
import queue
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from ostiary import egress
from ostiary.config import Settings

log = logging.getLogger("ostiary.notify")


@dataclass(frozen=True)
class Message:
    medium: str  # "EMAIL" | "SMS"
    destination: str
    subject: str
    body: str
    html: bool
    user_pool_id: str
    username: str
    purpose: str  # e.g. "SignUp", "ForgotPassword", "AdminCreateUser", "VerifyUserAttribute"


class DeliveryError(RuntimeError):
    pass


class Sender(Protocol):
    def send(self, message: Message) -> None: ...


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, message: Message) -> None:
        s = self.settings
        mail = EmailMessage()
        mail["From"] = s.smtp_from
        mail["To"] = message.destination
        mail["Subject"] = message.subject
        if message.html:
            mail.set_content("This message needs an HTML-capable mail reader.")
            mail.add_alternative(message.body, subtype="html")
        else:
            mail.set_content(message.body)
        try:
            if s.smtp_ssl:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=10, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=10)
            with client:
                if s.smtp_starttls and not s.smtp_ssl:
                    client.starttls(context=ssl.create_default_context())
                if s.smtp_username:
                    client.login(s.smtp_username, s.smtp_password)
                client.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("email delivery failed", extra={"purpose": message.purpose, "error": type(exc).__name__})
            raise DeliveryError("email delivery failed") from exc


class WebhookSmsSender:
    """POSTs ``{"phoneNumber", "message", "userPoolId", "username", "purpose"}`` as JSON."""

    def __init__(self, url: str, policy: egress.Policy | None = None) -> None:
        self.url = url
        self.policy = policy or egress.Policy()

    def send(self, message: Message) -> None:
        payload = {
            "phoneNumber": message.destination,
            "message": message.body,
            "userPoolId": message.user_pool_id,
            "username": message.username,
            "purpose": message.purpose,
        }
        try:
            # the operator's webhook (sms_webhook_url): trusted by the egress policy, its caps apply
            r = self.policy.fetch("POST", self.url, trusted=True, json_body=payload, timeout=10)
            if r.status >= 400:
                raise egress.EgressFailed(f"HTTP {r.status}")
        except egress.EgressError as exc:
            log.warning("SMS delivery failed", extra={"purpose": message.purpose, "error": type(exc).__name__})
            raise DeliveryError("SMS delivery failed") from exc


# Messages leave off the response path: an SMTP conversation or a webhook call takes tens of
# milliseconds to seconds, which a request would otherwise wait for (and which would tell a caller
# whether a user exists where the pool hides it: a real user's ForgotPassword sends mail, an
# unknown one's does not). A few daemon threads send; at most MAX_PENDING messages wait. Messages
# still waiting when the process stops are not sent (the log says how many).
MAX_PENDING = 1000
_SENDERS = 4
_queue: queue.Queue[tuple[Sender, Message]] = queue.Queue()
_pending = threading.BoundedSemaphore(MAX_PENDING)
_started = False
_start_lock = threading.Lock()


class DeliveryBacklog(RuntimeError):
    """More than MAX_PENDING messages are waiting for their sender."""


def _worker() -> None:
    while True:
        sender, message = _queue.get()
        try:
            sender.send(message)
        except DeliveryError:
            pass  # the sender logged it, without the body
        except Exception:
            log.exception("message delivery failed", extra={"purpose": message.purpose})
        finally:
            _pending.release()


def _start() -> None:
    global _started
    with _start_lock:
        if not _started:
            for i in range(_SENDERS):
                threading.Thread(target=_worker, name=f"ostiary-delivery-{i}", daemon=True).start()
            _started = True


def reserve() -> None:
    """Take a place in the delivery queue; raises DeliveryBacklog when MAX_PENDING wait already."""
    if not _pending.acquire(blocking=False):
        log.error("message delivery backlog is full")
        raise DeliveryBacklog("too many messages waiting for delivery")


def release() -> None:
    """Give back a place taken with :func:`reserve` (its message will not be sent)."""
    _pending.release()


def dispatch(sender: Sender, message: Message) -> None:
    """Send ``message`` in the background, in the place taken with :func:`reserve`."""
    _start()
    _queue.put((sender, message))


def waiting() -> int:
    """Messages not yet handed to their server."""
    return _queue.qsize()


def drain(timeout: float) -> None:
    """At shutdown: give waiting messages up to ``timeout`` seconds to leave, then say how many stay."""
    deadline = time.monotonic() + timeout
    while _queue.qsize() and time.monotonic() < deadline:
        time.sleep(0.05)
    if _queue.qsize():
        log.warning("messages not sent at shutdown", extra={"count": _queue.qsize()})
