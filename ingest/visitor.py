"""Cookieless visitor ids: pure functions of (secret, site, ip, ua, time, timezone).

- daily salt = HMAC-SHA256(secret, local date ISO string in the site's timezone at the hit's
  time), so a visitor id cannot be linked across days and the raw IP is never stored;
- ``visitor_id`` = hex of the first 16 bytes of HMAC(salt, ``site|ip|ua``);
- ``prev_visitor_id`` = the same under the previous local day's salt, so the sessionizer can
  continue a visit across the salt change at local midnight;
- ``visitor_key`` = HMAC(secret, ``key|site|ip|ua``), salt-independent: the Kafka partition key,
  which keeps one visitor's hits in one partition across days;
- an explicit visitor id (server import, tracker opt-in) wins: visitor_id = visitor_key =
  HMAC(secret, ``explicit|site|id``) and ``explicit`` is True.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

_ID_BYTES = 16


@dataclass(frozen=True, slots=True)
class VisitorIds:
    """The identifiers of one hit's visitor."""

    visitor_id: str
    prev_visitor_id: str
    visitor_key: str
    explicit: bool


_openssl_hmac: Callable[..., Any] | None
try:  # OpenSSL's HMAC: copying a keyed state skips the key setup, half the cost per hit
    from _hashlib import hmac_new as _openssl_hmac
except ImportError:  # pragma: no cover - CPython without OpenSSL
    _openssl_hmac = None


@lru_cache(maxsize=64)
def _keyed(key: bytes) -> Any:
    assert _openssl_hmac is not None
    return _openssl_hmac(key, digestmod="sha256")


def _mac(key: bytes, message: str) -> str:
    """Hex of the first 16 bytes of HMAC-SHA256(key, message)."""
    if _openssl_hmac is None:
        return hmac.digest(key, message.encode(), "sha256")[:_ID_BYTES].hex()
    state = _keyed(key).copy()
    state.update(message.encode())
    return bytes(state.digest())[:_ID_BYTES].hex()


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


@lru_cache(maxsize=4096)
def daily_salt(secret: bytes, local_day: date) -> bytes:
    """HMAC-SHA256(secret, ``YYYY-MM-DD``) of a local date: the salt of that day."""
    return hmac.digest(secret, local_day.isoformat().encode(), "sha256")


def local_date(ts_ms: int, tz: str) -> date:
    """The local calendar date in ``tz`` at epoch milliseconds ``ts_ms``."""
    return datetime.fromtimestamp(ts_ms / 1000, _zone(tz)).date()


def visitor_key(secret: bytes, site: str, ip: str, ua: str) -> str:
    """The salt-independent partition key of a cookieless visitor."""
    return _mac(secret, f"key|{site}|{ip}|{ua}")


def visitor_ids(
    secret: bytes,
    *,
    site: str,
    ip: str,
    ua: str,
    ts_ms: int,
    tz: str,
    explicit_id: str | None = None,
) -> VisitorIds:
    """Visitor ids of one hit at ``ts_ms`` for a site in timezone ``tz`` (see module doc)."""
    if explicit_id:
        vid = _mac(secret, f"explicit|{site}|{explicit_id}")
        return VisitorIds(visitor_id=vid, prev_visitor_id="", visitor_key=vid, explicit=True)
    return _cookieless(secret, site, ip, ua, local_date(ts_ms, tz))


@lru_cache(maxsize=8192)
def _cookieless(secret: bytes, site: str, ip: str, ua: str, day: date) -> VisitorIds:
    """Cached: one visitor's hits of one day (a page, then the next) share the three HMACs."""
    message = f"{site}|{ip}|{ua}"
    return VisitorIds(
        visitor_id=_mac(daily_salt(secret, day), message),
        prev_visitor_id=_mac(daily_salt(secret, day - timedelta(days=1)), message),
        visitor_key=visitor_key(secret, site, ip, ua),
        explicit=False,
    )
