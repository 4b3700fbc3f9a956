"""Targets (chỉ tiêu, issue 18 item 4): each agency's progress towards its yearly target for
a metric, a year-end forecast from the pace so far, and the laggards.

Seed 002: thirty provinces "ban hành văn bản giao chỉ tiêu cho từng cơ quan nhà nước trên địa
bàn về tỷ lệ DVCTT phát sinh hồ sơ, tỷ lệ hồ sơ trực tuyến" (assign each agency a target for
its rate of online services with dossiers and its online dossier rate). A target's metric is a
rankings metric (``indicators.rankings.METRICS``) and its ``actual`` is that metric computed by
``rankings.agency_values`` over 1 January … today, the very number the rankings and the
one-stop / DVC overviews show for that period.

The formulas (pure functions below, ``now`` injected, local time of Vietnam):

* ``progress_pct`` = actual ÷ target × 100 (for a lower-is-better metric, target ÷ actual).
* ``forecast`` (the year-end value at the pace so far): for a past year its actual; for a
  future year none; for the current year, a *flow count* (``FLOW_COUNTS``: visits, dossiers
  received, resolved, submitted …) = count so far × days in the year ÷ elapsed days (elapsed =
  time since local midnight of 1 January, in days, fractional; none before one whole day), and
  every other metric (rates, averages, services with dossiers, open overdue dossiers) = its
  value so far, since a rate or a level does not grow with time.
* ``on_track`` = forecast ≥ target (≤ for ``LOWER_IS_BETTER``); none without a forecast.
* laggards = the targets not on track, worst first (lowest forecast ÷ target, then agency).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from clickhouse import agencies, agency_tree
from clickhouse.client import Database
from clickhouse.targets import Target
from indicators import rankings
from indicators.access import Principal
from indicators.periods import Period
from indicators.tables import Table
from schemas.sites import DEFAULT_TIMEZONE

METRICS = rankings.METRICS
#: Counts that accumulate over the year: extrapolated to the year's end.
FLOW_COUNTS = frozenset(
    {
        "visits", "pageviews", "submitted", "received_online", "received_total",
        "received_all_channels", "resolved", "returned_on_time", "submissions",
        "submissions_l4", "submissions_l3",
    }
)  # fmt: skip
#: Metrics where less is better: a target is a ceiling.
LOWER_IS_BETTER = frozenset({"avg_processing_time_s", "overdue_open"})
#: Whose clock "today" and "elapsed" follow (every agency here is in Vietnam).
ZONE = ZoneInfo(DEFAULT_TIMEZONE)
COLUMNS = (
    "agency", "name", "metric", "year", "target", "actual", "progress_pct", "forecast",
    "forecast_pct", "on_track", "updated_by", "updated_at",
)  # fmt: skip


def local_now(now_epoch_s: float) -> datetime:
    """Naive local wall-clock time of Vietnam at ``now_epoch_s``."""
    return datetime.fromtimestamp(now_epoch_s, tz=ZONE).replace(tzinfo=None)


def days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def elapsed_days(year: int, now: datetime) -> float:
    """Days of ``year`` elapsed at local ``now`` (fractional; 0 before it, the whole year
    after it)."""
    start = datetime(year, 1, 1)
    seconds = (now - start).total_seconds()
    return max(0.0, min(seconds / 86400, float(days_in_year(year))))


def year_period(year: int, now: datetime) -> Period | None:
    """1 January … the year's last day or today, whichever comes first; None for a future
    year."""
    if year > now.year:
        return None
    return Period(date(year, 1, 1), min(date(year, 12, 31), now.date()))


def forecast(metric: str, actual: float | None, year: int, now: datetime) -> float | None:
    """The year-end value at the pace so far (module docstring)."""
    if actual is None or year > now.year:
        return None
    if year < now.year or metric not in FLOW_COUNTS:
        return round(float(actual), 1)
    elapsed = elapsed_days(year, now)
    if elapsed < 1:
        return None
    return round(actual * days_in_year(year) / elapsed, 1)


def progress_pct(metric: str, value: float | None, target: float) -> float | None:
    """``value`` as a percentage of the way to ``target`` (reversed for a ceiling); None
    without a value or for a zero target / zero value that makes it undefined."""
    if value is None:
        return None
    if metric in LOWER_IS_BETTER:
        return round(target / value * 100, 1) if value else None
    return round(value / target * 100, 1) if target else None


def on_track(metric: str, expected: float | None, target: float) -> bool | None:
    if expected is None:
        return None
    return expected <= target if metric in LOWER_IS_BETTER else expected >= target


def refuser(db: Database, who: Principal) -> Callable[[str], str | None]:
    """A check of which agencies ``who`` may set targets for (the tree read once, so a file of
    a thousand rows costs one read): it answers why not, or None when it may. A target binds an
    agency and is set by one above it (seed 002: the province assigns its departments'), so
    the agency must lie strictly below ``who``'s (the admin: be registered). Unknown and
    outside the subtree read the same (no existence leak)."""
    every = agencies.list_agencies(db)
    scope = (
        {a.id for a in every}
        if who.agency_id is None
        else agency_tree.subtree(every, who.agency_id)
    )

    def refusal(agency_id: str) -> str | None:
        if agency_id not in scope:
            return f"agency {agency_id!r} is not registered"
        if who.agency_id == agency_id:
            return f"agency {agency_id!r}: an agency's own targets are set by the agency above it"
        return None

    return refusal


def target_row(target: Target, name: str, actual: float | None, now: datetime) -> dict[str, Any]:
    """One target with its progress and forecast (pure)."""
    expected = forecast(target.metric, actual, target.year, now)
    return {
        **target.as_json(),
        "name": name,
        "actual": actual,
        "progress_pct": progress_pct(target.metric, actual, target.value),
        "forecast": expected,
        "forecast_pct": progress_pct(target.metric, expected, target.value),
        "on_track": on_track(target.metric, expected, target.value),
    }


def laggards(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows not on track, worst first: lowest ``forecast_pct`` (None last), then agency,
    metric and year."""
    behind = [r for r in rows if r["on_track"] is False]
    return sorted(
        behind,
        key=lambda r: (
            r["forecast_pct"] is None,
            r["forecast_pct"] or 0.0,
            r["agency"],
            r["metric"],
            r["year"],
        ),
    )


def report(db: Database, targets: Sequence[Target], now: datetime) -> dict[str, Any]:
    """Every target with its actual (one rankings computation per metric and year, over all
    the targets' agencies at once), progress and forecast, and the laggards."""
    names = {a.id: a.name for a in agencies.list_agencies(db)}
    groups: dict[tuple[str, int], set[str]] = defaultdict(set)
    for t in targets:
        groups[(t.metric, t.year)].add(t.agency)
    actuals: dict[tuple[str, str, int], Any] = {}
    for (metric, year), ids in groups.items():
        period = year_period(year, now)
        if period is None:
            continue
        for agency_id, value in rankings.agency_values(db, metric, ids, period).items():
            actuals[(agency_id, metric, year)] = value
    rows = [
        target_row(t, names.get(t.agency, ""), actuals.get((t.agency, t.metric, t.year)), now)
        for t in targets
    ]
    return {
        "now": now.isoformat(timespec="seconds"),
        "timezone": DEFAULT_TIMEZONE,
        "targets": rows,
        "laggards": laggards(rows),
    }


def table(answer: dict[str, Any]) -> Table:
    """The targets as a table: the import layout (Agency, Metric, Year, Target) first, so an
    exported file can be edited and imported again, then the computed columns."""
    head = ["Agency", "Metric", "Year", "Target"]
    rest = [c for c in COLUMNS if c not in ("agency", "metric", "year", "target")]
    rows = [
        [r["agency"], r["metric"], r["year"], r["target"], *(r[c] for c in rest)]
        for r in answer["targets"]
    ]
    return Table([*head, *rest], rows)
