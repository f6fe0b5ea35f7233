"""What an operation handler receives besides its input."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ostiary.config import Settings
from ostiary.crypto.keys import KeyRing
from ostiary.crypto.passwords import PasswordHasher
from ostiary.crypto.secrets import SecretBox
from ostiary.iam.principals import Principal
from ostiary.store.db import Store


@dataclass
class Runtime:
    """Process-wide parts built once at start-up."""

    settings: Settings
    store: Store
    box: SecretBox
    keys: KeyRing
    passwords: PasswordHasher


@dataclass
class RequestContext:
    runtime: Runtime
    request_id: str
    service: str
    operation: str
    region: str
    principal: Principal | None
    source_ip: str
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def store(self) -> Store:
        return self.runtime.store

    @property
    def box(self) -> SecretBox:
        return self.runtime.box

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def keys(self) -> KeyRing:
        return self.runtime.keys

    @property
    def passwords(self) -> PasswordHasher:
        return self.runtime.passwords

    @property
    def account_id(self) -> str:
        """The calling account (signed calls only)."""
        if self.principal is None:
            raise RuntimeError(f"{self.operation} needs a signed caller")
        return self.principal.account_id
