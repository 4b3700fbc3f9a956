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

One visit and one dossier are drawn by ``emc.demo_visits`` and ``emc.demo_dossiers``, the
world they are drawn from is ``emc.demo_data``; posting (``emc.demo_run``) is the thin I/O
around all of it.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from emc.demo_data import (
    DEMO_SITES,
    HOURLY_SHAPE,
    SITE_WEIGHTS,
    USER_AGENTS,
    WEEKDAY_SHAPE,
)
from emc.demo_visits import DAY_MS, VisitSimulator

__all__ = [
    "DEMO_SITES",
    "USER_AGENTS",
    "DemoTraffic",
    "History",
    "expected_visit_share",
    "matomo_request",
]

HOUR_MS = 3_600_000
_VN = timedelta(hours=7)
#: Mean page views per visit (used to turn a page-view rate into a visit rate).
_PAGES_PER_VISIT = 2.6


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
class DemoTraffic(VisitSimulator):
    """Pure traffic simulation; see the module docstring (visits and dossiers themselves are
    drawn by ``emc.demo_visits.VisitSimulator``)."""

    rate_per_s: float = 20.0
    seed: int = 7
    live_day_ms: int = 20_000
    _queue: list[tuple[int, int, str, dict[str, Any]]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        VisitSimulator.__init__(self, self.seed)
        self._seq = 0

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
