"""Resource servers through boto3, and custom scopes on app clients."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import REGION


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


SCOPES = [
    {"ScopeName": "read", "ScopeDescription": "Read access"},
    {"ScopeName": "write", "ScopeDescription": "Write access"},
]


def test_lifecycle(idp: Any, pool: dict[str, Any]) -> None:
    pid = pool["Id"]
    created = idp.create_resource_server(
        UserPoolId=pid, Identifier="https://api.example.com", Name="Weather API", Scopes=SCOPES
    )["ResourceServer"]
    assert created == {
        "UserPoolId": pid,
        "Identifier": "https://api.example.com",
        "Name": "Weather API",
        "Scopes": SCOPES,
    }
    assert idp.describe_resource_server(UserPoolId=pid, Identifier="https://api.example.com")["ResourceServer"] == (
        created
    )
    updated = idp.update_resource_server(
        UserPoolId=pid, Identifier="https://api.example.com", Name="Renamed", Scopes=SCOPES[:1]
    )["ResourceServer"]
    assert updated["Name"] == "Renamed" and updated["Scopes"] == SCOPES[:1]
    cleared = idp.update_resource_server(UserPoolId=pid, Identifier="https://api.example.com", Name="Renamed")
    assert cleared["ResourceServer"]["Scopes"] == []
    no_scopes = idp.create_resource_server(UserPoolId=pid, Identifier="plain", Name="plain")["ResourceServer"]
    assert no_scopes["Scopes"] == []
    idp.delete_resource_server(UserPoolId=pid, Identifier="https://api.example.com")
    for call in (idp.describe_resource_server, idp.delete_resource_server):
        with pytest.raises(ClientError) as exc:
            call(UserPoolId=pid, Identifier="https://api.example.com")
        assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        idp.update_resource_server(UserPoolId=pid, Identifier="https://api.example.com", Name="x")
    assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        idp.list_resource_servers(UserPoolId=f"{REGION}_doesNotEx", MaxResults=10)
    assert _code(exc) == "ResourceNotFoundException"


def test_validation(idp: Any, pool: dict[str, Any]) -> None:
    pid = pool["Id"]
    idp.create_resource_server(UserPoolId=pid, Identifier="api", Name="api", Scopes=SCOPES)
    with pytest.raises(ClientError) as exc:  # the identifier is taken
        idp.create_resource_server(UserPoolId=pid, Identifier="api", Name="again")
    assert _code(exc) == "InvalidParameterException"
    bad_scopes: list[list[dict[str, str]]] = [
        [{"ScopeName": "a/b", "ScopeDescription": "slash"}],
        [{"ScopeName": "has space", "ScopeDescription": "space"}],
        [{"ScopeName": "dup", "ScopeDescription": "1"}, {"ScopeName": "dup", "ScopeDescription": "2"}],
        [{"ScopeName": f"s{i}", "ScopeDescription": "d"} for i in range(101)],
    ]
    for scopes in bad_scopes:
        with pytest.raises(ClientError) as exc:
            idp.create_resource_server(UserPoolId=pid, Identifier="other", Name="other", Scopes=scopes)
        assert _code(exc) in ("InvalidParameterException", "LimitExceededException")
    with pytest.raises(ClientError) as exc:  # the model's Name pattern
        idp.create_resource_server(UserPoolId=pid, Identifier="other", Name="bad<name>")
    assert _code(exc) == "InvalidParameterException"
    hundred = [{"ScopeName": f"s{i}", "ScopeDescription": "d"} for i in range(100)]
    assert (
        len(
            idp.create_resource_server(UserPoolId=pid, Identifier="big", Name="big", Scopes=hundred)["ResourceServer"][
                "Scopes"
            ]
        )
        == 100
    )


def test_list_paginates_and_limit(idp: Any, pool: dict[str, Any]) -> None:
    pid = pool["Id"]
    names = [f"api-{i:02d}" for i in range(25)]
    for name in names:
        idp.create_resource_server(UserPoolId=pid, Identifier=name, Name=name)
    with pytest.raises(ClientError) as exc:  # 25 per pool
        idp.create_resource_server(UserPoolId=pid, Identifier="one-too-many", Name="x")
    assert _code(exc) == "LimitExceededException"
    seen: list[str] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"UserPoolId": pid, "MaxResults": 10}
        if token:
            kwargs["NextToken"] = token
        page = idp.list_resource_servers(**kwargs)
        assert len(page["ResourceServers"]) <= 10
        seen += [r["Identifier"] for r in page["ResourceServers"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == names
    paginated = [
        r["Identifier"]
        for p in idp.get_paginator("list_resource_servers").paginate(UserPoolId=pid, MaxResults=7)
        for r in p["ResourceServers"]
    ]
    assert paginated == names
    with pytest.raises(ClientError) as exc:
        idp.list_resource_servers(UserPoolId=pid, MaxResults=10, NextToken="garbage!")
    assert _code(exc) == "InvalidParameterException"


def test_custom_scopes_on_clients(idp: Any, pool: dict[str, Any]) -> None:
    pid = pool["Id"]
    idp.create_resource_server(UserPoolId=pid, Identifier="https://api.example.com", Name="api", Scopes=SCOPES)
    with pytest.raises(ClientError) as exc:  # no such resource server
        idp.create_user_pool_client(UserPoolId=pid, ClientName="c", AllowedOAuthScopes=["nope/read"])
    assert _code(exc) == "ScopeDoesNotExistException"
    assert "Invalid scope requested: nope/read" in str(exc.value)
    with pytest.raises(ClientError) as exc:  # no such scope on it
        idp.create_user_pool_client(
            UserPoolId=pid, ClientName="c", AllowedOAuthScopes=["https://api.example.com/delete"]
        )
    assert _code(exc) == "ScopeDoesNotExistException"

    m2m = idp.create_user_pool_client(
        UserPoolId=pid,
        ClientName="m2m",
        GenerateSecret=True,
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=["https://api.example.com/read", "https://api.example.com/write"],
    )["UserPoolClient"]
    assert m2m["AllowedOAuthScopes"] == ["https://api.example.com/read", "https://api.example.com/write"]
    web = idp.create_user_pool_client(
        UserPoolId=pid,
        ClientName="web",
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid", "https://api.example.com/read"],
        CallbackURLs=["https://app.example.com/cb", "http://[::1]:8080/cb", "http://127.0.0.1/cb"],
    )["UserPoolClient"]
    assert "https://api.example.com/read" in web["AllowedOAuthScopes"]
    with pytest.raises(ClientError) as exc:  # the same check on update
        idp.update_user_pool_client(
            UserPoolId=pid, ClientId=web["ClientId"], AllowedOAuthScopes=["https://api.example.com/admin"]
        )
    assert _code(exc) == "ScopeDoesNotExistException"

    # removing a scope, or the whole resource server, changes no client (as in AWS)
    idp.update_resource_server(UserPoolId=pid, Identifier="https://api.example.com", Name="api", Scopes=SCOPES[:1])
    kept = idp.describe_user_pool_client(UserPoolId=pid, ClientId=m2m["ClientId"])["UserPoolClient"]
    assert "https://api.example.com/write" in kept["AllowedOAuthScopes"]
    idp.delete_resource_server(UserPoolId=pid, Identifier="https://api.example.com")
    kept = idp.describe_user_pool_client(UserPoolId=pid, ClientId=web["ClientId"])["UserPoolClient"]
    assert "https://api.example.com/read" in kept["AllowedOAuthScopes"]
    # but a client cannot be saved with them again
    with pytest.raises(ClientError) as exc:
        idp.update_user_pool_client(
            UserPoolId=pid, ClientId=web["ClientId"], AllowedOAuthScopes=kept["AllowedOAuthScopes"]
        )
    assert _code(exc) == "ScopeDoesNotExistException"


def test_client_redirect_rules(idp: Any, pool: dict[str, Any]) -> None:
    pid = pool["Id"]
    for urls in (["http://example.com/cb"], ["https://app.example.com/cb#frag"], ["/relative"], ["https:///x"]):
        with pytest.raises(ClientError) as exc:
            idp.create_user_pool_client(UserPoolId=pid, ClientName="c", CallbackURLs=urls)
        assert _code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_client(
            UserPoolId=pid,
            ClientName="c",
            CallbackURLs=["https://a.example.com/cb"],
            DefaultRedirectURI="https://b.example.com/cb",
        )
    assert _code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_client(
            UserPoolId=pid,
            ClientName="c",
            AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthFlows=["code", "code"],
            AllowedOAuthScopes=["openid"],
            CallbackURLs=["https://a.example.com/cb"],
        )
    assert _code(exc) == "InvalidParameterException"
