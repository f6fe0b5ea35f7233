"""What a sign-in shows about where it comes from: the address (and its network), the user agent's
family and a device name, the device key, and the contextual data the SDKs send.

Which address counts (Cognito Developer Guide, "Collecting data for threat protection in
applications"; API Reference: ContextDataType, UserContextDataType):

- the Admin calls (AdminInitiateAuth, AdminRespondToAuthChallenge): ``ContextData.IpAddress`` and
  its ``HttpHeaders`` (User-Agent) — the caller signed the request with IAM credentials, it is the
  operator's own server relaying its user's request, and AWS takes its word;
- InitiateAuth / RespondToAuthChallenge: ``UserContextData.IpAddress`` only when the app client has
  ``EnablePropagateAdditionalUserContextData`` (a confidential client: AWS requires a secret for
  it); otherwise the request's own source address, as for the hosted UI;
- ``EncodedData`` (what amazon-cognito-advanced-security-data.js collects) is read when it parses:
  its ``UserAgent`` and ``DeviceId`` (a browser-local identifier) count as the agent and a device.
  It is unsigned client data: a weak signal, never a reason to trust a sign-in.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

MAX_ENCODED = 16384  # longer EncodedData is not parsed (the model allows 128 KiB)
MAX_AGENT = 512

# (pattern, family) in order: the first match names the family. SDKs before browsers (they embed
# browser-like tokens), Edge and Opera before Chrome, Chrome before Safari.
_FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), name)
    for p, name in (
        (r"\baws-cli/", "AWS CLI"),
        (r"\bBoto3/", "Boto3"),
        (r"\bBotocore/", "Botocore"),
        (r"\baws-sdk-js|aws-sdk-nodejs|\bapi/cognito-identity-provider", "AWS SDK for JavaScript"),
        (r"\baws-sdk-java", "AWS SDK for Java"),
        (r"\baws-sdk-go", "AWS SDK for Go"),
        (r"\baws-amplify|\bamplify", "Amplify"),
        (r"\bpython-httpx/", "python-httpx"),
        (r"\bpython-requests/", "python-requests"),
        (r"\bcurl/", "curl"),
        (r"\bEdg(?:e|A|iOS)?/", "Edge"),
        (r"\bOPR/|\bOpera\b", "Opera"),
        (r"\bFirefox/|\bFxiOS/", "Firefox"),
        (r"\bHeadlessChrome/|\bChrome/|\bCriOS/|\bChromium/", "Chrome"),
        (r"\bSafari/", "Safari"),
    )
)
_SYSTEMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), name)
    for p, name in (
        (r"\bAndroid\b", "Android"),
        (r"\biPhone|\biPad|\biOS\b", "iOS"),
        (r"\bWindows\b|\bwin32\b", "Windows"),
        (r"\bMac OS X\b|\bMacintosh\b|\bmacOS\b|\bdarwin\b", "macOS"),
        (r"\bLinux\b|\bX11\b", "Linux"),
    )
)


def agent_family(agent: str | None) -> str | None:
    """The user agent's family (Chrome, Firefox, Boto3…; "Other" for anything else; None without one)."""
    if not agent:
        return None
    agent = agent[:MAX_AGENT]
    for pattern, name in _FAMILIES:
        if pattern.search(agent):
            return name
    return "Other"


def device_name(agent: str | None) -> str | None:
    """AWS's EventContextData DeviceName: the agent's family and its operating system when known."""
    family = agent_family(agent)
    if family is None or agent is None:
        return None
    system = next((name for pattern, name in _SYSTEMS if pattern.search(agent[:MAX_AGENT])), None)
    return f"{family}, {system}" if system else family


def network_of(address: str) -> str | None:
    """The network an address belongs to for "a network never seen": its /24 (IPv4) or /48 (IPv6)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def in_ranges(address: str, ranges: list[str]) -> bool:
    """Whether ``address`` falls in one of the CIDR ``ranges`` (malformed entries never match)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for cidr in ranges[:1000]:
        try:
            net = ipaddress.ip_network(str(cidr).strip(), strict=False)
        except ValueError:
            continue
        if ip.version == net.version and ip in net:
            return True
    return False


def _valid_ip(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


@dataclass(frozen=True)
class Encoded:
    """What EncodedData says, when it parses."""

    user_agent: str | None = None
    device_id: str | None = None


def parse_encoded(data: Any) -> Encoded:
    """amazon-cognito-advanced-security-data's EncodedData: base64 of ``{"payload": "<JSON>", …}`` whose
    payload has ``contextData`` (UserAgent, DeviceId…). Anything else: nothing."""
    if not isinstance(data, str) or not data or len(data) > MAX_ENCODED:
        return Encoded()
    try:
        outer = json.loads(base64.b64decode(data + "=" * (-len(data) % 4)))
        payload = outer.get("payload") if isinstance(outer, dict) else None
        inner = json.loads(payload) if isinstance(payload, str) else payload
        context = inner.get("contextData") if isinstance(inner, dict) else None
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return Encoded()
    if not isinstance(context, dict):
        return Encoded()
    agent = context.get("UserAgent")
    device = context.get("DeviceId")
    return Encoded(
        user_agent=agent[:MAX_AGENT] if isinstance(agent, str) and agent else None,
        device_id=device[:64] if isinstance(device, str) and device else None,
    )


@dataclass(frozen=True)
class Observation:
    """One sign-in as the risk engine sees it."""

    ip: str
    network: str | None
    agent: str | None  # the family
    device_name: str | None
    device_key: str | None  # the pool's device key the sign-in presented
    fingerprint: str | None  # EncodedData's DeviceId
    # where the address is, when the operator's GeoIP database knows it (geoip.py)
    city: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    country_name: str | None = None
    timezone: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    accuracy_km: int | None = None

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def as_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "ip": self.ip,
            "network": self.network,
            "agent": self.agent,
            "device_name": self.device_name,
            "device_key": self.device_key,
            "fingerprint": self.fingerprint,
        }
        for name in _PLACE_FIELDS:
            if getattr(self, name) is not None:
                doc[name] = getattr(self, name)
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Observation:
        def text(name: str) -> str | None:
            value = doc.get(name)
            return value if isinstance(value, str) and value else None

        def number(name: str) -> float | None:
            value = doc.get(name)
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

        accuracy = number("accuracy_km")
        return cls(
            ip=str(doc.get("ip") or ""),
            network=doc.get("network"),
            agent=doc.get("agent"),
            device_name=doc.get("device_name"),
            device_key=doc.get("device_key"),
            fingerprint=doc.get("fingerprint"),
            city=text("city"),
            country=text("country"),
            country_name=text("country_name"),
            timezone=text("timezone"),
            latitude=number("latitude"),
            longitude=number("longitude"),
            accuracy_km=int(accuracy) if accuracy is not None else None,
        )


_PLACE_FIELDS = ("city", "country", "country_name", "timezone", "latitude", "longitude", "accuracy_km")


def _header(headers: Any, name: str) -> str | None:
    if not isinstance(headers, list):
        return None
    for h in headers[:100]:
        if isinstance(h, dict) and str(h.get("headerName", "")).lower() == name:
            value = h.get("headerValue")
            return str(value)[:MAX_AGENT] if value else None
    return None


def observe(
    source_ip: str,
    user_agent: str | None,
    context_data: dict[str, Any] | None,
    *,
    trusted: bool,
    propagate: bool,
    device_key: str | None,
) -> Observation:
    """The observation of a sign-in. ``context_data``: ContextData (``trusted``: an Admin call) or
    UserContextData; ``propagate``: the client's EnablePropagateAdditionalUserContextData."""
    ip, agent = source_ip, user_agent
    data = context_data or {}
    if trusted:
        ip = _valid_ip(data.get("IpAddress")) or ip
        agent = _header(data.get("HttpHeaders"), "user-agent") or (agent if not data else None)
    elif propagate:
        ip = _valid_ip(data.get("IpAddress")) or ip
    encoded = parse_encoded(data.get("EncodedData"))
    if encoded.user_agent:
        agent = encoded.user_agent
    return Observation(
        ip=ip,
        network=network_of(ip),
        agent=agent_family(agent),
        device_name=device_name(agent),
        device_key=device_key[:128] if device_key else None,
        fingerprint=encoded.device_id,
    )
