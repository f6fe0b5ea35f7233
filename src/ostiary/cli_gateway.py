"""`ostiary gateway --config FILE`: the gateway (issue 15; docs/gateway.md) in a process of its own.

Registered on the main group by ``register`` (cli.py). The file is read and every authorizer built
before anything listens: a mistake stops the start with a message naming the key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ostiary.config import Settings
from ostiary.gateway import config as gateway_config
from ostiary.gateway import forward_auth, server
from ostiary.observability import setup_logging


def register(main: click.Group, common: Callable[[Any], Any], load: Callable[..., Settings]) -> None:
    @main.command()
    @click.option(
        "--config",
        "config_path",
        required=True,
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="The gateway's TOML configuration (docs/gateway.md).",
    )
    @click.option("--settings", "settings_file", type=click.Path(dir_okay=False), help="Ostiary's TOML settings file.")
    def gateway(config_path: Path, settings_file: str | None) -> None:
        """Run the gateway: API Gateway's authorizers in front of any HTTP backend."""
        settings: Settings | None = load(config_file=settings_file) if settings_file else None
        try:
            loaded = gateway_config.load(config_path, settings=settings)
            if loaded.forward_auth is not None:  # its mistakes too, before anything listens
                forward_auth.parse(loaded.forward_auth)
        except gateway_config.ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        setup_logging(loaded.gateway.log_format, loaded.gateway.log_level)
        max_header = settings.max_header_bytes if settings is not None else loaded.env.settings.max_header_bytes
        server.run(loaded, max_header)
