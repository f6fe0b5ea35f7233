"""identitystore groups and memberships through boto3: groups (unique names ignoring case, update,
delete, filter, paginators), memberships (create, describe, duplicates, lists of a group and of a
member, IsMemberInGroups, GetGroupMembershipId), the cascade when a user or group is deleted."""

from __future__ import annotations

import secrets

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.identitystore.conftest import Instance, make_user, new_instance


def _group(ids: object, store: str, name: str | None = None, **extra: object) -> str:
    return str(
        ids.create_group(IdentityStoreId=store, DisplayName=name or "group-" + secrets.token_hex(4), **extra)[  # type: ignore[attr-defined]
            "GroupId"
        ]
    )


def test_group_lifecycle(instance: Instance) -> None:
    ids = instance.client("identitystore")
    store = instance.identity_store_id
    name = "Engineers-" + secrets.token_hex(3)
    created = ids.create_group(IdentityStoreId=store, DisplayName=name, Description="builders")
    group_id = created["GroupId"]
    assert created["GroupArn"] == f"arn:aws:identitystore:::group/{group_id}" and created["Revision"] == "1"
    described = ids.describe_group(IdentityStoreId=store, GroupId=group_id)
    assert (described["DisplayName"], described["Description"]) == (name, "builders")
    assert described["CreatedBy"] == f"arn:aws:iam::{instance.account_id}:root"
    with pytest.raises(ClientError) as exc:
        ids.create_group(IdentityStoreId=store, DisplayName=name.lower())
    assert exc.value.response["Error"]["Message"] == "Duplicate GroupDisplayName"
    assert exc.value.response["Reason"] == "UNIQUENESS_CONSTRAINT_VIOLATION"
    with pytest.raises(ClientError) as exc:
        ids.create_group(IdentityStoreId=store)
    assert exc.value.response["Error"]["Code"] == "ValidationException"

    out = ids.update_group(
        IdentityStoreId=store,
        GroupId=group_id,
        Operations=[
            {"AttributePath": "displayName", "AttributeValue": name + "-x"},
            {"AttributePath": "description"},
        ],
    )
    assert out["Revision"] == "2"
    described = ids.describe_group(IdentityStoreId=store, GroupId=group_id)
    assert described["DisplayName"] == name + "-x" and "Description" not in described
    for op in ({"AttributePath": "displayName"}, {"AttributePath": "members", "AttributeValue": "x"}):
        with pytest.raises(ClientError) as exc:
            ids.update_group(IdentityStoreId=store, GroupId=group_id, Operations=[op])
        assert exc.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ids.update_group(
            IdentityStoreId=store,
            GroupId=group_id,
            Revision="1",
            Operations=[{"AttributePath": "description", "AttributeValue": "y"}],
        )
    assert exc.value.response["Reason"] == "CONCURRENT_MODIFICATION"

    got = ids.get_group_id(
        IdentityStoreId=store,
        AlternateIdentifier={
            "UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": name.upper() + "-X"}
        },
    )
    assert got["GroupId"] == group_id and got["GroupArn"] == created["GroupArn"]
    ids.delete_group(IdentityStoreId=store, GroupId=group_id)
    with pytest.raises(ClientError) as exc:
        ids.describe_group(IdentityStoreId=store, GroupId=group_id)
    assert exc.value.response["Error"]["Message"] == "GROUP not found."
    assert exc.value.response["ResourceType"] == "GROUP"
    with pytest.raises(ClientError) as exc:
        ids.get_group_id(
            IdentityStoreId=store,
            AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": name + "-x"}},
        )
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    ids.delete_group(IdentityStoreId=store, GroupId=group_id)  # no error, as AWS


def test_list_groups(server: Server) -> None:
    inst = new_instance(server)
    ids = inst.client("identitystore")
    store = inst.identity_store_id
    made = {_group(ids, store, f"team-{i}") for i in range(5)}
    pages = list(ids.get_paginator("list_groups").paginate(IdentityStoreId=store, PaginationConfig={"PageSize": 2}))
    assert [len(p["Groups"]) for p in pages] == [2, 2, 1]
    assert {g["GroupId"] for p in pages for g in p["Groups"]} == made
    found = ids.list_groups(
        IdentityStoreId=store, Filters=[{"AttributePath": "DisplayName", "AttributeValue": "TEAM-2"}]
    )
    assert [g["DisplayName"] for g in found["Groups"]] == ["team-2"]


def test_memberships(server: Server) -> None:
    inst = new_instance(server)
    ids = inst.client("identitystore")
    store = inst.identity_store_id
    alice, bob = make_user(ids, store, "alice"), make_user(ids, store, "bob")
    admins, devs, empty = _group(ids, store, "admins"), _group(ids, store, "devs"), _group(ids, store, "empty")
    m1 = ids.create_group_membership(IdentityStoreId=store, GroupId=admins, MemberId={"UserId": alice})
    assert m1["MembershipArn"] == f"arn:aws:identitystore:::membership/{m1['MembershipId']}"
    ids.create_group_membership(IdentityStoreId=store, GroupId=devs, MemberId={"UserId": alice})
    ids.create_group_membership(IdentityStoreId=store, GroupId=devs, MemberId={"UserId": bob})
    with pytest.raises(ClientError) as exc:
        ids.create_group_membership(IdentityStoreId=store, GroupId=admins, MemberId={"UserId": alice})
    assert exc.value.response["Error"]["Code"] == "ConflictException"
    assert exc.value.response["Reason"] == "UNIQUENESS_CONSTRAINT_VIOLATION"
    missing = store[2:] + "-00000000-0000-4000-8000-000000000000"
    for group, user in ((admins, missing), (missing, bob)):
        with pytest.raises(ClientError) as exc:
            ids.create_group_membership(IdentityStoreId=store, GroupId=group, MemberId={"UserId": user})
        assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"

    described = ids.describe_group_membership(IdentityStoreId=store, MembershipId=m1["MembershipId"])
    assert (described["GroupId"], described["MemberId"]) == (admins, {"UserId": alice})
    got = ids.get_group_membership_id(IdentityStoreId=store, GroupId=admins, MemberId={"UserId": alice})
    assert got["MembershipId"] == m1["MembershipId"]
    with pytest.raises(ClientError) as exc:
        ids.get_group_membership_id(IdentityStoreId=store, GroupId=admins, MemberId={"UserId": bob})
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"

    pages = list(
        ids.get_paginator("list_group_memberships").paginate(
            IdentityStoreId=store, GroupId=devs, PaginationConfig={"PageSize": 1}
        )
    )
    assert len(pages) == 2
    assert {m["MemberId"]["UserId"] for p in pages for m in p["GroupMemberships"]} == {alice, bob}
    of_alice = ids.list_group_memberships_for_member(IdentityStoreId=store, MemberId={"UserId": alice})
    assert {m["GroupId"] for m in of_alice["GroupMemberships"]} == {admins, devs}
    results = ids.is_member_in_groups(IdentityStoreId=store, MemberId={"UserId": bob}, GroupIds=[admins, devs, empty])
    assert [(r["GroupId"], r["MembershipExists"]) for r in results["Results"]] == [
        (admins, False),
        (devs, True),
        (empty, False),
    ]

    ids.delete_group_membership(IdentityStoreId=store, MembershipId=m1["MembershipId"])
    with pytest.raises(ClientError) as exc:
        ids.describe_group_membership(IdentityStoreId=store, MembershipId=m1["MembershipId"])
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # deleting a user or a group removes its memberships
    ids.delete_user(IdentityStoreId=store, UserId=bob)
    members = ids.list_group_memberships(IdentityStoreId=store, GroupId=devs)["GroupMemberships"]
    assert [m["MemberId"]["UserId"] for m in members] == [alice]
    ids.delete_group(IdentityStoreId=store, GroupId=devs)
    assert (
        ids.list_group_memberships_for_member(IdentityStoreId=store, MemberId={"UserId": alice})["GroupMemberships"]
        == []
    )


def test_get_user_id(instance: Instance) -> None:
    ids = instance.client("identitystore")
    store = instance.identity_store_id
    name = "lookup-" + secrets.token_hex(3)
    user_id = make_user(ids, store, name, Emails=[{"Value": f"{name}@Example.com", "Primary": True}])
    for path, value in (("userName", name.upper()), ("emails.value", f"{name}@example.COM")):
        got = ids.get_user_id(
            IdentityStoreId=store,
            AlternateIdentifier={"UniqueAttribute": {"AttributePath": path, "AttributeValue": value}},
        )
        assert got["UserId"] == user_id and got["UserArn"] == f"arn:aws:identitystore:::user/{user_id}"
    cases = [
        (
            {"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "no-such-user"}},
            "ResourceNotFoundException",
        ),
        ({"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": ""}}, "ValidationException"),
        ({"UniqueAttribute": {"AttributePath": "title", "AttributeValue": "x"}}, "ValidationException"),
        ({"ExternalId": {"Issuer": "https://idp.example", "Id": "nope"}}, "ResourceNotFoundException"),
    ]
    for alternate, code in cases:
        with pytest.raises(ClientError) as exc:
            ids.get_user_id(IdentityStoreId=store, AlternateIdentifier=alternate)
        assert exc.value.response["Error"]["Code"] == code, alternate


def test_membership_changes_are_audited(server: Server) -> None:
    inst = new_instance(server)
    ids = inst.client("identitystore")
    store = inst.identity_store_id
    user, group = make_user(ids, store), _group(ids, store)
    made = ids.create_group_membership(IdentityStoreId=store, GroupId=group, MemberId={"UserId": user})
    ids.delete_group_membership(IdentityStoreId=store, MembershipId=made["MembershipId"])
    trail = inst.client("cloudtrail")
    seen = {}
    for name in ("CreateGroupMembership", "DeleteGroupMembership"):
        events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])["Events"]
        assert len(events) == 1, name
        seen[name] = events[0]
    assert seen["CreateGroupMembership"]["EventSource"] == "identitystore.amazonaws.com"
    assert seen["CreateGroupMembership"]["Resources"] == [
        {"ResourceType": "AWS::IdentityStore::GroupMembership", "ResourceName": made["MembershipId"]}
    ]
