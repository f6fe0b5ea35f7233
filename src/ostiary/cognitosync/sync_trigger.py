"""The Sync Trigger (Cognito Developer Guide, "Amazon Cognito Events"): SetCognitoEvents names a
function for ``SyncTrigger``; UpdateRecords made with Cognito Identity credentials hands it the
dataset's changes before they are stored, and stores what it answers.

It runs through the user pool triggers' runtime (``userpools.triggers.call_function``: the setting
``lambda_functions`` says what a function ARN is — a Python handler in a worker process, a webhook, or
the real AWS function). The event is AWS's::

    {"version": 2, "eventType": "SyncTrigger", "region", "identityPoolId", "identityId", "datasetName",
     "datasetRecords": {"<key>": {"oldValue", "newValue", "op": "replace" | "remove"}}}

and the function answers the event with ``datasetRecords`` changed: a record's ``newValue``/``op``
rewritten, records added, or records left out (those changes are not stored). A function that fails,
or answers anything else, is InvalidLambdaFunctionOutputException ("the AWS Lambda function returned
invalid output or an exception"); one that cannot be reached in time is LambdaThrottledException, the
error AWS answers when the function cannot run now.
"""

from __future__ import annotations

from typing import Any

from ostiary import egress
from ostiary.cognitosync.errors import InvalidLambdaFunctionOutputException, LambdaThrottledException
from ostiary.protocol.context import RequestContext
from ostiary.userpools import triggers

EVENT = "SyncTrigger"
BAD_OUTPUT = "The Sync Trigger function returned invalid output"

Change = tuple[str | None, str | None]  # (old value, new value; None: removed)


def run(
    ctx: RequestContext, function: str, pool_id: str, identity_id: str, dataset: str, changes: dict[str, Change]
) -> dict[str, str | None]:
    """The changes to store, as the function answered them: key → new value (None: remove)."""
    records: dict[str, Any] = {}
    for key, (old, new) in changes.items():
        entry: dict[str, Any] = {"op": "replace" if new is not None else "remove"}
        if old is not None:
            entry["oldValue"] = old
        if new is not None:
            entry["newValue"] = new
        records[key] = entry
    event = {
        "version": 2,
        "eventType": EVENT,
        "region": ctx.region,
        "identityPoolId": pool_id,
        "identityId": identity_id,
        "datasetName": dataset,
        "datasetRecords": records,
    }
    try:
        answer = triggers.call_function(ctx.settings, function, event)
    except triggers.HandlerError as err:
        raise InvalidLambdaFunctionOutputException(f"{BAD_OUTPUT}: {err}") from None
    except (TimeoutError, egress.EgressTimeout):
        raise LambdaThrottledException("The Sync Trigger function did not answer in time.") from None
    except LookupError as err:
        raise LambdaThrottledException(f"The Sync Trigger function cannot run: {err}.") from None
    except (ConnectionError, egress.EgressError, OSError, ImportError):
        raise LambdaThrottledException("The Sync Trigger function could not be reached.") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("datasetRecords"), dict):
        raise InvalidLambdaFunctionOutputException(f"{BAD_OUTPUT}.")
    out: dict[str, str | None] = {}
    for key, entry in answer["datasetRecords"].items():
        if not isinstance(key, str) or not 1 <= len(key) <= 1024 or not isinstance(entry, dict):
            raise InvalidLambdaFunctionOutputException(f"{BAD_OUTPUT}.")
        op = entry.get("op", "replace")
        if op == "remove":
            out[key] = None
        elif op == "replace" and isinstance(entry.get("newValue"), str):
            out[key] = entry["newValue"]
        else:
            raise InvalidLambdaFunctionOutputException(f"{BAD_OUTPUT}: record {key!r}.")
    return out
