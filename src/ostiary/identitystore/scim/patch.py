"""SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's SCIM representation, as Azure AD (Entra ID),
Okta and OneLogin send it: operation names in any case, ``add``/``replace`` without a path (a map of
attributes), value-path filters with a sub-attribute (``emails[type eq "work"].value``, creating the
value when none matches, as Entra ID expects), schema-URN paths (the enterprise extension), boolean
strings (``"False"``). A group's ``members`` are not handled here (service.py turns them into
memberships)."""

from __future__ import annotations

import copy
from typing import Any

from ostiary.identitystore.scim.filters import (
    ENTERPRISE_USER,
    AttrPath,
    Compare,
    FilterError,
    PatchPath,
    get_ci,
    matches,
    parse_path,
)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_OPERATIONS = 100


class PatchError(ValueError):
    """A PATCH request that cannot be applied; ``scim_type`` is SCIM's (invalidPath, noTarget…)."""

    def __init__(self, message: str, scim_type: str = "invalidValue") -> None:
        super().__init__(message)
        self.scim_type = scim_type


def operations(body: Any) -> list[tuple[str, str | None, Any]]:
    """(op, path, value) of a PatchOp request, op lower-cased; malformed requests refused."""
    if not isinstance(body, dict):
        raise PatchError("The request body must be a PatchOp message", "invalidSyntax")
    ops = get_ci(body, "Operations")
    if not isinstance(ops, list) or not ops:
        raise PatchError("Operations must be a non-empty list", "invalidSyntax")
    if len(ops) > MAX_OPERATIONS:
        raise PatchError(f"At most {MAX_OPERATIONS} operations per request", "tooMany")
    out = []
    for op in ops:
        if not isinstance(op, dict):
            raise PatchError("Each operation must be an object", "invalidSyntax")
        name = get_ci(op, "op")
        if not isinstance(name, str) or name.casefold() not in ("add", "replace", "remove"):
            raise PatchError(f"Unknown operation {name!r}", "invalidSyntax")
        path = get_ci(op, "path")
        if path is not None and (not isinstance(path, str) or not path.strip()):
            raise PatchError("path must be a string", "invalidPath")
        out.append((name.casefold(), path.strip() if isinstance(path, str) else None, get_ci(op, "value")))
    return out


def _key(obj: dict[str, Any], name: str) -> str:
    """The key an attribute has in ``obj`` (any case), or ``name`` for a new one."""
    low = name.casefold()
    for key in obj:
        if key.casefold() == low:
            return key
    return name


def _target(resource: dict[str, Any], path: AttrPath, create: bool) -> dict[str, Any] | None:
    if path.schema is None:
        return resource
    key = _key(resource, path.schema)
    if not isinstance(resource.get(key), dict):
        if not create:
            return None
        resource[key] = {}
        schemas = resource.setdefault("schemas", [])
        if isinstance(schemas, list) and path.schema not in schemas:
            schemas.append(path.schema)
    value = resource[key]
    return value if isinstance(value, dict) else None


def _coerce(attr: str, value: Any) -> Any:
    if attr.casefold() == "active" and isinstance(value, str) and value.casefold() in ("true", "false"):
        return value.casefold() == "true"
    return value


def apply(resource: dict[str, Any], ops: list[tuple[str, str | None, Any]]) -> dict[str, Any]:
    """The resource after the operations (the input is not changed)."""
    out = copy.deepcopy(resource)
    for op, path, value in ops:
        if path is None:
            if op == "remove":
                raise PatchError("remove needs a path", "noTarget")
            if not isinstance(value, dict):
                raise PatchError(f"{op} without a path needs an object value", "invalidValue")
            for name, item in value.items():
                if name.casefold() == ENTERPRISE_USER.casefold() and isinstance(item, dict):
                    for sub, sub_value in item.items():  # the extension's attributes, one by one
                        _apply_path(out, op, f"{ENTERPRISE_USER}:{sub}", sub_value)
                else:
                    _apply_path(out, op, name, item)
        elif path.casefold() == ENTERPRISE_USER.casefold():
            if op == "remove":
                out.pop(_key(out, ENTERPRISE_USER), None)
            elif isinstance(value, dict):
                for sub, sub_value in value.items():
                    _apply_path(out, op, f"{ENTERPRISE_USER}:{sub}", sub_value)
            else:
                raise PatchError(f"{ENTERPRISE_USER} needs an object value", "invalidValue")
        else:
            _apply_path(out, op, path, value)
    return out


def _apply_path(resource: dict[str, Any], op: str, text: str, value: Any) -> None:
    try:
        parsed = parse_path(text)
    except FilterError as e:
        raise PatchError(str(e), "invalidPath") from None
    if op != "remove" and value is None:
        raise PatchError(f"{op} of {text} needs a value", "invalidValue")
    target = _target(resource, parsed.path, create=op != "remove")
    if target is None:
        return
    if parsed.where is None:
        _plain(target, op, parsed, value)
    else:
        _filtered(target, op, parsed, value)


def _plain(target: dict[str, Any], op: str, parsed: PatchPath, value: Any) -> None:
    path = parsed.path
    key = _key(target, path.attr)
    if path.sub is not None:
        parent = target.get(key)
        if op == "remove":
            if isinstance(parent, dict):
                parent.pop(_key(parent, path.sub), None)
            return
        if not isinstance(parent, dict):
            parent = target[key] = {}
        parent[_key(parent, path.sub)] = _coerce(path.sub, value)
        return
    if op == "remove":
        target.pop(key, None)
        return
    value = _coerce(path.attr, value)
    current = target.get(key)
    if op == "add" and isinstance(current, list):
        new = value if isinstance(value, list) else [value]
        target[key] = current + [v for v in new if v not in current]
    elif op == "add" and isinstance(current, dict) and isinstance(value, dict):
        current.update(value)
    else:
        target[key] = value


def _filtered(target: dict[str, Any], op: str, parsed: PatchPath, value: Any) -> None:
    assert parsed.where is not None
    key = _key(target, parsed.path.attr)
    items = target.get(key)
    items = items if isinstance(items, list) else []
    hits = [i for i in items if isinstance(i, dict) and matches(parsed.where, i)]
    if op == "remove":
        if parsed.sub is None:
            target[key] = [i for i in items if i not in hits]
        else:
            for hit in hits:
                hit.pop(_key(hit, parsed.sub), None)
        if key in target and not target[key]:
            target.pop(key)
        return
    if not hits:
        # Entra ID adds emails[type eq "work"].value to a user with no work e-mail: the value is made
        where = parsed.where
        if not isinstance(where, Compare) or where.op != "eq" or where.path.sub is not None:
            raise PatchError(f"No value matches {parsed.path.attr}[…]", "noTarget")
        new: dict[str, Any] = {where.path.attr: where.value}
        items.append(new)
        target[key] = items
        hits = [new]
    for hit in hits:
        if parsed.sub is not None:
            hit[_key(hit, parsed.sub)] = value
        elif isinstance(value, dict):
            if op == "replace":
                hit.clear()
            hit.update(value)
        else:
            raise PatchError(f"A value of {parsed.path.attr} must be an object", "invalidValue")
