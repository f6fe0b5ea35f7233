"""A Sync Trigger function written for AWS Lambda (the blog's example, extended), run by Ostiary's
trigger runtime in a worker process: it rewrites, adds, drops and refuses records."""

from __future__ import annotations

from typing import Any


def sync_trigger(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("eventType") != "SyncTrigger" or event.get("version") != 2:
        raise ValueError("not a sync trigger event")
    records = event["datasetRecords"]
    if "boom" in records:
        raise ValueError("boom is not allowed")
    if "garbage" in records:
        return {"nothing": "useful"}  # type: ignore[return-value]
    for key, record in list(records.items()):
        if key.startswith("up_") and record["op"] == "replace":
            record["newValue"] = record["newValue"].upper()
        if key == "ignored":
            del records[key]
    score = records.get("score")
    if score is not None and score["op"] == "replace" and int(score["newValue"]) >= 100:
        records["badge"] = {"newValue": f"gold for {event['identityId']} in {event['datasetName']}", "op": "replace"}
    return event
