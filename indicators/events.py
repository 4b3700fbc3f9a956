"""Events reports (issue 17 item 3): custom events, their properties, outbound links,
downloads, site search terms and page titles, each with its change against the comparison
period.

Contract: ``breakdown`` takes already-validated parameters and returns the same shape as
``/portal/breakdown`` (``by``, ``total``, ``rows`` with ``key``, ``share_pct``, the previous
value and ``change_pct``): ``hits`` (events, clicks, searches, pageviews), ``visits`` with
such a hit, ``unique_visitors`` and, for events, ``value_sum`` (the sum of the events'
values, null when none carried one); title rows add the page's latest ``title``. One named
query answers every kind (``clickhouse/queries/events_breakdown.sql``); the comparison period
is read for the keys shown only. Numbers belong to each hit's own local date, like pageviews
(DESIGN §2), and are cut like every portal report (issue 16, ``indicators.periods.cuts``).

Why one module apart from ``indicators.portal``: these reports read the raw hits (no rollup
keeps event names, properties or URLs) and share one query; the portal module stays the home
of the visit and page numbers.

Site search terms: the Matomo ``search`` property when the hit has one, else the first
non-empty of the URL query parameters ``SEARCH_PARAMS`` (sites have no per-site settings yet,
so this documented default list applies to every site).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from clickhouse import named
from clickhouse.client import Database
from indicators.change import change_pct, percent
from indicators.periods import Cut, Period
from indicators.tables import Table

#: ``by=`` values answered here, and what each counts.
KINDS = ("event", "event_property", "outbound", "download", "search", "title")
#: URL query parameters read as a site search term, in order (Vietnamese portals: ``tu_khoa``,
#: ``tukhoa``; WordPress ``s``; common ``q``, ``query``, ``keyword``, ``search``).
SEARCH_PARAMS = ("q", "s", "search", "query", "keyword", "keywords", "tu_khoa", "tukhoa", "k")
#: ``ends`` of a query that is not cut: 2100-01-01 (epoch seconds).
NOT_CUT = 4_102_444_800
_SQL_KIND = {"event_property": "property"}


def ends(sites: Sequence[str], cut: Cut | None) -> list[int]:
    """Each site's exclusive local end (epoch seconds of the wall clock read as UTC), far in
    the future when the period is not cut."""
    if cut is None or not cut.partial:
        return [NOT_CUT] * len(sites)
    return [int(end.replace(tzinfo=UTC).timestamp()) for end in cut.ends]


def _rows(
    db: Database,
    sites: Sequence[str],
    period: Period,
    cut: Cut | None,
    by: str,
    event: str,
    prop: str,
    keys: list[str],
    limit: int,
) -> list[dict[str, Any]]:
    params = {
        "sites": list(sites),
        "from": period.start,
        "to": period.end,
        "ends": ends(sites, cut),
        "kind": _SQL_KIND.get(by, by),
        "event": event,
        "property": prop,
        "search_params": list(SEARCH_PARAMS),
        "keys": keys,
        "limit": limit,
    }
    return named.rows(db, "events_breakdown", params)


def breakdown(
    db: Database,
    sites: Sequence[str],
    period: Period,
    compare: Period | None,
    by: str,
    limit: int,
    cut: Cut | None = None,
    compare_cut: Cut | None = None,
    event: str = "",
    prop: str = "",
) -> dict[str, Any]:
    """Rows sorted by hits, each with its share of all hits of the kind and its hits in the
    comparison period (same keys, same kind). ``event``/``prop`` name the event and property
    of ``by=event_property``."""
    current = _rows(db, sites, period, cut, by, event, prop, [], limit)
    total = int(current[0]["total_hits"]) if current else 0
    previous: dict[str, int] = {}
    if compare and current:
        keys = [str(r["key"]) for r in current]
        previous = {
            str(r["key"]): int(r["hits"])
            for r in _rows(db, sites, compare, compare_cut, by, event, prop, keys, len(keys))
        }
    rows = []
    for r in current:
        hits = int(r["hits"])
        prev = previous.get(str(r["key"]), 0) if compare else None
        row: dict[str, Any] = {
            "key": str(r["key"]),
            "hits": hits,
            "visits": int(r["visits"]),
            "unique_visitors": int(r["unique_visitors"]),
            "share_pct": percent(hits, total, 1),
            "previous_hits": prev,
            "change_pct": change_pct(hits, prev),
        }
        if by in ("event", "event_property"):
            value = r["value_sum"]
            row["value_sum"] = None if value is None else float(value)
        if by == "title":
            row["title"] = str(r["title"])
        rows.append(row)
    answer: dict[str, Any] = {
        "site": ",".join(sites),
        "period": period.as_json(),
        "compare_period": compare.as_json() if compare else None,
        "filters": [],
        "by": by,
        "total": {"hits": total},
        "rows": rows,
    }
    if by == "event_property":
        answer["event"], answer["property"] = event, prop
    if cut is not None:
        answer["period_cut"] = cut.as_json()
        answer["compare_cut"] = compare_cut.as_json() if compare_cut is not None else None
    return answer


def breakdown_table(answer: dict[str, Any]) -> Table:
    extra = [c for c in ("title", "value_sum") if any(c in r for r in answer["rows"])]
    columns = [
        "key", *extra, "hits", "visits", "unique_visitors", "share_pct", "previous_hits",
        "change_pct",
    ]  # fmt: skip
    return Table(columns, [[r.get(c) for c in columns] for r in answer["rows"]])
