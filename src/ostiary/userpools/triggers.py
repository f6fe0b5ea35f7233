"""Lambda-compatible user pool triggers (Cognito Developer Guide, "Customizing user pool workflows
with Lambda triggers"): the pool's LambdaConfig names function ARNs; Ostiary's configuration says
what each one is (setting ``lambda_functions``, entries ``<function ARN or name>=<target>``):

- ``python:package.module:function`` — a handler written for AWS Lambda, called as
  ``function(event, context)`` in a separate worker process (so that a timeout can stop it and a
  crash cannot take the server down), with a Lambda-like context object;
- ``http://…`` or ``https://…`` — a webhook that receives the event as JSON and answers it with
  ``response`` filled;
- ``aws`` — the real AWS Lambda function, invoked through boto3 with the operator's credentials.

Events have the envelope Lambda receives (version, triggerSource, region, userPoolId, userName,
callerContext, request, response). Errors as Cognito reports them: a handler's exception is
``UserLambdaValidationException`` ("<Trigger> failed with error <message>."), a timeout or an
unreachable function ``UnexpectedLambdaException``, an answer that is not a valid event
``InvalidLambdaResponseException``. Callers invoke triggers before committing, so a failing trigger
changes nothing.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import multiprocessing as mp
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ostiary import egress
from ostiary.config import Settings
from ostiary.protocol.context import RequestContext
from ostiary.store import movable
from ostiary.userpools import lambda_worker
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import (
    InvalidLambdaResponseException,
    UnexpectedLambdaException,
    UserLambdaValidationException,
)

log = logging.getLogger("ostiary.triggers")

SDK_VERSION = "aws-sdk-unknown-unknown"
WORKERS = 2


def function_targets(setting: str) -> dict[str, str]:
    """``lambda_functions``: ``name=target`` entries separated by commas or new lines, or a JSON object."""
    text = setting.strip()
    if not text:
        return {}
    if text.startswith("{"):
        loaded = json.loads(text)
        return {str(k): str(v) for k, v in loaded.items()}
    out: dict[str, str] = {}
    for item in text.replace("\n", ",").split(","):
        name, sep, target = item.strip().partition("=")
        if sep and name.strip():
            out[name.strip()] = target.strip()
    return out


def _function_name(arn: str) -> str:
    """``my-function`` of ``arn:aws:lambda:<region>:<account>:function:my-function[:alias]``."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[0] == "arn" and parts[5] == "function":
        return parts[6]
    return arn


# --------------------------------------------------------------------------------------------
# Python handlers in worker processes (lambda_worker.py)

WORKER_START_SECONDS = 60.0  # a worker's start-up (interpreter, imports) is not the handler's time


class _Worker:
    def __init__(self, paths: list[str]) -> None:
        ctx = mp.get_context("spawn")
        self.pipe, child = ctx.Pipe()
        self.process = ctx.Process(target=lambda_worker.main, args=(child, paths), daemon=True)
        self.process.start()
        child.close()
        if not self.pipe.poll(WORKER_START_SECONDS) or self.pipe.recv() != ("ready",):
            self.kill()
            raise ConnectionError("the handler's worker process did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.pipe.close()


class PythonRunner:
    """A few persistent worker processes, one call at a time each; a call that runs past its
    timeout has its worker killed and replaced."""

    def __init__(self, paths: list[str], size: int = WORKERS) -> None:
        self.paths = paths
        self.size = size
        self._idle: list[_Worker] = []
        self._count = 0
        self._cond = threading.Condition()

    def _take(self) -> _Worker:
        with self._cond:
            while not self._idle and self._count >= self.size:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._count += 1
        try:
            return _Worker(self.paths)
        except BaseException:
            self._give(None)
            raise

    def _give(self, worker: _Worker | None) -> None:
        with self._cond:
            if worker is None:
                self._count -= 1
            else:
                self._idle.append(worker)
            self._cond.notify()

    def prewarm(self) -> None:
        """Start the workers now (in the background), so that the first triggers do not wait for them."""

        def start() -> None:
            workers = []
            try:
                for _ in range(self.size):
                    workers.append(self._take())
            except Exception:  # pragma: no cover - retried on the first call
                log.warning("trigger workers did not start", exc_info=True)
            for worker in workers:
                self._give(worker)

        threading.Thread(target=start, name="ostiary-lambda-prewarm", daemon=True).start()

    def call(self, target: str, event: dict[str, Any], fields: dict[str, Any], timeout: float) -> Any:
        worker: _Worker | None = self._take()
        assert worker is not None
        answered = False
        try:
            worker.pipe.send((target, event, fields))
            answered = worker.pipe.poll(timeout)
            if answered:
                answer = worker.pipe.recv()
        except (EOFError, OSError):
            worker.kill()
            worker = None
            raise ConnectionError("the handler's worker process stopped") from None
        finally:
            if worker is not None and not answered:
                worker.kill()  # past its time: the worker is replaced
                worker = None
            self._give(worker)
        if not answered:
            raise TimeoutError
        if answer[0] == "ok":
            return json.loads(answer[1])
        raise _HandlerError(answer[2] or answer[1])


class HandlerError(Exception):
    """The function itself failed (a Python handler raised, a webhook answered an error, an AWS
    function reported FunctionError): its message, as Lambda reports it."""


_HandlerError = HandlerError


_RUNNERS: dict[tuple[str, ...], PythonRunner] = {}
_RUNNERS_LOCK = threading.Lock()


def _runner(settings: Settings) -> PythonRunner:
    paths = tuple(p for p in settings.lambda_path.split(os.pathsep) if p)
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(paths)
        if runner is None:
            runner = _RUNNERS[paths] = PythonRunner(list(paths))
    return runner


_ENABLED = False


def prepare(settings: Settings) -> None:
    """At start-up: note whether any function is configured (operations that may fire triggers then
    run off the event loop) and start the Python workers in the background."""
    global _ENABLED
    targets = function_targets(settings.lambda_functions)
    _ENABLED = bool(targets)
    if any(target.startswith("python:") for target in targets.values()):
        _runner(settings).prewarm()


def offload(body: bytes) -> bool:
    """``offload`` of operations that may fire a trigger: a trigger may take seconds (its timeout),
    which must never stall the event loop; without configured functions they stay inline."""
    return _ENABLED


# --------------------------------------------------------------------------------------------
# the request's ClientMetadata (InitiateAuth: validationData of PreAuthentication/UserMigration only;
# other operations: clientMetadata of every trigger they fire — the operations' documentation),
# carried on the request context (RequestContext.client_metadata, validation_data, app_client_id,
# triggers_fired, token_source)

F = TypeVar("F", bound=Callable[..., Any])


def _metadata_scope(initiate: bool) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(ctx: RequestContext, params: dict[str, Any]) -> Any:
            given = {str(k): str(v) for k, v in (params.get("ClientMetadata") or {}).items()}
            saved = (ctx.client_metadata, ctx.validation_data, ctx.app_client_id, ctx.triggers_fired)
            ctx.client_metadata = {} if initiate else given
            ctx.validation_data = (given or None) if initiate else None
            ctx.app_client_id = params.get("ClientId")
            ctx.triggers_fired = set()
            try:
                return func(ctx, params)
            finally:
                ctx.client_metadata, ctx.validation_data, ctx.app_client_id, ctx.triggers_fired = saved

        return wrapper  # type: ignore[return-value]

    return decorate


with_client_metadata = _metadata_scope(initiate=False)
"""Decorates an operation whose ``ClientMetadata`` goes to the triggers it fires as ``clientMetadata``."""

with_validation_data = _metadata_scope(initiate=True)
"""Decorates InitiateAuth/AdminInitiateAuth: ``ClientMetadata`` is PreAuthentication's and
UserMigration's ``validationData``, and no trigger's ``clientMetadata``."""


def first_in_request(ctx: RequestContext, trigger: str) -> bool:
    """False when ``trigger`` already fired in this request (e.g. PreAuthentication of a custom
    flow that starts with SRP); always True outside an operation scope."""
    fired = ctx.triggers_fired
    if fired is None:
        return True
    if trigger in fired:
        return False
    fired.add(trigger)
    return True


@contextlib.contextmanager
def token_source(ctx: RequestContext, source: str) -> Iterator[None]:
    """Tokens minted inside are PreTokenGeneration's ``source`` (e.g. TokenGeneration_NewPasswordChallenge)."""
    saved = ctx.token_source
    ctx.token_source = source
    try:
        yield
    finally:
        ctx.token_source = saved


# --------------------------------------------------------------------------------------------
# invocation


def _invoke_target(settings: Settings, arn: str, target: str, event: dict[str, Any]) -> Any:
    movable.pin()  # a function's effects are its own: the request is not run twice (store/movable.py)
    timeout = float(settings.lambda_timeout_seconds)
    if target.startswith("python:"):
        name = _function_name(arn)
        fields = {
            "function_name": name,
            "function_version": "$LATEST",
            "invoked_function_arn": arn,
            "memory_limit_in_mb": 128,
            "aws_request_id": str(uuid.uuid4()),
            "log_group_name": f"/aws/lambda/{name}",
            "log_stream_name": f"ostiary/{os.getpid()}",
            "deadline": time.time() + timeout,
        }
        return _runner(settings).call(target.removeprefix("python:"), event, fields, timeout)
    if target.startswith(("http://", "https://")):
        # the operator's webhook (lambda_functions): trusted by the egress policy, under its size cap,
        # no redirects, within the trigger's time limit
        resp = egress.policy(settings).fetch("POST", target, trusted=True, json_body=event, timeout=timeout)
        if resp.status >= 400:
            text = resp.body.decode("utf-8", "replace")
            try:
                body = resp.json()
                text = str(body.get("errorMessage") or body.get("message") or text)
            except (ValueError, AttributeError):
                pass
            raise _HandlerError(text[:500])
        try:
            return resp.json()
        except ValueError:
            raise InvalidLambdaResponseException("Unrecognizable lambda output") from None
    if target == "aws":
        import boto3  # lazy: optional (not a dependency), only for 'aws' targets; the operator's own credentials

        region = arn.split(":")[3] if arn.startswith("arn:") else None
        out = boto3.client("lambda", region_name=region).invoke(
            FunctionName=arn, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
        payload = json.loads(out["Payload"].read() or b"null")
        if out.get("FunctionError"):
            detail = payload.get("errorMessage") if isinstance(payload, dict) else payload
            raise _HandlerError(str(detail))
        return payload
    raise ConnectionError(f"no function target {target!r}")


def target_of(settings: Settings, function: str) -> str | None:
    """What ``lambda_functions`` says ``function`` (an ARN or a name) is, or None when it is not configured."""
    targets = function_targets(settings.lambda_functions)
    return targets.get(function) or targets.get(_function_name(function))


def call_function(settings: Settings, function: str, event: dict[str, Any]) -> Any:
    """Run a configured function (``lambda_functions``) with ``event`` through the runtime triggers use;
    whatever it returns. Other callers than user pools (the gateway's Lambda-style authorizers) judge the
    answer themselves. Raises HandlerError (the function failed), TimeoutError or egress.EgressTimeout
    (past ``lambda_timeout_seconds``), LookupError (not configured), ConnectionError / egress.EgressError
    / OSError (unreachable)."""
    target = target_of(settings, function)
    if target is None:
        raise LookupError(f"Ostiary has no function configured for {function} (setting lambda_functions)")
    return _invoke_target(settings, function, target, event)


def invoke(settings: Settings, trigger: str, arn: str, event: dict[str, Any]) -> dict[str, Any]:
    """Run one trigger function; the event it returns (``response`` filled), or AWS's errors."""
    targets = function_targets(settings.lambda_functions)
    target: str | None = targets.get(arn) or targets.get(_function_name(arn))
    if target is None:
        raise UnexpectedLambdaException(
            f"{trigger} failed with error Ostiary has no function configured for {arn} (setting lambda_functions)."
        )
    started = time.perf_counter()
    try:
        result = _invoke_target(settings, arn, target, event)
    except _HandlerError as err:
        raise UserLambdaValidationException(f"{trigger} failed with error {err}.") from None
    except (TimeoutError, egress.EgressTimeout):
        raise UnexpectedLambdaException(
            f"{trigger} invocation failed due to error Socket timeout while invoking Lambda function."
        ) from None
    except (ConnectionError, egress.EgressError, OSError, ImportError) as err:
        raise UnexpectedLambdaException(f"{trigger} failed with error {err}.") from None
    finally:
        log.info("trigger", extra={"trigger": trigger, "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
    if not isinstance(result, dict) or not isinstance(result.get("response", {}), dict):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    return result


# --------------------------------------------------------------------------------------------
# events


def configured(pool: PoolView, trigger: str) -> str | None:
    """The function ARN of ``trigger`` in the pool's LambdaConfig (PreTokenGeneration: either form)."""
    cfg = pool.config.get("LambdaConfig") or {}
    if trigger == "PreTokenGeneration":
        v2 = cfg.get("PreTokenGenerationConfig") or {}
        return str(v2.get("LambdaArn") or cfg.get("PreTokenGeneration") or "") or None
    value = cfg.get(trigger)
    if isinstance(value, dict):  # CustomSMSSender / CustomEmailSender
        value = value.get("LambdaArn")
    return str(value) if value else None


def pre_token_version(pool: PoolView) -> str:
    cfg = (pool.config.get("LambdaConfig") or {}).get("PreTokenGenerationConfig") or {}
    return {"V2_0": "2", "V3_0": "3"}.get(str(cfg.get("LambdaVersion") or "V1_0"), "1")


def user_attributes(user: User) -> dict[str, str]:
    """userAttributes as triggers see them: strings, with sub and cognito:user_status."""
    out = {k: str(v) for k, v in user.attributes.items() if not k.startswith("dev:")}
    out["sub"] = user.id
    out["cognito:user_status"] = user.status
    return out


def event(
    pool: PoolView,
    source: str,
    username: str | None,
    client_id: str | None,
    request: dict[str, Any],
    version: str = "1",
) -> dict[str, Any]:
    """The Lambda event; ``username`` None (machine-to-machine tokens) leaves ``userName`` out."""
    caller: dict[str, Any] = {"awsSdkVersion": SDK_VERSION}
    if client_id:
        caller["clientId"] = client_id
    out: dict[str, Any] = {"version": version, "triggerSource": source, "region": pool.region, "userPoolId": pool.id}
    if username is not None:
        out["userName"] = username
    out.update(callerContext=caller, request=request, response={})
    return out


def run(
    settings: Settings,
    pool: PoolView,
    trigger: str,
    source: str,
    username: str | None,
    client_id: str | None,
    request: dict[str, Any],
    version: str = "1",
) -> dict[str, Any] | None:
    """Invoke ``trigger`` if the pool configures it: its ``response`` (None when not configured)."""
    arn = configured(pool, trigger)
    if arn is None:
        return None
    result = invoke(settings, trigger, arn, event(pool, source, username, client_id, request, version))
    response = result.get("response") or {}
    if not isinstance(response, dict):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    return response


def flag(response: dict[str, Any] | None, name: str) -> bool:
    """A boolean of a trigger's response (Lambda answers true/false; strings are tolerated)."""
    if not response:
        return False
    value = response.get(name)
    if isinstance(value, str):
        return value.lower() == "true"
    if value is not None and not isinstance(value, bool):
        raise InvalidLambdaResponseException(f"Invalid type for {name}")
    return bool(value)
