"""Organizations' changes that bind or free accounts are audit events (CloudTrail LookupEvents), in
the management account's trail; a refused attempt is recorded as a failure."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.organizations.conftest import Org


def _events(org: Org, name: str) -> list[dict[str, Any]]:
    trail = org.client("cloudtrail")
    found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
    return list(found["Events"])


def test_changes_are_audited(org: Org) -> None:
    orgs = org.client("organizations")
    account = org.member()
    deny = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]})
    policy = orgs.create_policy(Content=deny, Description="", Name="NoS3", Type="SERVICE_CONTROL_POLICY")
    policy_id = policy["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=policy_id, TargetId=account)
    orgs.detach_policy(PolicyId=policy_id, TargetId=account)
    with pytest.raises(ClientError):
        orgs.detach_policy(PolicyId=policy_id, TargetId=account)
    created = _events(org, "CreateAccount")
    assert len(created) == 1
    assert created[0]["EventSource"] == "organizations.amazonaws.com"
    assert created[0]["Resources"] == [{"ResourceType": "AWS::Organizations::Account", "ResourceName": account}]
    record = json.loads(created[0]["CloudTrailEvent"])
    assert "Email" not in record["requestParameters"]
    assert record["requestParameters"]["AccountName"] == "member"
    assert len(_events(org, "CreateOrganization")) == 1
    assert len(_events(org, "AttachPolicy")) == 1
    detached = _events(org, "DetachPolicy")
    assert len(detached) == 2
    outcomes = sorted(json.loads(e["CloudTrailEvent"]).get("errorCode", "") for e in detached)
    assert outcomes == ["", "PolicyNotAttachedException"]
