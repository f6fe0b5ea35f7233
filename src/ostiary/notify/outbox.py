"""The outbox: messages kept where codes can be read without SMTP or an SMS sender.

A message is kept when no sender is configured for its medium, in ``--dev``, or with the ``outbox``
setting. Its subject and body (codes, temporary passwords) are sealed under the KEK (AES-GCM, bound
to the row's pool, user, medium, destination and purpose), so a copy of the database does not show
them; rows expire after ``outbox_ttl_seconds``: expired rows are never shown, are purged when a
message is kept, and when the server starts. ``ostiary outbox`` (and ``GET /_ostiary/outbox`` in
development mode) open them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import Connection, delete, insert, select

from ostiary.config import Settings
from ostiary.crypto.secrets import SecretBox, load_or_create_kek
from ostiary.notify.delivery import Message
from ostiary.store import tables as t
from ostiary.store.db import utc

log = logging.getLogger("ostiary.notify")

_O = t.outbox.c
_OLDEST = select(_O.created_at).order_by(_O.id).limit(1)
_SEALED_MARK = ""  # a sealed row's subject column; its subject travels sealed inside ``body``


def ttl(settings: Settings) -> dt.timedelta:
    return dt.timedelta(seconds=max(settings.outbox_ttl_seconds, 1))


def enabled(settings: Settings, medium: str) -> bool:
    """Whether messages of ``medium`` are kept in the outbox."""
    return settings.outbox or settings.dev or not sender_configured(settings, medium)


def sender_configured(settings: Settings, medium: str) -> bool:
    return bool(settings.smtp_host if medium == "EMAIL" else settings.sms_webhook_url)


@functools.lru_cache(maxsize=8)
def _box(kek: str, data_dir: Path) -> SecretBox:
    return SecretBox(load_or_create_kek(kek, data_dir))


def box_for(settings: Settings) -> SecretBox:
    """The SecretBox of the server's KEK (the one build_runtime uses: same setting, same file)."""
    return _box(settings.kek, settings.data_dir.resolve())


def _context(user_pool_id: str, username: str, medium: str, destination: str, purpose: str) -> str:
    return json.dumps(["outbox", user_pool_id, username, medium, destination, purpose])


def keep(conn: Connection, settings: Settings, message: Message, now: dt.datetime) -> None:
    """Keep ``message`` (sealed) in the outbox, in the caller's transaction; expired rows go first."""
    purge_expired(conn, settings, now)
    context = _context(message.user_pool_id, message.username, message.medium, message.destination, message.purpose)
    sealed = box_for(settings).seal(json.dumps({"subject": message.subject, "body": message.body}), context)
    conn.execute(
        insert(t.outbox).values(
            user_pool_id=message.user_pool_id,
            username=message.username,
            medium=message.medium,
            destination=message.destination,
            subject=_SEALED_MARK,
            body=sealed,
            purpose=message.purpose,
            created_at=now,
        )
    )


def purge_expired(conn: Connection, settings: Settings, now: dt.datetime) -> int:
    """Delete the rows older than the TTL; reads only the oldest row when there is none (rows are
    kept in time order, so the oldest decides)."""
    cutoff = now - ttl(settings)
    oldest = conn.execute(_OLDEST).scalar()
    if oldest is None or utc(oldest) >= cutoff:
        return 0
    return int(conn.execute(delete(t.outbox).where(_O.created_at < cutoff)).rowcount or 0)


def _open(box: SecretBox, row: Any) -> tuple[str, str]:
    if row.subject != _SEALED_MARK or not str(row.body).startswith("v1:"):
        return row.subject, row.body  # a row kept before sealing (it expires like the others)
    context = _context(row.user_pool_id, row.username, row.medium, row.destination, row.purpose)
    try:
        doc = json.loads(box.open(row.body, context))
    except (ValueError, InvalidTag):
        return "", "(sealed under another key-encryption key)"
    return str(doc.get("subject", "")), str(doc.get("body", ""))


def rows(
    conn: Connection, settings: Settings, destination: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest unexpired messages, opened, newest first."""
    box = box_for(settings)
    cutoff = dt.datetime.now(dt.UTC) - ttl(settings)
    query = select(t.outbox).where(_O.created_at >= cutoff).order_by(_O.id.desc()).limit(limit)
    if destination:
        query = query.where(_O.destination == destination)
    out: list[dict[str, Any]] = []
    for r in conn.execute(query).all():
        subject, body = _open(box, r)
        out.append(
            {
                "id": r.id,
                "userPoolId": r.user_pool_id,
                "username": r.username,
                "medium": r.medium,
                "destination": r.destination,
                "subject": subject,
                "body": body,
                "purpose": r.purpose,
                "createdAt": utc(r.created_at).isoformat(),
            }
        )
    return out


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def where_messages_go(settings: Settings) -> list[tuple[int, str]]:
    """(log level, sentence) per medium, for the startup log: where codes and temporary passwords
    go. Names no secret (no SMTP credentials, no webhook URL)."""
    kept = f"kept, sealed, in the outbox for {_duration(max(settings.outbox_ttl_seconds, 1))}"
    read = "read them with `ostiary outbox`" + (" or GET /_ostiary/outbox" if settings.dev else "")
    quiet = logging.INFO if settings.dev else logging.WARNING
    out: list[tuple[int, str]] = []
    if settings.smtp_host:
        line = f"email messages are sent by SMTP ({settings.smtp_host}:{settings.smtp_port})"
        if enabled(settings, "EMAIL"):
            line += f"; a copy is {kept}; {read}"
        out.append((logging.INFO, line))
    else:
        out.append((quiet, f"no SMTP configured (smtp_host): email messages are {kept}; {read}"))
    if settings.sms_webhook_url:
        line = "SMS messages are sent to the SMS webhook (sms_webhook_url)"
        if enabled(settings, "SMS"):
            line += f"; a copy is {kept}; {read}"
        out.append((logging.INFO, line))
    else:
        out.append((quiet, f"no SMS sender configured (sms_webhook_url): SMS messages are {kept}; {read}"))
    return out
