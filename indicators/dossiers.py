"""The public-service (DVC, DESIGN §3.II) and one-stop (§3.III) indicators, the account
summary and the provincial quarterly report: run the named queries and shape the answers.

Why apart from HTTP: these functions take a ``Database`` and validated parameters and return
plain dicts, so the rules live in one place that the endpoints, the report and the benchmark
share. Rules: inclusive local dates in each site's own timezone (turned into per-site UTC
bounds, ``bounds``); several sites = numbers over their union; ratios from summed numerators and
denominators, ``null`` when the denominator is 0; rates change in percentage points, counts in
percent. Catalog ratios (II.10, II.12) use the current default catalog for both periods.

Periods that contain now (issue 16): the DVC and one-stop overviews take the ``Cut`` of the
period and of the comparison period (``indicators.periods.cuts``: per site, now rounded down
to the hour, and the same elapsed part of the comparison period); the per-site UTC bounds then
end at the cut instead of the midnight after the last day. Dossier times are exact, so this
could be cut to the minute; it is cut at the same hour as the DVC pageviews (hourly rollup) so
that II.5 divides numbers of one span, and the answer says so (``period_cut``,
``compare_cut``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from clickhouse import named, registry
from clickhouse.client import Database
from indicators import portal, submissions
from indicators.change import count_metric, percent, rate_metric, ratio
from indicators.periods import Cut, Period
from indicators.tables import Table
from schemas.sites import Site

#: Administrative levels in report order ('' = not reported by the sender).
ADMIN_LEVELS = ("central", "province", "district", "commune", "")


def bounds(
    sites: Sequence[str], tzs: Mapping[str, str], period: Period, cut: Cut | None = None
) -> dict[str, Any]:
    """Named-query parameters ``sites``, ``starts``, ``ends``: per site, the UTC epoch ms of
    the local midnight opening ``period`` and of the local midnight after its last day (or of
    the site's local cut, when ``cut`` is given)."""
    starts, ends = [], []
    for i, site in enumerate(sites):
        zone = ZoneInfo(tzs[site])
        first = datetime.combine(period.start, time(0), zone)
        after = datetime.combine(period.end + timedelta(days=1), time(0), zone)
        if cut is not None:
            after = cut.ends[i].replace(tzinfo=zone)
        starts.append(int(first.timestamp() * 1000))
        ends.append(int(after.timestamp() * 1000))
    return {"sites": list(sites), "starts": starts, "ends": ends}


def _one(db: Database, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    rows = named.rows(db, name, params)
    return rows[0] if rows else {}


def procedure_rows(
    db: Database,
    sites: Sequence[str],
    tzs: Mapping[str, str],
    period: Period,
    compare: Period | None = None,
    agency: str = "",
    cut: Cut | None = None,
    compare_cut: Cut | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Per (site, procedure) counts of ``period`` and of ``compare`` (None when not asked),
    each up to its cut when given, with the catalog level, in one pass (named query
    ``dossier_procedures``)."""
    current = bounds(sites, tzs, period, cut)
    previous = bounds(sites, tzs, compare, compare_cut) if compare is not None else current
    rows = named.rows(
        db,
        "dossier_procedures",
        {
            **current,
            "prev_starts": previous["starts"],
            "prev_ends": previous["ends"],
            "periods": 2 if compare is not None else 1,
            "agency": agency,
        },
    )
    first = [r for r in rows if r["period_no"] == 1]
    second = [r for r in rows if r["period_no"] == 2] if compare is not None else None
    return first, second


_SUMMED = (
    "submitted", "received", "received_online", "received_online_sources", "finished",
    "processing_s_total", "resolved", "resolved_on_time", "resolved_with_due", "overdue_open",
)  # fmt: skip


def totals(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Every dossier total of a period from the per-procedure rows (pure). A service is a
    (site, procedure) row; rows without a procedure code count as dossiers, never as services;
    ``level`` None = not in the default catalog."""
    out: dict[str, Any] = {key: 0 for key in _SUMMED}
    extra = (
        "submitted_l4", "submitted_l3", "submitted_unknown_procedure", "l4_services_submitted",
        "l3_services_submitted", "received_l4", "received_online_l4", "received_l3",
        "received_online_l3", "received_unknown_procedure", "services_received",
        "services_received_online", "l4_services_received", "l4_services_received_online",
        "l3_services_received", "l3_services_received_online", "services_with_fees",
        "services_paid_online",
    )  # fmt: skip
    out.update({key: 0 for key in extra})
    for r in rows:
        for key in _SUMMED:
            out[key] += r[key] or 0
        level, service = r["level"], r["procedure_code"] != ""
        submitted, received, online = r["submitted"], r["received"], r["received_online"]
        if level is None:
            out["submitted_unknown_procedure"] += submitted
            out["received_unknown_procedure"] += received
        elif level in (3, 4):
            tag = f"l{level}"
            out[f"submitted_{tag}"] += submitted
            out[f"received_{tag}"] += received
            out[f"received_online_{tag}"] += online
            out[f"{tag}_services_submitted"] += submitted > 0
            out[f"{tag}_services_received"] += received > 0
            out[f"{tag}_services_received_online"] += online > 0
        if service:
            out["services_received"] += received > 0
            out["services_received_online"] += online > 0
            out["services_with_fees"] += r["fee_reported"] > 0
            out["services_paid_online"] += r["paid_online"] > 0
    return out


def unknown_procedures(rows: Sequence[Mapping[str, Any]], limit: int = 20) -> list[dict[str, Any]]:
    """Procedures with dossiers submitted or received in the period that no default catalog
    lists (their level is unknown: reported, never guessed), most dossiers first."""
    found = [
        {
            "site": r["site"],
            "procedure_code": r["procedure_code"],
            "procedure_name": r["procedure_name"],
            "dossiers": int(r["submitted_or_received"]),
        }
        for r in rows
        if r["level"] is None and r["submitted_or_received"] > 0
    ]
    found.sort(key=lambda u: (-u["dossiers"], u["site"], u["procedure_code"]))
    return found[:limit]


def period_numbers(
    db: Database, sites: Sequence[str], tzs: Mapping[str, str], period: Period, agency: str = ""
) -> dict[str, Any]:
    """Every dossier total of ``period`` (see ``totals``)."""
    return totals(procedure_rows(db, sites, tzs, period, None, agency)[0])


def catalog_counts(db: Database, sites: Sequence[str]) -> dict[str, int]:
    return {k: int(v) for k, v in _one(db, "catalog_counts", {"sites": list(sites)}).items()}


def _compare(
    current: Mapping[str, Any], previous: Mapping[str, Any] | None, key: str, rate: bool
) -> dict[str, Any]:
    value = current.get(key)
    before = previous.get(key) if previous is not None else None
    return rate_metric(value, before) if rate else count_metric(value, before)


def _metrics(
    current: Mapping[str, Any], previous: Mapping[str, Any] | None, rates: set[str]
) -> dict[str, Any]:
    return {key: _compare(current, previous, key, key in rates) for key in current}


# --------------------------------------------------------------------------- DVC (§3.II)


def _cut_fields(cut: Cut | None, compare_cut: Cut | None) -> dict[str, Any]:
    """``period_cut`` / ``compare_cut`` of an answer (absent when no cut was computed)."""
    if cut is None:
        return {}
    return {
        "period_cut": cut.as_json(),
        "compare_cut": compare_cut.as_json() if compare_cut is not None else None,
    }


def _dvc_values(
    numbers: Mapping[str, Any], pageviews: int, catalog: Mapping[str, int]
) -> dict[str, Any]:
    """The eleven DVC numbers of one period (II.8 is the portal timeseries of the site)."""
    return {
        "pageviews": pageviews,  # II.1
        "submissions": int(numbers.get("submitted", 0)),  # II.2
        "submissions_l4": int(numbers.get("submitted_l4", 0)),  # II.3
        "submissions_l3": int(numbers.get("submitted_l3", 0)),  # II.4
        "submissions_per_pageview_pct": percent(numbers.get("submitted", 0), pageviews),  # II.5
        "l4_services_with_dossiers": int(numbers.get("l4_services_submitted", 0)),  # II.6
        "l3_services_with_dossiers": int(numbers.get("l3_services_submitted", 0)),  # II.7
        "l4_services_with_dossiers_pct": percent(
            numbers.get("l4_services_submitted", 0), catalog["l4_services"]
        ),  # II.9
        "l4_services_pct": percent(catalog["l4_services"], catalog["services"]),  # II.10
        "l3_services_with_dossiers_pct": percent(
            numbers.get("l3_services_submitted", 0), catalog["l3_services"]
        ),  # II.11
        "l3_services_pct": percent(catalog["l3_services"], catalog["services"]),  # II.12
    }


_DVC_RATES = {
    "submissions_per_pageview_pct",
    "l4_services_with_dossiers_pct",
    "l4_services_pct",
    "l3_services_with_dossiers_pct",
    "l3_services_pct",
}


def dvc_overview(
    db: Database,
    sites: Sequence[str],
    tzs: Mapping[str, str],
    period: Period,
    compare: Period | None,
    cut: Cut | None = None,
    compare_cut: Cut | None = None,
) -> dict[str, Any]:
    """``GET /api/v1/dvc/overview``: the items of §3.II with change; with ``cut`` /
    ``compare_cut`` dossiers and pageviews count only up to them. II.2–4 count the online
    submissions once from the pushed dossiers and the tracker's submission events
    (``indicators.submissions``); each of the three says in ``sources`` how many came from
    both, from the push only and from the tracker only (II.6/II.7 and their ratios count a
    service with a submission from either source)."""
    catalog = catalog_counts(db, sites)

    def pageviews(p: Period, c: Cut | None) -> int:
        params: dict[str, Any] = {"sites": list(sites), "from": p.start, "to": p.end}
        if c is not None and c.partial:  # the optional per-site cut of the hourly rollup
            params["ends"] = [int(end.replace(tzinfo=UTC).timestamp()) for end in c.ends]
        return int(_one(db, "dvc_pageviews", params).get("pageviews") or 0)

    def tracked(p: Period, c: Cut | None) -> list[dict[str, Any]]:
        params = {**bounds(sites, tzs, p, c), "from": p.start, "to": p.end}
        return named.rows(db, "dvc_tracker_submissions", params)

    pushed, previous_pushed = procedure_rows(
        db, sites, tzs, period, compare, cut=cut, compare_cut=compare_cut
    )
    rows = submissions.merge(pushed, tracked(period, cut))
    current = _dvc_values(totals(rows), pageviews(period, cut), catalog)
    previous = None
    if compare is not None and previous_pushed is not None:
        previous_rows = submissions.merge(previous_pushed, tracked(compare, compare_cut))
        previous = _dvc_values(totals(previous_rows), pageviews(compare, compare_cut), catalog)
    metrics = _metrics(current, previous, _DVC_RATES)
    for key, sources in submissions.by_level(rows).items():
        metrics[key]["sources"] = sources  # of the period (not of the comparison period)
    return {
        "sites": list(sites),
        "period": period.as_json(),
        "compare": compare.as_json() if compare else None,
        **_cut_fields(cut, compare_cut),
        "metrics": metrics,
        "catalog": catalog,
        "unknown_procedures": unknown_procedures(rows),
    }


def dvc_people(
    db: Database, sites: Sequence[str], period: Period, cut: Cut | None = None
) -> dict[str, Any]:
    """``GET /api/v1/dvc/timeseries``: II.8 per local day, zero-filled.

    Seed 000, Phụ lục 2, II.8 "Biểu đồ lượt xem và lượt truy cập theo khoảng thời gian": "Hiện
    thị biểu đồ dạng cột trình diễn tổng số người xem và người truy cập theo từng ngày" — people:
    ``viewers`` (distinct visitors with a pageview that day) and ``visitors`` (with any hit), the
    official numbers (issue 16: the seed won over DESIGN §3.II's pageviews and visits); the
    portal timeseries' ``pageviews`` and ``visits`` of the same days come along as extra fields.
    With ``cut`` (a period that contains now) the numbers stop there and the days from the cut
    on are ``null``, as in the portal timeseries."""
    params: dict[str, Any] = {"sites": list(sites), "from": period.start, "to": period.end}
    if cut is not None and cut.partial:
        params["ends"] = [int(end.replace(tzinfo=UTC).timestamp()) for end in cut.ends]
    people = {
        (r["day"].date() if isinstance(r["day"], datetime) else r["day"]): (
            int(r["viewers"] or 0),
            int(r["visitors"] or 0),
        )
        for r in named.rows(db, "dvc_people_daily", params)
    }
    points = []
    for point in portal.series(db, sites, period, False, cut):
        day = date.fromisoformat(point["t"])
        viewers, visitors = people.get(day, (0, 0))
        counted = point["visits"] is not None
        points.append(
            {
                "t": point["t"],
                "viewers": viewers if counted else None,
                "visitors": visitors if counted else None,
                "pageviews": point["pageviews"],
                "visits": point["visits"],
            }
        )
    return {
        "sites": list(sites),
        "period": period.as_json(),
        **({} if cut is None else {"period_cut": cut.as_json()}),
        "interval": "day",
        "points": points,
    }


def people_table(answer: Mapping[str, Any]) -> Table:
    columns = ["t", "viewers", "visitors", "pageviews", "visits"]
    return Table(columns, [[p[c] for c in columns] for p in answer["points"]])


# --------------------------------------------------------------------------- one-stop (§3.III)


def portal_links(registered: Sequence[Site]) -> dict[str, list[str]]:
    """Parameters of ``onestop_portal_submissions`` from the site registry (pure): every DVC
    site, the one-stop site each one's submissions go to when no one-stop dossier has their
    code (the only one-stop site registered at the DVC site's own agency; '' when there is
    none or more than one: never guessed), and every one-stop site."""
    onestop: dict[str, list[str]] = {}
    for site in registered:
        if site.type == "onestop" and site.agency_id:
            onestop.setdefault(site.agency_id, []).append(site.id)
    dvc = sorted((s for s in registered if s.type == "dvc"), key=lambda s: s.id)
    owners = [onestop.get(s.agency_id, []) if s.agency_id else [] for s in dvc]
    return {
        "dvc_sites": [s.id for s in dvc],
        "dvc_owner": [found[0] if len(found) == 1 else "" for found in owners],
        "onestop_sites": sorted(s.id for s in registered if s.type == "onestop"),
    }


def portal_submissions(
    db: Database,
    sites: Sequence[str],
    tzs: Mapping[str, str],
    periods: tuple[tuple[Period, Cut | None], tuple[Period, Cut | None] | None],
) -> list[dict[str, int]]:
    """The III.1 submissions of the one-stop ``sites`` pushed under a DVC site, of the period
    and of the comparison period (when given), each ``{"by_code", "by_agency"}`` (named query
    ``onestop_portal_submissions``; the one-stop sites' own submissions are
    ``dossier_procedures``' ``submitted``)."""
    (period, cut), other = periods
    current = bounds(sites, tzs, period, cut)
    previous = bounds(sites, tzs, other[0], other[1]) if other is not None else current
    params = {
        **current,
        "prev_starts": previous["starts"],
        "prev_ends": previous["ends"],
        "periods": 2 if other is not None else 1,
        **portal_links(registry.list_sites(db)),
    }
    out = [{"by_code": 0, "by_agency": 0} for _ in range(params["periods"])]
    if not params["dvc_sites"]:
        return out  # no DVC portal registered: nothing can be linked (and nothing is read)
    for row in named.rows(db, "onestop_portal_submissions", params):
        for key in ("by_code", "by_agency"):
            out[int(row["period_no"]) - 1][key] += int(row[key] or 0)
    return out


def _onestop_values(n: Mapping[str, Any]) -> dict[str, Any]:
    """The one-stop numbers of one period from ``dossier_period``.

    III.3 ``received_total`` (seed 000, Phụ lục 2, III.3): "Tổng số hồ sơ mà Hệ thống thông tin
    một cửa điện tử tiếp nhận từ tất cả các nguồn trực tuyến (Cổng dịch vụ công trực tuyến, Cổng
    dịch vụ công quốc gia, và các Hệ thống thông tin khác)": the dossiers received in the period
    online (from any of these sources) or with ``source`` dvc_portal / national_portal whatever
    their reception channel; a dossier received at the counter or by post from no portal is not
    counted (issue 16: the seed won over DESIGN §3.III "from all channels"). Every dossier
    received, any channel, is ``received_all_channels``, the base of III.5 ``online_rate_pct``.
    """
    g = {k: (v or 0) for k, v in n.items()}
    return {
        "submitted": int(g.get("submitted", 0)),  # III.1
        "received_online": int(g.get("received_online", 0)),  # III.2
        "received_total": int(g.get("received_online_sources", 0)),  # III.3 (online sources)
        "received_all_channels": int(g.get("received", 0)),  # III.5's denominator
        "services_online_pct": percent(
            g.get("services_received_online", 0), g.get("services_received", 0)
        ),  # III.4
        "online_rate_pct": percent(g.get("received_online", 0), g.get("received", 0)),  # III.5
        "avg_processing_time_s": ratio(
            g.get("processing_s_total", 0), g.get("finished", 0), 1
        ),  # III.8
        "l4_services_online_pct": percent(
            g.get("l4_services_received_online", 0), g.get("services_received", 0)
        ),  # III.9
        "l3_services_online_pct": percent(
            g.get("l3_services_received_online", 0), g.get("services_received", 0)
        ),  # III.10
        "l4_online_rate_pct": percent(
            g.get("received_online_l4", 0), g.get("received_l4", 0)
        ),  # III.11
        "l3_online_rate_pct": percent(
            g.get("received_online_l3", 0), g.get("received_l3", 0)
        ),  # III.12
        "resolved": int(g.get("resolved", 0)),
        "returned_on_time": int(g.get("resolved_on_time", 0)),
        "on_time_rate_pct": percent(g.get("resolved_on_time", 0), g.get("resolved", 0)),
        "overdue_open": int(g.get("overdue_open", 0)),
    }


def _onestop_parts(n: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """The numerator and denominator of the one-stop rates whose parts the answer shows (pure).

    III.5 (seed 000, Phụ lục 2, III): "Tỷ lệ HS xử lý trực tuyến" = (Tổng số HS nhận trực
    tuyến) / (Tổng số hồ sơ tiếp nhận): III.2 over every dossier received, whatever its
    channel (online, direct, postal), as seed 004 (6.3.1: "gồm hồ sơ nộp trực tuyến + trực
    tiếp") and seed 003 ("Tổng số hồ sơ đã tiếp nhận dưới cả hình thức trực tuyến và không
    trực tuyến") count the base of an online rate; not over III.3, which since issue 16 counts
    the online sources only (a share of online dossiers among online dossiers says nothing).

    III.9 / III.10 (seed 000, Phụ lục 2, III): "Tỷ lệ DVC mức 4 (3) phát sinh HS trực tuyến"
    = (Tổng số DVC mức 4 (3) có phát sinh HS trực tuyến) / (tổng số DVC có phát sinh hồ sơ):
    the level-4 (level-3) services with an online dossier received in the period over every
    service with a dossier received in it, of any level (level 0 and procedures missing from
    the catalog included, as for III.4) and any channel.
    """
    g = {k: int(v or 0) for k, v in n.items()}
    every = g.get("services_received", 0)
    return {
        "online_rate_pct": {
            "numerator": g.get("received_online", 0), "denominator": g.get("received", 0),
        },
        "l4_services_online_pct": {
            "numerator": g.get("l4_services_received_online", 0), "denominator": every,
        },
        "l3_services_online_pct": {
            "numerator": g.get("l3_services_received_online", 0), "denominator": every,
        },
    }  # fmt: skip


_ONESTOP_RATES = {
    "services_online_pct",
    "online_rate_pct",
    "l4_services_online_pct",
    "l3_services_online_pct",
    "l4_online_rate_pct",
    "l3_online_rate_pct",
    "on_time_rate_pct",
}


def onestop_overview(
    db: Database,
    sites: Sequence[str],
    tzs: Mapping[str, str],
    period: Period,
    compare: Period | None,
    cut: Cut | None = None,
    compare_cut: Cut | None = None,
) -> dict[str, Any]:
    """``GET /api/v1/onestop/overview``: the items of §3.III with change (III.6/III.7 are
    ``top-services``); with ``cut`` / ``compare_cut`` only up to them. III.1 ``submitted``
    counts the dossiers submitted on a DVC portal for these one-stop systems, linked by
    dossier code or by agency (``portal_submissions``; ``sources`` says how many each way)."""
    rows, previous_rows = procedure_rows(
        db, sites, tzs, period, compare, cut=cut, compare_cut=compare_cut
    )
    current_numbers = totals(rows)
    other = (compare, compare_cut) if compare is not None else None
    linked = portal_submissions(db, sites, tzs, ((period, cut), other))

    def values(numbers: Mapping[str, Any], dvc: Mapping[str, int]) -> dict[str, Any]:
        own = int(numbers.get("submitted") or 0)
        return {**_onestop_values(numbers), "submitted": own + dvc["by_code"] + dvc["by_agency"]}

    current = values(current_numbers, linked[0])
    previous = None
    if compare is not None and previous_rows is not None:
        previous = values(totals(previous_rows), linked[1])
    metrics = _metrics(current, previous, _ONESTOP_RATES)
    own = int(current_numbers.get("submitted") or 0)
    metrics["submitted"]["sources"] = {"own": own, **linked[0]}
    for key, parts in _onestop_parts(current_numbers).items():
        metrics[key].update(parts)  # of the period (not of the comparison period)
    return {
        "sites": list(sites),
        "period": period.as_json(),
        "compare": compare.as_json() if compare else None,
        **_cut_fields(cut, compare_cut),
        "metrics": metrics,
        "resolved_without_due": int(
            (current_numbers.get("resolved") or 0) - (current_numbers.get("resolved_with_due") or 0)
        ),
        "unknown_procedures": unknown_procedures(rows),
    }


def top_services(
    db: Database,
    sites: Sequence[str],
    tzs: Mapping[str, str],
    period: Period,
    level: int,
    limit: int,
) -> dict[str, Any]:
    """``GET /api/v1/onestop/top-services``: level 4 by online dossiers (III.6), level 3 by
    all dossiers (III.7), received in the period."""
    rows = [
        r
        for r in procedure_rows(db, sites, tzs, period)[0]
        if r["level"] == level and r["received"] > 0
    ]
    key = "received_online" if level == 4 else "received"
    rows.sort(key=lambda r: (-r[key], -r["received"], r["site"], r["procedure_code"]))
    services = [
        {
            "site": r["site"],
            "procedure_code": r["procedure_code"],
            "name": r["catalog_name"],
            "online_dossiers": int(r["received_online"]),
            "dossiers": int(r["received"]),
            "online_rate_pct": percent(r["received_online"], r["received"], 1),
        }
        for r in rows[:limit]
    ]
    return {
        "sites": list(sites),
        "period": period.as_json(),
        "level": level,
        "ranked_by": "online_dossiers" if level == 4 else "dossiers",
        "services": services,
    }


def by_level(
    db: Database,
    sites: Sequence[str],
    tzs: Mapping[str, str],
    period: Period,
    agency: str = "",
) -> list[dict[str, Any]]:
    """Per administrative level: received, resolved, resolved on time, on-time rate."""
    rows = named.rows(
        db, "dossier_by_admin_level", {**bounds(sites, tzs, period), "agency": agency}
    )
    found = {r["admin_level"]: r for r in rows}
    out = []
    for level in ADMIN_LEVELS:
        r = found.get(level)
        if r is None and level == "":
            continue
        r = r or {}
        on_time = int(r.get("resolved_on_time", 0))
        out.append(
            {
                "admin_level": level or "unknown",
                "received": int(r.get("received", 0)),
                "resolved": int(r.get("resolved", 0)),
                "resolved_on_time": on_time,
                "on_time_rate_pct": percent(on_time, r.get("resolved", 0), 1),
            }
        )
    return out


def by_level_table(rows: list[dict[str, Any]]) -> Table:
    columns = ["admin_level", "received", "resolved", "resolved_on_time", "on_time_rate_pct"]
    return Table(columns, [[r[c] for c in columns] for r in rows])


def metrics_table(metrics: Mapping[str, Mapping[str, Any]]) -> Table:
    """An overview as rows: metric, value, previous, change_pct, change_pp."""
    return Table(
        ["metric", "value", "previous", "change_pct", "change_pp"],
        [
            [name, m.get("value"), m.get("previous"), m.get("change_pct"), m.get("change_pp")]
            for name, m in metrics.items()
        ],
    )


# --------------------------------------------------------------------------- accounts


def accounts_summary(
    db: Database, sites: Sequence[str], period: Period, compare: Period | None
) -> dict[str, Any]:
    """``GET /api/v1/accounts/summary``: current accounts by type and linked to the national
    portal (snapshots), new and active in the period (with change)."""

    def numbers(p: Period) -> dict[str, int]:
        row = _one(db, "accounts_summary", {"sites": list(sites), "from": p.start, "to": p.end})
        return {k: int(v or 0) for k, v in row.items()}

    current = numbers(period)
    previous = numbers(compare) if compare is not None else None
    return {
        "sites": list(sites),
        "period": period.as_json(),
        "compare": compare.as_json() if compare else None,
        "accounts": current["accounts"],
        "by_type": {
            "business": current["business"],
            "individual": current["individual"],
            "onestop_officer": current["onestop_officer"],
        },
        "linked_national": current["linked_national"],
        "linked_national_pct": percent(current["linked_national"], current["accounts"], 1),
        "metrics": {
            key: count_metric(current[key], previous[key] if previous else None)
            for key in ("new_in_period", "active_in_period")
        },
    }
