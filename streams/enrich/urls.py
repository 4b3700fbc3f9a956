"""URL parts of a hit: host, path without query string or fragment, referrer host.

Pages are keyed by path only (DESIGN §2: "pages as URL paths without the query string"). The
referrer host is lower case without ``www.`` and port; a referrer from the hit's own host
(``www.`` or not) is internal navigation, not a source, so its host is empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class UrlParts:
    host: str
    path: str
    referrer_host: str


def _split(url: str) -> tuple[str, str]:
    """(host, path) of ``url``: host lower case without port or trailing dot ("" when none or
    malformed), path without query string and fragment ("/" when empty)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        path = parts.path
    except ValueError:  # e.g. an unbalanced IPv6 bracket: keep what can be read
        host = ""
        path = url.split("?", 1)[0].split("#", 1)[0]
        if "://" in path:
            path = "/" + path.split("://", 1)[1].partition("/")[2]
    return host, path or "/"


@lru_cache(maxsize=8192)
def _referrer_host(referrer: str) -> str:
    """Host of a referrer without ``www.`` (referrers repeat a lot: cached)."""
    if not referrer:
        return ""
    host = _split(referrer)[0]
    return host[4:] if host.startswith("www.") else host


def url_path(url: str) -> str:
    """The path of ``url`` without query string and fragment; "/" when empty."""
    return _split(url)[1]


def url_parts(url: str, referrer: str) -> UrlParts:
    """Host and path of ``url`` and the external referrer host (see the module docstring)."""
    host, path = _split(url)
    ref_host = _referrer_host(referrer)
    if ref_host and ref_host == (host[4:] if host.startswith("www.") else host):
        ref_host = ""
    return UrlParts(host=host, path=path, referrer_host=ref_host)
