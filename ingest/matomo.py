"""The Matomo HTTP tracking protocol, translated into the collector's own beacon hits.

Why: EMC's current snippet is a renamed Matomo tracker. Portals that carry it must be counted
when only the script URL changes, so the collector understands the requests that tracker sends
(``GET``/``POST /matomo.php``, bulk JSON) and turns each into the same hit the OpenEMC beacon
would have sent: site, page URL, referrer, type, name, explicit visitor id, screen width.

Mapping (pure functions, no I/O):
- ``idsite`` → the site whose ``matomo_id`` equals it (``emc sites edit ID --matomo-id N``);
  a non-numeric ``idsite`` is read as an OpenEMC site id;
- ``rec=1`` is required (Matomo ignores requests without it, and so do we, with a 400);
- ``url`` → page URL (its host must be a domain of the site, as for the beacon); ``urlref`` →
  referrer; ``action_name`` → the pageview's name (page title);
- ``e_c``/``e_a``/``e_n`` → an event named ``category/action[/name]``, with the parts also kept
  as properties ``category``, ``action``, ``name`` and ``e_v`` as the event's value (issue 17
  item 3); ``link`` → event ``outbound:URL``; ``download`` → event ``download:URL``;
  ``ping=1`` → engagement ping; anything else is a pageview; a site search (``search=``) is a
  pageview with properties ``search`` (the term) and ``search_cat`` when given;
- ``cid`` > ``uid`` > ``_id`` → explicit visitor id (what the Matomo tracker set; without any,
  the cookieless visitor hash applies);
- ``_rcn`` / ``_rck`` (the campaign name and keyword the tracker attributed the visitor to,
  issue 17 item 2) → appended to the page URL as ``_rcn=`` / ``_rck=`` query parameters, where
  the sessionizer reads a visit's campaign (``core/channels.py``: the URL's own ``utm_*`` /
  ``mtm_*`` tags win over them). Why the URL: it is the one field every hit already carries
  from here to the visit's row, so Matomo hits need no second wire format;
- ``res`` ``WxH`` → screen width;
- ``cip`` (visitor IP), ``cdt`` (hit time) and ``ua`` (user agent) are used only with a valid
  ``token_auth`` (the admin token or the site's ingest token); without one they are ignored,
  like Matomo does for untrusted overrides;
- ``h``/``m``/``s`` (the visitor's local clock) are not needed: local time comes from the
  site's timezone.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ingest.requests import RequestError
from schemas.sites import Site

PATHS = ("/tracking", "/matomo.php", "/piwik.php")
_MAX_MS = 253_402_300_800_000  # 10000-01-01T00:00:00Z
MAX_BULK_REQUESTS = 1000


@dataclass(frozen=True, slots=True)
class Translated:
    """One Matomo request as beacon parameters, plus the trusted overrides (None: use the
    request's own IP, User-Agent and time)."""

    params: dict[str, Any]
    site: Site
    ip: str | None = None
    ua: str | None = None
    ts_ms: int | None = None


def _bad(field: str, message: str) -> RequestError:
    return RequestError(400, f"{field}: {message}", reason="invalid_field", field=field)


class SiteIndex:
    """Sites by id and by Matomo ``idsite``, built once per registry copy (the collector's
    cache replaces its dict on refresh, so the index follows by identity)."""

    def __init__(self, sites: Mapping[str, Site]) -> None:
        self.sites = sites
        self.by_matomo = {s.matomo_id: s for s in sites.values() if s.matomo_id}

    @classmethod
    def of(cls, sites: Mapping[str, Site], previous: SiteIndex | None) -> SiteIndex:
        return previous if previous is not None and previous.sites is sites else cls(sites)


def site_for(idsite: str, sites: Mapping[str, Site] | SiteIndex) -> Site:
    """The site an ``idsite`` names; 400 when missing, 422 when no site answers to it."""
    index = sites if isinstance(sites, SiteIndex) else SiteIndex(sites)
    value = idsite.strip()
    if not value:
        raise _bad("idsite", "required (the Matomo site id)")
    if value.isdigit():
        found = index.by_matomo.get(int(value))
        if found is not None:
            return found
    elif value in index.sites:
        return index.sites[value]
    raise RequestError(
        422, f"idsite: no site answers to {value!r}", reason="unknown_site", field="idsite"
    )


def token_valid(token: str, site: Site, admin_token: str) -> bool:
    """True for the admin token or the site's own ingest token (constant time)."""
    if not token:
        return False
    for candidate in (admin_token, site.ingest_token):
        if candidate and hmac.compare_digest(token.encode(), candidate.encode()):
            return True
    return False


def parse_cdt(value: str) -> int:
    """``cdt`` as epoch ms: a Unix timestamp (seconds, fractions allowed) or
    ``YYYY-MM-DD HH:MM:SS`` in UTC (Matomo's two forms)."""
    text = value.strip()
    try:
        ms = int(float(text) * 1000)
    except (ValueError, OverflowError):
        pass
    else:
        if not 0 <= ms < _MAX_MS:
            raise _bad("cdt", f"{text!r} is not a time between 1970 and 9999")
        return ms
    try:
        moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise _bad("cdt", f"{text!r} is neither a Unix time nor 'YYYY-MM-DD HH:MM:SS'") from exc
    return int(moment.timestamp() * 1000)


def _kind(q: Mapping[str, str]) -> tuple[str, str]:
    """(beacon type code, name) of a request."""
    if q.get("e_c") or q.get("e_a"):
        parts = [q.get("e_c", ""), q.get("e_a", "")]
        if q.get("e_n"):
            parts.append(q["e_n"])
        return "e", "/".join(parts)
    if q.get("link"):
        return "e", "outbound:" + q["link"]
    if q.get("download"):
        return "e", "download:" + q["download"]
    if q.get("ping") == "1":
        return "g", ""
    return "p", q.get("action_name", "")


def _props(q: Mapping[str, str]) -> dict[str, str]:
    """Event properties of a request: the Matomo event's parts, or a site search's term."""
    if q.get("e_c") or q.get("e_a"):
        parts = {"category": q.get("e_c", ""), "action": q.get("e_a", ""), "name": q.get("e_n", "")}
        return {k: v for k, v in parts.items() if v}
    if q.get("search") and not (q.get("link") or q.get("download") or q.get("ping") == "1"):
        found = {"search": q["search"], "search_cat": q.get("search_cat", "")}
        return {k: v for k, v in found.items() if v}
    return {}


def _value(q: Mapping[str, str]) -> float | None:
    """``e_v`` as a number; 400 when it is not one (Matomo drops such values silently, but a
    sender should know its values are lost)."""
    text = q.get("e_v", "").strip()
    if not text or not (q.get("e_c") or q.get("e_a")):
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise _bad("e_v", f"{text[:40]!r} is not a number") from exc
    if not math.isfinite(value):
        raise _bad("e_v", f"{text[:40]!r} is not a finite number")
    return value


def translate(
    q: Mapping[str, str],
    sites: Mapping[str, Site] | SiteIndex,
    admin_token: str,
    token: str = "",
) -> Translated:
    """One Matomo request (its parameters) → beacon parameters and trusted overrides.
    ``token`` is a bulk request's ``token_auth`` when the line has none of its own."""
    if q.get("rec") != "1":
        raise _bad("rec", "must be 1 (Matomo records only requests with rec=1)")
    site = site_for(q.get("idsite", ""), sites)
    url = q.get("url", "").strip()
    if not url:
        raise _bad("url", "required (the page URL)")
    kind, name = _kind(q)
    url = with_campaign(url, q.get("_rcn", ""), q.get("_rck", ""))
    params: dict[str, Any] = {"s": site.id, "u": url, "r": q.get("urlref", ""), "t": kind}
    if name:
        params["n"] = name
    props = _props(q)
    if props:
        params["p"] = props
    value = _value(q)
    if value is not None:
        params["x"] = value
    visitor = q.get("cid") or q.get("uid") or q.get("_id")
    if visitor:
        params["v"] = visitor
    width = q.get("res", "").partition("x")[0]
    if width.isdigit():
        params["w"] = int(width)
    if not token_valid(q.get("token_auth") or token, site, admin_token):
        return Translated(params, site)
    return Translated(
        params,
        site,
        ip=q.get("cip") or None,
        ua=q.get("ua") or None,
        ts_ms=parse_cdt(q["cdt"]) if q.get("cdt") else None,
    )


def with_campaign(url: str, name: str, keyword: str) -> str:
    """``url`` with Matomo's attributed campaign ``_rcn`` / ``_rck`` appended as query
    parameters (before a ``#fragment``); unchanged when both are empty."""
    extra = urlencode([(k, v.strip()) for k, v in (("_rcn", name), ("_rck", keyword)) if v.strip()])
    if not extra:
        return url
    base, hash_, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    if base.endswith(("?", "&")):
        joiner = ""
    return f"{base}{joiner}{extra}{hash_}{fragment}"


def query_params(text: str) -> dict[str, str]:
    """Parameters of a query string (a leading ``?`` allowed); the last value of a repeated
    key wins, as in PHP."""
    return dict(parse_qsl(text.lstrip("?"), keep_blank_values=True))


def bulk_requests(body: Any) -> tuple[list[dict[str, str]], str]:
    """The lines and the shared ``token_auth`` of a bulk body
    ``{"requests": ["?idsite=1&rec=1…", …], "token_auth": "…"}``; 400 naming the problem."""
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise RequestError(
            400,
            'expected a JSON object {"requests": ["?idsite=…&rec=1…", …]}',
            reason="malformed_body",
        )
    lines = body["requests"]
    if len(lines) > MAX_BULK_REQUESTS:
        raise RequestError(
            413,
            f"requests: at most {MAX_BULK_REQUESTS} per bulk request, got {len(lines)}",
            reason="too_many_lines",
        )
    out = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, str):
            raise RequestError(
                400, f"requests[{number}]: expected a query string", reason="malformed_body"
            )
        out.append(query_params(line))
    token = body.get("token_auth")
    return out, token if isinstance(token, str) else ""
