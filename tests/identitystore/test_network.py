"""UpdateIdentityStore's network configuration, enforced as AWS documents it: the VPC endpoint
requirement (no request reaches Ostiary through one) with ApiAllowSourceIps as the exception, the
SCIM allow-list, and the store's own configuration operations left open to its owner."""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.identitystore.conftest import make_user, new_instance
from tests.identitystore.scim_helpers import new_token


def test_network_configuration(server: Server) -> None:
    inst = new_instance(server)
    ids = inst.client("identitystore")
    store = inst.identity_store_id
    _, token = new_token(server, store)
    scim_url = f"{server.url}/scim/{store}/v2/Users"

    def scim_status() -> int:
        return httpx.get(scim_url, headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code

    assert "NetworkConfiguration" not in ids.describe_identity_store(IdentityStoreId=store)
    out = ids.update_identity_store(
        IdentityStoreId=store,
        NetworkConfiguration={"VpceAccessRequired": True, "ScimAllowSourceIps": ["0.0.0.0/0"]},
    )
    assert out["IdentityStoreArn"] == f"arn:aws:identitystore::{inst.account_id}:identitystore/{store}"
    assert ids.describe_identity_store(IdentityStoreId=store)["NetworkConfiguration"] == {
        "VpceAccessRequired": True,
        "ScimAllowSourceIps": ["0.0.0.0/0"],
    }
    # the API needs a VPC endpoint now; SCIM from anywhere still works
    with pytest.raises(ClientError) as exc:
        ids.list_users(IdentityStoreId=store)
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    assert scim_status() == 200

    # loopback is an allowed source: the API works again; SCIM limited to another range is refused
    ids.update_identity_store(
        IdentityStoreId=store,
        NetworkConfiguration={
            "VpceAccessRequired": True,
            "ApiAllowSourceIps": ["127.0.0.0/8"],
            "ScimAllowSourceIps": ["203.0.113.0/24"],
        },
    )
    make_user(ids, store)
    assert scim_status() == 403

    # a full replacement: omitted lists are cleared; without the VPC requirement everything is open
    ids.update_identity_store(IdentityStoreId=store, NetworkConfiguration={"VpceAccessRequired": False})
    assert ids.describe_identity_store(IdentityStoreId=store)["NetworkConfiguration"] == {"VpceAccessRequired": False}
    assert len(ids.list_users(IdentityStoreId=store)["Users"]) == 1
    assert scim_status() == 200

    with pytest.raises(ClientError) as exc:
        ids.update_identity_store(
            IdentityStoreId=store,
            NetworkConfiguration={"VpceAccessRequired": True, "ApiAllowSourceIps": ["1.2.3.4/40"]},
        )
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    other = new_instance(server)
    with pytest.raises(ClientError) as exc:
        other.client("identitystore").update_identity_store(
            IdentityStoreId=store, NetworkConfiguration={"VpceAccessRequired": False}
        )
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
