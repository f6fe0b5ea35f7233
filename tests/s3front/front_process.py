"""Run the S3 front alone from a gateway file's ``[s3]`` section: ``python -m tests.s3front.front_process FILE``.

The tests' stand-in for ``ostiary gateway --config FILE`` while it does not serve ``[s3]`` yet: the
same ``s3front.config.parse`` and ``s3front.app.build_app``, served by uvicorn on ``[s3] listen``, with
Ostiary's settings from the environment (OSTIARY_DATA_DIR: the KEK) and ``[gateway] database_url``.
"""

from __future__ import annotations

import logging
import sys
import tomllib
from dataclasses import dataclass

import uvicorn

from ostiary.config import Settings, load_settings
from ostiary.observability import setup_logging
from ostiary.s3front.app import build_app
from ostiary.s3front.config import parse
from ostiary.store.db import Store


@dataclass(frozen=True)
class Env:
    settings: Settings
    store: Store | None


def main(path: str) -> None:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    settings = load_settings({"database_url": data["gateway"]["database_url"]})
    setup_logging(settings.log_format, settings.log_level)
    for name in ("httpx", "httpcore"):  # as gateway/server.py: one line per upstream request is noise
        logging.getLogger(name).setLevel(logging.WARNING)
    store = Store(settings.effective_database_url)
    config = parse(data["s3"])
    app = build_app(config, Env(settings, store))
    # as gateway/server.py serves it: X-Forwarded-* never rewrite the peer's address (aws:SourceIp)
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning", lifespan="on", proxy_headers=False)
    store.engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
