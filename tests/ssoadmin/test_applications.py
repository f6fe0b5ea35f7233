"""sso-admin applications through boto3: the provider catalogue, CRUD, assignment configuration,
application assignments, and ``user_may_use`` (what the SAML IdP asks)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from ostiary.ssoadmin.applications import application, user_may_use
from tests.conftest import Server
from tests.ssoadmin.conftest import new_instance
from tests.ssoadmin.directory import add_group, add_user

CUSTOM_SAML = "arn:aws:sso::aws:applicationProvider/custom-saml"


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _may_use(server: Server, app: str, user: str) -> bool:
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return user_may_use(conn, app, user)
    finally:
        engine.dispose()


def test_providers(server: Server) -> None:
    inst = new_instance(server)
    admin = inst.client("sso-admin")
    providers = admin.list_application_providers()["ApplicationProviders"]
    assert CUSTOM_SAML in [p["ApplicationProviderArn"] for p in providers]
    described = admin.describe_application_provider(ApplicationProviderArn=CUSTOM_SAML)
    assert described["FederationProtocol"] == "SAML" and described["DisplayData"]["DisplayName"]
    with pytest.raises(ClientError) as err:
        admin.describe_application_provider(ApplicationProviderArn="arn:aws:sso::aws:applicationProvider/nothing")
    assert _code(err) == "ResourceNotFoundException"


def test_application_lifecycle_and_assignments(server: Server) -> None:
    inst = new_instance(server)
    admin = inst.client("sso-admin")
    created = admin.create_application(
        InstanceArn=inst.instance_arn,
        ApplicationProviderArn=CUSTOM_SAML,
        Name="Wiki",
        Description="the team wiki",
        ClientToken="tok-1",
        Tags=[{"Key": "env", "Value": "prod"}],
    )
    app = created["ApplicationArn"]
    instance_id = inst.instance_arn.rsplit("/", 1)[1]
    assert re.fullmatch(rf"arn:aws:sso::{inst.account_id}:application/{instance_id}/apl-[0-9a-f]{{16}}", app)
    assert (
        created["IdentityStoreArn"]
        == f"arn:aws:identitystore::{inst.account_id}:identitystore/{inst.identity_store_id}"
    )
    retry = admin.create_application(
        InstanceArn=inst.instance_arn, ApplicationProviderArn=CUSTOM_SAML, Name="Wiki", ClientToken="tok-1"
    )
    assert retry["ApplicationArn"] == app
    described = admin.describe_application(ApplicationArn=app)
    assert described["Name"] == "Wiki" and described["Status"] == "ENABLED"
    assert described["ApplicationAccount"] == inst.account_id and described["InstanceArn"] == inst.instance_arn
    assert described["PortalOptions"] == {"SignInOptions": {"Origin": "IDENTITY_CENTER"}, "Visibility": "ENABLED"}
    assert admin.get_application_assignment_configuration(ApplicationArn=app)["AssignmentRequired"] is True

    admin.update_application(
        ApplicationArn=app,
        Name="Wiki2",
        PortalOptions={"SignInOptions": {"Origin": "APPLICATION", "ApplicationUrl": "https://wiki.example.com/"}},
    )
    described = admin.describe_application(ApplicationArn=app)
    assert described["Name"] == "Wiki2"
    assert described["PortalOptions"]["SignInOptions"] == {
        "Origin": "APPLICATION",
        "ApplicationUrl": "https://wiki.example.com/",
    }
    other_app = admin.create_application(InstanceArn=inst.instance_arn, ApplicationProviderArn=CUSTOM_SAML, Name="B")[
        "ApplicationArn"
    ]
    listed = admin.list_applications(InstanceArn=inst.instance_arn, MaxResults=1)
    assert len(listed["Applications"]) == 1 and "NextToken" in listed
    rest = admin.list_applications(InstanceArn=inst.instance_arn, NextToken=listed["NextToken"])
    assert sorted([listed["Applications"][0]["ApplicationArn"], rest["Applications"][0]["ApplicationArn"]]) == sorted(
        [app, other_app]
    )
    filtered = admin.list_applications(InstanceArn=inst.instance_arn, Filter={"ApplicationProvider": CUSTOM_SAML})
    assert len(filtered["Applications"]) == 2

    alice = add_user(inst, "alice")
    bob = add_user(inst, "bob")
    carol = add_user(inst, "carol")
    team = add_group(inst, "wiki-team", [bob])
    admin.create_application_assignment(ApplicationArn=app, PrincipalType="USER", PrincipalId=alice)
    admin.create_application_assignment(ApplicationArn=app, PrincipalType="GROUP", PrincipalId=team)
    described_assignment = admin.describe_application_assignment(
        ApplicationArn=app, PrincipalType="USER", PrincipalId=alice
    )
    described_assignment.pop("ResponseMetadata")
    assert described_assignment == {"ApplicationArn": app, "PrincipalType": "USER", "PrincipalId": alice}
    assignments = admin.list_application_assignments(ApplicationArn=app)["ApplicationAssignments"]
    assert {(a["PrincipalType"], a["PrincipalId"]) for a in assignments} == {("USER", alice), ("GROUP", team)}
    assert admin.list_application_assignments_for_principal(
        InstanceArn=inst.instance_arn, PrincipalType="GROUP", PrincipalId=team
    )["ApplicationAssignments"] == [{"ApplicationArn": app, "PrincipalType": "GROUP", "PrincipalId": team}]

    # who may use it: assigned directly or through a group; with assignment not required, everyone
    assert _may_use(server, app, alice) and _may_use(server, app, bob) and not _may_use(server, app, carol)
    admin.put_application_assignment_configuration(ApplicationArn=app, AssignmentRequired=False)
    assert _may_use(server, app, carol)
    admin.update_application(ApplicationArn=app, Status="DISABLED")
    assert not _may_use(server, app, alice)
    admin.update_application(ApplicationArn=app, Status="ENABLED")
    admin.put_application_assignment_configuration(ApplicationArn=app, AssignmentRequired=True)
    admin.delete_application_assignment(ApplicationArn=app, PrincipalType="USER", PrincipalId=alice)
    assert not _may_use(server, app, alice)
    with pytest.raises(ClientError) as err:
        admin.describe_application_assignment(ApplicationArn=app, PrincipalType="USER", PrincipalId=alice)
    assert _code(err) == "ResourceNotFoundException"
    # a user of another instance never may, even when assignment is not required
    other = new_instance(server)
    stranger = add_user(other, "stranger")
    admin.put_application_assignment_configuration(ApplicationArn=app, AssignmentRequired=False)
    assert not _may_use(server, app, stranger)
    with pytest.raises(ClientError) as err:
        admin.create_application_assignment(ApplicationArn=app, PrincipalType="USER", PrincipalId=stranger)
    assert _code(err) == "ResourceNotFoundException"

    admin.delete_application(ApplicationArn=app)
    with pytest.raises(ClientError) as err:
        admin.describe_application(ApplicationArn=app)
    assert _code(err) == "ResourceNotFoundException"
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            assert application(conn, app) is None and application(conn, other_app) is not None
    finally:
        engine.dispose()


def test_other_accounts_applications(server: Server) -> None:
    mine = new_instance(server)
    theirs = new_instance(server)
    their_app = theirs.client("sso-admin").create_application(
        InstanceArn=theirs.instance_arn, ApplicationProviderArn=CUSTOM_SAML, Name="Theirs"
    )["ApplicationArn"]
    admin = mine.client("sso-admin")
    user = add_user(mine, "mine")
    calls: list[Any] = [
        lambda: admin.describe_application(ApplicationArn=their_app),
        lambda: admin.update_application(ApplicationArn=their_app, Name="mine now"),
        lambda: admin.delete_application(ApplicationArn=their_app),
        lambda: admin.put_application_assignment_configuration(ApplicationArn=their_app, AssignmentRequired=False),
        lambda: admin.create_application_assignment(ApplicationArn=their_app, PrincipalType="USER", PrincipalId=user),
        lambda: admin.list_application_assignments(ApplicationArn=their_app),
        lambda: admin.list_applications(InstanceArn=theirs.instance_arn),
        lambda: admin.create_application(
            InstanceArn=theirs.instance_arn, ApplicationProviderArn=CUSTOM_SAML, Name="Sneaky"
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as err:
            call()
        # an application's ARN names its account: another account's is refused by the policy
        # engine (as AWS's authorization refuses it) before it could be found
        assert _code(err) in ("AccessDeniedException", "ResourceNotFoundException")
    assert theirs.client("sso-admin").describe_application(ApplicationArn=their_app)["Name"] == "Theirs"
