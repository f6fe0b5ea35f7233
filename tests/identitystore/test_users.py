"""identitystore users through boto3: create (AWS's required attributes, reserved and duplicate
names), describe (extensions on request), update (replace/remove, nested paths, revisions), delete,
list (filters, paginators), and another account's store."""

from __future__ import annotations

import re
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, flush_caches
from tests.identitystore.conftest import Instance, make_user, new_instance


def _err(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, str]:
    return exc.value.response["Error"]  # type: ignore[no-any-return]


def test_create_and_describe_user(instance: Instance) -> None:
    ids = instance.client("identitystore")
    store = instance.identity_store_id
    name = "ada-" + secrets.token_hex(3)
    created = ids.create_user(
        IdentityStoreId=store,
        UserName=name,
        DisplayName="Ada Lovelace",
        Name={"GivenName": "Ada", "FamilyName": "Lovelace", "Formatted": "Ada Lovelace"},
        Emails=[{"Value": f"{name}@example.com", "Type": "work", "Primary": True}],
        Title="Countess",
        Extensions={"aws:identitystore:enterprise": {"employeeNumber": "1815", "manager": {"value": "babbage"}}},
    )
    user_id = created["UserId"]
    assert re.fullmatch(store[2:] + r"-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", user_id)
    assert created["UserArn"] == f"arn:aws:identitystore:::user/{user_id}"
    assert created["Revision"] == "1"
    described = ids.describe_user(IdentityStoreId=store, UserId=user_id)
    assert described["UserName"] == name
    assert described["Name"]["GivenName"] == "Ada"
    assert described["Emails"] == [{"Value": f"{name}@example.com", "Type": "work", "Primary": True}]
    assert described["UserStatus"] == "ENABLED"
    assert described["CreatedBy"] == f"arn:aws:iam::{instance.account_id}:root"
    assert described["CreatedAt"] == described["UpdatedAt"]
    assert "Extensions" not in described  # only when asked for
    ext = ids.describe_user(IdentityStoreId=store, UserId=user_id, Extensions=["aws:identitystore:enterprise"])
    assert ext["Extensions"]["aws:identitystore:enterprise"] == {
        "employeeNumber": "1815",
        "manager": {"value": "babbage"},
    }
    # the store's ARN names it too
    arn = f"arn:aws:identitystore::{instance.account_id}:identitystore/{store}"
    assert ids.describe_user(IdentityStoreId=arn, UserId=user_id)["UserId"] == user_id


def test_required_attributes_and_unique_names(instance: Instance) -> None:
    ids = instance.client("identitystore")
    store = instance.identity_store_id
    with pytest.raises(ClientError) as exc:
        ids.create_user(IdentityStoreId=store, DisplayName="x", Name={"GivenName": "a", "FamilyName": "b"})
    assert _err(exc) == {"Code": "ValidationException", "Message": "userName is a required attribute"}
    with pytest.raises(ClientError) as exc:
        ids.create_user(IdentityStoreId=store, UserName="nobody-" + secrets.token_hex(3), Name={})
    assert _err(exc)["Message"] == (
        "displayname: The attribute displayname is required, name: The attribute name is required"
    )
    with pytest.raises(ClientError) as exc:
        ids.create_user(
            IdentityStoreId=store, UserName="half-" + secrets.token_hex(3), DisplayName="x", Name={"GivenName": "a"}
        )
    assert _err(exc)["Message"] == "familyname: The attribute familyname is required"
    for reserved in ("Administrator", "awsadministrators"):
        with pytest.raises(ClientError) as exc:
            make_user(ids, store, reserved)
        assert _err(exc)["Code"] == "ValidationException"
    name = "Unique-" + secrets.token_hex(3)
    make_user(ids, store, name)
    with pytest.raises(ClientError) as exc:
        make_user(ids, store, name.upper())  # unique ignoring case
    assert _err(exc) == {"Code": "ConflictException", "Message": "Duplicate UserName"}
    assert exc.value.response["Reason"] == "UNIQUENESS_CONSTRAINT_VIOLATION"
    with pytest.raises(ClientError) as exc:
        ids.create_user(
            IdentityStoreId=store,
            UserName="bad-ext-" + secrets.token_hex(3),
            DisplayName="x",
            Name={"GivenName": "a", "FamilyName": "b"},
            Extensions={"aws:identitystore:other": {}},
        )
    assert _err(exc)["Code"] == "ValidationException"


def test_update_user(instance: Instance) -> None:
    ids = instance.client("identitystore")
    store = instance.identity_store_id
    user_id = make_user(ids, store, Title="Engineer", NickName="nick")
    out = ids.update_user(
        IdentityStoreId=store,
        UserId=user_id,
        Operations=[
            {"AttributePath": "name.givenName", "AttributeValue": "Grace"},
            {"AttributePath": "displayName", "AttributeValue": "Grace Hopper"},
            {"AttributePath": "emails", "AttributeValue": [{"value": "grace@example.com", "primary": True}]},
            {"AttributePath": "title"},  # no value: removed
            {"AttributePath": "nickName", "AttributeValue": None},
            {"AttributePath": "aws:identitystore:enterprise.costCenter", "AttributeValue": "CC-1"},
        ],
    )
    assert out["Revision"] == "2"
    user = ids.describe_user(IdentityStoreId=store, UserId=user_id, Extensions=["aws:identitystore:enterprise"])
    assert user["Name"] == {"GivenName": "Grace", "FamilyName": "Family"}
    assert user["DisplayName"] == "Grace Hopper"
    assert user["Emails"] == [{"Value": "grace@example.com", "Primary": True}]
    assert "Title" not in user and "NickName" not in user
    assert user["Extensions"] == {"aws:identitystore:enterprise": {"costCenter": "CC-1"}}
    assert user["Revision"] == "2"

    # a stale revision is a concurrent modification; the current one succeeds
    with pytest.raises(ClientError) as exc:
        ids.update_user(
            IdentityStoreId=store,
            UserId=user_id,
            Revision="1",
            Operations=[{"AttributePath": "title", "AttributeValue": "x"}],
        )
    assert _err(exc)["Code"] == "ConflictException"
    assert exc.value.response["Reason"] == "CONCURRENT_MODIFICATION"
    ids.update_user(
        IdentityStoreId=store,
        UserId=user_id,
        Revision="2",
        Operations=[{"AttributePath": "title", "AttributeValue": "x"}],
    )

    # required attributes stay required; unknown paths and bad values are refused
    for op in (
        {"AttributePath": "displayName"},
        {"AttributePath": "name.familyName"},
        {"AttributePath": "noSuchThing", "AttributeValue": "x"},
        {"AttributePath": "name.nickName", "AttributeValue": "x"},
        {"AttributePath": "title", "AttributeValue": "x" * 1025},
        {"AttributePath": "emails", "AttributeValue": [{"value": "a@b"}, {"value": "c@d"}]},  # at most 1
        {"AttributePath": "userName", "AttributeValue": "Administrator"},
    ):
        with pytest.raises(ClientError) as exc:
            ids.update_user(IdentityStoreId=store, UserId=user_id, Operations=[op])
        assert _err(exc)["Code"] == "ValidationException", op
    other = "taken-" + secrets.token_hex(3)
    make_user(ids, store, other)
    with pytest.raises(ClientError) as exc:
        ids.update_user(
            IdentityStoreId=store, UserId=user_id, Operations=[{"AttributePath": "userName", "AttributeValue": other}]
        )
    assert exc.value.response["Reason"] == "UNIQUENESS_CONSTRAINT_VIOLATION"
    # a user can be renamed, and disabled
    renamed = "renamed-" + secrets.token_hex(3)
    ids.update_user(
        IdentityStoreId=store,
        UserId=user_id,
        Operations=[
            {"AttributePath": "userName", "AttributeValue": renamed},
            {"AttributePath": "userStatus", "AttributeValue": "DISABLED"},
        ],
    )
    user = ids.describe_user(IdentityStoreId=store, UserId=user_id)
    assert (user["UserName"], user["UserStatus"]) == (renamed, "DISABLED")


def test_delete_user(instance: Instance) -> None:
    ids = instance.client("identitystore")
    store = instance.identity_store_id
    user_id = make_user(ids, store)
    with pytest.raises(ClientError) as exc:
        ids.delete_user(IdentityStoreId=store, UserId=user_id, Revision="7")
    assert exc.value.response["Reason"] == "CONCURRENT_MODIFICATION"
    ids.delete_user(IdentityStoreId=store, UserId=user_id)
    with pytest.raises(ClientError) as exc:
        ids.describe_user(IdentityStoreId=store, UserId=user_id)
    assert _err(exc) == {"Code": "ResourceNotFoundException", "Message": "USER not found."}
    assert exc.value.response["ResourceType"] == "USER"
    ids.delete_user(IdentityStoreId=store, UserId=user_id)  # gone already: no error, as AWS


def test_list_users_pages_and_filter(server: Server) -> None:
    inst = new_instance(server)
    ids = inst.client("identitystore")
    store = inst.identity_store_id
    made = {make_user(ids, store, f"pager-{i:02d}") for i in range(7)}
    pages = list(ids.get_paginator("list_users").paginate(IdentityStoreId=store, PaginationConfig={"PageSize": 3}))
    assert [len(p["Users"]) for p in pages] == [3, 3, 1]
    assert {u["UserId"] for p in pages for u in p["Users"]} == made
    found = ids.list_users(IdentityStoreId=store, Filters=[{"AttributePath": "UserName", "AttributeValue": "PAGER-03"}])
    assert [u["UserName"] for u in found["Users"]] == ["pager-03"]
    with pytest.raises(ClientError) as exc:
        ids.list_users(IdentityStoreId=store, Filters=[{"AttributePath": "Title", "AttributeValue": "x"}])
    assert _err(exc)["Code"] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ids.list_users(IdentityStoreId=store, NextToken="not-a-token")
    assert _err(exc)["Code"] == "ValidationException"


def test_identity_stores(server: Server) -> None:
    inst = new_instance(server)
    ids = inst.client("identitystore")
    arn = f"arn:aws:identitystore::{inst.account_id}:identitystore/{inst.identity_store_id}"
    assert ids.list_identity_stores()["IdentityStores"] == [
        {"IdentityStoreId": inst.identity_store_id, "IdentityStoreArn": arn}
    ]
    described = ids.describe_identity_store(IdentityStoreId=inst.identity_store_id)
    assert (described["IdentityStoreId"], described["IdentityStoreArn"]) == (inst.identity_store_id, arn)


def test_another_accounts_store_is_not_found(server: Server, instance: Instance) -> None:
    theirs = new_instance(server)
    user_id = make_user(theirs.client("identitystore"), theirs.identity_store_id)
    mine = instance.client("identitystore")
    calls = [
        lambda: mine.describe_identity_store(IdentityStoreId=theirs.identity_store_id),
        lambda: mine.list_users(IdentityStoreId=theirs.identity_store_id),
        lambda: mine.describe_user(IdentityStoreId=theirs.identity_store_id, UserId=user_id),
        lambda: mine.delete_user(IdentityStoreId=theirs.identity_store_id, UserId=user_id),
        lambda: make_user(mine, theirs.identity_store_id),
        # my account's ARN with their store id, and their ARN
        lambda: mine.list_users(
            IdentityStoreId=f"arn:aws:identitystore::{instance.account_id}:identitystore/{theirs.identity_store_id}"
        ),
        lambda: mine.list_users(
            IdentityStoreId=f"arn:aws:identitystore::{theirs.account_id}:identitystore/{theirs.identity_store_id}"
        ),
        lambda: mine.list_users(IdentityStoreId="d-0000000000"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc)["Code"] == "ResourceNotFoundException"
    # my own store does not show their user either
    with pytest.raises(ClientError) as exc:
        mine.describe_user(IdentityStoreId=instance.identity_store_id, UserId=user_id)
    assert _err(exc)["Code"] == "ResourceNotFoundException"
    assert theirs.client("identitystore").describe_user(IdentityStoreId=theirs.identity_store_id, UserId=user_id)


def test_iam_policy_decides_on_the_store_arn(dev_server: Server) -> None:
    server = dev_server
    inst = new_instance(server)
    store = inst.identity_store_id
    iam = inst.client("iam")
    name = "ids-reader-" + secrets.token_hex(3)
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    reader = server.client(
        "identitystore", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    with pytest.raises(ClientError) as exc:
        reader.list_users(IdentityStoreId=store)
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    arn = f"arn:aws:identitystore::{inst.account_id}:identitystore/{store}"
    iam.put_user_policy(
        UserName=name,
        PolicyName="read",
        PolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":'
            f'["identitystore:ListUsers","identitystore:DescribeUser"],"Resource":"{arn}"}}]}}'
        ),
    )
    flush_caches(server)  # the caller's policies are cached 5 s
    reader.list_users(IdentityStoreId=store)
    with pytest.raises(ClientError) as exc:
        make_user(reader, store)  # CreateUser is not allowed
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"


def test_concurrent_creates_of_one_name(server: Server) -> None:
    """The name's uniqueness holds under concurrent requests: one user, the rest ConflictException."""
    inst = new_instance(server)
    store = inst.identity_store_id
    name = "race-" + secrets.token_hex(3)
    clients = [inst.client("identitystore") for _ in range(6)]

    def create(i: int) -> str:
        try:
            make_user(clients[i], store, name if i % 2 else name.upper())
            return "created"
        except ClientError as e:
            return str(e.response["Error"]["Code"])

    with ThreadPoolExecutor(6) as pool:
        outcomes = sorted(pool.map(create, range(6)))
    assert outcomes == ["ConflictException"] * 5 + ["created"]
    found = clients[0].list_users(IdentityStoreId=store)["Users"]
    assert [u["UserName"].casefold() for u in found] == [name]
