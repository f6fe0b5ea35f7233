"""Where an address is, from the operator's MaxMind-format City database (setting
``geoip_database_path``: GeoLite2-City, GeoIP2-City, or any database in that format whose records
have MaxMind's ``city`` / ``country`` / ``location`` maps), for adaptive authentication's GeoIP
signals (``new_country``, ``impossible_travel``) and the city, country and time zone of events and
notification e-mails.

The database is opened once per process on first use, memory-mapped (the C extension's mapping
when it is available, else the pure-Python one), and read locally: never a network call. A file
that cannot be opened is logged once; the lookups then answer None and the GeoIP signals are
simply absent. A different path (a reloaded setting) opens its own reader.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb
from maxminddb.errors import InvalidDatabaseError

from ostiary.config import Settings

log = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
MAX_TEXT = 128  # a city's or country's name, a time zone, as kept

_lock = threading.Lock()
_readers: dict[str, maxminddb.Reader | None] = {}
_warned = False


@dataclass(frozen=True)
class Place:
    """What the database says about one address (any field may be unknown)."""

    city: str | None
    country: str | None  # ISO 3166-1 alpha-2 code
    country_name: str | None
    timezone: str | None  # IANA name (Europe/Paris)
    latitude: float | None
    longitude: float | None
    accuracy_km: int | None  # location.accuracy_radius: the location is within this many km, roughly


def _open(path: str) -> maxminddb.Reader:
    try:
        return maxminddb.open_database(str(Path(path).expanduser()), maxminddb.MODE_MMAP_EXT)
    except (ImportError, ValueError):  # no C extension in this build: the pure-Python reader, mapped too
        return maxminddb.open_database(str(Path(path).expanduser()), maxminddb.MODE_MMAP)


def reader(settings: Settings) -> maxminddb.Reader | None:
    """The process's reader of ``geoip_database_path`` (None: not configured, or not usable)."""
    path = settings.geoip_database_path
    if not path:
        return None
    if path not in _readers:
        with _lock:
            if path not in _readers:
                try:
                    _readers[path] = _open(path)
                except (OSError, InvalidDatabaseError, ValueError) as e:
                    log.error("geoip_database_path is not usable, the GeoIP signals are off: %s", e)
                    _readers[path] = None
    return _readers[path]


def _name(record: dict[str, Any], key: str) -> str | None:
    names = (record.get(key) or {}).get("names") if isinstance(record.get(key), dict) else None
    if not isinstance(names, dict):
        return None
    value = names.get("en") or next(iter(names.values()), None)
    return value[:MAX_TEXT] if isinstance(value, str) and value else None


def _number(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) and low <= number <= high else None


def place_of(record: Any) -> Place | None:
    """A database record as a Place (None when it says nothing usable)."""
    if not isinstance(record, dict):
        return None
    country: dict[str, Any] = record["country"] if isinstance(record.get("country"), dict) else {}
    code = country.get("iso_code")
    location: dict[str, Any] = record["location"] if isinstance(record.get("location"), dict) else {}
    latitude = _number(location.get("latitude"), -90, 90)
    longitude = _number(location.get("longitude"), -180, 180)
    if latitude is None or longitude is None:
        latitude = longitude = None
    radius = _number(location.get("accuracy_radius"), 0, 20038)
    zone = location.get("time_zone")
    place = Place(
        city=_name(record, "city"),
        country=code.upper() if isinstance(code, str) and len(code) == 2 else None,
        country_name=_name(record, "country"),
        timezone=zone[:MAX_TEXT] if isinstance(zone, str) and zone else None,
        latitude=latitude,
        longitude=longitude,
        accuracy_km=int(radius) if radius is not None else None,
    )
    if place.country is None and place.latitude is None and place.city is None:
        return None
    return place


def lookup(settings: Settings, address: str) -> Place | None:
    """Where ``address`` is, when a database is configured and knows it."""
    db = reader(settings)
    if db is None or not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 6 and db.metadata().ip_version == 4:
        return None
    try:
        return place_of(db.get(ip))
    except (InvalidDatabaseError, ValueError) as e:  # a corrupt record: no place, said once per process
        global _warned
        if not _warned:
            _warned = True
            log.warning("geoip_database_path: a record could not be read: %s", e)
        return None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance (haversine, on a sphere of the Earth's mean radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
