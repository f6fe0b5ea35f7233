"""AWS Signature Version 4 verification (Authorization header and presigned query string).

Follows "Signature Version 4 signing process" (AWS General Reference): canonical request,
string to sign, derived signing key (crypto/sigv4_keys.py, derived per access key in
access/access_keys.py), constant-time comparison. The canonical URI and query are built exactly as
botocore's ``SigV4Auth`` builds them for non-S3 services.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote

from ostiary.access.access_keys import AnyKeyResolver, CredentialCache
from ostiary.access.principals import Principal
from ostiary.protocol.errors import (
    ExpiredToken,
    IncompleteSignature,
    InvalidSignature,
    MissingAuthenticationToken,
    UnrecognizedClient,
)

ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True)
class SignedRequest:
    """The parts of a SigV4 signature a server reads before it knows the secret."""

    access_key_id: str
    date: str  # yyyymmdd from the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # yyyymmddTHHMMSSZ
    security_token: str | None
    presigned: bool
    expires: int | None = None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return headers.get(name) if name in headers else headers.get(name.lower())


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if not raw_query:
        return pairs
    for part in raw_query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote(key.replace("+", " ")), unquote(value.replace("+", " "))))
    return pairs


def find_signature(headers: Mapping[str, str], query: Sequence[tuple[str, str]]) -> SignedRequest | None:
    """Read the signature from the Authorization header or presigned query; None when unsigned."""
    auth = _header(headers, "authorization")
    if auth:
        return _parse_header(auth, headers)
    q = dict(query)
    if "X-Amz-Algorithm" in q or "X-Amz-Signature" in q or "X-Amz-Credential" in q:
        return _parse_presigned(q)
    return None


def _parse_scope(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise IncompleteSignature(
            f"Credential should be scoped to a valid region, not '{parts[2] if len(parts) > 2 else ''}'. "
            if len(parts) == 5
            else f"Authorization header requires 'Credential' parameter. Credential is malformed: {credential}"
        )
    return parts[0], parts[1], parts[2], parts[3]


def _parse_header(auth: str, headers: Mapping[str, str]) -> SignedRequest:
    algorithm, _, rest = auth.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{algorithm}'")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in fields]
    if missing:
        raise IncompleteSignature(
            f"Authorization header requires '{missing[0]}' parameter. Authorization={auth.split(',')[0]}"
        )
    amz_date = _header(headers, "x-amz-date")
    if not amz_date:
        raise IncompleteSignature(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    akid, date, region, service = _parse_scope(fields["Credential"])
    signed = tuple(h.strip().lower() for h in fields["SignedHeaders"].split(";") if h.strip())
    return SignedRequest(
        access_key_id=akid,
        date=date,
        region=region,
        service=service,
        signed_headers=signed,
        signature=fields["Signature"],
        amz_date=amz_date,
        security_token=_header(headers, "x-amz-security-token"),
        presigned=False,
    )


def _parse_presigned(q: Mapping[str, str]) -> SignedRequest:
    for key in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"):
        if key not in q:
            raise IncompleteSignature(
                f"AWS query-string parameters must include '{key}'. Re-examine the query-string parameters."
            )
    if q["X-Amz-Algorithm"] != ALGORITHM:
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{q['X-Amz-Algorithm']}'")
    akid, date, region, service = _parse_scope(q["X-Amz-Credential"])
    expires: int | None = None
    if "X-Amz-Expires" in q:
        try:
            expires = int(q["X-Amz-Expires"])
        except ValueError:
            raise IncompleteSignature("X-Amz-Expires should be a number") from None
        if not 1 <= expires <= 604800:
            raise IncompleteSignature("X-Amz-Expires must be between 1 and 604800 seconds")
    return SignedRequest(
        access_key_id=akid,
        date=date,
        region=region,
        service=service,
        signed_headers=tuple(h.lower() for h in q["X-Amz-SignedHeaders"].split(";") if h),
        signature=q["X-Amz-Signature"],
        amz_date=q["X-Amz-Date"],
        security_token=q.get("X-Amz-Security-Token"),
        presigned=True,
        expires=expires,
    )


def parse_amz_date(amz_date: str) -> dt.datetime:
    try:
        if len(amz_date) != 16 or amz_date[8] != "T" or amz_date[15] != "Z":
            raise ValueError(amz_date)
        d = amz_date
        return dt.datetime(
            int(d[0:4]), int(d[4:6]), int(d[6:8]), int(d[9:11]), int(d[11:13]), int(d[13:15]), tzinfo=dt.UTC
        )
    except ValueError:
        raise IncompleteSignature(f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.") from None


def check_time(sr: SignedRequest, now: dt.datetime, skew_seconds: int) -> None:
    """Refuse signatures outside the clock-skew window (or past a presigned expiry)."""
    signed_at = parse_amz_date(sr.amz_date)
    if sr.date != sr.amz_date[:8]:
        raise InvalidSignature(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{sr.date}' != '{sr.amz_date[:8]}', from '{sr.amz_date}'."
        )
    fmt = "%Y%m%dT%H%M%SZ"
    skew = dt.timedelta(seconds=skew_seconds)
    if sr.presigned and sr.expires is not None:
        if now > signed_at + dt.timedelta(seconds=sr.expires):
            raise InvalidSignature("Signature expired: the presigned request has expired.")
        if signed_at > now + skew:
            raise InvalidSignature("Signature not yet current.")
        return
    if signed_at < now - skew:
        raise InvalidSignature(
            f"Signature expired: {sr.amz_date} is now earlier than {(now - skew).strftime(fmt)} "
            f"({now.strftime(fmt)} - {skew_seconds // 60} min.)"
        )
    if signed_at > now + skew:
        raise InvalidSignature(
            f"Signature not yet current: {sr.amz_date} is still later than {(now + skew).strftime(fmt)} "
            f"({now.strftime(fmt)} + {skew_seconds // 60} min.)"
        )


def canonical_uri(raw_path: str) -> str:
    """The path as the client sent it (already URI-encoded once), dot segments removed, encoded again:
    non-S3 services encode each path segment twice (SigV4 spec; botocore does the same)."""
    path = raw_path or "/"
    normalized = posixpath.normpath(path)
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    return quote(normalized, safe="/~")


def canonical_query(query: Sequence[tuple[str, str]], drop_signature: bool) -> str:
    pairs = sorted(
        (quote(k, safe="-_.~"), quote(v, safe="-_.~"))
        for k, v in query
        if not (drop_signature and k == "X-Amz-Signature")
    )
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_request(
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    payload_hash: str,
    presigned: bool,
) -> str:
    lines = []
    for name in signed_headers:
        value = _header(headers, name)
        if value is None:
            raise InvalidSignature(f"The signed header {name} is not in the request.")
        lines.append(f"{name}:{' '.join(value.split())}")
    return "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(query, drop_signature=presigned),
            "\n".join(lines) + "\n",
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def string_to_sign(sr: SignedRequest, creq: str) -> str:
    scope = f"{sr.date}/{sr.region}/{sr.service}/aws4_request"
    return "\n".join([ALGORITHM, sr.amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])


def verify(
    sr: SignedRequest,
    key: bytes,
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> None:
    """Recompute the signature with the derived signing key; raise InvalidSignature on mismatch."""
    if "host" not in sr.signed_headers:
        raise InvalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    # The payload hash is always the server's own hash of the body it received: STS, IAM and Cognito
    # sign the body (their models declare no unsigned payload), so neither UNSIGNED-PAYLOAD nor a
    # claimed hash of another body may let a signature stand for this one (issue 10, item 9).
    payload_hash = hashlib.sha256(body).hexdigest()
    declared = _header(headers, "x-amz-content-sha256")
    if declared and "x-amz-content-sha256" in sr.signed_headers and declared.lower() != payload_hash:
        raise InvalidSignature(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        )
    creq = canonical_request(method, raw_path, query, headers, sr.signed_headers, payload_hash, sr.presigned)
    expected = hmac.new(key, string_to_sign(sr, creq).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), sr.signature.lower().encode()):
        raise InvalidSignature(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
        )


def missing(protocol_is_query: bool) -> MissingAuthenticationToken:
    return MissingAuthenticationToken(
        "Request is missing Authentication Token" if protocol_is_query else "Missing Authentication Token"
    )


def authenticate(
    signed: SignedRequest,
    *,
    service: str,
    credentials: CredentialCache,
    any_key: AnyKeyResolver | None,
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    now: dt.datetime,
    skew_seconds: int,
) -> tuple[Principal, str]:
    """Who signed ``signed`` (and the region it signed for): the time window, the service of the
    credential scope, the access key (access.access_keys), the signature, and for temporary credentials
    the session token and its expiry. The one verification of a signed call: the dispatcher's and the
    gateway's IAM authorization (service ``execute-api``). ``any_key``: development mode's resolver of
    unknown key ids (None elsewhere)."""
    check_time(signed, now, skew_seconds)
    if signed.service != service:
        raise InvalidSignature(f"Credential should be scoped to correct service: '{service}'. ")
    found = credentials.get(signed.access_key_id, signed.security_token)
    if found is None:
        anyone = any_key.resolve(signed.access_key_id, signed.security_token) if any_key is not None else None
        if anyone is None:
            raise UnrecognizedClient("The security token included in the request is invalid.")
        return anyone, signed.region  # development mode's any key: no signature to check
    key = found.signing_key(signed.date, signed.region, signed.service)
    verify(signed, key, method, raw_path, query, headers, body)
    if found.token_hash is not None:  # temporary credentials: the session token must match
        given = hashlib.sha256((signed.security_token or "").encode()).hexdigest()
        if not signed.security_token or not hmac.compare_digest(given, found.token_hash):
            raise UnrecognizedClient("The security token included in the request is invalid.")
        if found.session_expires_at is not None and found.session_expires_at <= now:
            raise ExpiredToken("The security token included in the request is expired")
    credentials.record_use(signed.access_key_id, signed.service, signed.region)  # GetAccessKeyLastUsed
    return found.principal, signed.region
