"""Helpers for Cognito Sync tests: an identity pool wired to a user pool, whose authenticated role
allows Cognito Sync on the caller's own identity only (AWS's example policy, scoped with
``${cognito-identity.amazonaws.com:sub}``), and cognito-sync clients signed with identity credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.conftest import ACCOUNT_ID, REGION, Server, make_client
from tests.identitypools.conftest import Wired, err, wire

OWN_IDENTITY = [
    {
        "Effect": "Allow",
        "Action": "cognito-sync:*",
        "Resource": [
            f"arn:aws:cognito-sync:{REGION}:{ACCOUNT_ID}:identitypool/${{cognito-identity.amazonaws.com:aud}}"
            "/identity/${cognito-identity.amazonaws.com:sub}",
            f"arn:aws:cognito-sync:{REGION}:{ACCOUNT_ID}:identitypool/${{cognito-identity.amazonaws.com:aud}}"
            "/identity/${cognito-identity.amazonaws.com:sub}/*",
        ],
    }
]


@dataclass
class Device:
    """One signed-in user's cognito-sync client (Cognito Identity credentials) and identity."""

    identity_id: str
    sync: Any
    id_token: str


def sync_client(server: Server, creds: dict[str, Any]) -> Any:
    return make_client(
        server.url,
        "cognito-sync",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretKey"],
        aws_session_token=creds["SessionToken"],
    )


def sync_setup(server: Server, statements: list[dict[str, Any]] | None = None, **kw: Any) -> Wired:
    return wire(server, auth_statements=OWN_IDENTITY if statements is None else statements, **kw)


def device(server: Server, w: Wired, username: str | None = None) -> Device:
    """A user signed in (a new one unless ``username`` names one), its identity and a sync client."""
    if username is None:
        _, tokens = w.user()
    else:
        from tests.identitypools.conftest import sign_in

        tokens = sign_in(w.users, username)
    identity = w.identity_for(tokens["IdToken"])
    creds = w.credentials(identity, tokens["IdToken"])["Credentials"]
    return Device(identity, sync_client(server, creds), tokens["IdToken"])


def put(d: Device, pool_id: str, dataset: str, patches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ListRecords for a session token, then UpdateRecords with ``patches``."""
    token = d.sync.list_records(IdentityPoolId=pool_id, IdentityId=d.identity_id, DatasetName=dataset)[
        "SyncSessionToken"
    ]
    out: list[dict[str, Any]] = d.sync.update_records(
        IdentityPoolId=pool_id,
        IdentityId=d.identity_id,
        DatasetName=dataset,
        SyncSessionToken=token,
        RecordPatches=patches,
    )["Records"]
    return out


__all__ = ["ACCOUNT_ID", "REGION", "Device", "device", "err", "put", "sync_client", "sync_setup"]
