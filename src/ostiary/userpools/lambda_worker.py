"""The worker process that runs Python trigger handlers (see triggers.py). Kept free of Ostiary's
own imports so that a fresh worker starts in a few milliseconds: a worker replaced after a timeout
is ready again long before the next trigger."""

from __future__ import annotations

import importlib
import json
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any


@dataclass
class LambdaContext:
    """The ``context`` argument of a Lambda handler (the attributes handlers use)."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


def main(pipe: Connection, paths: list[str]) -> None:  # pragma: no cover - runs in the worker process
    """Answer ``(target, event, context fields)`` messages one at a time, forever."""
    for path in reversed(paths):
        if path and path not in sys.path:
            sys.path.insert(0, path)
    handlers: dict[str, Any] = {}
    pipe.send(("ready",))
    while True:
        try:
            message = pipe.recv()
        except (EOFError, OSError):
            return
        target, event, fields = message
        try:
            handler = handlers.get(target)
            if handler is None:
                module_name, _, function = target.rpartition(":")
                handler = handlers[target] = getattr(importlib.import_module(module_name), function)
            result = handler(event, LambdaContext(**fields))
            answer: tuple[str, ...] = ("ok", json.dumps(result))
        except Exception as err:  # the handler's own error, reported as Lambda does
            answer = ("error", type(err).__name__, str(err))
        pipe.send(answer)
