"""The GeoIP reader of adaptive authentication (``userpools/risk/geoip.py``) on databases written
here in MaxMind's format: lookups of IPv4, IPv4-mapped IPv6 and IPv6 addresses, an IPv4-only
database, records that say little, an unusable file (logged once, no place), and the great-circle
distance. The signals themselves are tested on the live server (tests/userpools/test_adaptive_auth.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from mmdb_writer import MmdbF64, MmdbU16, MMDBWriter
from netaddr import IPSet

from ostiary.config import Settings
from ostiary.userpools.risk import geoip

TOKYO = {
    "city": {"names": {"ja": "東京", "en": "Tokyo"}},
    "country": {"iso_code": "jp", "names": {"en": "Japan"}},
    "location": {
        "latitude": MmdbF64(35.6895),
        "longitude": MmdbF64(139.6917),
        "accuracy_radius": MmdbU16(50),
        "time_zone": "Asia/Tokyo",
    },
}


def _database(path: Path, ip_version: int) -> str:
    writer = MMDBWriter(ip_version=ip_version, database_type="GeoIP2-City", ipv4_compatible=ip_version == 6)
    writer.insert_network(IPSet(["192.0.2.0/24"]), TOKYO)
    writer.insert_network(IPSet(["198.51.100.7/32"]), {"country": {"iso_code": "DE"}})
    writer.insert_network(IPSet(["203.0.113.9/32"]), {"location": {"latitude": MmdbF64(123.0)}})  # nonsense
    if ip_version == 6:
        writer.insert_network(IPSet(["2001:db8:5::/48"]), TOKYO)
    writer.to_db_file(str(path))
    return str(path)


def test_lookups(tmp_path: Path) -> None:
    settings = Settings(geoip_database_path=_database(tmp_path / "six.mmdb", 6))
    tokyo = geoip.lookup(settings, "192.0.2.44")
    assert tokyo == geoip.Place("Tokyo", "JP", "Japan", "Asia/Tokyo", 35.6895, 139.6917, 50)
    assert geoip.lookup(settings, "::ffff:192.0.2.44") == tokyo
    assert geoip.lookup(settings, "2001:db8:5:1::1") == tokyo
    germany = geoip.lookup(settings, "198.51.100.7")
    assert germany is not None and germany.country == "DE" and germany.latitude is None and germany.city is None
    assert geoip.lookup(settings, "203.0.113.9") is None  # an out-of-range latitude: nothing usable
    assert geoip.lookup(settings, "198.51.100.8") is None
    assert geoip.lookup(settings, "not an address") is None
    assert geoip.reader(settings) is geoip.reader(settings)  # opened once per process
    assert geoip.lookup(Settings(), "192.0.2.44") is None  # not configured


def test_ipv4_only_database(tmp_path: Path) -> None:
    settings = Settings(geoip_database_path=_database(tmp_path / "four.mmdb", 4))
    assert geoip.lookup(settings, "192.0.2.1") is not None
    assert geoip.lookup(settings, "2001:db8:5::1") is None


@pytest.mark.parametrize("content", [None, b"", b"not a MaxMind database" * 100])
def test_an_unusable_file_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes | None
) -> None:
    path = tmp_path / "bad.mmdb"
    if content is not None:
        path.write_bytes(content)
    settings = Settings(geoip_database_path=str(path))
    with caplog.at_level(logging.ERROR, logger="ostiary.userpools.risk.geoip"):
        assert geoip.lookup(settings, "192.0.2.1") is None
        assert geoip.lookup(settings, "192.0.2.2") is None
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "geoip_database_path is not usable, the GeoIP signals are off"
    ]


def test_distance() -> None:
    paris, sydney = (48.8566, 2.3522), (-33.8688, 151.2093)
    assert geoip.distance_km(*paris, *sydney) == pytest.approx(16960, rel=0.01)
    assert geoip.distance_km(*paris, *paris) == 0
    assert geoip.distance_km(0, 0, 0, 180) == pytest.approx(20015, rel=0.001)  # half the circumference
