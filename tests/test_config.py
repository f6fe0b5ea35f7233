"""Settings precedence: defaults < TOML file < OSTIARY_* environment < explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from ostiary.config import describe, load_settings


def test_defaults() -> None:
    s = load_settings(environ={})
    assert s.port == 4590 and s.host == "127.0.0.1" and s.workers == 1 and s.dev is False
    assert s.effective_database_url.startswith("sqlite:///") and s.effective_database_url.endswith("ostiary.db")


def test_precedence(tmp_path: Path) -> None:
    cfg = tmp_path / "o.toml"
    cfg.write_text('[ostiary]\nport = 5000\nregion = "eu-west-1"\ndev = true\n')
    env = {"OSTIARY_CONFIG_FILE": str(cfg), "OSTIARY_PORT": "6000"}
    s = load_settings(environ=env)
    assert (s.port, s.region, s.dev) == (6000, "eu-west-1", True)
    s = load_settings({"port": 7000}, environ=env)
    assert s.port == 7000


def test_bad_values_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="port"):
        load_settings(environ={"OSTIARY_PORT": "many"})
    cfg = tmp_path / "o.toml"
    cfg.write_text("[ostiary]\nprot = 1\n")
    with pytest.raises(ValueError, match="unknown settings"):
        load_settings(environ={"OSTIARY_CONFIG_FILE": str(cfg)})


def test_describe_masks_secrets() -> None:
    s = load_settings(environ={"OSTIARY_ROOT_SECRET_ACCESS_KEY": "abc", "OSTIARY_KEK": "xyz"})
    d = describe(s)
    assert d["root_secret_access_key"] == "***" and d["kek"] == "***"


def test_every_setting_is_documented() -> None:
    import dataclasses

    from ostiary.config import Settings

    doc = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    for f in dataclasses.fields(Settings):
        assert f"`{f.name}`" in doc, f"{f.name} missing from docs/configuration.md"
        assert f"OSTIARY_{f.name.upper()}" in doc
