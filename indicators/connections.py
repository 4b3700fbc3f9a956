"""Connection monitoring (DESIGN §3): for each site the last event, a status and the gaps.

A broken connection means numbers lost for good, so each site is judged against its own
history of the last 30 days (hours of receipt, UTC):

- **never_seen**: no event ever received;
- **silent**: the time since the last event exceeds the site's *usual gap* (the longest run
  between two hours with data in the window; 24 h when the window holds fewer than two such
  hours) plus one hour of bucket slack;
- **connected** otherwise.

**Gaps** are hours without data where the site's own history expected traffic: an hour of the
day is expected when the site had data in that hour on at least half of the days since its first
hour of data in the window. Consecutive missing expected hours form one gap ``[from, to)``.
The functions here are pure; ``fetch`` runs the named query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from clickhouse import named
from clickhouse.client import Database

WINDOW_DAYS = 30
DEFAULT_GAP_H = 24
HOUR = timedelta(hours=1)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def usual_gap_hours(hours: Sequence[datetime]) -> int:
    """The longest distance, in hours, between consecutive hours with data."""
    if len(hours) < 2:
        return DEFAULT_GAP_H
    return max(int((b - a) / HOUR) for a, b in pairwise(hours))


def expected_hours_of_day(hours: Sequence[datetime], now: datetime) -> set[int]:
    """Hours of the day (0–23, UTC) with data on at least half of the days observed."""
    if not hours:
        return set()
    days = max(1, (now.date() - hours[0].date()).days + 1)
    seen: dict[int, set[object]] = {}
    for hour in hours:
        seen.setdefault(hour.hour, set()).add(hour.date())
    return {h for h, dates in seen.items() if len(dates) * 2 >= days}


def gaps(hours: Sequence[datetime], now: datetime) -> list[dict[str, Any]]:
    """Runs of expected hours without data, from the first hour with data to the last full
    hour before ``now``."""
    if not hours:
        return []
    expected = expected_hours_of_day(hours, now)
    present = set(hours)
    out: list[dict[str, Any]] = []
    current = now.replace(minute=0, second=0, microsecond=0)
    hour = hours[0]
    run_start: datetime | None = None
    while hour < current:
        missing = hour.hour in expected and hour not in present
        if missing and run_start is None:
            run_start = hour
        if not missing and run_start is not None:
            out.append(_gap(run_start, hour))
            run_start = None
        hour += HOUR
    if run_start is not None:
        out.append(_gap(run_start, current))
    return out


def _gap(start: datetime, end: datetime) -> dict[str, Any]:
    return {"from": start.isoformat(), "to": end.isoformat(), "hours": int((end - start) / HOUR)}


def assess(
    site: str, hours: Iterable[datetime], last_event: datetime | None, now: datetime
) -> dict[str, Any]:
    """The connection report of one site."""
    now = _utc(now)
    if last_event is None:
        return {
            "site": site,
            "status": "never_seen",
            "last_event": None,
            "seconds_since_last_event": None,
            "usual_gap_hours": None,
            "gaps": [],
        }
    last = _utc(last_event)
    window = now - timedelta(days=WINDOW_DAYS)
    ordered = sorted({_utc(h) for h in hours if _utc(h) >= window})
    usual = usual_gap_hours(ordered)
    since = (now - last).total_seconds()
    status = "silent" if since > (usual + 1) * 3600 else "connected"
    return {
        "site": site,
        "status": status,
        "last_event": last.isoformat(),
        "seconds_since_last_event": int(since),
        "usual_gap_hours": usual,
        "gaps": gaps(ordered, now),
    }


def fetch(db: Database, sites: Sequence[str], now: datetime) -> list[dict[str, Any]]:
    """Reports for ``sites`` (every one listed, never-seen ones included), by site id."""
    since = _utc(now) - timedelta(days=WINDOW_DAYS)
    rows = named.rows(db, "connections_hourly", {"sites": list(sites), "since": since})
    found = {str(r["key"]): r for r in rows}
    out = []
    for site in sorted(sites):
        row = found.get(site)
        if row is None:
            out.append(assess(site, [], None, now))
        else:
            out.append(assess(site, row["hours"], row["last_event"], now))
    return out
