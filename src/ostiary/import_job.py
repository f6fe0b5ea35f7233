"""The process a user-import job runs in (``python -m ostiary.import_job``), started by the worker that
answered StartUserImportJob (``userpools.user_import.spawn_job``): the import's Python work (parsing
and checking the rows, building the INSERTs) never holds the worker's interpreter lock, so the requests
of its event loop do not wait for it (issue 13).

The worker writes one JSON line on the child's stdin — its settings (secrets included: a pipe, never
the command line or the environment), the pool and the job — and keeps the pipe open. The job's state
is in the database as for any job (DescribeUserImportJob, StopUserImportJob between chunks). When the
worker is gone (the pipe reaches its end: the worker stopped or was killed) or this process is sent
SIGTERM or SIGINT (a server stopped as a process group), the job stops after the chunk it is writing
and ends ``Failed`` ("interrupted"), as a job of a stopped server never resumes.
"""

from __future__ import annotations

import json
import signal
import sys
import threading

from ostiary.app import build_runtime
from ostiary.config import load_settings
from ostiary.observability import setup_logging
from ostiary.userpools import user_import


def _watch_parent(gone: threading.Event) -> None:
    """Set ``gone`` when stdin ends: the worker that started this process closed it or exited."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        gone.set()


def main() -> None:
    order = json.loads(sys.stdin.buffer.readline())
    settings = load_settings(overrides=order["settings"], environ={})
    setup_logging(settings.log_format, settings.log_level)
    runtime = build_runtime(settings, migrate=False)
    runtime.store.tune_for_bulk_load()  # this process only loads rows (store/db.py)
    gone = threading.Event()
    threading.Thread(target=_watch_parent, args=(gone,), daemon=True, name="worker-watch").start()
    # the server's SIGTERM or Ctrl-C (sent to its whole process group or cgroup) stops the job after its
    # chunk, as the worker's exit does, instead of killing it in the middle of one
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: gone.set())
    try:
        user_import.run_job(runtime, str(order["pool"]), str(order["job"]), abandoned=gone.is_set)
    finally:
        try:
            runtime.store.checkpoint()  # the worker's next write must not inherit the import's log
        finally:
            runtime.store.dispose()


if __name__ == "__main__":
    main()
