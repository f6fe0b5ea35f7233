"""One registry: every model operation maps to its function or to "not implemented".

Service modules register handlers with ``@operation("cognito-idp", "CreateUserPool")``.
``docs/compatibility.md`` is generated from this registry (``ostiary compat``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ostiary.protocol.context import RequestContext

Params = dict[str, Any]
Result = dict[str, Any] | None
Handler = Callable[[RequestContext, Params], Result]
ResourceFn = Callable[[RequestContext, Params], str]

# modules that register operations; imported once by load_handlers()
HANDLER_MODULES = (
    "ostiary.userpools.pools",
    "ostiary.userpools.clients",
    "ostiary.userpools.mfa",
    "ostiary.userpools.devices",
    "ostiary.userpools.tags",
    "ostiary.userpools.users",
    "ostiary.userpools.user_search",  # ListUsers
    "ostiary.userpools.groups",
    "ostiary.userpools.signin",  # InitiateAuth, RespondToAuthChallenge and their Admin variants
    "ostiary.userpools.signin.refresh",  # GetTokensFromRefreshToken, RevokeToken, the sign-outs
    "ostiary.userpools.selfservice",
    "ostiary.userpools.domains",
    "ostiary.userpools.resource_servers",
    "ostiary.userpools.ui_customization",
    "ostiary.userpools.managed_login",  # managed login branding (issue 17)
    "ostiary.userpools.client_tokens",  # GetClientToken
    "ostiary.userpools.token_exchange",  # GetDerivedToken (RFC 8693)
    "ostiary.userpools.identity_providers",
    "ostiary.userpools.federated_users",
    "ostiary.userpools.saml_signing",
    "ostiary.userpools.passkeys",
    "ostiary.userpools.user_import",
    "ostiary.userpools.terms",
    "ostiary.userpools.threat_protection",
    "ostiary.userpools.log_delivery",  # SetLogDeliveryConfiguration, GetLogDeliveryConfiguration
    "ostiary.userpools.sessions",
    "ostiary.userpools.recovery",  # point-in-time recovery (issue 17)
    "ostiary.userpools.replicas",  # user pool replicas (issue 17)
    "ostiary.userpools.provisioned_limits",  # GetProvisionedLimit, UpdateProvisionedLimit
    "ostiary.userpools.cimd",  # the CIMD policies and client metadata URLs
    "ostiary.sts.service",
    "ostiary.iam.users",
    "ostiary.iam.roles",
    "ostiary.iam.groups",
    "ostiary.iam.managed",
    "ostiary.iam.tagging",
    "ostiary.iam.providers",
    "ostiary.iam.mfa",
    "ostiary.iam.instance_profiles",
    "ostiary.iam.account_settings",
    "ostiary.iam.login_profiles",
    "ostiary.iam.simulate",
    "ostiary.iam.authorization_details",
    "ostiary.iam.certificates",
    "ostiary.iam.service_credentials",
    "ostiary.iam.credential_report",
    "ostiary.sts.federated",
    "ostiary.identitypools.pools",
    "ostiary.identitypools.identities",
    "ostiary.identitypools.credentials",
    "ostiary.audit.lookup",  # cloudtrail LookupEvents (audit events)
    # issue 14 (IAM Identity Center, Organizations): each package imports its operation modules
    "ostiary.organizations",
    "ostiary.identitystore",
    "ostiary.ssoadmin",
    "ostiary.ssooidc",
    "ostiary.ssoportal",
    "ostiary.cognitosync",  # issue 17: Cognito Sync (rest-json); also its identity-merge hook
    "ostiary.samlidp",  # no operations: hands sso-admin the instance's SAML IdP metadata (provisioning)
)

# IAM's action prefix of a service whose botocore name is not its prefix (sso-admin's actions are
# ``sso:CreateInstance``…; identitystore and organizations use their own names)
ACTION_PREFIX = {"sso-admin": "sso"}


@dataclass(frozen=True)
class Operation:
    service: str
    name: str
    func: Handler
    resource: ResourceFn | None
    action: str
    authorize: bool
    offload: bool | Callable[[bytes], bool]


_REGISTRY: dict[tuple[str, str], Operation] = {}


def operation(
    service: str,
    name: str,
    *,
    resource: ResourceFn | None = None,
    action: str | None = None,
    authorize: bool = True,
    offload: bool | Callable[[bytes], bool] = False,
) -> Callable[[Handler], Handler]:
    """Register ``func`` as the implementation of ``service:name``.

    ``resource`` gives the ARN the IAM check is made against (default: the service's resolver);
    ``action`` overrides the IAM action name (default ``<signing prefix>:<name>``);
    ``authorize=False`` for the few operations AWS documents as needing no permission;
    ``offload=True`` for CPU-heavy operations (password hashing, SRP), run off the event loop — or a
    predicate on the raw request body when only some requests of an operation are heavy.
    """

    def deco(func: Handler) -> Handler:
        key = (service, name)
        if key in _REGISTRY:
            raise RuntimeError(f"{service}:{name} registered twice")
        iam_action = action or f"{ACTION_PREFIX.get(service, service)}:{name}"
        _REGISTRY[key] = Operation(service, name, func, resource, iam_action, authorize, offload)
        return func

    return deco


def load_handlers() -> None:
    for module in HANDLER_MODULES:
        importlib.import_module(module)


def lookup(service: str, name: str) -> Operation | None:
    return _REGISTRY.get((service, name))


def implemented(service: str) -> dict[str, Operation]:
    return {name: op for (svc, name), op in _REGISTRY.items() if svc == service}
