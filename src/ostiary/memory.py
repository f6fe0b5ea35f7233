"""What a worker process holds in memory: Argon2's working memory bounded, freed memory handed back.

An Argon2id hash works in ``argon2_memory_kib`` of memory (19 MiB by default), allocated with
``malloc`` and freed when the hash is done. glibc keeps such a block for the next one (its mmap
threshold rises to the block's size after the first free), in the arena of the thread that freed
it; a worker computes hashes on the dispatcher's threads and on the hosted pages' threads (up to
40), so after a burst of sign-ins it held one block per thread that had hashed (+80 MB after the
sign-in bench, 244 MB per worker at 2d0d087). Here:

- At most ``os.cpu_count()`` hashes run at once in a process (``argon2_slot``): more do not finish
  sooner on as many cores, and each one in flight holds its block. The others wait for a slot, in
  the thread that asked (the request's time is the same: the CPU was shared before).
- Every thread allocates from one malloc arena (glibc's ``M_ARENA_MAX`` = 1), so a freed block is
  reused by the next hash whichever thread computes it: the process keeps at most as many blocks as
  hashes ran at once, where it kept one per thread (8 threads hashing in turn: 156 MB kept with
  arenas per thread, 39 MB with one arena, measured). Python's own small objects do not go through
  malloc's arenas (pymalloc), and small blocks come from each thread's cache without the arena's
  lock, so the one arena costs nothing measurable (Argon2 from 4 threads: 24-26.6 ms of CPU per
  verification either way).
- Free memory is handed back to the kernel (glibc's ``malloc_trim``) once the process has been idle
  (under 2 % of a core) for ``IDLE_SECONDS`` after serving, and once after start (what imports and
  the start-up left free). Under load nothing is trimmed, so each hash reuses the block kept
  by its thread's arena, as before: forcing every block through ``mmap`` instead costs 20 to 25 % more
  CPU per hash (page faults over 19 MiB), measured.

Elsewhere than glibc (``malloc_trim`` missing) the arena and the trimming are left as they are; the
bound on hashes at once still holds.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator

log = logging.getLogger("ostiary.memory")

IDLE_SECONDS = 5.0
IDLE_CPU_SHARE = 0.02  # a process using less of a core than this over IDLE_SECONDS is idle
_M_ARENA_MAX = -8  # glibc's malloc.h
_SLOTS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
_trimmer: threading.Thread | None = None
_trimmer_lock = threading.Lock()


@contextlib.contextmanager
def argon2_slot() -> Iterator[None]:
    """Hold one of the process's Argon2 slots for the length of a hash or verification."""
    with _SLOTS:
        yield


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def trim() -> bool:
    """Hand free heap memory back to the kernel now; False where glibc's ``malloc_trim`` is missing."""
    fn = _malloc_trim()
    if fn is None:
        return False
    fn(0)
    return True


def _watch(fn: Callable[[int], int]) -> None:
    fn(0)  # what the start left free
    last = time.process_time()
    worked = False
    while True:
        time.sleep(IDLE_SECONDS)
        now = time.process_time()  # this process's CPU time, every thread's
        if now - last > IDLE_CPU_SHARE * IDLE_SECONDS:  # serving: keep the free blocks for the next requests
            worked = True
        elif worked:  # idle since the last look, after some work
            fn(0)
            worked = False
        last = now


def _one_arena() -> None:
    """glibc's ``mallopt(M_ARENA_MAX, 1)``: every thread allocates from the main arena (threads created
    from now on; call it before the process starts its threads)."""
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mallopt(_M_ARENA_MAX, 1)


def start_trimmer() -> None:
    """One malloc arena for the process, and its trimmer thread (a daemon; once per process, later
    calls do nothing). Call it before the process starts other threads: glibc fixes the number of
    arenas when a second one is first needed, so the workers of ``ostiary serve --workers N`` also
    get ``MALLOC_ARENA_MAX=1`` in their environment (read when a process starts)."""
    global _trimmer
    with _trimmer_lock:
        if _trimmer is not None and _trimmer.is_alive():
            return
        fn = _malloc_trim()
        if fn is None:
            log.info("malloc_trim is not available (not glibc): freed memory stays with the allocator")
            return
        _one_arena()
        _trimmer = threading.Thread(target=_watch, args=(fn,), name="ostiary-memory-trim", daemon=True)
        _trimmer.start()
