"""GeoIP over tiny mmdb files in both record layouts; non-public addresses never looked up."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from streams.enrich.geoip import GeoIP, Location, location_of, public_address
from tests.mmdb_builder import build_country_mmdb, build_mmdb, country_record

NETWORKS = {"14.160.0.0/16": "VN", "8.8.8.0/24": "US", "2405:4800::/32": "VN"}


@pytest.fixture(params=["flat", "maxmind"])
def country_db(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return build_country_mmdb(tmp_path / f"{request.param}.mmdb", NETWORKS, request.param)


def test_country_from_either_layout(country_db: Path) -> None:
    geo = GeoIP(country_db)
    assert geo.available
    assert geo.lookup("14.160.1.1") == Location("VN")
    assert geo.lookup("8.8.8.8") == Location("US")
    assert geo.lookup("2405:4800:1::7") == Location("VN")
    assert geo.lookup("::ffff:14.160.1.1") == Location("VN")  # IPv4-mapped IPv6
    assert geo.lookup("9.9.9.9") == Location()  # not in the database


@pytest.mark.parametrize("layout", ["flat", "maxmind"])
def test_region_and_city_from_city_databases(tmp_path: Path, layout: str) -> None:
    record = country_record("VN", layout, region="Hà Nội", city="Cầu Giấy")  # type: ignore[arg-type]
    geo = GeoIP(build_mmdb(tmp_path / "city.mmdb", {"14.160.0.0/16": record}))
    assert geo.lookup("14.160.200.3") == Location("VN", "Hà Nội", "Cầu Giấy")


@pytest.mark.parametrize(
    "ip",
    [
        "10.1.2.3",  # private
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",  # loopback
        "169.254.10.10",  # link-local
        "240.0.0.1",  # reserved
        "224.0.0.251",  # multicast
        "0.0.0.0",  # unspecified
        "100.64.0.1",  # carrier-grade NAT (not global)
        "::1",
        "fe80::1",
        "fc00::1",
        "::",
        "ff02::1",
        "::ffff:192.168.1.1",
        "not-an-ip",
        "",
    ],
)
def test_non_public_addresses_are_never_looked_up(tmp_path: Path, ip: str) -> None:
    # the database claims a country for these ranges, like ip-location-db does
    everything = {"0.0.0.0/1": "ZZ", "128.0.0.0/1": "ZZ", "::/1": "ZZ", "8000::/1": "ZZ"}
    geo = GeoIP(build_country_mmdb(tmp_path / "all.mmdb", everything))
    assert public_address(ip) is None
    assert geo.lookup(ip) == Location()


def test_public_address_is_normalised_for_lookup() -> None:
    assert public_address("::ffff:8.8.8.8") == "8.8.8.8"
    assert public_address("2405:4800::0001") == "2405:4800::1"


def test_missing_database_warns_once_and_answers_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="streams.enrich.geoip"):
        geo = GeoIP(tmp_path / "missing.mmdb")
        assert geo.lookup("14.160.1.1") == Location()
        assert geo.lookup("8.8.8.8") == Location()
    assert not geo.available
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "missing.mmdb" in warnings[0].getMessage()


def test_unreadable_database_is_not_a_crash(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not an mmdb file")
    assert GeoIP(broken).lookup("14.160.1.1") == Location()


def test_odd_records_give_what_can_be_read() -> None:
    assert location_of(None) == Location()
    assert location_of("VN") == Location()
    assert location_of({"country_code": "vn"}) == Location("VN")
    assert location_of({"country_code": "-"}) == Location()
    assert location_of({"registered_country": {"iso_code": "SG"}}) == Location("SG")
    assert location_of({"country": {"iso_code": "VN"}, "subdivisions": []}) == Location("VN")
