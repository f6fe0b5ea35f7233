"""Directory users and groups for the sso-admin tests, made through the identity store's API (boto3
``identitystore``, as the instance owner's root)."""

from __future__ import annotations

from tests.ssoadmin.conftest import Instance


def add_user(inst: Instance, name: str) -> str:
    store = inst.client("identitystore")
    return str(
        store.create_user(
            IdentityStoreId=inst.identity_store_id,
            UserName=name,
            DisplayName=name,
            Name={"GivenName": name, "FamilyName": "Tester"},
        )["UserId"]
    )


def add_group(inst: Instance, name: str, members: list[str]) -> str:
    store = inst.client("identitystore")
    group_id = str(store.create_group(IdentityStoreId=inst.identity_store_id, DisplayName=name)["GroupId"])
    for user_id in members:
        store.create_group_membership(
            IdentityStoreId=inst.identity_store_id, GroupId=group_id, MemberId={"UserId": user_id}
        )
    return group_id
