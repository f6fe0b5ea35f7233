"""Route selection, as API Gateway's HTTP APIs do it ("Routing API requests" in the developer guide).

A route key is ``METHOD /path`` (``ANY`` for every method) or ``$default``. A path segment is a
literal, a path variable ``{name}`` (one whole segment) or, last only, a greedy variable
``{name+}`` (one or more segments). Of the routes whose path and method match, the most specific
wins, segment by segment from the left: a literal beats ``{param}``, which beats ``{proxy+}``; for
the same path a route of the request's method beats ``ANY``; ``$default`` only when nothing else
matches. So with ``GET /pets/dog/1``, ``GET /pets/dog/{id}``, ``GET /pets/{proxy+}``,
``ANY /{proxy+}`` and ``$default``: GET /pets/dog/1 → the first, GET /pets/dog/2 → the second,
GET /pets/cat/1 → the third, POST /pets/dog/1 → the fourth, POST / → ``$default``.

Segments are compared after percent-decoding, and path parameters are handed on decoded (API
Gateway decodes them before they reach the integration). The work per request is bounded: routes
are grouped by segment count (and the greedy ones apart), each group sorted by specificity once at
load, and a request walks at most one group and the greedy routes, stopping at the first match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import unquote

from ostiary.gateway.model import Authorizer
from ostiary.gateway.sections import ConfigError

DEFAULT_ROUTE = "$default"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY")
MAX_ROUTES = 300  # API Gateway's quota of routes per HTTP API
MAX_SEGMENTS = 64
_LITERAL, _PARAM, _GREEDY = 0, 1, 2
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Segment:
    kind: int  # _LITERAL, _PARAM, _GREEDY
    text: str  # the literal (decoded) or the variable's name


@dataclass(frozen=True, slots=True)
class RoutePattern:
    """A parsed route key."""

    key: str  # as written, e.g. "GET /pets/{id}"
    method: str  # GET …, ANY; "" for $default
    segments: tuple[Segment, ...]

    @property
    def is_default(self) -> bool:
        return self.key == DEFAULT_ROUTE

    @property
    def greedy(self) -> bool:
        return bool(self.segments) and self.segments[-1].kind == _GREEDY

    def rank(self) -> tuple[tuple[int, ...], int]:
        """The sort key: smaller is more specific (segment kinds from the left, then method)."""
        return tuple(s.kind for s in self.segments), 1 if self.method == "ANY" else 0


def parse_route_key(key: str, where: str = "route") -> RoutePattern:
    """``METHOD /path`` or ``$default``; a ConfigError naming ``where`` for anything else."""
    key = key.strip()
    if key == DEFAULT_ROUTE:
        return RoutePattern(key, "", ())
    method, _, path = key.partition(" ")
    method, path = method.upper(), path.strip()
    if method not in METHODS:
        raise ConfigError(f"{where}: {key!r}: the method must be one of {', '.join(METHODS)} (or the route $default)")
    if not path.startswith("/"):
        raise ConfigError(f"{where}: {key!r}: the path must start with /")
    parts = path[1:].split("/") if path != "/" else []
    if len(parts) > MAX_SEGMENTS:
        raise ConfigError(f"{where}: {key!r}: more than {MAX_SEGMENTS} path segments")
    segments: list[Segment] = []
    names: set[str] = set()
    for i, part in enumerate(parts):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            greedy = name.endswith("+")
            name = name.rstrip("+")
            if not _NAME.match(name):
                raise ConfigError(f"{where}: {key!r}: bad path variable {part!r}")
            if greedy and i != len(parts) - 1:
                raise ConfigError(f"{where}: {key!r}: a greedy path variable ({part}) must be the last segment")
            if name in names:
                raise ConfigError(f"{where}: {key!r}: path variable {name!r} used twice")
            names.add(name)
            segments.append(Segment(_GREEDY if greedy else _PARAM, name))
        elif "{" in part or "}" in part:
            raise ConfigError(f"{where}: {key!r}: a path variable must be a whole segment ({part!r})")
        else:
            segments.append(Segment(_LITERAL, unquote(part)))
    return RoutePattern(f"{method} {path}", method, tuple(segments))


@dataclass(frozen=True, slots=True)
class Route:
    """One ``[[routes]]`` entry, ready to serve."""

    pattern: RoutePattern
    upstream: str  # the integration URL (see proxy.upstream_url)
    authorizer: Authorizer | None = None
    authorizer_name: str | None = None
    authorization_scopes: tuple[str, ...] = ()
    timeout_seconds: float | None = None  # None: the gateway's

    @property
    def key(self) -> str:
        return self.pattern.key


@dataclass(frozen=True, slots=True)
class RouteMatch:
    route: Route
    path_parameters: Mapping[str, str]


@dataclass(frozen=True)
class RouteTable:
    """Routes grouped for matching (built once at load)."""

    routes: tuple[Route, ...]
    by_length: Mapping[int, tuple[Route, ...]] = field(default_factory=dict)
    greedy: tuple[Route, ...] = ()
    default: Route | None = None

    @classmethod
    def build(cls, routes: Sequence[Route]) -> RouteTable:
        if len(routes) > MAX_ROUTES:
            raise ConfigError(f"routes: at most {MAX_ROUTES} routes")
        seen: set[tuple[str, tuple[tuple[int, str], ...]]] = set()
        by_length: dict[int, list[Route]] = {}
        greedy: list[Route] = []
        default: Route | None = None
        for route in routes:
            p = route.pattern
            # two routes that differ only in their variables' names are the same route
            shape = (p.method, tuple((s.kind, s.text if s.kind == _LITERAL else "") for s in p.segments))
            if shape in seen:
                raise ConfigError(f"routes: {p.key!r} is defined twice (or matches exactly what another route does)")
            seen.add(shape)
            if p.is_default:
                default = route
            elif p.greedy:
                greedy.append(route)
            else:
                by_length.setdefault(len(p.segments), []).append(route)
        order = lambda r: r.pattern.rank()  # noqa: E731
        return cls(
            tuple(routes),
            {n: tuple(sorted(rs, key=order)) for n, rs in by_length.items()},
            tuple(sorted(greedy, key=order)),
            default,
        )


class Routed(Protocol):
    @property
    def routes(self) -> RouteTable: ...


def _split(raw_path: str) -> list[str] | None:
    """The decoded segments of a raw path; None when it is not one (no leading /, too deep)."""
    if not raw_path.startswith("/"):
        return None
    if raw_path == "/":
        return []
    parts = raw_path[1:].split("/", MAX_SEGMENTS * 4)
    if len(parts) > MAX_SEGMENTS * 4:
        return None
    return [unquote(p) for p in parts]


def _fits(pattern: RoutePattern, method: str, parts: list[str]) -> dict[str, str] | None:
    if pattern.method not in ("ANY", method):
        return None
    params: dict[str, str] = {}
    for i, seg in enumerate(pattern.segments):
        if seg.kind == _GREEDY:
            rest = "/".join(parts[i:])
            if not rest:
                return None
            params[seg.text] = rest
            return params
        if i >= len(parts):
            return None
        if seg.kind == _LITERAL:
            if parts[i] != seg.text:
                return None
        else:
            if not parts[i]:
                return None
            params[seg.text] = parts[i]
    return params if len(parts) == len(pattern.segments) else None


def match(config: Routed | RouteTable, method: str, raw_path: str) -> RouteMatch | None:
    """The route a request goes to, with its decoded path parameters; None: 404."""
    table = config if isinstance(config, RouteTable) else config.routes
    parts = _split(raw_path)
    method = method.upper()
    if parts is not None:
        best: RouteMatch | None = None
        for route in table.by_length.get(len(parts), ()):
            params = _fits(route.pattern, method, parts)
            if params is not None:
                best = RouteMatch(route, params)
                break
        for route in table.greedy:
            if best is not None and route.pattern.rank() >= best.route.pattern.rank():
                break  # sorted: no later greedy route is more specific than what matched
            params = _fits(route.pattern, method, parts)
            if params is not None:
                best = RouteMatch(route, params)
                break
        if best is not None:
            return best
    if table.default is not None:
        return RouteMatch(table.default, {})
    return None
