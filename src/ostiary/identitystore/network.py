"""An identity store's network configuration (UpdateIdentityStore's ``NetworkConfiguration``) and the
decisions it makes, as AWS documents them:

- identity store API operations: a request from an address in ``ApiAllowSourceIps`` is allowed;
  otherwise it is denied when ``VpceAccessRequired`` is true (it did not come through a VPC endpoint)
  or ``ApiRestrictSourceVpcs`` is set (it did not come from one of those VPCs). Ostiary has no VPC
  endpoints, so no request meets those two conditions by another way.
- SCIM: with ``ScimAllowSourceIps`` set, only its addresses; without it, SCIM is subject to the VPC
  endpoint requirement.

The operations on the store's configuration itself (Describe/List/UpdateIdentityStore) are not
restricted, so the owner can always change a configuration that shuts its clients out.
Kept in the instance's ``settings`` (``identitystore_network``).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy.engine import RowMapping

SETTING = "identitystore_network"


def config(instance: RowMapping) -> dict[str, Any] | None:
    value = (instance["settings"] or {}).get(SETTING)
    return value if isinstance(value, dict) else None


def _in(ranges: list[str], source_ip: str) -> bool:
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return False
    for cidr in ranges:
        try:
            if address in ipaddress.ip_network(cidr, strict=False):
                return True
        except ValueError:
            continue
    return False


def api_allowed(cfg: dict[str, Any] | None, source_ip: str) -> bool:
    if not cfg:
        return True
    if cfg.get("ApiAllowSourceIps") and _in(cfg["ApiAllowSourceIps"], source_ip):
        return True
    return not cfg.get("VpceAccessRequired") and not cfg.get("ApiRestrictSourceVpcs")


def scim_allowed(cfg: dict[str, Any] | None, source_ip: str) -> bool:
    if not cfg:
        return True
    if cfg.get("ScimAllowSourceIps"):
        return _in(cfg["ScimAllowSourceIps"], source_ip)
    return not cfg.get("VpceAccessRequired")


def checked(value: dict[str, Any]) -> dict[str, Any]:
    """The configuration to store (the request's, already valid against its shape): every CIDR must
    parse; omitted lists are cleared (a full replacement, as AWS)."""
    out: dict[str, Any] = {"VpceAccessRequired": bool(value["VpceAccessRequired"])}
    for key in ("ApiRestrictSourceVpcs", "ApiAllowSourceIps", "ScimAllowSourceIps"):
        if value.get(key):
            out[key] = list(value[key])
    for key in ("ApiAllowSourceIps", "ScimAllowSourceIps"):
        for cidr in out.get(key, []):
            ipaddress.ip_network(cidr, strict=False)  # ValueError: the caller's ValidationException
    return out
