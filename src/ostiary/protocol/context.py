"""What an operation handler receives besides its input."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ostiary.access.principals import Principal
from ostiary.config import Settings
from ostiary.crypto.keys import KeyRing
from ostiary.crypto.passwords import PasswordHasher
from ostiary.crypto.secrets import SecretBox
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
    # What a Cognito operation hands the Lambda triggers it fires (ostiary.userpools.triggers), set from
    # the request by the operation's decorator, triggers.with_client_metadata / with_validation_data:
    client_metadata: dict[str, str] = field(default_factory=dict)
    """ClientMetadata as the triggers' ``request.clientMetadata`` ({} for InitiateAuth: see below)."""
    validation_data: dict[str, str] | None = None
    """InitiateAuth's ClientMetadata: ``request.validationData`` of PreAuthentication and UserMigration."""
    app_client_id: str | None = None
    """The request's ClientId: ``callerContext.clientId`` of a trigger fired without a client of its own."""
    triggers_fired: set[str] | None = None
    """Triggers that fire once per request and have (PreAuthentication); None outside such an operation."""
    token_source: str | None = None
    """PreTokenGeneration's ``triggerSource`` for the tokens a flow mints, when not the default."""
    user_agent: str | None = None
    """The request's User-Agent (audit events: from where)."""
    hosted_ui: bool = False
    """A call the hosted UI makes on a browser's behalf (oauth/service_calls.py): its sign-in steps are
    audited as CloudTrail's ``Login``, whichever user-pool operation it runs."""
    risk: object | None = None
    """A user-pool sign-in's adaptive-authentication state (ostiary.userpools.risk.adaptive: the
    request's contextual data, then its assessment), read by the later steps of the same request."""
    audited: bool = False
    """An audit event of this request has committed (ostiary.audit.recorder): the dispatcher records
    no failure event of its own."""

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
