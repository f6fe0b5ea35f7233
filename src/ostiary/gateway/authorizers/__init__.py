"""The gateway's authorizers, one module per kind; ``KINDS`` maps a section's ``type`` to the
function that reads that section and builds the authorizer:
``build(name, section, env) -> Authorizer`` (raising ``sections.ConfigError`` naming the key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ostiary.gateway.authorizers import cognito, iam, jwt, lambda_style
from ostiary.gateway.model import Authorizer, GatewayEnv

Builder = Callable[[str, Mapping[str, Any], GatewayEnv], Authorizer]

KINDS: dict[str, Builder] = {
    "jwt": jwt.build,
    "cognito": cognito.build,
    "iam": iam.build,
    "token": lambda_style.build,
    "request": lambda_style.build,
}
