"""samlidp fixtures: the Identity Center instance fixtures, and the server's store and KEK opened in the
test process (to read what the server keeps)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ostiary.crypto.secrets import SecretBox, load_or_create_kek
from ostiary.store.db import Store
from tests.conftest import Server
from tests.ssoadmin.conftest import instance  # noqa: F401 - the session's shared instance fixture


@pytest.fixture
def store(server: Server) -> Iterator[Store]:
    opened = Store(server.database_url)
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def box(server: Server) -> SecretBox:
    return SecretBox(load_or_create_kek("", server.data_dir))
