"""The portal indicators (DESIGN §3.I): run the named queries and shape the answers.

Why apart from the HTTP layer: these functions take a ``Database`` and already-validated
parameters and return plain dicts, so the rules (which number belongs to which period, ratios
from summed numerators and denominators, zero-filled series, shares, changes) live in one place
that the HTTP endpoints, the compare endpoint and the benchmark all call.

Conventions: ``sites`` is one or more site ids and every number is computed over their union
(one distinct count of visitors, sums of visits; never added percentages). Visit-based numbers
belong to the local date/hour of the visit's first hit; pageviews to each hit's own local time.

Periods that contain now (issue 16): every endpoint but realtime takes the ``Cut`` of the
period and of the comparison period (``indicators.periods.cuts``) and counts only up to it, per
site: the named queries take it as their optional ``ends`` parameter (left out for a period
that is not cut, so such a query runs exactly as an analyst's call of it). The cut is exact to
the hour, not the minute: the hourly rollups (``visits_hourly``, ``hits_hourly``,
``visitors_hourly``, per local hour) answer it without reading raw tables, and a unique-visitor
count cannot be stitched from an hourly rollup and a raw remainder of the running hour without
reading that hour raw for every visitor count; so the running hour is left out of both sides
until it ends (``/portal/realtime`` covers it) and the answer says so (``period_cut``,
``compare_cut``: ``cut`` rounded down to the hour). The daily rollups of the breakdowns
(``visits_by_dim_daily``, ``page_visitors_daily``) are completed for the cut's day from the
raw tables, up to the same hour. Timeseries points at or after the cut are ``null`` (not
counted), not 0.

Seed 000 over DESIGN §2 (issue 16): pages per visit (I.2) = every pageview of the period /
visits; the bounce rate (I.4) = bounced users / users (query ``portal_bounce_users``, raw
``sessions``: a visitor every one of whose visits in the period bounced), its change in percent
(``change_pct``) as well as in points (``change_pp``); the rows of the visit breakdowns and of
the hours of the day too, row by row (``portal_bounce_users_by``).

Filters (issue 17 item 1, ``indicators.filters``): every function takes ``filters`` (default:
none). Unfiltered answers keep reading the rollups; filtered ones run the ``*_filtered`` named
queries on the raw ``sessions`` and ``pageviews`` tables (the rollups do not hold the filtered
combinations), with the same cuts, the same unique-visitor function (``uniqCombined64(19)``)
and the same shapes, plus ``filters`` echoing what was applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from clickhouse import named
from clickhouse.client import Database
from indicators.change import change_pct, count_metric, percent, rate_metric, ratio
from indicators.channels import site_tree
from indicators.filters import Filters, tree_params
from indicators.periods import Cut, Period
from indicators.tables import Table

#: Breakdown dimensions and the named query that answers each.
VISIT_DIMS = ("country", "device", "browser", "os")
SESSION_DIMS = ("city", "entry_page", "exit_page", "referrer")
#: Campaign dimensions (issue 17 item 2): rollup dims of the 0065 view, query
#: ``portal_breakdown_dim``; the channel has its own query (``portal_breakdown_channel``).
CAMPAIGN_DIMS = ("utm_source", "utm_medium", "utm_campaign")
BREAKDOWNS = (
    *VISIT_DIMS, *SESSION_DIMS, "channel", *CAMPAIGN_DIMS, "page", "hour_of_day", "site"
)  # fmt: skip
#: Breakdowns shown side by side by the compare endpoint.
COMPARE_BREAKDOWNS = ("country", "device", "browser", "page")
REALTIME_PAGES = 10
#: ``ends`` of a filtered query that is not cut: 2100-01-01 (epoch seconds).
_NOT_CUT = 4_102_444_800
NO_FILTERS = Filters()


@dataclass(frozen=True, slots=True)
class Totals:
    """Summed numbers of a period; ratios are computed from these, never averaged."""

    visits: int = 0
    visit_pageviews: int = 0
    duration_ms: int = 0
    bounces: int = 0
    pageviews: int = 0
    unique_visitors: int = 0
    #: I.4's base: visitors with a visit started in the period, and those of them whose every
    #: visit bounced (queries ``portal_bounce_users``, ``portal_bounce_users_by``); None where
    #: not computed, whose bounce rate is then the visits' (``visit_bounce_rate``).
    users: int | None = None
    bounced_users: int = 0

    @property
    def pages_per_visit(self) -> float | None:
        """I.2 (seed 000, Phụ lục 2, I.2) "Số trang xem trung bình/lượt truy cập": "Tính bằng
        tổng số lượt xem trang (pageview) / lượt truy cập (visit)" — every pageview of the
        period (by each hit's own time), not only those of the visits that started in it
        (issue 16: the seed won over DESIGN §2). A row of a visit breakdown (country, device …)
        has no pageviews apart from its visits', and uses those (``_totals``)."""
        return ratio(self.pageviews, self.visits)

    @property
    def avg_visit_duration_s(self) -> float | None:
        return ratio(self.duration_ms / 1000, self.visits)

    @property
    def visit_bounce_rate(self) -> float | None:
        """Bounced visits / visits × 100 (DESIGN §2): the share of visits."""
        return percent(self.bounces, self.visits)

    @property
    def bounce_rate(self) -> float | None:
        """I.4 (seed 000, Phụ lục 2, I.4) "Tỷ lệ thoát trang": "Tỷ lệ thoát là phần trăm người
        dùng rời khỏi Cổng/ Trang thông tin điện tử sau khi chỉ truy cập vào một trang thành
        phần (người dùng vào xem một trang thành phần và rời đi ngay mà không truy cập bất kỳ
        trang nào khác)": bounced users / users × 100 (issue 16: the seed won over DESIGN §2's
        share of visits). Where users were not counted, the share of visits."""
        if self.users is None:
            return self.visit_bounce_rate
        return percent(self.bounced_users, self.users)


def _params(sites: Sequence[str], period: Period) -> dict[str, Any]:
    return {"sites": list(sites), "from": period.start, "to": period.end}


def _cut_params(sites: Sequence[str], period: Period, cut: Cut | None) -> dict[str, Any]:
    """``sites``, ``from``, ``to`` and, when ``cut`` stops some site before the period's end,
    ``ends`` = each site's local cut as epoch seconds of the wall-clock time read as UTC (how
    the rollups store local hours); a period not cut leaves ``ends`` out (the whole period)."""
    if cut is None or not cut.partial:
        return _params(sites, period)
    ends = [int(end.replace(tzinfo=UTC).timestamp()) for end in cut.ends]
    return {**_params(sites, period), "ends": ends}


def _filtered_params(
    sites: Sequence[str], period: Period, filters: Filters, cut: Cut | None = None
) -> dict[str, Any]:
    """Parameters of a ``*_filtered`` period query: the period, each site's cut (``ends``;
    far in the future when not cut) and the filter parameters."""
    cut_ends = _cut_params(sites, period, cut).get("ends")
    ends = cut_ends if cut_ends is not None else [_NOT_CUT] * len(sites)
    return {**_params(sites, period), "ends": ends, **filters.params()}


def _filtered_rows(db: Database, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Run a ``*_filtered`` query. The flags ``visit_filtered`` / ``page_filtered`` exist for
    its session-id subqueries; a query without one (the visit breakdown needs no visit
    subquery) does not declare it, and it is left out here. Every ``f_*`` parameter is
    declared by every such query (``tests/unit/indicators/test_filters.py``)."""
    declared = named.load(name).params
    flags = ("visit_filtered", "page_filtered", "event_filtered")
    return named.rows(
        db, name, {k: v for k, v in params.items() if k not in flags or k in declared}
    )


def _int(value: Any) -> int:
    return int(value or 0)


def _totals(row: dict[str, Any]) -> Totals:
    return Totals(
        visits=_int(row.get("visits")),
        visit_pageviews=_int(row.get("visit_pageviews")),
        duration_ms=_int(row.get("duration_ms")),
        bounces=_int(row.get("bounces")),
        # a visit breakdown row (by country, device …) counts only its visits' pageviews
        pageviews=_int(row["pageviews"] if "pageviews" in row else row.get("visit_pageviews")),
        unique_visitors=_int(row.get("unique_visitors")),
    )


def _bounce_users(
    db: Database,
    sites: Sequence[str],
    period: Period,
    cut: Cut | None,
    interval: str,
    filters: Filters = NO_FILTERS,
) -> dict[datetime, tuple[int, int]]:
    """I.4's users and bounced users per bucket (``interval`` all | day | hour; 'all' = one
    bucket, the period's first midnight), up to ``cut`` (query ``portal_bounce_users``;
    filtered: ``portal_bounce_users_filtered``)."""
    if filters:
        params = {**_filtered_params(sites, period, filters, cut), "interval": interval}
        rows = _filtered_rows(db, "portal_bounce_users_filtered", params)
    else:
        params = {**_cut_params(sites, period, cut), "interval": interval}
        rows = named.rows(db, "portal_bounce_users", params)
    return {_naive(r["bucket"]): (_int(r["users"]), _int(r["bounced_users"])) for r in rows}


def _row_users(
    db: Database,
    by: str,
    sites: Sequence[str],
    period: Period,
    cut: Cut | None,
    keys: list[str],
    filters: Filters = NO_FILTERS,
) -> dict[str, tuple[int, int]]:
    """I.4's users and bounced users per row of the breakdown ``by`` (a visit dimension,
    ``site`` or ``hour_of_day``), only ``keys`` when given (query ``portal_bounce_users_by``;
    filtered: ``portal_bounce_users_by_filtered``)."""
    if filters:
        params = {**_filtered_params(sites, period, filters, cut), "by": by, "keys": keys}
        rows = _filtered_rows(db, "portal_bounce_users_by_filtered", params)
    else:
        params = {**_cut_params(sites, period, cut), "by": by, "keys": keys}
        if by == "channel":
            params.update(tree_params(filters.tree))
        rows = named.rows(db, "portal_bounce_users_by", params)
    return {str(r["key"]): (_int(r["users"]), _int(r["bounced_users"])) for r in rows}


def _with_users(t: Totals, found: tuple[int, int] | None) -> Totals:
    users, bounced = found or (0, 0)
    return replace(t, users=users, bounced_users=bounced)


def _visit_fields(t: Totals) -> dict[str, Any]:
    """Per-row visit ratios, rounded for display."""
    ppv, avg, bounce = t.pages_per_visit, t.avg_visit_duration_s, t.bounce_rate
    return {
        "pages_per_visit": None if ppv is None else round(ppv, 2),
        "avg_visit_duration_s": None if avg is None else round(avg, 1),
        "bounce_rate": None if bounce is None else round(bounce, 1),
    }


# --- overview ---------------------------------------------------------------------------


def totals(
    db: Database,
    sites: Sequence[str],
    period: Period,
    cut: Cut | None = None,
    filters: Filters = NO_FILTERS,
) -> Totals:
    """The headline sums of ``sites`` over ``period`` (query ``portal_overview``, and
    ``portal_bounce_users`` for I.4), only up to ``cut`` when given; filtered:
    ``portal_overview_filtered`` alone (it counts I.4's users too)."""
    if filters:
        rows = _filtered_rows(
            db, "portal_overview_filtered", _filtered_params(sites, period, filters, cut)
        )
        # the filtered query counts I.4's users in the same scan (its header)
        found = (_int(rows[0]["users"]), _int(rows[0]["bounced_users"])) if rows else None
        return _with_users(_totals(rows[0]) if rows else Totals(), found)
    rows = named.rows(db, "portal_overview", _cut_params(sites, period, cut))
    users = _bounce_users(db, sites, period, cut, "all", filters)
    return _with_users(_totals(rows[0]) if rows else Totals(), next(iter(users.values()), None))


def metrics(current: Totals, previous: Totals | None) -> dict[str, Any]:
    """The overview's metrics with their change against ``previous`` (None: no comparison)."""

    def prev(name: str) -> Any:
        return None if previous is None else getattr(previous, name)

    c = current
    return {
        "visits": count_metric(c.visits, prev("visits")),
        "pageviews": count_metric(c.pageviews, prev("pageviews")),
        "unique_visitors": count_metric(c.unique_visitors, prev("unique_visitors")),
        "pages_per_visit": count_metric(c.pages_per_visit, prev("pages_per_visit"), digits=2),
        "avg_visit_duration_s": count_metric(
            c.avg_visit_duration_s, prev("avg_visit_duration_s"), digits=1
        ),
        # I.4: its change in percent, "theo tỷ lệ %" (seed 000), and in points as before
        "bounce_rate": {
            **rate_metric(c.bounce_rate, prev("bounce_rate")),
            "change_pct": change_pct(c.bounce_rate, prev("bounce_rate")),
        },
    }


def _cut_fields(cut: Cut | None, compare_cut: Cut | None) -> dict[str, Any]:
    """``period_cut`` / ``compare_cut`` of an answer (absent when no cut was computed;
    ``compare_cut`` null without a comparison)."""
    if cut is None:
        return {}
    return {
        "period_cut": cut.as_json(),
        "compare_cut": compare_cut.as_json() if compare_cut is not None else None,
    }


def overview(
    db: Database,
    sites: Sequence[str],
    period: Period,
    compare: Period | None,
    cut: Cut | None = None,
    compare_cut: Cut | None = None,
    filters: Filters = NO_FILTERS,
) -> dict[str, Any]:
    """``/portal/overview``: visits, pageviews, unique visitors, pages per visit, average visit
    duration and bounce rate, each with its change; with ``cut``/``compare_cut`` only up to
    them (a period that contains now against the same elapsed part of the comparison)."""
    current = totals(db, sites, period, cut, filters)
    previous = totals(db, sites, compare, compare_cut, filters) if compare else None
    return {
        "site": ",".join(sites),
        "period": period.as_json(),
        "compare_period": compare.as_json() if compare else None,
        "filters": filters.as_json(),
        **_cut_fields(cut, compare_cut),
        "metrics": metrics(current, previous),
    }


def overview_table(answer: dict[str, Any]) -> Table:
    rows = []
    for name, metric in answer["metrics"].items():
        unit = "change_pct" if "change_pct" in metric else "change_pp"
        rows.append([name, metric["value"], metric["previous"], metric[unit], unit])
    return Table(["metric", "value", "previous", "change", "change_unit"], rows)


# --- timeseries -------------------------------------------------------------------------


def _buckets(period: Period, hourly: bool) -> list[datetime]:
    days = [datetime(d.year, d.month, d.day) for d in period.dates()]
    if not hourly:
        return days
    return [day + timedelta(hours=h) for day in days for h in range(24)]


def _naive(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def series(
    db: Database,
    sites: Sequence[str],
    period: Period,
    hourly: bool,
    cut: Cut | None = None,
    filters: Filters = NO_FILTERS,
) -> list[dict[str, Any]]:
    """One point per local day (or hour) of ``period``, zero-filled (query
    ``portal_timeseries``). Ratios are None for buckets without visits. With ``cut`` the
    numbers stop there and a point that starts at or after every site's cut is all ``null``:
    not counted, rather than zero. Filtered: query ``portal_timeseries_filtered`` (with the
    same cut)."""
    stop: datetime | None = None if cut is None else max(cut.ends, default=None)
    if filters:
        name, params = "portal_timeseries_filtered", _filtered_params(sites, period, filters, cut)
    else:
        name, params = "portal_timeseries", _cut_params(sites, period, cut)
    params = {**params, "hourly": int(hourly)}
    found = {_naive(r["bucket"]): _totals(r) for r in _filtered_rows(db, name, params)}
    users = _bounce_users(db, sites, period, cut, "hour" if hourly else "day", filters)
    found = {b: _with_users(found.get(b, Totals()), users.get(b)) for b in {*found, *users}}
    points: list[dict[str, Any]] = []
    for bucket in _buckets(period, hourly):
        t = found.get(bucket, Totals())
        label = bucket.strftime("%Y-%m-%dT%H:00") if hourly else bucket.date().isoformat()
        if stop is not None and bucket >= stop:
            points.append({"t": label, **dict.fromkeys(_POINT_FIELDS)})
            continue
        points.append(
            {
                "t": label,
                "visits": t.visits,
                "pageviews": t.pageviews,
                "unique_visitors": t.unique_visitors,
                **_visit_fields(t),
            }
        )
    return points


def timeseries(
    db: Database,
    sites: Sequence[str],
    period: Period,
    compare: Period | None,
    hourly: bool,
    cut: Cut | None = None,
    compare_cut: Cut | None = None,
    filters: Filters = NO_FILTERS,
) -> dict[str, Any]:
    """``/portal/timeseries``: the current series and the comparison series (its own dates; a
    ``year`` comparison across 29 February can be one point shorter or longer), each up to its
    cut when given."""
    return {
        "site": ",".join(sites),
        "period": period.as_json(),
        "compare_period": compare.as_json() if compare else None,
        "filters": filters.as_json(),
        **_cut_fields(cut, compare_cut),
        "interval": "hour" if hourly else "day",
        "points": series(db, sites, period, hourly, cut, filters),
        "compare_points": (
            series(db, sites, compare, hourly, compare_cut, filters) if compare else None
        ),
    }


_POINT_FIELDS = (
    "visits",
    "pageviews",
    "unique_visitors",
    "pages_per_visit",
    "avg_visit_duration_s",
    "bounce_rate",
)


def timeseries_table(answer: dict[str, Any]) -> Table:
    points, other = answer["points"], answer["compare_points"] or []
    columns = ["t", *_POINT_FIELDS, "compare_t", *(f"compare_{f}" for f in _POINT_FIELDS)]
    rows = []
    for i in range(max(len(points), len(other))):
        cur = points[i] if i < len(points) else {}
        prev = other[i] if i < len(other) else {}
        current_cells = [cur.get(f) for f in _POINT_FIELDS]
        compare_cells = [prev.get(f) for f in _POINT_FIELDS]
        rows.append([cur.get("t"), *current_cells, prev.get("t"), *compare_cells])
    return Table(columns, rows)


# --- breakdowns -------------------------------------------------------------------------


def _visit_rows(
    db: Database,
    by: str,
    sites: Sequence[str],
    period: Period,
    cut: Cut | None,
    keys: list[str],
    limit: int,
    filters: Filters = NO_FILTERS,
) -> list[dict[str, Any]]:
    if filters:
        wanted = {**_filtered_params(sites, period, filters, cut), "by": by, "keys": keys}
        return _filtered_rows(db, "portal_breakdown_filtered", {**wanted, "limit": limit})
    params: dict[str, Any] = {**_cut_params(sites, period, cut), "keys": keys, "limit": limit}
    if by == "channel":
        return named.rows(db, "portal_breakdown_channel", {**params, **tree_params(filters.tree)})
    if by in VISIT_DIMS or by in SESSION_DIMS or by in CAMPAIGN_DIMS:
        return named.rows(db, "portal_breakdown_dim", {**params, "dim": by})
    return named.rows(db, "portal_breakdown_sites", params)


def _hour_rows(
    db: Database,
    sites: Sequence[str],
    period: Period,
    cut: Cut | None,
    filters: Filters = NO_FILTERS,
) -> dict[int, dict[str, Any]]:
    if filters:
        params = _filtered_params(sites, period, filters, cut)
        rows = _filtered_rows(db, "portal_breakdown_hours_filtered", params)
    else:
        rows = named.rows(db, "portal_breakdown_hours", _cut_params(sites, period, cut))
    return {int(r["hour_of_day"]): r for r in rows}


def breakdown(
    db: Database,
    sites: Sequence[str],
    period: Period,
    compare: Period | None,
    by: str,
    limit: int,
    filters: Filters = NO_FILTERS,
    cut: Cut | None = None,
    compare_cut: Cut | None = None,
) -> dict[str, Any]:
    """``/portal/breakdown``: rows sorted by visits (by pageviews for ``page``; by hour for
    ``hour_of_day``, always 24 rows; ``channel``: its ``internal`` rows from the agency tree of
    ``indicators.channels``), each with its share of the total and its value in the
    comparison period (with the same filters); with ``cut`` / ``compare_cut`` each side only
    up to its cut."""
    cuts = (cut, compare_cut)
    if by == "channel" and not filters.tree[0]:
        # internal = a referral from the same agency tree, decided from the registry now
        filters = replace(filters, tree=site_tree(db, sites))
    if by == "page":
        rows, total = _page_rows(db, sites, period, compare, limit, cuts, filters)
        measure = "pageviews"
    elif by == "hour_of_day":
        rows, total = _hour_breakdown(db, sites, period, compare, cuts, filters)
        measure = "visits"
    else:
        rows, total = _dim_rows(db, by, sites, period, compare, limit, cuts, filters)
        measure = "visits"
    return {
        "site": ",".join(sites),
        "period": period.as_json(),
        "compare_period": compare.as_json() if compare else None,
        "filters": filters.as_json(),
        **_cut_fields(cut, compare_cut),
        "by": by,
        "total": {measure: total},
        "rows": rows,
    }


def _dim_rows(
    db: Database,
    by: str,
    sites: Sequence[str],
    period: Period,
    compare: Period | None,
    limit: int,
    cuts: tuple[Cut | None, Cut | None],
    filters: Filters = NO_FILTERS,
) -> tuple[list[dict[str, Any]], int]:
    current = _visit_rows(db, by, sites, period, cuts[0], [], limit, filters)
    total = _int(current[0]["total_visits"]) if current else 0
    previous: dict[str, int] = {}
    if compare and current:
        keys = [str(r["key"]) for r in current]
        previous = {
            str(r["key"]): _int(r["visits"])
            for r in _visit_rows(db, by, sites, compare, cuts[1], keys, len(keys), filters)
        }
    keys = [str(r["key"]) for r in current]
    users = _row_users(db, by, sites, period, cuts[0], keys, filters) if current else {}
    rows = []
    for r in current:
        t = _with_users(_totals(r), users.get(str(r["key"])))
        prev = previous.get(str(r["key"]), 0) if compare else None
        rows.append(
            {
                "key": str(r["key"]),
                "visits": t.visits,
                "pageviews": t.visit_pageviews,
                "share_pct": percent(t.visits, total, 1),
                **_visit_fields(t),
                "previous_visits": prev,
                "change_pct": change_pct(t.visits, prev),
            }
        )
    return rows, total


def _pages(
    db: Database,
    sites: Sequence[str],
    period: Period,
    cut: Cut | None,
    keys: list[str],
    limit: int,
    filters: Filters,
) -> list[dict[str, Any]]:
    if filters:
        params = {**_filtered_params(sites, period, filters, cut), "keys": keys, "limit": limit}
        return _filtered_rows(db, "portal_breakdown_pages_filtered", params)
    params = {**_cut_params(sites, period, cut), "keys": keys, "limit": limit}
    return named.rows(db, "portal_breakdown_pages", params)


def _page_rows(
    db: Database,
    sites: Sequence[str],
    period: Period,
    compare: Period | None,
    limit: int,
    cuts: tuple[Cut | None, Cut | None],
    filters: Filters = NO_FILTERS,
) -> tuple[list[dict[str, Any]], int]:
    current = _pages(db, sites, period, cuts[0], [], limit, filters)
    total = _int(current[0]["total_pageviews"]) if current else 0
    previous: dict[str, int] = {}
    if compare and current:
        keys = [str(r["key"]) for r in current]
        previous = {
            str(r["key"]): _int(r["pageviews"])
            for r in _pages(db, sites, compare, cuts[1], keys, len(keys), filters)
        }
    rows = []
    for r in current:
        pageviews = _int(r["pageviews"])
        prev = previous.get(str(r["key"]), 0) if compare else None
        rows.append(
            {
                "key": str(r["key"]),
                "pageviews": pageviews,
                "visits": _int(r["visits"]),
                "unique_visitors": _int(r["unique_visitors"]),
                "share_pct": percent(pageviews, total, 1),
                "previous_pageviews": prev,
                "change_pct": change_pct(pageviews, prev),
            }
        )
    return rows, total


def _hour_breakdown(
    db: Database,
    sites: Sequence[str],
    period: Period,
    compare: Period | None,
    cuts: tuple[Cut | None, Cut | None],
    filters: Filters = NO_FILTERS,
) -> tuple[list[dict[str, Any]], int]:
    current = _hour_rows(db, sites, period, cuts[0], filters)
    previous = _hour_rows(db, sites, compare, cuts[1], filters) if compare else {}
    total = sum(_int(r["visits"]) for r in current.values())
    users = _row_users(db, "hour_of_day", sites, period, cuts[0], [], filters)
    rows = []
    for hour in range(24):
        t = _with_users(_totals(current.get(hour, {})), users.get(str(hour)))
        prev = _int(previous.get(hour, {}).get("visits")) if compare else None
        rows.append(
            {
                "key": hour,
                "visits": t.visits,
                "pageviews": t.pageviews,
                "share_pct": percent(t.visits, total, 1),
                **_visit_fields(t),
                "previous_visits": prev,
                "change_pct": change_pct(t.visits, prev),
            }
        )
    return rows, total


def breakdown_table(answer: dict[str, Any]) -> Table:
    rows = answer["rows"]
    if not rows:
        return Table(["key"], [])
    columns = list(rows[0])
    return Table(columns, [[r[c] for c in columns] for r in rows])


# --- realtime ---------------------------------------------------------------------------


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _iso_minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%MZ")


def realtime(
    db: Database, sites: Sequence[str], now_ms: int, filters: Filters = NO_FILTERS
) -> dict[str, Any]:
    """``/portal/realtime``: visitors in the last 5 and 30 minutes, visits started and pageviews
    in the last 30 minutes, pageviews per UTC minute (30 minutes, zero-filled, oldest first)
    and the top pages of the last 30 minutes; filtered: the ``portal_realtime_*_filtered``
    queries."""
    params: dict[str, Any] = {"sites": list(sites), "now_ms": now_ms}
    suffix = ""
    if filters:
        params, suffix = {**params, **filters.params()}, "_filtered"
    summary = _filtered_rows(db, f"portal_realtime_summary{suffix}", params)
    s = summary[0] if summary else {}
    per_minute = {
        _iso_minute(_naive(r["minute"])): _int(r["pageviews"])
        for r in _filtered_rows(db, f"portal_realtime_minutes{suffix}", params)
    }
    last = _utc(now_ms).replace(second=0, microsecond=0, tzinfo=None)
    minutes = [_iso_minute(last - timedelta(minutes=29 - i)) for i in range(30)]
    pages = _filtered_rows(
        db, f"portal_realtime_pages{suffix}", {**params, "limit": REALTIME_PAGES}
    )
    return {
        "site": ",".join(sites),
        "filters": filters.as_json(),
        "now": _utc(now_ms).isoformat().replace("+00:00", "Z"),
        "visitors_5m": _int(s.get("visitors_5m")),
        "visitors_30m": _int(s.get("visitors_30m")),
        "visits_30m": _int(s.get("visits_30m")),
        "pageviews_30m": _int(s.get("pageviews_30m")),
        "pageviews_per_minute": [{"minute": m, "pageviews": per_minute.get(m, 0)} for m in minutes],
        "top_pages": [
            {
                "key": str(r["key"]),
                "pageviews": _int(r["pageviews"]),
                "visitors": _int(r["visitors"]),
            }
            for r in pages
        ],
    }


def realtime_table(answer: dict[str, Any]) -> Table:
    return Table(
        ["minute", "pageviews"],
        [[p["minute"], p["pageviews"]] for p in answer["pageviews_per_minute"]],
    )


# --- compare ----------------------------------------------------------------------------


def compare_sites(
    db: Database,
    sites: Sequence[str],
    period: Period,
    compare: Period | None,
    limit: int,
    filters: Filters = NO_FILTERS,
    cut: Cut | None = None,
    compare_cut: Cut | None = None,
) -> dict[str, Any]:
    """``/portal/compare``: each site's overview and key breakdowns, side by side (every one
    with the same filters); with ``cut`` / ``compare_cut`` (of all the sites) each site only up
    to its own cut."""
    answers = []
    for site in sites:
        one = [site]
        mine = cut.only(site) if cut is not None else None
        theirs = compare_cut.only(site) if compare_cut is not None else None
        current = totals(db, one, period, mine, filters)
        previous = totals(db, one, compare, theirs, filters) if compare else None
        answers.append(
            {
                "site": site,
                "metrics": metrics(current, previous),
                "breakdowns": {
                    by: breakdown(db, one, period, compare, by, limit, filters, mine, theirs)[
                        "rows"
                    ]
                    for by in COMPARE_BREAKDOWNS
                },
            }
        )
    return {
        "period": period.as_json(),
        "compare_period": compare.as_json() if compare else None,
        "filters": filters.as_json(),
        **_cut_fields(cut, compare_cut),
        "sites": answers,
    }


def compare_table(answer: dict[str, Any]) -> Table:
    sites = answer["sites"]
    columns = ["metric", *(s["site"] for s in sites)]
    names = list(sites[0]["metrics"]) if sites else []
    rows = [[name, *(s["metrics"][name]["value"] for s in sites)] for name in names]
    return Table(columns, rows)
