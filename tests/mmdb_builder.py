"""Tiny mmdb files for tests, written with mmdb-writer, in either record layout the GeoIP step
reads: ip-location-db's flat records or MaxMind's nested GeoIP2 records."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

Layout = Literal["flat", "maxmind"]


def build_mmdb(path: Path, records: dict[str, dict[str, Any]]) -> Path:
    """Write ``records`` (CIDR → record) to an IPv6 database that also answers IPv4."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="openemc-test")
    for network, record in records.items():
        writer.insert_network(IPSet([network]), record)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.to_db_file(str(path))
    return path


def country_record(
    country: str, layout: Layout, region: str = "", city: str = ""
) -> dict[str, Any]:
    """One record of ``layout`` for ``country`` (and optionally region and city)."""
    if layout == "flat":
        record: dict[str, Any] = {"country_code": country}
        if region:
            record["state1"] = region
        if city:
            record["city"] = city
        return record
    record = {"country": {"iso_code": country, "names": {"en": country}}}
    if region:
        record["subdivisions"] = [{"iso_code": "XX", "names": {"en": region}}]
    if city:
        record["city"] = {"names": {"en": city, "vi": city}}
    return record


def build_country_mmdb(path: Path, networks: dict[str, str], layout: Layout = "flat") -> Path:
    """A country database: CIDR → ISO country code, in ``layout``."""
    return build_mmdb(path, {net: country_record(cc, layout) for net, cc in networks.items()})
