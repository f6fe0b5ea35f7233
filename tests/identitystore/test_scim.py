"""The SCIM 2.0 endpoint with httpx against the real server: users and groups created over SCIM are
identitystore users and groups (and the reverse), PATCH as Entra ID and Okta send it (group members,
``active``, value-path filters), filters, pagination, ETags, discovery, and tokens refused (wrong,
another store's, deleted, expired)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from ostiary.store import tables as t
from ostiary.store.db import Store
from tests.conftest import Server
from tests.identitystore.conftest import Instance, make_user, new_instance
from tests.identitystore.scim_helpers import new_token, scim_cli, scim_client

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture(scope="module")
def tenant(server: Server) -> Instance:
    return new_instance(server, "scim")


@pytest.fixture(scope="module")
def scim(server: Server, tenant: Instance) -> Iterator[httpx.Client]:
    _, token = new_token(server, tenant.identity_store_id)
    with scim_client(server, tenant.identity_store_id, token) as client:
        yield client


def _user_body(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": name,
        "name": {"givenName": "Given", "familyName": "Family"},
        "displayName": name.title(),
        "emails": [{"value": f"{name}@example.com", "type": "work", "primary": True}],
        "active": True,
        **extra,
    }


def test_user_over_scim_is_an_identitystore_user(scim: httpx.Client, tenant: Instance) -> None:
    name = "scim-" + secrets.token_hex(3)
    body = _user_body(name, externalId="ext-" + name, title="Pilot")
    body["schemas"].append(ENTERPRISE)
    body[ENTERPRISE] = {"department": "Flight", "manager": {"value": "boss"}}
    created = scim.post("/Users", json=body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert created.headers["content-type"].startswith("application/scim+json")
    assert created.headers["etag"] == user["meta"]["version"] == 'W/"1"'
    assert (
        created.headers["location"]
        == user["meta"]["location"]
        == f"{str(scim.base_url).rstrip('/')}/Users/{user['id']}"
    )
    assert user["userName"] == name and user["externalId"] == "ext-" + name and user["active"] is True
    assert user[ENTERPRISE] == {"department": "Flight", "manager": {"value": "boss"}}

    ids = tenant.client("identitystore")
    store = tenant.identity_store_id
    described = ids.describe_user(IdentityStoreId=store, UserId=user["id"], Extensions=["aws:identitystore:enterprise"])
    assert described["UserName"] == name and described["Title"] == "Pilot"
    assert described["Emails"] == [{"Value": f"{name}@example.com", "Type": "work", "Primary": True}]
    assert described["ExternalIds"] == [{"Issuer": str(scim.base_url).rstrip("/"), "Id": "ext-" + name}]
    assert described["Extensions"]["aws:identitystore:enterprise"]["department"] == "Flight"
    got = ids.get_user_id(
        IdentityStoreId=store,
        AlternateIdentifier={"ExternalId": {"Issuer": str(scim.base_url).rstrip("/"), "Id": "ext-" + name}},
    )
    assert got["UserId"] == user["id"]

    # and the reverse: a user made with the API is seen over SCIM
    api_user = make_user(ids, store, "api-" + name)
    seen = scim.get(f"/Users/{api_user}")
    assert seen.status_code == 200 and seen.json()["userName"] == "api-" + name

    # duplicates are 409 uniqueness; AWS's required attributes are 400 invalidValue
    dup = scim.post("/Users", json=_user_body(name.upper()))
    assert dup.status_code == 409 and dup.json()["scimType"] == "uniqueness"
    assert dup.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    bad = scim.post("/Users", json={"schemas": [USER], "userName": "x-" + name})
    assert bad.status_code == 400 and bad.json()["scimType"] == "invalidValue"


def test_user_put_patch_delete_and_etags(scim: httpx.Client, tenant: Instance) -> None:
    name = "patch-" + secrets.token_hex(3)
    user = scim.post("/Users", json=_user_body(name)).json()
    uid = user["id"]
    # Entra ID's PATCH: capitalised ops, boolean strings, a value-path with a sub-attribute
    patched = scim.patch(
        f"/Users/{uid}",
        json={
            "schemas": [PATCH],
            "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": 'emails[type eq "work"].value', "value": f"new-{name}@example.com"},
                {"op": "Add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+15550100"},
                {"op": "replace", "path": "name.givenName", "value": "Changed"},
                {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Ops"},
                {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "mgr-1"},
            ],
        },
    )
    assert patched.status_code == 200, patched.text
    out = patched.json()
    assert out["active"] is False and out["name"]["givenName"] == "Changed"
    assert out["emails"] == [{"value": f"new-{name}@example.com", "type": "work", "primary": True}]
    assert out["phoneNumbers"] == [{"type": "mobile", "value": "+15550100"}]
    assert out[ENTERPRISE] == {"department": "Ops", "manager": {"value": "mgr-1"}}
    assert patched.headers["etag"] == 'W/"2"'
    described = tenant.client("identitystore").describe_user(IdentityStoreId=tenant.identity_store_id, UserId=uid)
    assert described["UserStatus"] == "DISABLED" and described["Name"]["GivenName"] == "Changed"

    # Okta's PATCH: no path, a map of attributes
    okta = scim.patch(
        f"/Users/{uid}",
        json={"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": True, "title": "Lead"}}]},
    )
    assert okta.status_code == 200 and okta.json()["active"] is True and okta.json()["title"] == "Lead"

    # conditional writes and reads
    stale = scim.patch(
        f"/Users/{uid}",
        headers={"If-Match": 'W/"1"'},
        json={"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "x"}]},
    )
    assert stale.status_code == 412
    current = scim.get(f"/Users/{uid}")
    assert scim.get(f"/Users/{uid}", headers={"If-None-Match": current.headers["etag"]}).status_code == 304

    # PUT replaces what SCIM carries
    put = scim.put(
        f"/Users/{uid}",
        headers={"If-Match": current.headers["etag"]},
        json=_user_body(name, displayName="Put Name", emails=[{"value": "put@example.com", "display": "Put"}]),
    )
    assert put.status_code == 200, put.text
    assert put.json()["displayName"] == "Put Name" and "title" not in put.json()
    assert put.json()["emails"] == [{"value": "put@example.com"}]

    for bad in (
        {"schemas": [PATCH], "Operations": [{"op": "remove"}]},
        {"schemas": [PATCH], "Operations": [{"op": "explode", "path": "title"}]},
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "emails[type eq", "value": "x"}]},
        {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "displayName"}]},  # required by AWS
    ):
        refused = scim.patch(f"/Users/{uid}", json=bad)
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["status"] == "400"

    assert scim.delete(f"/Users/{uid}").status_code == 204
    assert scim.get(f"/Users/{uid}").status_code == 404
    assert scim.delete(f"/Users/{uid}").status_code == 404


def test_groups_and_members(scim: httpx.Client, tenant: Instance) -> None:
    tag = secrets.token_hex(3)
    a = scim.post("/Users", json=_user_body("ga-" + tag)).json()["id"]
    b = scim.post("/Users", json=_user_body("gb-" + tag)).json()["id"]
    c = scim.post("/Users", json=_user_body("gc-" + tag)).json()["id"]
    made = scim.post(
        "/Groups",
        json={"schemas": [GROUP], "displayName": "Team " + tag, "externalId": "g-" + tag, "members": [{"value": a}]},
    )
    assert made.status_code == 201, made.text
    group = made.json()
    gid = group["id"]
    assert [m["value"] for m in group["members"]] == [a]

    # Entra ID adds and removes members
    add = scim.patch(
        f"/Groups/{gid}",
        json={
            "schemas": [PATCH],
            "Operations": [{"op": "Add", "path": "members", "value": [{"value": b}, {"value": c}]}],
        },
    )
    assert add.status_code == 200 and {m["value"] for m in add.json()["members"]} == {a, b, c}
    remove = scim.patch(
        f"/Groups/{gid}",
        json={"schemas": [PATCH], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": a}]}]},
    )
    assert {m["value"] for m in remove.json()["members"]} == {b, c}
    # Okta removes by a value filter, and renames with a path-less replace
    okta = scim.patch(
        f"/Groups/{gid}",
        json={
            "schemas": [PATCH],
            "Operations": [
                {"op": "remove", "path": f'members[value eq "{b}"]'},
                {"op": "replace", "value": {"id": gid, "displayName": "Renamed " + tag}},
            ],
        },
    )
    assert okta.status_code == 200, okta.text
    assert okta.json()["displayName"] == "Renamed " + tag and [m["value"] for m in okta.json()["members"]] == [c]
    unknown = scim.patch(
        f"/Groups/{gid}",
        json={"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": "nope"}]}]},
    )
    assert unknown.status_code == 400

    # the API sees the same group and memberships
    ids = tenant.client("identitystore")
    store = tenant.identity_store_id
    assert ids.describe_group(IdentityStoreId=store, GroupId=gid)["DisplayName"] == "Renamed " + tag
    members = ids.list_group_memberships(IdentityStoreId=store, GroupId=gid)["GroupMemberships"]
    assert [m["MemberId"]["UserId"] for m in members] == [c]
    ids.create_group_membership(IdentityStoreId=store, GroupId=gid, MemberId={"UserId": a})
    assert {m["value"] for m in scim.get(f"/Groups/{gid}").json()["members"]} == {a, c}

    # membership queries as IdPs make them
    found = scim.get("/Groups", params={"filter": f'id eq "{gid}" and members[value eq "{c}"]'}).json()
    assert found["totalResults"] == 1
    assert (
        scim.get("/Groups", params={"filter": f'id eq "{gid}" and members[value eq "{b}"]'}).json()["totalResults"] == 0
    )
    by_name = scim.get("/Groups", params={"filter": f'displayName eq "renamed {tag}"', "excludedAttributes": "members"})
    assert [g["id"] for g in by_name.json()["Resources"]] == [gid] and "members" not in by_name.json()["Resources"][0]
    assert scim.get("/Groups", params={"filter": f'externalId eq "g-{tag}"'}).json()["totalResults"] == 1

    # replace members, then delete the group (memberships go with it)
    put = scim.put(
        f"/Groups/{gid}", json={"schemas": [GROUP], "displayName": "Renamed " + tag, "members": [{"value": b}]}
    )
    assert [m["value"] for m in put.json()["members"]] == [b]
    assert scim.delete(f"/Groups/{gid}").status_code == 204
    assert (
        ids.list_group_memberships_for_member(IdentityStoreId=store, MemberId={"UserId": b})["GroupMemberships"] == []
    )

    # SCIM's membership changes are audited as the API's are, in the instance owner's account
    trail = tenant.client("cloudtrail")

    def events(name: str) -> list[dict[str, Any]]:
        pages = trail.get_paginator("lookup_events").paginate(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}]
        )
        return [e for p in pages for e in p["Events"] if "SCIM" in e["CloudTrailEvent"]]

    assert len(events("CreateGroupMembership")) >= 4  # a at creation, b and c, b again by PUT
    assert len(events("DeleteGroupMembership")) >= 3


def test_filters_and_pages(server: Server) -> None:
    inst = new_instance(server)
    _, token = new_token(server, inst.identity_store_id)
    with scim_client(server, inst.identity_store_id, token) as scim:
        for i in range(5):
            r = scim.post("/Users", json=_user_body(f"page-{i}", title="Even" if i % 2 == 0 else "Odd"))
            assert r.status_code == 201
        everyone = scim.get("/Users").json()
        assert everyone["totalResults"] == 5 and everyone["startIndex"] == 1
        assert everyone["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        page = scim.get("/Users", params={"startIndex": 2, "count": 2}).json()
        assert (page["totalResults"], page["itemsPerPage"], page["startIndex"]) == (5, 2, 2)
        assert [u["userName"] for u in page["Resources"]] == ["page-1", "page-2"]
        assert scim.get("/Users", params={"count": 0}).json()["Resources"] == []

        def names(f: str) -> list[str]:
            r = scim.get("/Users", params={"filter": f})
            assert r.status_code == 200, r.text
            return sorted(u["userName"] for u in r.json()["Resources"])

        assert names('userName eq "PAGE-3"') == ["page-3"]
        assert names('userName sw "page-" and title eq "odd"') == ["page-1", "page-3"]
        assert names('title eq "Odd" or userName eq "page-0"') == ["page-0", "page-1", "page-3"]
        assert names('not (title eq "Even")') == ["page-1", "page-3"]
        assert names('emails[type eq "work" and value co "-4@"]') == ["page-4"]
        assert names('emails.value ew "2@example.com"') == ["page-2"]
        assert names('title pr and (userName eq "page-0" or userName eq "page-2")') == ["page-0", "page-2"]
        assert names('userName eq "nobody"') == []
        for i in range(3):
            assert scim.post("/Groups", json={"schemas": [GROUP], "displayName": f"pg-{i}"}).status_code == 201
        groups = scim.get("/Groups", params={"startIndex": 2, "count": 1}).json()
        assert (groups["totalResults"], [g["displayName"] for g in groups["Resources"]]) == (3, ["pg-1"])
        searched = scim.post(
            "/Users/.search", json={"filter": 'title eq "Even"', "count": 2, "attributes": ["userName"]}
        )
        assert searched.status_code == 200 and searched.json()["totalResults"] == 3
        assert [u["userName"] for u in searched.json()["Resources"]] == ["page-0", "page-2"]
        only = scim.get("/Users", params={"filter": 'userName eq "page-0"', "attributes": "userName"}).json()
        assert set(only["Resources"][0]) == {"schemas", "id", "meta", "userName"}
        for bad in ('userName xx "a"', 'userName eq "a" and', "(" * 40 + 'userName eq "a"' + ")" * 40, "x" * 3000):
            r = scim.get("/Users", params={"filter": bad})
            assert r.status_code == 400 and r.json()["scimType"] == "invalidFilter", bad


def test_discovery(scim: httpx.Client) -> None:
    spc = scim.get("/ServiceProviderConfig").json()
    assert spc["patch"]["supported"] is True and spc["etag"]["supported"] is True
    assert spc["filter"] == {"supported": True, "maxResults": 100}
    types = scim.get("/ResourceTypes").json()
    assert {r["id"] for r in types["Resources"]} == {"User", "Group"}
    schemas = scim.get("/Schemas").json()
    assert {s["id"] for s in schemas["Resources"]} == {USER, GROUP, ENTERPRISE}
    assert scim.get(f"/Schemas/{USER}").json()["name"] == "User"
    assert scim.get("/Nothing").status_code == 404
    assert scim.post("/ServiceProviderConfig", json={}).status_code == 405


def test_tokens_refused(server: Server, tenant: Instance, scim: httpx.Client) -> None:
    other = new_instance(server)
    other_id, other_token = new_token(server, other.identity_store_id)
    base = f"{server.url}/scim/{tenant.identity_store_id}/v2"

    def status(token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        r = httpx.get(base + "/Users", headers=headers, timeout=30)
        if r.status_code == 401:
            assert r.json()["status"] == "401" and r.headers["www-authenticate"].startswith("Bearer")
        return r.status_code

    assert status(None) == 401
    assert status("ostscim_" + secrets.token_urlsafe(48)) == 401
    assert status(other_token) == 401  # another store's token
    assert status("x" * 5000) == 401
    r = httpx.get(base + "/Users", headers={"Authorization": "Basic " + other_token}, timeout=30)
    assert r.status_code == 401
    # the other store's own endpoint takes it; deleted, it is refused
    assert (
        httpx.get(
            f"{server.url}/scim/{other.identity_store_id}/v2/Users",
            headers={"Authorization": f"Bearer {other_token}"},
            timeout=30,
        ).status_code
        == 200
    )
    listed = scim_cli(server, "list", "--identity-store-id", other.identity_store_id)
    assert listed.returncode == 0 and other_id in listed.stdout
    assert (
        scim_cli(server, "delete", "--identity-store-id", other.identity_store_id, "--token-id", other_id).returncode
        == 0
    )
    assert (
        httpx.get(
            f"{server.url}/scim/{other.identity_store_id}/v2/Users",
            headers={"Authorization": f"Bearer {other_token}"},
            timeout=30,
        ).status_code
        == 401
    )
    # at most two tokens per store
    new_token(server, other.identity_store_id)
    new_token(server, other.identity_store_id)
    third = scim_cli(server, "create", "--identity-store-id", other.identity_store_id)
    assert third.returncode != 0 and "2 SCIM tokens already" in third.stderr
    assert scim_cli(server, "create", "--identity-store-id", "d-0000000000").returncode != 0


def test_expired_token_refused(server: Server) -> None:
    inst = new_instance(server)
    token_id, token = new_token(server, inst.identity_store_id)
    url = f"{server.url}/scim/{inst.identity_store_id}/v2/Users"
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code == 200
    store = Store(server.database_url)
    try:
        with store.tx() as conn:
            conn.execute(
                update(t.scim_tokens)
                .where(t.scim_tokens.c.token_id == token_id)
                .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
            )
    finally:
        store.dispose()
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code == 401


def test_another_stores_resources_are_out_of_reach(server: Server, scim: httpx.Client) -> None:
    theirs = new_instance(server)
    their_ids = theirs.client("identitystore")
    their_user = make_user(their_ids, theirs.identity_store_id)
    their_group = their_ids.create_group(IdentityStoreId=theirs.identity_store_id, DisplayName="theirs")["GroupId"]
    assert scim.get(f"/Users/{their_user}").status_code == 404
    assert scim.get(f"/Groups/{their_group}").status_code == 404
    assert scim.delete(f"/Users/{their_user}").status_code == 404
    assert scim.get("/Users", params={"filter": f'id eq "{their_user}"'}).json()["totalResults"] == 0
    mine = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "mine-" + secrets.token_hex(3)}).json()
    add = scim.patch(
        f"/Groups/{mine['id']}",
        json={"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": their_user}]}]},
    )
    assert add.status_code == 400
    assert their_ids.describe_user(IdentityStoreId=theirs.identity_store_id, UserId=their_user)["UserId"] == their_user
