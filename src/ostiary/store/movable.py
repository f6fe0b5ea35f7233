"""A request served on the event loop whose SQLite write would wait for another writer moves, whole,
to the dispatcher's worker threads, so that the event loop serves the other requests meanwhile.

SQLite has one writer at a time per database. Most writes take well under a millisecond, but another
process can hold the write lock for much longer: a CSV import's process commits chunks of 1,000 rows
(~100 ms each), and a worker of ``--workers N`` may be in the middle of a transaction. A write made
inline on the event loop would then wait in SQLite's busy handler, and every request of the worker
with it (GetUser answered nothing for the length of an import's chunk).

So the dispatcher runs inline requests under :func:`movable`. A SQLite transaction opened there does
not wait: if another thread of the process holds the write lock for more than ``LOCAL_WAIT_SECONDS``,
or another process holds SQLite's lock, ``Store.tx`` raises :class:`WriterBusy` before anything is
written, and the dispatcher runs the request again from its start on a worker thread, where the write
waits as before (``protocol/dispatch.py``).

Running a request twice is only correct while its first run has done nothing that stays done. So a
request stops being movable (:func:`pin`) as soon as it commits a transaction, calls a trigger's
function, makes an outbound call through the egress policy, or hands over an audit event or a
message; from then on its writes wait where they are, as before. A check that counts (the
provisioned limits' throttle) commits its count, so a request run again was never counted: the second
run counts it. Nothing else a request does before its first write is more than reads and caches.

``WriterBusy`` derives from BaseException, not Exception: code that catches ``Exception`` around a
best-effort write must not swallow it (the write would be silently skipped instead of moved).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

LOCAL_WAIT_SECONDS = 0.002  # another thread of this process writing: waited for this long on the loop

_state = threading.local()


class WriterBusy(BaseException):
    """The write lock is held by another writer and the request may be run again elsewhere."""


@contextmanager
def movable() -> Iterator[None]:
    """Run a request whose writes must not wait on this thread (the event loop's)."""
    _state.on = True
    try:
        yield
    finally:
        _state.on = False


def is_movable() -> bool:
    return bool(getattr(_state, "on", False))


def pin() -> None:
    """The current request did something that must not be done twice: its writes wait here."""
    _state.on = False
