"""The headers that tell the upstream who the caller is, the way API Gateway exposes
``$context.authorizer.claims``, ``$context.authorizer.<key>`` and ``$context.identity``.

Sent upstream (and by the forward-auth endpoints to nginx, Traefik and Envoy):

==============================================  ================================================
``X-Authorizer-Name``                           the authorizer that allowed the request
``X-Authorizer-Principal-Id``                   the principal (``sub`` of a token; a Lambda-style
                                                authorizer's ``principalId``; an IAM caller's ARN)
``X-Authorizer-Claims``                         every claim of the token, one JSON object (ASCII:
                                                non-ASCII characters as ``\\uXXXX`` escapes)
``X-Authorizer-Claim-<name>``                   each claim whose value is a string, number or
                                                boolean (a list of strings: joined with ``,``),
                                                its name with every character other than a
                                                letter, digit or ``-`` written ``-``
                                                (``cognito:username`` → ``X-Authorizer-Claim-cognito-username``)
``X-Authorizer-Scopes``                         the token's scopes, space-separated
``X-Authorizer-Context`` / ``-Context-<key>``   a Lambda-style authorizer's ``context``
``X-Authorizer-Identity`` / ``-Identity-<key>``  IAM authorization's ``$context.identity``
``X-Amzn-RequestId``                            ``$context.requestId`` (the client gets it as
                                                ``apigw-requestid``)
==============================================  ================================================

A client never chooses these: :func:`strip` removes every client-sent header named
``X-Authorizer-…`` (the whole prefix, any suffix), ``X-Amzn-RequestId`` and ``apigw-requestid``
before anything is added, on every route, authorized or not. A value that cannot travel in a header
as it is (a control character, a non-ASCII character, longer than 4096 characters) is left out of
the per-claim headers; the JSON headers carry everything (escaped). At most 64 per-name headers
each for claims, context and identity.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ostiary.gateway.model import Decision

PREFIX = "x-authorizer-"
REQUEST_ID = "x-amzn-requestid"
CLIENT_REQUEST_ID = "apigw-requestid"
_RESERVED = frozenset({REQUEST_ID, CLIENT_REQUEST_ID})
MAX_VALUE = 4096
MAX_NAMED = 64
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9-]")
_SAFE_VALUE = re.compile(r"^[\x20-\x7e]*$")


def is_reserved(name: str) -> bool:
    """A header name (lower case) only the gateway may set."""
    return name.startswith(PREFIX) or name in _RESERVED


def strip(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` (lower-case names) without any the gateway reserves."""
    return [(k, v) for k, v in headers if not is_reserved(k)]


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, default=str)


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = str(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        text = ",".join(value)
    else:
        return None
    if len(text) > MAX_VALUE or not _SAFE_VALUE.match(text):
        return None
    return text


def _named(prefix: str, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, value in values.items():
        if len(out) >= MAX_NAMED:
            break
        name = prefix + _UNSAFE_NAME.sub("-", str(key)).lower()[:128]
        text = _scalar(value)
        if text is None or name in seen:
            continue
        seen.add(name)
        out.append((name, text))
    return out


def for_decision(decision: Decision, authorizer_name: str | None) -> list[tuple[str, str]]:
    """The headers (lower-case names) describing an allowed request's caller."""
    out: list[tuple[str, str]] = []
    if authorizer_name:
        out.append((PREFIX + "name", authorizer_name))
    if decision.principal_id and _scalar(decision.principal_id) is not None:
        out.append((PREFIX + "principal-id", decision.principal_id))
    if decision.claims:
        out.append((PREFIX + "claims", _json(dict(decision.claims))))
        out.extend(_named(PREFIX + "claim-", decision.claims))
    scopes = _scalar(" ".join(decision.scopes)) if decision.scopes else None
    if scopes:
        out.append((PREFIX + "scopes", scopes))
    if decision.context:
        out.append((PREFIX + "context", _json(dict(decision.context))))
        out.extend(_named(PREFIX + "context-", decision.context))
    if decision.identity:
        out.append((PREFIX + "identity", _json(dict(decision.identity))))
        out.extend(_named(PREFIX + "identity-", decision.identity))
    return out
