"""The CSV user import's engine (``user_import``'s job thread and ``ostiary users import``): rows are
checked in Python outside any transaction, then written a chunk at a time, each chunk in one
transaction: one query for the usernames the chunk would take, one per alias attribute the pool
uses, one multi-row INSERT of the users, one of the rows' errors, and the job's counts.

The rules are those of a single user's import (and of AdminCreateUser): a row is refused with the
message AdminCreateUser would give; a username already in the pool is skipped, as by AWS, whose
CloudWatch Logs stream has one line per row, ``[FAILED] Line Number 5956 - <why>`` or ``[SKIPPED]
Line Number 5956 - The user already exists.`` (Cognito Developer Guide, "Viewing the user pool import
results in the CloudWatch console"). Those lines are kept in ``user_import_errors``.

When another request takes a username or alias between a chunk's check and its INSERT (the unique
constraint refuses the chunk), the chunk is written again one row at a time, so the counts stay exact.
"""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ostiary.protocol.errors import ServiceError
from ostiary.store import tables as t
from ostiary.store.bulk import BulkInsert
from ostiary.store.db import Store
from ostiary.userpools import attributes as attrs
from ostiary.userpools.directory import NEW_USER_COLUMNS, PoolView, UserStatus, alias_keys, username_key
from ostiary.userpools.users import resolve_new_username

CHUNK_ROWS = 1000  # rows written per transaction (SQLite holds its one writer lock that long: ~20-40 ms)
SLICE_BYTES = 1 << 20  # an uploaded file is kept and read in slices of this many bytes' text
SMS_MFA = {"UserMFASettingList": ["SMS_MFA"], "PreferredMfaSetting": "SMS_MFA"}
ALREADY_EXISTS = "The user already exists."
_ALIAS_COLUMNS = {"email": "email_key", "phone_number": "phone_key", "preferred_username": "preferred_username_key"}
# the columns of an imported user, in the order of the tuples write() builds
_USER_COLUMNS = NEW_USER_COLUMNS


# --- the uploaded file ---------------------------------------------------------------------------


def store_file(conn: Connection, job_id: str, data: bytes | BinaryIO) -> None:
    """Keep ``data`` (UTF-8, with or without a BOM) as the job's file, replacing any it had, in slices
    of at most SLICE_BYTES' text; UnicodeDecodeError (nothing kept: the caller's transaction rolls back)
    when it is not UTF-8. A file object is read a slice at a time."""
    conn.execute(delete(t.user_import_slices).where(t.user_import_slices.c.job_id == job_id))
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    seq = 0

    def keep(text: str) -> None:
        nonlocal seq
        conn.execute(insert(t.user_import_slices).values(job_id=job_id, seq=seq, text=text))
        seq += 1

    if isinstance(data, bytes):
        view = memoryview(data)
        pieces: Iterator[bytes] = (bytes(view[at : at + SLICE_BYTES]) for at in range(0, len(view), SLICE_BYTES))
    else:
        pieces = iter(lambda: data.read(SLICE_BYTES), b"")
    for piece in pieces:
        text = decoder.decode(piece)
        if text:
            keep(text)
    tail = decoder.decode(b"", final=True)
    if tail or seq == 0:  # an empty file is a file too (its job fails on its missing header)
        keep(tail)


def has_file(conn: Connection, job_id: str) -> bool:
    query = select(t.user_import_slices.c.seq).where(t.user_import_slices.c.job_id == job_id).limit(1)
    return conn.execute(query).first() is not None


def drop_file(conn: Connection, job_id: str) -> None:
    conn.execute(delete(t.user_import_slices).where(t.user_import_slices.c.job_id == job_id))


def file_lines(store: Store, job_id: str) -> Iterator[str]:
    """The job's file line by line (each with its ``\\n``, as a text file object yields them, for
    ``csv.reader``), one slice in memory at a time."""
    s = t.user_import_slices.c
    seq = -1
    carry = ""
    while True:
        with store.read() as conn:
            row = conn.execute(
                select(s.seq, s.text).where(s.job_id == job_id, s.seq > seq).order_by(s.seq).limit(1)
            ).first()
        if row is None:
            break
        seq = int(row.seq)
        lines = (carry + row.text).split("\n")
        carry = lines.pop()
        for line in lines:
            yield line + "\n"
    if carry:
        yield carry


@dataclass(frozen=True)
class Problem:
    """One row not imported: ``[FAILED]`` or ``[SKIPPED]``, as AWS logs it."""

    line: int
    username: str | None
    outcome: str
    reason: str

    @property
    def message(self) -> str:
        return f"[{self.outcome}] Line Number {self.line} - {self.reason}"[:1024]


@dataclass
class Row:
    """A row that passed the checks that need no database: ready to insert."""

    line: int
    given: str  # cognito:username as in the file
    username: str  # as stored (a new sub in pools whose username is the email or phone)
    key: str
    values: dict[str, str]
    mfa: bool


@dataclass
class Counts:
    imported: int = 0
    skipped: int = 0
    failed: int = 0

    def as_columns(self) -> dict[str, int]:
        return {"imported": self.imported, "skipped": self.skipped, "failed": self.failed}


class Importer:
    """Checks and writes the rows of one job's file into one pool; the pool's schema and alias rules
    are read once."""

    def __init__(self, pool: PoolView, header: list[str], job_id: str) -> None:
        self.pool = pool
        self.header = header
        self.job_id = job_id
        self.schema = pool.schema
        self.counts = Counts()
        self._insert: BulkInsert | None = None
        # (attribute, its key column, whether it is a username attribute) for each attribute the pool
        # signs users in with; claim_aliases' rules, with force=False
        self.claims: list[tuple[str, Any, bool]] = [
            (name, t.users.c[_ALIAS_COLUMNS[name]], name in pool.username_attributes)
            for name in ("email", "phone_number", "preferred_username")
            if name in pool.username_attributes or name in pool.alias_attributes
        ]

    def _bulk(self, conn: Connection) -> BulkInsert:
        if self._insert is None:
            self._insert = BulkInsert(conn.dialect, t.users, _USER_COLUMNS)
        return self._insert

    # --- checks without the database ---------------------------------------------------------

    def prepare(self, line: int, fields: list[str]) -> Row | Problem:
        record = dict(zip(self.header, fields, strict=False))
        given = (record.get("cognito:username") or "").strip()
        try:
            return self._prepare(line, record, given)
        except (ServiceError, ValueError) as err:
            reason = err.message if isinstance(err, ServiceError) else str(err)
            return Problem(line, given or None, "FAILED", reason)

    def _prepare(self, line: int, record: dict[str, str], given: str) -> Row:
        if not given:
            raise ValueError("cognito:username is empty")
        values = {k: v for k, v in record.items() if k and v not in (None, "") and not k.startswith("cognito:")}
        for flag in ("email_verified", "phone_number_verified"):
            if flag in values:
                values[flag] = values[flag].strip().lower()
                if values[flag] not in ("true", "false"):
                    raise ValueError(f"{flag} must be true or false")
        values = attrs.normalize(values)
        username = resolve_new_username(self.pool, given, values)
        attrs.check_values(self.pool, values, admin=True, creating=True, schema=self.schema)
        mfa_enabled = (record.get("cognito:mfa_enabled") or "false").strip().lower() == "true"
        if mfa_enabled and not values.get("phone_number"):
            raise ValueError("cognito:mfa_enabled needs a phone_number")
        return Row(line, given, username, username_key(self.pool, username), values, mfa_enabled)

    # --- writing -----------------------------------------------------------------------------

    def _claimed(self, name: str, values: dict[str, str], as_username: bool) -> str | None:
        """The key of ``name`` this row claims (and must not find taken), as claim_aliases decides."""
        value = values.get(name)
        if not value:
            return None
        if not as_username and name != "preferred_username" and values.get(f"{name}_verified") != "true":
            return None  # an unverified email or phone is not an alias yet
        return value if name == "phone_number" else value.lower()

    def _owned(self, name: str, values: dict[str, str], as_username: bool) -> str | None:
        """The key of ``name`` a row holds against later rows (directory.alias_owner's rule)."""
        value = values.get(name)
        if not value:
            return None
        if not (as_username or name == "preferred_username" or values.get(f"{name}_verified", "false") == "true"):
            return None
        return value if name == "phone_number" else value.lower()

    def write(self, conn: Connection, rows: list[Row], problems: list[Problem], now: dt.datetime) -> None:
        """Insert ``rows`` that are still free, and record every problem, in the caller's transaction."""
        pool, c = self.pool, t.users.c
        problems = list(problems)
        if rows:
            taken = set(
                conn.execute(
                    select(c.username_key).where(c.user_pool_id == pool.id, c.username_key.in_({r.key for r in rows}))
                ).scalars()
            )
            ids = {r.username for r in rows if len(r.username) == 36} if not pool.username_attributes else set()
            taken_ids = (
                set(conn.execute(select(c.id).where(c.user_pool_id == pool.id, c.id.in_(ids))).scalars())
                if ids
                else set()
            )
            owners: dict[str, set[str]] = {}
            for name, column, as_username in self.claims:
                keys = {k for r in rows if (k := self._claimed(name, r.values, as_username)) is not None}
                held: set[str] = set()
                if keys:
                    query = select(column, c.status, c.attributes).where(c.user_pool_id == pool.id, column.in_(keys))
                    for key, status, attributes in conn.execute(query):
                        if status == UserStatus.EXTERNAL_PROVIDER:
                            continue  # a federated user's email or phone is never a sign-in alias
                        if (
                            as_username
                            or name == "preferred_username"
                            or str((attributes or {}).get(f"{name}_verified", "false")).lower() == "true"
                        ):
                            held.add(key)
                owners[name] = held
            bulk = self._bulk(conn)
            attributes = bulk.processor("attributes")
            # the values every row of the chunk shares, bound once
            status, enabled = bulk.bind("status", UserStatus.RESET_REQUIRED), bulk.bind("enabled", True)
            stamp = bulk.bind("created_at", now)
            no_mfa, sms_mfa = bulk.bind("mfa", {}), bulk.bind("mfa", SMS_MFA)
            inserts: list[tuple[Any, ...]] = []
            for r in rows:
                if r.key in taken or r.username in taken_ids:
                    problems.append(Problem(r.line, r.given, "SKIPPED", ALREADY_EXISTS))
                    continue
                clash = next(
                    (
                        name
                        for name, _, as_username in self.claims
                        if (k := self._claimed(name, r.values, as_username)) is not None and k in owners[name]
                    ),
                    None,
                )
                if clash is not None:
                    problems.append(
                        Problem(r.line, r.given, "FAILED", f"An account with the given {clash} already exists.")
                    )
                    continue
                uid = r.username if pool.username_attributes else str(uuid.uuid4())
                taken.add(r.key)
                taken_ids.add(uid)
                for name, _, as_username in self.claims:
                    owned = self._owned(name, r.values, as_username)
                    if owned is not None:
                        owners[name].add(owned)
                inserts.append(
                    (
                        uid,
                        pool.id,
                        r.username,
                        r.key,
                        status,
                        enabled,
                        attributes(r.values),
                        sms_mfa if r.mfa else no_mfa,
                        stamp,
                        stamp,
                        t.username_search_key(r.username),
                        uid,
                        *alias_keys(r.values).values(),
                    )
                )
            bulk.run(conn, inserts)
            self.counts.imported += len(inserts)
        for p in problems:
            if p.outcome == "SKIPPED":
                self.counts.skipped += 1
            else:
                self.counts.failed += 1
        if problems:
            conn.execute(
                insert(t.user_import_errors),
                [
                    {"job_id": self.job_id, "line_number": p.line, "username": p.username, "message": p.message}
                    for p in problems
                ],
            )
        conn.execute(
            update(t.user_import_jobs)
            .where(t.user_import_jobs.c.job_id == self.job_id)
            .values(**self.counts.as_columns())
        )

    def commit(
        self, store: Store, rows: list[Row], problems: list[Problem], keep_going: Callable[[Connection], bool]
    ) -> bool:
        """Write one chunk in one transaction; False (nothing written) when ``keep_going``, read in the
        chunk's transaction, says the job must stop. A chunk the unique constraint refuses (a username
        taken meanwhile by another request) is written again a row at a time."""
        now = dt.datetime.now(dt.UTC)
        done = self._attempt(store, rows, problems, keep_going, now)
        if done is not None:
            return done
        pending = list(problems)
        for row in rows:
            done = self._attempt(store, [row], pending, keep_going, now)
            if done is None:  # this row's username was taken since the check
                taken = Problem(row.line, row.given, "SKIPPED", ALREADY_EXISTS)
                done = self._attempt(store, [], [*pending, taken], keep_going, now)
            if done is False:
                return False
            pending = []
        return True

    def _attempt(
        self,
        store: Store,
        rows: list[Row],
        problems: list[Problem],
        keep_going: Callable[[Connection], bool],
        now: dt.datetime,
    ) -> bool | None:
        """True when written, False when the job must stop, None when a unique constraint refused it."""
        saved = dataclasses.replace(self.counts)
        try:
            with store.tx() as conn:
                if conn.dialect.name == "postgresql":
                    # Plan each chunk's lookups (usernames and aliases IN a thousand keys) for the table
                    # as it is now: the driver prepares a statement run five times on a connection, and
                    # PostgreSQL's cached generic plan, made while the table was small, went on scanning
                    # it whole as it grew (an import of 50,000 users: 32 s of the backend's CPU, not 7)
                    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
                if not keep_going(conn):
                    return False
                self.write(conn, rows, problems, now)
            return True
        except IntegrityError:
            self.counts = saved
            return None
