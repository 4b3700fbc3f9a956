"""GeoIP: country (ISO 3166-1 alpha-2), region and city of a visitor's IP from an mmdb file.

Reads both record layouts (DESIGN §6):
- ip-location-db (the default database): flat ``{"country_code": "VN"}``; city files add
  ``state1`` and ``city`` as strings;
- MaxMind GeoIP2/GeoLite2: nested ``{"country": {"iso_code": "VN"}, "subdivisions":
  [{"names": {"en": …}}], "city": {"names": {"en": …}}}`` (``registered_country`` when
  ``country`` is absent).

Private, loopback, link-local, reserved, multicast, unspecified and other non-global addresses
are never looked up: ip-location-db answers wrong countries for them. A missing or unreadable
database gives empty locations with one warning, never a crash, so the pipeline keeps counting.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Location:
    country: str = ""
    region: str = ""
    city: str = ""


UNKNOWN = Location()


def public_address(ip: str) -> str | None:
    """The address to look up, or None when ``ip`` is invalid or not a globally routable
    unicast address. An IPv4-mapped IPv6 address (``::ffff:1.2.3.4``) is judged and looked up as
    its IPv4 address (mmdb files keep IPv4 under ``::/96``, not always under ``::ffff:0:0/96``)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_reserved
        or addr.is_multicast
        or addr.is_unspecified
        or not addr.is_global
    ):
        return None
    return str(addr)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _english_name(node: Any) -> str:
    if isinstance(node, dict):
        names = node.get("names")
        if isinstance(names, dict):
            return _text(names.get("en"))
    return ""


def _country_code(value: Any) -> str:
    code = _text(value).strip().upper()
    return code if len(code) == 2 and code.isalpha() else ""


def location_of(record: Any) -> Location:
    """A ``Location`` from one mmdb record of either layout (anything else: unknown)."""
    if not isinstance(record, dict):
        return UNKNOWN
    if "country_code" in record:  # ip-location-db flat layout
        return Location(
            country=_country_code(record.get("country_code")),
            region=_text(record.get("state1")),
            city=_text(record.get("city")),
        )
    country = record.get("country") or record.get("registered_country")
    iso = _country_code(country.get("iso_code")) if isinstance(country, dict) else ""
    subdivisions = record.get("subdivisions")
    region = (
        _english_name(subdivisions[0]) if isinstance(subdivisions, list) and subdivisions else ""
    )
    return Location(country=iso, region=region, city=_english_name(record.get("city")))


class GeoIP:
    """Looks IP addresses up in one mmdb file; results are cached per address string.

    ``lookup(ip)`` never raises: a bad address, a private one, an IPv6 address in an
    IPv4-only database or a missing database all give ``UNKNOWN``.
    """

    def __init__(self, path: Path, cache_size: int = 65_536) -> None:
        self.path = path
        self._reader: Any = None
        try:
            import maxminddb

            self._reader = maxminddb.open_database(str(path))
        except FileNotFoundError:
            log.warning("GeoIP database %s not found: countries stay empty (EMC_GEOIP_DB)", path)
        except Exception as exc:
            log.warning("GeoIP database %s unreadable (%s): countries stay empty", path, exc)
        self.lookup: Callable[[str], Location] = lru_cache(maxsize=cache_size)(self._lookup)

    @property
    def available(self) -> bool:
        return self._reader is not None

    def _lookup(self, ip: str) -> Location:
        address = public_address(ip) if self._reader is not None else None
        if address is None:
            return UNKNOWN
        try:
            record = self._reader.get(address)
        except (ValueError, TypeError):
            return UNKNOWN
        return location_of(record)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
