"""IAM Identity Center's identity context assertion: what CreateTokenWithIAM hands out as
``awsAdditionalDetails.identityContext`` (and the ID token's ``sts:identity_context`` claim) and STS
reads back from AssumeRole's ``ProvidedContexts`` (provider ``arn:aws:iam::aws:contextProvider/IdentityCenter``)
to make an identity-enhanced role session.

AWS's assertion is "signed and encrypted by STS", opaque to its holder; Ostiary's is the user, identity
store, instance, application and expiry sealed under the server's key (``SecretBox``: AES-GCM, its
context string binding the purpose), so only Ostiary reads it and no holder can alter it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag

from ostiary.crypto.secrets import SecretBox

PROVIDER_ARN = "arn:aws:iam::aws:contextProvider/IdentityCenter"
_CONTEXT = "sso:identity-context"
MAX_ASSERTION = 3072  # STS's contextAssertionType


@dataclass(frozen=True)
class IdentityContext:
    user_id: str
    identity_store_id: str
    identity_store_arn: str
    instance_arn: str
    application_arn: str
    expires: int  # epoch seconds


def seal(box: SecretBox, context: IdentityContext) -> str:
    payload = {
        "u": context.user_id,
        "s": context.identity_store_id,
        "sa": context.identity_store_arn,
        "i": context.instance_arn,
        "a": context.application_arn,
        "e": context.expires,
    }
    return box.seal(json.dumps(payload, separators=(",", ":")), _CONTEXT)


def open_assertion(box: SecretBox, assertion: str) -> IdentityContext | None:
    """The context an assertion carries (its expiry unchecked), or None when Ostiary did not seal it."""
    if not assertion or len(assertion) > MAX_ASSERTION:
        return None
    try:
        data = json.loads(box.open(assertion, _CONTEXT))
        return IdentityContext(
            str(data["u"]), str(data["s"]), str(data["sa"]), str(data["i"]), str(data["a"]), int(data["e"])
        )
    except (ValueError, KeyError, TypeError, InvalidTag):
        return None
