"""Audit events written behind the response, in batches: for the operations that change nothing else.

Most audited operations change state, and their event is written in the transaction of that change
(recorder.record): both or neither. A few change nothing but hand out credentials — a new STS role
session (AssumeRole*, identity pools' GetCredentialsForIdentity) is self-contained in its session
token, so issuing it writes nothing — and for them a transaction of its own per event was most of
the call's cost (BEGIN, one INSERT touching eight B-tree indexes, COMMIT: ≈ 120 µs of CPU on
SQLite, three round trips on PostgreSQL). They go through this spool instead: the event's row is
built on the request, then a background thread writes what has gathered in one transaction with one
``executemany`` when ``audit_spool_ms`` has passed since the first pending one, or at once when
``MAX_BATCH`` are pending (≈ 25 µs per event on SQLite).

What this costs: an event reaches the table up to ``audit_spool_ms`` (50 by default) after the
response, as CloudTrail's own delivery is asynchronous (AWS: "typically within about 5 minutes").
LookupEvents in the same process writes what is pending first (``flush_all``), so a reader sees its
own process's events at once; another process's within the delay. The server's shutdown (any
``Store.dispose``) writes what is pending. A process killed outright loses at most the events of
that last interval, and only these (no state change goes without its event: none was made). If the
database refuses a batch, its rows are kept and tried again with the next one, up to
``MAX_PENDING``; past that the oldest are dropped, logged, and counted in
``ostiary_audit_events_dropped_total``. ``audit_spool_ms = 0`` writes each such event in a
transaction of its own on the request, as before.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import Counter
from sqlalchemy import Connection

from ostiary.store import movable
from ostiary.store.db import Store

log = logging.getLogger("ostiary.audit")

MAX_BATCH = 256  # events per transaction (and the count that triggers a write before the delay)
MAX_PENDING = 20_000  # kept across refused writes before the oldest are dropped

DROPPED = Counter("ostiary_audit_events_dropped", "Audit events dropped: the database refused them too long")

# writes a batch in the caller's transaction: the recorder's batch insert (passed in: no import cycle)
Writer = Callable[[Connection, list[Mapping[str, Any]]], None]


class Spool:
    """The pending events of one store in this process and the thread that writes them."""

    def __init__(self, store: Store, delay_seconds: float, write: Writer) -> None:
        self.store = store
        self.delay = delay_seconds
        self._write = write
        self._pending: list[Mapping[str, Any]] = []
        self._cond = threading.Condition()
        self._flushing = threading.Lock()  # one writer at a time (the thread, flush_all, close)
        self._thread: threading.Thread | None = None
        self._closed = False

    def add(self, row: Mapping[str, Any]) -> None:
        """Queue one event's row; the thread writes it within ``delay`` (sooner when a batch is full)."""
        movable.pin()  # the event is as good as written: the request is not run again (store/movable.py)
        with self._cond:
            self._pending.append(row)
            closed = self._closed
            if not closed:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="ostiary-audit-spool", daemon=True)
                    self._thread.start()
                if len(self._pending) == 1 or len(self._pending) >= MAX_BATCH:
                    self._cond.notify()
        if closed:  # after shutdown: written here and now
            self.flush()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                if len(self._pending) < MAX_BATCH:
                    self._cond.wait(self.delay)  # gather what arrives meanwhile (a full batch wakes it)
            self.flush()

    def flush(self) -> None:
        """Write every pending event now, in this thread (in batches of MAX_BATCH)."""
        with self._flushing:
            while True:
                with self._cond:
                    batch = self._pending[:MAX_BATCH]
                    del self._pending[:MAX_BATCH]
                if not batch:
                    return
                try:
                    with self.store.tx() as conn:
                        self._write(conn, batch)
                except Exception:
                    log.exception("audit events not written yet", extra={"events": len(batch)})
                    with self._cond:
                        self._pending[:0] = batch  # tried again with the next write
                        excess = len(self._pending) - MAX_PENDING
                        if excess > 0:
                            del self._pending[:excess]
                            DROPPED.inc(excess)
                            log.error("audit events dropped", extra={"events": excess})
                    return

    def close(self) -> None:
        """Write what is pending and stop the thread (the server's shutdown); later events are
        written as they come."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self.flush()


_SPOOLS: weakref.WeakKeyDictionary[Store, Spool] = weakref.WeakKeyDictionary()
_SPOOLS_LOCK = threading.Lock()


def spool_of(store: Store, delay_seconds: float, write: Writer) -> Spool:
    """The spool of ``store`` in this process (made on first use)."""
    found = _SPOOLS.get(store)
    if found is None:
        with _SPOOLS_LOCK:
            found = _SPOOLS.get(store)
            if found is None:
                found = _SPOOLS[store] = Spool(store, delay_seconds, write)
                store.before_dispose(found.close)  # whoever disposes the store, nothing pending is lost
    return found


def flush_all(store: Store | None = None) -> None:
    """Write the pending events of ``store`` (every store when None) now: readers call it first."""
    for key, spool in list(_SPOOLS.items()):
        if store is None or key is store:
            spool.flush()


def close_all(store: Store | None = None) -> None:
    """Write what is pending and stop the writers (the server's shutdown)."""
    for key, spool in list(_SPOOLS.items()):
        if store is None or key is store:
            spool.close()
