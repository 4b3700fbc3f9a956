"""Demo traffic: realistic portal visits and dossier lifecycles, as lines for the collector.

Several Vietnamese ministry and province portals (``emc.demo_data``), a day/night and weekday
rhythm in Vietnam time, a Vietnam-heavy IP mix, real browser user agents (Chrome, Safari,
Cốc Cốc, Zalo, Samsung, bots), returning visitors, search/social/referral traffic and tagged
campaigns (utm_* on landing URLs), custom events with properties, outbound-link and download
clicks, satisfaction ratings, and on the public-service portal the path procedure page → form
→ confirmation with the tracker's ``dvc/start`` and ``dvc/submit`` events, each submission
becoming a dossier that the one-stop system receives, processes and resolves on time or late.

``DemoTraffic`` is pure: a seeded ``random.Random`` and times passed in, no clock and no I/O,
so the same seed gives the same lines (event ids included). Two ways to use it:

- ``history(end_ms, days, visits_per_day)``: every line of ``days`` days before ``end_ms``,
  sorted by event time, with realistic durations (a dossier takes days). Lines at or after
  ``end_ms`` are left out: they have not happened yet.
- ``tick(now_ms, dt_s)``: live traffic. New visits and dossiers start at ``now_ms``; their later
  hits and lifecycle steps wait in a queue until their time comes (a live dossier's "day" lasts
  ``live_day_ms``, 20 s, so its whole life is seen within minutes).

Posting (``emc.demo_run``) is the thin I/O around this.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from emc.demo_data import (
    CAMPAIGNS,
    CUSTOM_EVENTS,
    DEMO_SITES,
    DOWNLOADS,
    DVC_SITE,
    HOURLY_SHAPE,
    IP_PREFIXES,
    OUTBOUND,
    PAGES,
    PROCEDURES,
    SITE_WEIGHTS,
    SOURCES,
    UNKNOWN_PROCEDURE,
    USER_AGENTS,
    WEEKDAY_SHAPE,
    Procedure,
    Source,
)
from emc.demo_dossiers import dossier_lines

__all__ = [
    "DEMO_SITES",
    "USER_AGENTS",
    "DemoTraffic",
    "History",
    "expected_visit_share",
    "matomo_request",
]

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
_VN = timedelta(hours=7)
#: Mean page views per visit (used to turn a page-view rate into a visit rate).
_PAGES_PER_VISIT = 2.6
_ONLINE_PROCEDURES = tuple(p for p in PROCEDURES if p.level >= 3)
_REGULARS_PER_SITE = 300


def _local(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) + _VN


def rhythm(ms: int) -> float:
    """Relative traffic at an instant: the local hour (interpolated) times the weekday."""
    local = _local(ms)
    a, b = HOURLY_SHAPE[local.hour], HOURLY_SHAPE[(local.hour + 1) % 24]
    return (a + (b - a) * local.minute / 60) * WEEKDAY_SHAPE[local.weekday()]


def expected_visit_share(hour: int) -> float:
    """The demo's relative visit rate for a local hour (used by tests and docs)."""
    return HOURLY_SHAPE[hour % 24] / max(HOURLY_SHAPE)


@dataclass
class History:
    """The lines of a history, each list sorted by ``ts``."""

    hits: list[dict[str, Any]]
    dossiers: list[dict[str, Any]]


@dataclass
class DemoTraffic:
    """Pure traffic simulation; see the module docstring."""

    rate_per_s: float = 20.0
    seed: int = 7
    live_day_ms: int = 20_000
    _queue: list[tuple[int, int, str, dict[str, Any]]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._tag = f"{self.seed & 0xFFFFFF:06x}"
        self._count = 0
        self._dossier_count = 0
        self._seq = 0
        self._anchor_ms: int | None = None
        self._hosts = {s.id: s.domains[0] for s in DEMO_SITES}
        self._regulars: dict[str, list[tuple[str, str]]] = {s: [] for s in SITE_WEIGHTS}

    # --- small draws
    def _id(self) -> str:
        self._count += 1
        return f"demo-{self._tag}-{self._count:x}"

    def _pick(self, pairs: tuple[tuple[Any, int], ...]) -> Any:
        return self._rng.choices([p for p, _ in pairs], [w for _, w in pairs])[0]

    def _visitor(self, site: str) -> tuple[str, str]:
        """(ip, ua): a returning visitor three times in ten, else a new one."""
        regulars = self._regulars[site]
        if regulars and self._rng.random() < 0.3:
            return self._rng.choice(regulars)
        prefix = self._pick(IP_PREFIXES)
        ip = f"{prefix}.{self._rng.randint(0, 255)}.{self._rng.randint(1, 254)}"
        visitor = (ip, self._pick(USER_AGENTS))
        if len(regulars) < _REGULARS_PER_SITE:
            regulars.append(visitor)
        else:
            regulars[self._rng.randrange(_REGULARS_PER_SITE)] = visitor
        return visitor

    def _source(self, site: str, start_ms: int) -> Source:
        days_ago = ((self._anchor_ms or start_ms) - start_ms) // DAY_MS
        for campaign in CAMPAIGNS:
            running = campaign.ends_days_ago <= days_ago < campaign.ends_days_ago + campaign.days
            if site in campaign.sites and running and self._rng.random() < campaign.share:
                return campaign.source
        source: Source = self._pick(SOURCES)
        if self._hosts[site] in source.referrer:  # a site is not its own referrer
            return Source()
        return source

    def _procedure(self, online_only: bool = False) -> Procedure:
        pool = _ONLINE_PROCEDURES if online_only else PROCEDURES
        if not online_only and self._rng.random() < 0.01:
            return UNKNOWN_PROCEDURE
        return self._rng.choices(pool, [p.weight for p in pool])[0]

    # --- one visit
    def visit(self, site: str, start_ms: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every hit of one visit starting at ``start_ms``, and the dossier events of the online
        submission it ends with, if any."""
        ip, ua = self._visitor(site)
        source = self._source(site, start_ms)
        host = self._hosts[site]
        pages = list(PAGES[site])
        rng = self._rng
        count = 1 if rng.random() < 0.4 else min(12, 2 + int(rng.expovariate(1 / 2.5)))
        path = [pages[0] if rng.random() < 0.45 else rng.choice(pages)]
        path += [rng.choice(pages) for _ in range(count - 1)]
        procedure: Procedure | None = None
        if site == DVC_SITE and rng.random() < 0.45:
            procedure = self._procedure(online_only=True)
            path = [f"/thu-tuc/{procedure.code}"]
            if rng.random() < 0.55:
                path.append(f"/nop-ho-so/{procedure.code}")
                if rng.random() < 0.7:
                    path.append(f"/nop-ho-so/{procedure.code}/hoan-thanh")
        hits: list[dict[str, Any]] = []
        dossiers: list[dict[str, Any]] = []
        referrer = source.referrer
        ts = start_ms
        for index, page in enumerate(path):
            url = f"https://{host}{page}"
            if index == 0 and source.utm:
                url += "?" + urlencode(source.utm)
            hits.append(self._hit(site, url, referrer, ts, ip, ua))
            later = ts + int(rng.uniform(3, 40) * 1000)
            if procedure is not None and page.startswith("/nop-ho-so/"):
                if page.endswith("/hoan-thanh"):
                    code = self._dossier_code(ts)
                    name = f"dvc/submit/{procedure.code}/{code}"
                    hits.append(self._hit(site, url, "", later, ip, ua, name))
                    dossiers = self.dossier(ts, DAY_MS, procedure, code=code, via_dvc=True)
                    if rng.random() < 0.35:
                        hits.append(self._rating(site, url, later + 5000, ip, ua, procedure))
                else:
                    name = f"dvc/start/{procedure.code}"
                    hits.append(self._hit(site, url, "", later, ip, ua, name))
            else:
                hits.extend(self._page_events(site, url, page, later, ip, ua))
            referrer = url
            ts += int(rng.uniform(8, 150) * 1000)
        return hits, dossiers

    def _hit(
        self,
        site: str,
        url: str,
        referrer: str,
        ts: int,
        ip: str,
        ua: str,
        event: str = "",
        props: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        hit: dict[str, Any] = {
            "site": site,
            "url": url,
            "referrer": referrer,
            "type": "event" if event else "pageview",
            "ts": ts,
            "ip": ip,
            "ua": ua,
            "event_id": self._id(),
        }
        if event:
            hit["name"] = event
        if props:
            hit["props"] = props
        return hit

    def _rating(
        self, site: str, url: str, ts: int, ip: str, ua: str, procedure: Procedure
    ) -> dict[str, Any]:
        score = self._rng.choices((1, 2, 3, 4, 5), (3, 4, 10, 35, 48))[0]
        props = {"score": score, "procedure": procedure.code}
        return self._hit(site, url, "", ts, ip, ua, "rating", props)

    def _page_events(
        self, site: str, url: str, page: str, ts: int, ip: str, ua: str
    ) -> list[dict[str, Any]]:
        rng = self._rng
        out: list[dict[str, Any]] = []
        if page in ("/tim-kiem",) or rng.random() < 0.05:
            name, prop, values = (
                CUSTOM_EVENTS[0] if page == "/tim-kiem" else rng.choice(CUSTOM_EVENTS)
            )
            out.append(self._hit(site, url, "", ts, ip, ua, name, {prop: rng.choice(values)}))
        if rng.random() < (0.12 if "van-ban" in page else 0.03):
            out.append(
                self._hit(site, url, "", ts + 700, ip, ua, "download:" + rng.choice(DOWNLOADS))
            )
        if rng.random() < 0.03:
            out.append(
                self._hit(site, url, "", ts + 900, ip, ua, "outbound:" + rng.choice(OUTBOUND))
            )
        if site == DVC_SITE and rng.random() < 0.02:
            procedure = self._procedure(online_only=True)
            out.append(self._rating(site, url, ts + 1100, ip, ua, procedure))
        return out

    # --- dossiers
    def _dossier_code(self, ts: int) -> str:
        """A one-stop style code, unique per seed (the seed's tag keeps runs apart)."""
        self._dossier_count += 1
        return f"000.00.01.H26-{_local(ts):%y%m%d}-{self._tag}{self._dossier_count:05d}"

    def dossier(
        self,
        start_ms: int,
        day_ms: int,
        procedure: Procedure | None = None,
        *,
        code: str | None = None,
        via_dvc: bool = False,
    ) -> list[dict[str, Any]]:
        """Every event of one dossier (``emc.demo_dossiers``), starting at ``start_ms``."""
        return dossier_lines(
            self._rng,
            self._id,
            code=code or self._dossier_code(start_ms),
            procedure=procedure or self._procedure(),
            start_ms=start_ms,
            day_ms=day_ms,
            via_dvc=via_dvc,
        )

    def _office_dossiers(self, hour_ms: int, per_day: float) -> list[dict[str, Any]]:
        """Dossiers brought to the one-stop desk (or sent from the national portal) in the
        local hour starting at ``hour_ms``: office hours on working days, a few online ones at
        any time."""
        local = _local(hour_ms)
        desk = local.weekday() < 5 and (7 <= local.hour < 12 or 13 <= local.hour < 17)
        expected = per_day * ((0.85 / 9 if desk else 0) + 0.15 * rhythm(hour_ms) / 14)
        out: list[dict[str, Any]] = []
        for _ in range(self._count_of(expected)):
            out += self.dossier(hour_ms + self._rng.randrange(HOUR_MS), DAY_MS)
        return out

    def _count_of(self, expected: float) -> int:
        whole = int(expected)
        return whole + (1 if self._rng.random() < expected - whole else 0)

    # --- history
    def history(self, end_ms: int, days: int, visits_per_day: float) -> History:
        """Every line of the ``days`` days before ``end_ms`` (see the module docstring).

        Visits per hour follow ``rhythm`` and a gentle growth (the older half of the period
        has about 15 % fewer visits than the newer half, so comparisons show a change);
        dossiers come from the portal's submissions and from the desk (about one for every
        fifteen visits of a working day)."""
        self._anchor_ms = end_ms
        start = (end_ms - days * DAY_MS) // HOUR_MS * HOUR_MS
        mean_rhythm = sum(HOURLY_SHAPE) / 24 * sum(WEEKDAY_SHAPE) / 7
        sites = list(SITE_WEIGHTS)
        weights = list(SITE_WEIGHTS.values())
        hits: list[dict[str, Any]] = []
        dossiers: list[dict[str, Any]] = []
        for hour_ms in range(start, end_ms, HOUR_MS):
            growth = 0.85 + 0.3 * (hour_ms - start) / max(1, end_ms - start)
            expected = visits_per_day / 24 * rhythm(hour_ms) / mean_rhythm * growth
            for _ in range(self._count_of(expected)):
                site = self._rng.choices(sites, weights)[0]
                h, d = self.visit(site, hour_ms + self._rng.randrange(HOUR_MS))
                hits += h
                dossiers += d
            dossiers += self._office_dossiers(hour_ms, visits_per_day / 15 * growth)
        hits = sorted((h for h in hits if h["ts"] < end_ms), key=lambda h: int(h["ts"]))
        dossiers = sorted((d for d in dossiers if d["ts"] < end_ms), key=lambda d: int(d["ts"]))
        return History(hits, dossiers)

    # --- live
    def tick(self, now_ms: int, dt_s: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Advance by ``dt_s`` seconds ending at ``now_ms``; return the (hits, dossier events)
        whose time has come."""
        if self._anchor_ms is None:
            self._anchor_ms = now_ms
        rate = rhythm(now_ms)
        sites = list(SITE_WEIGHTS)
        weights = list(SITE_WEIGHTS.values())
        for _ in range(self._count_of(self.rate_per_s / _PAGES_PER_VISIT * rate * dt_s)):
            hits, dossiers = self.visit(self._rng.choices(sites, weights)[0], now_ms)
            self._schedule(hits, "h")
            # a live dossier's "day" is short, so its whole life is seen within minutes
            self._schedule(_rescale(dossiers, now_ms, self.live_day_ms), "d")
        for _ in range(self._count_of(self.rate_per_s / 40 * rate * dt_s)):
            self._schedule(self.dossier(now_ms, self.live_day_ms), "d")
        due: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
        while self._queue and self._queue[0][0] <= now_ms:
            _, _, kind, line = heapq.heappop(self._queue)
            due[0 if kind == "h" else 1].append(line)
        return due

    def _schedule(self, lines: list[dict[str, Any]], kind: str) -> None:
        for line in lines:
            heapq.heappush(self._queue, (int(line["ts"]), self._next_seq(), kind, line))

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq


_TIME_FIELDS = ("ts", "submitted_at", "received_at", "due_at", "resolved_at", "returned_at")


def matomo_request(hit: dict[str, Any], idsite: int) -> str | None:
    """The Matomo tracking request (a bulk ``requests`` line) that ``emc-compat.js`` sends for
    a page view or a ``trackDVC(code, action[, dossier])`` event of ``hit``, with the visitor's
    IP, UA and time as a trusted sender gives them (``cip``, ``ua``, ``cdt``; the bulk request's
    ``token_auth`` makes them count); None for any other hit. The collector names the event
    ``dvc/ACTION/CODE[/DOSSIER]`` again."""
    q: dict[str, Any] = {"idsite": idsite, "rec": 1, "url": hit["url"]}
    if hit["type"] == "pageview":
        q["urlref"] = hit.get("referrer", "")
    elif hit.get("name", "").startswith("dvc/"):
        _, action, rest = hit["name"].split("/", 2)
        q.update(e_c="dvc", e_a=action, e_n=rest)
    else:
        return None
    q.update(cip=hit["ip"], ua=hit["ua"], cdt=f"{int(hit['ts']) / 1000:.3f}")
    return "?" + urlencode(q)


def _rescale(lines: list[dict[str, Any]], origin_ms: int, day_ms: int) -> list[dict[str, Any]]:
    """Dossier lines made with real days, squeezed so that a day lasts ``day_ms``."""
    out = []
    for line in lines:
        copy = dict(line)
        for name in _TIME_FIELDS:
            if name in copy:
                copy[name] = origin_ms + (int(copy[name]) - origin_ms) * day_ms // DAY_MS
        out.append(copy)
    return out
