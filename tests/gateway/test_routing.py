"""Route selection (API Gateway HTTP APIs' "Routing API requests") and the configuration file's
errors: in process, no server."""

from __future__ import annotations

from pathlib import Path

import pytest

from ostiary.gateway import config, routing

UP = "http://127.0.0.1:9"


def _cfg(*keys: str) -> config.GatewayConfig:
    return config.parse({"routes": [{"route": k, "upstream": UP} for k in keys]})


def test_aws_documented_precedence() -> None:
    cfg = _cfg("GET /pets/dog/1", "GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}", "$default")
    cases = {
        ("GET", "/pets/dog/1"): ("GET /pets/dog/1", {}),
        ("GET", "/pets/dog/2"): ("GET /pets/dog/{id}", {"id": "2"}),
        ("GET", "/pets/cat/1"): ("GET /pets/{proxy+}", {"proxy": "cat/1"}),
        ("POST", "/pets/dog/1"): ("ANY /{proxy+}", {"proxy": "pets/dog/1"}),
        ("POST", "/"): ("$default", {}),
    }
    for (method, path), (key, params) in cases.items():
        got = routing.match(cfg, method, path)
        assert got is not None
        assert (got.route.key, dict(got.path_parameters)) == (key, params), (method, path)


def test_method_beats_any_and_param_beats_greedy() -> None:
    cfg = _cfg("ANY /a/{x}", "GET /a/{x}", "GET /a/{p+}", "GET /{x}/{y}/{z}", "GET /a/b/{rest+}")
    assert routing.match(cfg, "GET", "/a/1").route.key == "GET /a/{x}"  # type: ignore[union-attr]
    assert routing.match(cfg, "DELETE", "/a/1").route.key == "ANY /a/{x}"  # type: ignore[union-attr]
    assert routing.match(cfg, "GET", "/a/1/2").route.key == "GET /a/{p+}"  # type: ignore[union-attr]
    # the leftmost difference decides: a literal "b" beats {y} even though {rest+} is greedy
    assert routing.match(cfg, "GET", "/a/b/c").route.key == "GET /a/b/{rest+}"  # type: ignore[union-attr]
    assert routing.match(cfg, "GET", "/z/b/c").route.key == "GET /{x}/{y}/{z}"  # type: ignore[union-attr]


def test_no_route_is_none_and_greedy_needs_a_segment() -> None:
    cfg = _cfg("GET /pets/{proxy+}", "GET /pets/{id}/toys")
    assert routing.match(cfg, "GET", "/pets") is None
    assert routing.match(cfg, "GET", "/pets/") is None
    assert routing.match(cfg, "POST", "/pets/1") is None
    assert routing.match(cfg, "GET", "//toys") is None  # an empty segment is no {id}
    assert routing.match(cfg, "GET", "no-slash") is None


def test_parameters_decoded_and_encoded_slash_is_one_segment() -> None:
    cfg = _cfg("GET /f/{name}", "GET /g/{p+}")
    got = routing.match(cfg, "GET", "/f/a%20b%2Fc")
    assert got is not None and got.path_parameters == {"name": "a b/c"}
    got = routing.match(cfg, "GET", "/g/x/%7E")
    assert got is not None and got.path_parameters == {"p": "x/~"}


def test_bounded_on_a_deep_path() -> None:
    cfg = _cfg("GET /{p+}")
    assert routing.match(cfg, "GET", "/a" * 100_000) is None  # refused, not walked


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"routes": [{"route": "GET /x", "upstream": "ftp://a"}]}, "routes[0].upstream"),
        ({"gateway": {"listen": "nope"}, "routes": []}, "gateway.listen"),
        ({"gateway": {"listne": "127.0.0.1:1"}}, "gateway: unknown key listne"),
        ({"routes": [{"route": "GET /{a+}/b", "upstream": UP}]}, "must be the last segment"),
        ({"routes": [{"route": "FETCH /a", "upstream": UP}]}, "routes[0].route"),
        ({"routes": [{"route": "GET /a", "upstream": UP, "authorizer": "u"}]}, "no authorizer named 'u'"),
        ({"routes": [{"route": "GET /a", "upstream": UP, "authorization_scopes": ["s"]}]}, "scopes need"),
        ({"authorizers": {"u": {"type": "magic"}}, "routes": []}, "authorizers.u.type"),
        ({"routes": [{"route": "GET /a/{x}", "upstream": UP}, {"route": "GET /a/{y}", "upstream": UP}]}, "twice"),
        ({"routes": [{"route": "GET /a", "upstream": UP, "timeout": 3}]}, "routes[0]: unknown key timeout"),
        ({"gateway": {"account_id": "12"}, "routes": []}, "gateway.account_id"),
        ({"gateway": {"trusted_proxies": ["x"]}, "routes": []}, "gateway.trusted_proxies"),
        ({}, "nothing to serve"),
    ],
)
def test_errors_name_the_key(doc: dict[str, object], message: str) -> None:
    with pytest.raises(config.ConfigError) as err:
        config.parse(doc)
    assert message in str(err.value)


def test_load_reads_toml(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(
        '[gateway]\nlisten = "[::1]:8081"\ntrusted_proxies = ["10.0.0.0/8"]\n'
        '[[routes]]\nroute = "GET /x"\nupstream = "http://127.0.0.1:9/base"\n'
    )
    cfg = config.load(path)
    assert (cfg.gateway.listen.host, cfg.gateway.listen.port) == ("::1", 8081)
    assert cfg.gateway.trusts("10.1.2.3") and not cfg.gateway.trusts("127.0.0.1")
    path.write_text("[gateway\n")
    with pytest.raises(config.ConfigError, match="not valid TOML"):
        config.load(path)
