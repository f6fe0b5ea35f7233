"""Limits on one-time codes across re-issues: codes cannot be guessed by asking for new ones.

Each code allows 5 wrong attempts (``messages.MAX_ATTEMPTS``), but codes can be sent again without
end (ResendConfirmationCode, ForgotPassword, GetUserAttributeVerificationCode, attribute updates,
EMAIL_OTP / SMS_OTP sign-in, SMS and email MFA), and each new code would bring fresh guesses. So,
per user pool, per kind of code (the code's purpose) and per subject, counted in the store (``code_limits``,
processes stay stateless):

- failed verifications, across re-issued codes: ``code_failed_attempts_limit`` (5) within
  ``code_window_seconds`` (an hour) locks the user out of that kind of code for
  ``code_backoff_seconds`` (900 s), doubling with each further lock-out without a right code in
  between, up to ``MAX_BACKOFF_FACTOR`` times; while locked, every code (the right one too) and every
  request for a new one is answered ``LimitExceededException`` ("Attempt limit exceeded, please try
  after some time."), as Cognito answers;
- issued codes: ``code_issue_limit`` (5) per user and kind, and ``code_destination_issue_limit`` (10)
  per email address or phone number (whichever users and kinds), within the window. AWS documents
  "between 5 and 20 attempts for a user to request or enter a password reset code" an hour;
- a right code resets the user's counts for that kind of code (not the destination's).

Subjects are ``u:<sub>`` for a user; ``n:<HMAC>`` for a name that matches no user, where the app
client prevents user existence errors (an unknown user is limited exactly as a real one is, so the
limits tell no one who exists); ``d:<HMAC>`` for a destination (purpose ``*``). The HMACs are keyed
with a key derived from the KEK, so the table names no address. Rows are updated under a row lock on
PostgreSQL (INSERT … ON CONFLICT DO NOTHING, then SELECT … FOR UPDATE; ``messages`` locks the code's
own row first, when issuing and when checking, so concurrent guesses are counted one by one and the
two paths cannot deadlock) and under the store's writer lock on SQLite. Verifying a code reads its
row; nothing more is written unless the code is wrong or the user's counts need resetting. Rows idle
for longer than they can matter are swept now and then.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, update

from ostiary.config import Settings
from ostiary.crypto.secrets import SecretBox
from ostiary.store import rows
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools.directory import PoolView, User, username_key
from ostiary.userpools.errors import LimitExceededException

MESSAGE = "Attempt limit exceeded, please try after some time."
MAX_BACKOFF_FACTOR = 8  # the back-off doubles up to 8 times code_backoff_seconds
ANY = "*"  # the purpose of destination rows: every kind of code counts
SWEEP_ONE_IN = 16  # a new row sweeps idle ones with these odds
_MAC_PURPOSE = "one-time-code limits"


class DestinationLimited(LimitExceededException):
    """The destination's issuance limit (not the user's): where user existence is hidden, the caller
    may answer as usual and send nothing instead."""


def exceeded() -> LimitExceededException:
    return LimitExceededException(MESSAGE)


@dataclass(frozen=True)
class Limits:
    failures: int
    issues: int
    destination_issues: int
    window: dt.timedelta
    backoff: dt.timedelta
    key: bytes

    @classmethod
    def of(cls, settings: Settings, box: SecretBox) -> Limits:
        return cls(
            failures=max(0, settings.code_failed_attempts_limit),
            issues=max(0, settings.code_issue_limit),
            destination_issues=max(0, settings.code_destination_issue_limit),
            window=dt.timedelta(seconds=max(1, settings.code_window_seconds)),
            backoff=dt.timedelta(seconds=max(0, settings.code_backoff_seconds)),
            key=box.mac_key(_MAC_PURPOSE),
        )

    def _mac(self, label: str, pool_id: str, value: str) -> str:
        return hmac.new(self.key, f"{label}\x00{pool_id}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def for_name(self, pool: PoolView, name: str) -> str:
        """The subject of a name that matches no user (addresses without regard to case, usernames by
        the pool's case sensitivity)."""
        value = name.lower() if "@" in name else username_key(pool, name)
        return "n:" + self._mac("name", pool.id, value)

    def for_destination(self, pool_id: str, destination: str) -> str:
        return "d:" + self._mac("destination", pool_id, destination.strip().lower())

    @property
    def idle(self) -> dt.timedelta:
        """After this long without a change a row can no longer refuse anything."""
        return max(self.window, self.backoff * MAX_BACKOFF_FACTOR)


def for_user(user_id: str) -> str:
    return "u:" + user_id


# --------------------------------------------------------------------------------------------
# rows

_c = t.code_limits.c


def _where(pool_id: str, subject: str, purpose: str) -> Any:
    return (_c.user_pool_id == pool_id) & (_c.subject == subject) & (_c.purpose == purpose)


def state(conn: Connection, pool_id: str, subject: str, purpose: str) -> Any:
    """The row (or None), read without a lock."""
    return conn.execute(select(t.code_limits).where(_where(pool_id, subject, purpose))).first()


def _locked_row(conn: Connection, limits: Limits, pool_id: str, subject: str, purpose: str, now: dt.datetime) -> Any:
    """The row, created if missing, locked until the transaction ends."""
    row, created = rows.locked_row(
        conn,
        t.code_limits,
        {"user_pool_id": pool_id, "subject": subject, "purpose": purpose},
        {"issued": 0, "failures": 0, "lockouts": 0, "updated_at": now},
    )
    if created and secrets.randbelow(SWEEP_ONE_IN) == 0:
        sweep(conn, limits, now)
    return row


def _in_window(
    count: int, start: dt.datetime | None, window: dt.timedelta, now: dt.datetime
) -> tuple[int, dt.datetime]:
    """(count, window start) with the window restarted when it has passed."""
    if start is None or now >= utc(start) + window:
        return 0, now
    return count, utc(start)


def locked(row: Any, now: dt.datetime) -> bool:
    return row is not None and row.locked_until is not None and now < utc(row.locked_until)


def sweep(conn: Connection, limits: Limits, now: dt.datetime) -> None:
    conn.execute(delete(t.code_limits).where(_c.updated_at < now - limits.idle))


# --------------------------------------------------------------------------------------------
# issuing


def allow_issue(
    conn: Connection,
    limits: Limits,
    pool_id: str,
    subject: str,
    purpose: str,
    destination: str | None,
    now: dt.datetime,
) -> None:
    """Count a code about to be sent to ``subject`` (and ``destination``), or raise
    LimitExceededException (DestinationLimited for the destination's limit) and count nothing."""
    row = _locked_row(conn, limits, pool_id, subject, purpose, now)
    if locked(row, now):
        raise exceeded()
    issued, start = _in_window(row.issued, row.issue_window_start, limits.window, now)
    if limits.issues and issued >= limits.issues:
        raise exceeded()
    if destination is not None:
        target = limits.for_destination(pool_id, destination)
        drow = _locked_row(conn, limits, pool_id, target, ANY, now)
        dissued, dstart = _in_window(drow.issued, drow.issue_window_start, limits.window, now)
        if limits.destination_issues and dissued >= limits.destination_issues:
            raise DestinationLimited(MESSAGE)
        conn.execute(
            update(t.code_limits)
            .where(_where(pool_id, target, ANY))
            .values(issued=dissued + 1, issue_window_start=dstart, updated_at=now)
        )
    conn.execute(
        update(t.code_limits)
        .where(_where(pool_id, subject, purpose))
        .values(issued=issued + 1, issue_window_start=start, updated_at=now)
    )


# --------------------------------------------------------------------------------------------
# verifying


def record_failure(
    conn: Connection, limits: Limits, pool_id: str, subject: str, purpose: str, now: dt.datetime
) -> None:
    """A wrong code: counted; the limit reached locks the subject out for the back-off."""
    row = _locked_row(conn, limits, pool_id, subject, purpose, now)
    failures, start = _in_window(row.failures, row.failure_window_start, limits.window, now)
    failures += 1
    values: dict[str, Any] = {"failures": failures, "failure_window_start": start, "updated_at": now}
    if limits.failures and failures >= limits.failures:
        factor = min(2 ** min(row.lockouts, 16), MAX_BACKOFF_FACTOR)
        values.update(
            failures=0,
            failure_window_start=None,
            lockouts=row.lockouts + 1,
            locked_until=now + limits.backoff * factor,
        )
    conn.execute(update(t.code_limits).where(_where(pool_id, subject, purpose)).values(**values))


def record_success(conn: Connection, pool_id: str, subject: str, purpose: str, row: Any) -> None:
    """A right code resets the subject's counts for this kind of code (``row`` as ``state`` read it).
    Nothing is written when there is nothing to reset beyond the one code just used."""
    if row is not None and (row.failures or row.lockouts or row.locked_until is not None or row.issued > 1):
        conn.execute(delete(t.code_limits).where(_where(pool_id, subject, purpose)))


def refuse_hidden(
    conn: Connection, limits: Limits, pool: PoolView, user: User | None, name: str, purpose: str, now: dt.datetime
) -> bool:
    """A code entered where none can be right (user existence errors prevented: a name that matches no
    user, or a user that cannot use this code), counted as a real wrong code is. True when locked out
    (answer LimitExceededException, as a locked real user gets); False: answer as to a wrong code."""
    subject = for_user(user.id) if user is not None else limits.for_name(pool, name)
    if locked(state(conn, pool.id, subject, purpose), now):
        return True
    record_failure(conn, limits, pool.id, subject, purpose, now)
    return False


def issue_hidden(
    conn: Connection, limits: Limits, pool: PoolView, user: User | None, name: str, purpose: str, now: dt.datetime
) -> None:
    """A code 'sent' where none is (user existence errors prevented: a name that matches no user, or
    a user that cannot get this code): limited as a real code would be (raises
    LimitExceededException alike)."""
    subject = for_user(user.id) if user is not None else limits.for_name(pool, name)
    allow_issue(conn, limits, pool.id, subject, purpose, None, now)
