"""Merging identities keeps their datasets: MergeDeveloperIdentities and a guest signing in move the
merged identity's datasets to the surviving identity; a name both use arrives as
``<name>.<merged identity id>`` and is reported in ListRecords' MergedDatasetNames until deleted."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.cognitosync.conftest import OWN_IDENTITY, err, sync_client
from tests.conftest import Server
from tests.identitypools.conftest import wire

DEV = "login.sync.example.com"
OPENID = "cognito-identity.amazonaws.com"


def _dev_session(w: object, user: str) -> tuple[str, object]:
    ci = w.ci  # type: ignore[attr-defined]
    pool_id = w.pool_id  # type: ignore[attr-defined]
    out = ci.get_open_id_token_for_developer_identity(IdentityPoolId=pool_id, Logins={DEV: user})
    creds = w.anon.get_credentials_for_identity(  # type: ignore[attr-defined]
        IdentityId=out["IdentityId"], Logins={OPENID: out["Token"]}
    )["Credentials"]
    return out["IdentityId"], creds


def _write(sync: object, pool_id: str, identity: str, dataset: str, key: str, value: str) -> None:
    token = sync.list_records(IdentityPoolId=pool_id, IdentityId=identity, DatasetName=dataset)["SyncSessionToken"]  # type: ignore[attr-defined]
    sync.update_records(  # type: ignore[attr-defined]
        IdentityPoolId=pool_id,
        IdentityId=identity,
        DatasetName=dataset,
        SyncSessionToken=token,
        RecordPatches=[{"Op": "replace", "Key": key, "Value": value, "SyncCount": 0}],
    )


def test_merge_developer_identities_keeps_datasets(server: Server) -> None:
    w = wire(server, auth_statements=OWN_IDENTITY, pool_args={"DeveloperProviderName": DEV})
    source_id, source_creds = _dev_session(w, "old-account")
    target_id, target_creds = _dev_session(w, "new-account")
    src = sync_client(server, source_creds)
    dst = sync_client(server, target_creds)
    _write(src, w.pool_id, source_id, "settings", "theme", "dark")
    _write(src, w.pool_id, source_id, "only-old", "k", "v")
    _write(dst, w.pool_id, target_id, "settings", "theme", "light")
    merged = w.ci.merge_developer_identities(
        SourceUserIdentifier="old-account",
        DestinationUserIdentifier="new-account",
        DeveloperProviderName=DEV,
        IdentityPoolId=w.pool_id,
    )
    assert merged["IdentityId"] == target_id
    names = sorted(
        d["DatasetName"] for d in dst.list_datasets(IdentityPoolId=w.pool_id, IdentityId=target_id)["Datasets"]
    )
    assert names == sorted(["settings", "only-old", f"settings.{source_id}"])
    listed = dst.list_records(IdentityPoolId=w.pool_id, IdentityId=target_id, DatasetName="settings")
    assert listed["MergedDatasetNames"] == [f"settings.{source_id}"]
    assert [r["Value"] for r in listed["Records"]] == ["light"]
    copy = dst.list_records(IdentityPoolId=w.pool_id, IdentityId=target_id, DatasetName=f"settings.{source_id}")
    assert [r["Value"] for r in copy["Records"]] == ["dark"]
    assert [
        r["Value"]
        for r in dst.list_records(IdentityPoolId=w.pool_id, IdentityId=target_id, DatasetName="only-old")["Records"]
    ] == ["v"]
    # the Sync Manager folds the copy in and deletes it: the report ends
    dst.delete_dataset(IdentityPoolId=w.pool_id, IdentityId=target_id, DatasetName=f"settings.{source_id}")
    again = dst.list_records(IdentityPoolId=w.pool_id, IdentityId=target_id, DatasetName="settings")
    assert "MergedDatasetNames" not in again
    # the merged identity is gone, and so is its data
    with pytest.raises(ClientError) as exc:
        w.ci.describe_identity(IdentityId=source_id)
    assert err(exc)[0] == "ResourceNotFoundException"


def test_guest_signing_in_brings_its_datasets(server: Server) -> None:
    w = wire(server, auth_statements=OWN_IDENTITY)
    _, tokens = w.user()
    known = w.identity_for(tokens["IdToken"])  # the user's identity, from an earlier sign-in
    guest = w.anon.get_id(IdentityPoolId=w.pool_id)["IdentityId"]
    admin = server.client("cognito-sync")
    _write(admin, w.pool_id, guest, "cart", "item", "book")
    # the guest signs in: it joins the user's identity, with its cart
    creds = w.credentials(guest, tokens["IdToken"])
    assert creds["IdentityId"] == known
    user = sync_client(server, creds["Credentials"])
    records = user.list_records(IdentityPoolId=w.pool_id, IdentityId=known, DatasetName="cart")["Records"]
    assert [(r["Key"], r["Value"]) for r in records] == [("item", "book")]
