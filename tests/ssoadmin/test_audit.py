"""sso-admin's access-giving changes leave audit events (CloudTrail LookupEvents), a refused
assignment with its failure reason."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Server
from tests.ssoadmin.conftest import new_instance
from tests.ssoadmin.directory import add_user


def _events(trail: Any, name: str) -> list[dict[str, Any]]:
    found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])["Events"]
    return [json.loads(e["CloudTrailEvent"]) for e in found]


def test_audit_events(server: Server) -> None:
    inst = new_instance(server)
    admin, trail = inst.client("sso-admin"), inst.client("cloudtrail")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Audited")["PermissionSet"]["PermissionSetArn"]
    policy = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    )
    admin.put_inline_policy_to_permission_set(InstanceArn=inst.instance_arn, PermissionSetArn=ps, InlinePolicy=policy)
    user = add_user(inst, "audited")
    ok = admin.create_account_assignment(
        InstanceArn=inst.instance_arn,
        TargetId=inst.account_id,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="USER",
        PrincipalId=user,
    )["AccountAssignmentCreationStatus"]
    refused = admin.create_account_assignment(
        InstanceArn=inst.instance_arn,
        TargetId="999999999999",
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="USER",
        PrincipalId=user,
    )["AccountAssignmentCreationStatus"]

    [created] = _events(trail, "CreatePermissionSet")
    assert created["eventSource"] == "sso.amazonaws.com"
    assert created["requestParameters"]["InstanceArn"] == inst.instance_arn
    [inline] = _events(trail, "PutInlinePolicyToPermissionSet")
    assert inline["requestParameters"]["PermissionSetArn"] == ps
    assignments = {e["requestParameters"]["TargetId"]: e for e in _events(trail, "CreateAccountAssignment")}
    assert assignments[inst.account_id]["requestParameters"]["PrincipalId"] == user
    assert json.dumps(ok["RequestId"]) in json.dumps(assignments[inst.account_id])
    assert refused["Status"] == "FAILED"
    assert refused["FailureReason"] in json.dumps(assignments["999999999999"])

    app = admin.create_application(
        InstanceArn=inst.instance_arn,
        ApplicationProviderArn="arn:aws:sso::aws:applicationProvider/custom-saml",
        Name="A",
    )["ApplicationArn"]
    admin.create_application_assignment(ApplicationArn=app, PrincipalType="USER", PrincipalId=user)
    admin.create_instance_access_control_attribute_configuration(
        InstanceArn=inst.instance_arn,
        InstanceAccessControlAttributeConfiguration={
            "AccessControlAttributes": [{"Key": "dept", "Value": {"Source": ["${path:enterprise.department}"]}}]
        },
    )
    [app_event] = _events(trail, "CreateApplication")
    assert app in json.dumps(app_event)
    [assigned] = _events(trail, "CreateApplicationAssignment")
    assert assigned["requestParameters"]["PrincipalId"] == user
    [attributes] = _events(trail, "CreateInstanceAccessControlAttributeConfiguration")
    assert "enterprise.department" in json.dumps(attributes["requestParameters"])
