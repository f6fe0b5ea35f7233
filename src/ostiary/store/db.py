"""Engine creation, transactions and migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, RootTransaction, create_engine, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import QueuePool

from ostiary.store import movable
from ostiary.store import tables as t

MIGRATIONS = Path(__file__).parent / "migrations"


_AFTER_COMMIT = "ostiary.after_commit"
SQLITE_BUSY_TIMEOUT_MS = 30000  # how long a SQLite writer waits for the lock (off the event loop)
_SQLITE_BUSY = 5  # SQLite's result code: the database is locked by another connection


def after_commit(conn: Connection, action: Callable[[], None], on_rollback: Callable[[], None] | None = None) -> None:
    """Run ``action`` once the transaction of ``conn`` (a :meth:`Store.tx`) has committed, or
    ``on_rollback`` if it rolls back. Outside such a transaction ``action`` runs at once."""
    pending = conn.info.get(_AFTER_COMMIT)
    if pending is None:
        action()
    else:
        pending.append((action, on_rollback))


def utc(value: dt.datetime) -> dt.datetime:
    """Timestamps read back from SQLite are naive; they are always UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalize_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Store:
    """One engine per process; every state change is one transaction (``with store.tx() as c``)."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self._write_lock = threading.RLock()
        self._main_read: Connection | None = None
        # threads that keep a read connection of their own, as the event-loop thread does: the
        # dispatcher's worker threads (keep_reads_on_this_thread), by thread ident
        self._keeping: set[int] = set()
        self._thread_reads: dict[int, Connection] = {}
        # what must run before the engines go (the audit spool's last write: audit/spool.py)
        self._before_dispose: list[Callable[[], None]] = []
        # the connection of write transactions on the event-loop thread (PostgreSQL) or of the one
        # writer (SQLite), and when it was last used
        self._main_write: Connection | None = None
        self._main_write_used = 0.0
        kwargs: dict[str, Any] = {
            "future": True,
            "json_serializer": lambda obj: orjson.dumps(obj).decode(),
            "json_deserializer": orjson.loads,
        }
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["poolclass"] = QueuePool
            kwargs["pool_size"] = 8
            kwargs["max_overflow"] = 16
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        self.engine: Engine = create_engine(self.url, **kwargs)
        # Reads run without BEGIN/ROLLBACK (each statement sees committed data): a read-only request
        # saves two round trips. Anything that must see one consistent snapshot uses tx().
        self.read_engine: Engine = create_engine(self.url, isolation_level="AUTOCOMMIT", **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin_immediate)
            event.listen(self.read_engine, "connect", _sqlite_pragmas)
        else:
            for engine in (self.engine, self.read_engine):
                event.listen(engine, "connect", _stamp)
                event.listen(engine, "checkin", _stamp)
                event.listen(engine, "checkout", _ping_if_idle(engine))

    def tune_for_bulk_load(self) -> None:
        """SQLite, in a process that loads many rows (the CSV import's process, ``ostiary users
        import``): its write connections keep a larger page cache and let the write-ahead log grow to
        BULK_WAL_PAGES before they checkpoint it (see ``_sqlite_bulk_pragmas``). Call :meth:`checkpoint`
        when the load ends, so that no request of a worker inherits the log. PostgreSQL: nothing."""
        if not self.is_sqlite or event.contains(self.engine, "connect", _sqlite_bulk_pragmas):
            return
        event.listen(self.engine, "connect", _sqlite_bulk_pragmas)
        kept, self._main_write = self._main_write, None  # connections made before keep the defaults
        if kept is not None:
            with contextlib.suppress(Exception):
                kept.close()
        self.engine.dispose()

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database file now, as far as readers allow
        (``PRAGMA wal_checkpoint(PASSIVE)``: it waits for no one). PostgreSQL: nothing."""
        if not self.is_sqlite:
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """A read-write transaction (SQLite: BEGIN IMMEDIATE, so writers queue rather than fail).
        Actions registered with :func:`after_commit` run once it has committed, outside it."""
        pending: list[tuple[Callable[[], None], Callable[[], None] | None]] = []
        try:
            with self._transaction(pending) as conn:
                yield conn
        except BaseException:
            for _, undo in pending:
                if undo is not None:
                    undo()
            raise
        movable.pin()  # committed: the request can no longer be run again from its start
        for action, _ in pending:
            action()

    @contextmanager
    def _transaction(self, pending: list[Any]) -> Iterator[Connection]:
        if not self.is_sqlite:
            with self._write_connection() as conn, conn.begin():
                conn.info[_AFTER_COMMIT] = pending
                try:
                    yield conn
                finally:
                    if not conn.invalidated:  # (a lost connection's info would try to reconnect)
                        conn.info.pop(_AFTER_COMMIT, None)
        else:
            # SQLite has one writer at a time. Queue this process's writers on a lock rather than in
            # SQLite's busy handler, whose back-off sleeps (1, 2, 5, 10 … ms) would dominate latency.
            # A request on the event loop does not wait for another writer at all (store/movable.py).
            moving = movable.is_movable()
            if not self._write_lock.acquire(timeout=movable.LOCAL_WAIT_SECONDS if moving else -1):
                raise movable.WriterBusy()
            try:
                with self._write_connection() as conn, self._begin(conn, moving):
                    conn.info[_AFTER_COMMIT] = pending
                    try:
                        yield conn
                    finally:
                        if not conn.invalidated:
                            conn.info.pop(_AFTER_COMMIT, None)
            finally:
                self._write_lock.release()

    def _begin(self, conn: Connection, moving: bool) -> RootTransaction:
        """SQLite's BEGIN IMMEDIATE; for a request that may move (store/movable.py) without waiting:
        WriterBusy when another connection holds the write lock."""
        if not moving:
            return conn.begin()
        driver = conn.connection.driver_connection
        driver.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
        try:
            return conn.begin()
        except DBAPIError as err:
            if getattr(err.orig, "sqlite_errorcode", None) != _SQLITE_BUSY:
                raise
            # SQLAlchemy's Connection is left as a failed BEGIN leaves it (as when busy_timeout runs
            # out): it goes back to the pool (below, with the timeout restored first), and the next
            # write checks out a fresh one
            busy = err
        finally:  # the DBAPI connection serves other threads' writes too, which do wait
            driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # type: ignore[union-attr]
        self._forget_write_connection(conn)
        raise movable.WriterBusy() from busy

    def _forget_write_connection(self, conn: Connection) -> None:
        if conn is self._main_write:
            self._main_write = None
        with contextlib.suppress(Exception):
            conn.close()

    def _connect_for_writes(self) -> Connection:
        conn = self.engine.connect()
        if self.is_sqlite:
            conn.execution_options(sqlite_immediate=True)
        return conn

    @contextmanager
    def _write_connection(self) -> Iterator[Connection]:
        """The connection of a write transaction. One is kept open where writes come one at a time —
        SQLite's single writer (the caller holds the write lock), PostgreSQL's event-loop thread, which
        serves requests inline — since checking one out of the pool and back cost more than BEGIN and
        COMMIT themselves. Other threads on PostgreSQL, and a transaction opened inside another, get
        a pooled one. On PostgreSQL the kept one is pinged after sitting idle, as a pool checkout is
        (a restart, an idle timeout)."""
        kept = self._main_write
        shared = self.is_sqlite or threading.current_thread() is threading.main_thread()
        if not shared or (kept is not None and kept.in_transaction()):
            with self._connect_for_writes() as conn:
                yield conn
            return
        if kept is not None and self._idle_and_silent(kept):
            with contextlib.suppress(Exception):
                kept.invalidate()
                kept.close()
            kept = None
        if kept is None or kept.closed or kept.invalidated:
            kept = self._main_write = self._connect_for_writes()
        try:
            yield kept
        except DBAPIError:
            self._main_write = None
            with contextlib.suppress(Exception):
                kept.close()
            raise
        finally:
            self._main_write_used = time.monotonic()

    def _idle_and_silent(self, conn: Connection) -> bool:
        """PostgreSQL: the kept connection sat idle and does not answer a ping."""
        if self.is_sqlite or conn.closed or conn.invalidated:
            return False
        if time.monotonic() - self._main_write_used < IDLE_PING_SECONDS:
            return False
        try:
            dbapi_conn = conn.connection.dbapi_connection
            return dbapi_conn is None or not self.engine.dialect.do_ping(dbapi_conn)
        except Exception:
            return True

    def keep_reads_on_this_thread(self) -> None:
        """Let the calling thread keep a read connection open between reads, as the event-loop
        thread does. For long-lived threads that serve requests (the dispatcher's worker pool: its
        initializer calls this): a checkout from the pool and back cost ~13 µs of CPU, and the first
        statement on a freshly checked-out connection ~20 µs more, for every ``read()``; a sign-in
        makes five or six of them. The connection is closed by :meth:`dispose`."""
        self._keeping.add(threading.get_ident())

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (autocommit: each statement sees what is committed). The event-loop
        thread, which serves most requests inline, keeps one open: checking a connection out of the
        pool (and, on PostgreSQL, pinging it) cost more than the indexed reads of a token check. So
        do the threads that asked to (:meth:`keep_reads_on_this_thread`)."""
        if threading.current_thread() is not threading.main_thread():
            ident = threading.get_ident()
            if ident not in self._keeping:
                with self.read_engine.connect() as conn:
                    yield conn
                return
            own = self._thread_reads.get(ident)
            if own is None or own.closed or own.invalidated:
                own = self._thread_reads[ident] = self.read_engine.connect()
            try:
                yield own
            except DBAPIError:  # a broken connection: the thread's next read opens a new one
                self._thread_reads.pop(ident, None)
                with contextlib.suppress(Exception):
                    own.close()
                raise
            return
        kept = self._main_read
        if kept is None or kept.closed or kept.invalidated:
            kept = self._main_read = self.read_engine.connect()
        conn = kept
        try:
            yield conn
        except DBAPIError:
            # a broken connection (server restart, network): the next read opens a new one
            self._main_read = None
            with contextlib.suppress(Exception):
                conn.close()
            raise

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def migrate(self) -> None:
        """Apply Alembic migrations up to head (PostgreSQL: under an advisory lock)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(4590)"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def before_dispose(self, action: Callable[[], None]) -> None:
        """Run ``action`` when :meth:`dispose` is called, before any connection closes."""
        self._before_dispose.append(action)

    def dispose(self) -> None:
        actions, self._before_dispose = self._before_dispose, []
        for action in actions:
            try:
                action()
            except Exception:  # the rest of the shutdown goes on
                logging.getLogger("ostiary.store").exception("a shutdown action failed")
        threads = list(self._thread_reads.values())
        self._thread_reads.clear()
        for kept in (self._main_read, self._main_write, *threads):
            if kept is not None:
                with contextlib.suppress(Exception):
                    kept.close()
        self._main_read = self._main_write = None
        self.engine.dispose()
        self.read_engine.dispose()


# PostgreSQL: a pooled connection is pinged when it is checked out after IDLE_PING_SECONDS unused (a
# server restart or an idle timeout while it sat in the pool), not at every checkout as pool_pre_ping
# did: that was one more round trip in every write transaction. A connection that breaks while in
# use, or within those seconds, fails its request and is invalidated (SQLAlchemy recognises the
# disconnect), as a request in flight during a restart would.
IDLE_PING_SECONDS = 2.0
_CHECKED_IN = "ostiary.checked_in"


def _stamp(_dbapi_conn: Any, record: Any) -> None:
    """When a connection was made or last given back to the pool."""
    if record is not None:
        record.info[_CHECKED_IN] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Callable[[Any, Any, Any], None]:
    dialect = engine.dialect

    def checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is not None and time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as err:  # the pool drops this connection and checks out another (DisconnectionError)
            raise DisconnectionError(f"a pooled connection did not answer a ping: {err}") from err

    return checkout


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Statement journals in memory: a statement on a table with triggers (the recovery journal's, on
    # users, groups, memberships and passkeys: store/journal.py) keeps one, and in a temporary file
    # each row written cost ~40 us more (an import of 50,000 users: 5.0 s of CPU without the triggers,
    # 10.4 s with them on a file, measured). Ostiary's statements read through indexes (no big sorts
    # spill there) and it never runs VACUUM, so what this keeps in memory is a statement's pages.
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


# A bulk load's SQLite connection (Store.tune_for_bulk_load). A CSV import inserts each row into 17
# B-trees on random keys (the users table's indexes) and its recovery-journal row; with SQLite's
# defaults (a 2 MiB page cache, a checkpoint once the log holds 1,000 pages) every 1,000-row chunk's
# commit checkpointed the log: the pages it touched written twice, the interior ones again and again.
# Measured (bench/user_loading.py, SQLite, 2 vCPUs): 300,000 rows 46 s -> 28 s, 1,000,000 rows
# 185 s -> 133 s (CPU 138 -> 115 s). Neither the cache alone (48 s) nor a 64 MiB log (36-38 s) gave
# as much. The log file is cut back to BULK_WAL_KEEP_BYTES when it restarts after a checkpoint.
BULK_CACHE_KIB = 64 * 1024
BULK_WAL_PAGES = 65536  # 256 MiB of 4 KiB pages
BULK_WAL_KEEP_BYTES = 64 << 20


def _sqlite_bulk_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    cur.execute(f"PRAGMA wal_autocheckpoint={BULK_WAL_PAGES}")
    cur.execute(f"PRAGMA journal_size_limit={BULK_WAL_KEEP_BYTES}")
    cur.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    options = conn.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    # on the driver's connection: SQLAlchemy's execution of a statement with no parameters and no
    # result cost more than SQLite's BEGIN itself (a "database is locked" past busy_timeout comes back
    # as sqlite3's OperationalError, a DBAPIError to SQLAlchemy's callers all the same)
    try:
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if options.get("sqlite_immediate") else "BEGIN")  # type: ignore[union-attr]
    except conn.dialect.loaded_dbapi.Error as err:
        raise DBAPIError.instance("BEGIN", (), err, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect) from err


def reset_data(store: Store, also: Callable[[Connection], object] | None = None) -> None:
    """Development reset: every user and identity pool and what hangs off them goes; accounts, their keys
    and IAM stay, unless ``also`` (run in the same transaction) removes more (``reset_iam``)."""
    with store.tx() as conn:
        for table in (t.outbox, t.counters, t.tags, t.signing_keys, t.user_pools, t.identity_pools):
            conn.execute(table.delete())
        if also is not None:
            also(conn)
