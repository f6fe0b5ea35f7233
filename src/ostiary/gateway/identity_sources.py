"""Identity sources: where an authorizer finds the caller's token in a request.

API Gateway's two spellings are both accepted:

- HTTP APIs: ``$request.header.<name>``, ``$request.querystring.<name>``, ``$context.<variable>``,
  ``$stageVariables.<name>`` (a gateway has no stage variables: always absent);
- REST APIs: ``method.request.header.<name>``, ``method.request.querystring.<name>``,
  ``context.<variable>``, ``stageVariables.<name>``.

A header named more than once is read as its values joined with ``,`` (API Gateway's HTTP API
payload 2.0 does the same); a query parameter named more than once likewise.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from ostiary.gateway.model import AuthRequest
from ostiary.gateway.sections import ConfigError

_PREFIXES = {
    "$request.header.": "header",
    "method.request.header.": "header",
    "$request.querystring.": "querystring",
    "method.request.querystring.": "querystring",
    "$context.": "context",
    "context.": "context",
    "$stageVariables.": "stage",
    "stageVariables.": "stage",
}
_CONTEXT = ("apiId", "stage", "httpMethod", "routeKey", "path", "requestId", "domainName", "identity.sourceIp")


@dataclass(frozen=True, slots=True)
class IdentitySource:
    expression: str
    kind: str  # header | querystring | context | stage
    name: str  # lower case for headers

    def value(self, request: AuthRequest, request_id: str = "") -> str | None:
        """The value this source names in ``request``, or None when it is absent or empty."""
        if self.kind == "header":
            values = [v for k, v in request.headers if k == self.name]
            joined = ",".join(values)
            return joined or None
        if self.kind == "querystring":
            found = [v for k, v in parse_qsl(request.raw_query, keep_blank_values=True) if k == self.name]
            joined = ",".join(found)
            return joined or None
        if self.kind == "context":
            value = {
                "apiId": request.api_id,
                "stage": request.stage,
                "httpMethod": request.method,
                "routeKey": request.route_key,
                "path": request.path,
                "requestId": request_id,
                "domainName": request.host,
                "identity.sourceIp": request.source_ip,
            }.get(self.name, "")
            return value or None
        return None


def parse(expression: str, where: str = "identity_source") -> IdentitySource:
    """One identity source expression; a ConfigError naming ``where`` when it is not one."""
    for prefix, kind in _PREFIXES.items():
        if expression.startswith(prefix):
            name = expression[len(prefix) :]
            if not name or len(name) > 256:
                break
            if kind == "context" and name not in _CONTEXT:
                raise ConfigError(f"{where}: unsupported context variable {name!r} (one of {', '.join(_CONTEXT)})")
            return IdentitySource(expression, kind, name.lower() if kind == "header" else name)
    raise ConfigError(
        f"{where}: {expression!r} is not an identity source ($request.header.<name>, "
        "$request.querystring.<name>, $context.<variable>, or method.request.header.<name>)"
    )


def parse_list(expressions: tuple[str, ...] | str, where: str = "identity_source") -> tuple[IdentitySource, ...]:
    """Several sources: a list, or one comma-separated string (API Gateway's ``IdentitySource``)."""
    items = [e.strip() for e in expressions.split(",")] if isinstance(expressions, str) else list(expressions)
    return tuple(parse(item, where) for item in items if item)
