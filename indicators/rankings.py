"""Rankings (DESIGN §3, issue 18): ministries against ministries, provinces against provinces,
and at every level the children of any agency (a province's departments and communes, a
ministry's units) against each other, by every indicator, with change.

Each ranked agency's value is computed over the union of its subtree's sites. Visits and
pageviews are counts over disjoint sites, so an agency's value is the sum of its sites' values
(``rankings_site_totals.sql``). Every other metric is the one of the DVC (§3.II) or one-stop
(§3.III) overview, computed by the overview's own function (``indicators.dossiers.dvc_overview``
/ ``onestop_overview``) over the agency's sites, so a definition changed there (e.g. the on-time
rate = resolved on or before the due time / all resolved, seed 004 footnote 5) changes here too;
rates are recomputed from the agency's summed numerators and denominators, never averaged, and
change in percentage points (``change_pp``), counts in percent (``change_pct``).

Ranks are competition ranks (1, 2, 2, 4) in the requested order; an agency without any site is
listed apart (``without_sites``), one whose value has no denominator apart too
(``without_data``). Merged agencies are never ranked.

Who sees what (``api/routes/monitor.py``): a ranking lists the ranked agencies' names and
values, so an agency token gets rankings of children inside its subtree only; among its peers
(outside its subtree) it learns its own rank, their number and its own value, never theirs
(``own_rank``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from clickhouse import agencies, agency_tree, named, registry
from clickhouse.client import Database
from indicators import dossiers as dossier_data
from indicators.change import change_pct
from indicators.periods import Period
from indicators.tables import Table
from schemas.agencies import Agency, AgencyKind

COUNT_METRICS = ("visits", "pageviews")
#: The one-stop overview's metrics (§3.III), ranked as that overview computes them.
ONESTOP_METRICS = (
    "submitted", "received_online", "received_total", "received_all_channels",
    "services_online_pct", "online_rate_pct",
    "avg_processing_time_s", "l4_services_online_pct", "l3_services_online_pct",
    "l4_online_rate_pct", "l3_online_rate_pct", "resolved", "returned_on_time",
    "on_time_rate_pct", "overdue_open",
)  # fmt: skip
#: The DVC overview's metrics (§3.II) but its pageviews (the portal count ``pageviews`` is it).
DVC_METRICS = (
    "submissions", "submissions_l4", "submissions_l3", "submissions_per_pageview_pct",
    "l4_services_with_dossiers", "l3_services_with_dossiers", "l4_services_with_dossiers_pct",
    "l4_services_pct", "l3_services_with_dossiers_pct", "l3_services_pct",
)  # fmt: skip
#: The first names of the two rates (kept: bookmarks and the seed 002 tables use them).
RATE_METRICS = {"online_dossier_rate": "online_rate_pct", "on_time_rate": "on_time_rate_pct"}
#: Every rankable metric: where it comes from and its key there.
SOURCES: dict[str, tuple[str, str]] = {
    **{m: ("portal", m) for m in COUNT_METRICS},
    **{m: ("onestop", key) for m, key in RATE_METRICS.items()},
    **{m: ("onestop", m) for m in ONESTOP_METRICS},
    **{m: ("dvc", m) for m in DVC_METRICS},
}
METRICS = tuple(SOURCES)
GROUPS: dict[str, frozenset[AgencyKind]] = {
    "ministries": frozenset(
        {AgencyKind.MINISTRY, AgencyKind.MINISTRY_LEVEL, AgencyKind.GOVERNMENT_AGENCY}
    ),
    "provinces": frozenset({AgencyKind.PROVINCE}),
}


def is_rate(metric: str) -> bool:
    """True for a percentage (its change is in percentage points)."""
    return metric in RATE_METRICS or metric.endswith("_pct")


def competition_ranks(values: Sequence[int | float]) -> list[int]:
    """Ranks of already ordered values: equal values share a rank, the next rank skips."""
    ranks: list[int] = []
    for index, value in enumerate(values):
        ranks.append(ranks[-1] if index and value == values[index - 1] else index + 1)
    return ranks


def _members(all_agencies: list[Agency], group: str) -> list[Agency]:
    kinds = GROUPS[group]
    return [a for a in all_agencies if a.kind in kinds and not a.merged_into]


def children(
    all_agencies: Iterable[Agency], parent_id: str, kind: AgencyKind | None = None
) -> list[Agency]:
    """The direct children of ``parent_id`` still in force (of ``kind`` when given), by id."""
    return sorted(
        (
            a
            for a in all_agencies
            if a.parent_id == parent_id and not a.merged_into and (kind is None or a.kind == kind)
        ),
        key=lambda a: a.id,
    )


def peers(all_agencies: list[Agency], agency: Agency) -> tuple[str, list[Agency]]:
    """Whom ``agency`` is ranked against, and what they are called: its siblings of the same
    kind (``siblings``); at the top of the tree its group (``ministries`` / ``provinces``), or
    the top-level agencies of its kind. Pure; ``agency`` is among them."""
    if agency.parent_id:
        return "siblings", children(all_agencies, agency.parent_id, agency.kind)
    for group, kinds in GROUPS.items():
        if agency.kind in kinds:
            return group, _members(all_agencies, group)
    same = [a for a in all_agencies if not a.parent_id and a.kind == agency.kind]
    return "siblings", [a for a in same if not a.merged_into]


def order_and_rank(
    entries: list[dict[str, Any]], descending: bool
) -> tuple[list[dict[str, Any]], list[str]]:
    """Entries with a value, sorted (ties by agency id) and given competition ranks, and the
    ids of those without a value (pure)."""
    without = sorted(e["agency"] for e in entries if e["value"] is None)
    ranked = [e for e in entries if e["value"] is not None]
    sign = -1 if descending else 1
    ranked.sort(key=lambda e: (sign * e["value"], e["agency"]))
    for entry, rank in zip(ranked, competition_ranks([e["value"] for e in ranked]), strict=True):
        entry["rank"] = rank
    return ranked, without


def _site_totals(db: Database, sites: list[str], period: Period, metric: str) -> dict[str, int]:
    if not sites:
        return {}
    rows = named.rows(
        db, "rankings_site_totals", {"sites": sites, "from": period.start, "to": period.end}
    )
    return {str(r["key"]): int(r[metric]) for r in rows}


def _count_entries(
    db: Database,
    metric: str,
    sites_by_agency: dict[str, list[str]],
    period: Period,
    previous: Period | None,
) -> list[dict[str, Any]]:
    every_site = sorted({s for ids in sites_by_agency.values() for s in ids})
    current = _site_totals(db, every_site, period, metric)
    before = _site_totals(db, every_site, previous, metric) if previous else {}
    entries = []
    for agency_id, sites in sites_by_agency.items():
        if not sites:
            continue
        value = sum(current.get(s, 0) for s in sites)
        prev = sum(before.get(s, 0) for s in sites) if previous else None
        entries.append(
            {
                "agency": agency_id,
                "sites": len(sites),
                "value": value,
                "previous": prev,
                "change_pct": change_pct(value, prev),
            }
        )
    return entries


def _overview_entries(
    db: Database,
    metric: str,
    sites_by_agency: dict[str, list[str]],
    period: Period,
    previous: Period | None,
) -> list[dict[str, Any]]:
    """Each agency's metric as its overview computes it over the agency's sites."""
    source, key = SOURCES[metric]
    compute = dossier_data.onestop_overview if source == "onestop" else dossier_data.dvc_overview
    timezones = {s.id: s.timezone for s in registry.list_sites(db)}
    change = "change_pp" if is_rate(metric) else "change_pct"
    entries = []
    for agency_id, sites in sites_by_agency.items():
        if not sites:
            continue
        answer = compute(db, sites, {s: timezones[s] for s in sites}, period, previous)
        found = answer["metrics"][key]
        entries.append(
            {
                "agency": agency_id,
                "sites": len(sites),
                "value": found["value"],
                "previous": found["previous"] if previous else None,
                change: found.get(change) if previous else None,
            }
        )
    return entries


def _ranked(
    db: Database,
    metric: str,
    ranked_agencies: list[Agency],
    all_agencies: list[Agency],
    period: Period,
    previous: Period | None,
    descending: bool,
) -> dict[str, Any]:
    """Rows (all, ranked), ``without_sites`` and ``without_data`` of ``ranked_agencies``."""
    all_sites = registry.list_sites(db)
    sites_by_agency: dict[str, list[str]] = {}
    for agency in ranked_agencies:
        ids = agency_tree.subtree(all_agencies, agency.id)
        sites_by_agency[agency.id] = sorted(s.id for s in all_sites if s.agency_id in ids)
    if SOURCES[metric][0] == "portal":
        entries = _count_entries(db, metric, sites_by_agency, period, previous)
    else:
        entries = _overview_entries(db, metric, sites_by_agency, period, previous)
    names = {a.id: a.name for a in all_agencies}
    for entry in entries:
        entry["name"] = names[entry["agency"]]
    rows, without_data = order_and_rank(entries, descending)
    return {
        "rows": rows,
        "without_sites": sorted(a for a, s in sites_by_agency.items() if not s),
        "without_data": without_data,
    }


def _head(metric: str, period: Period, previous: Period | None, descending: bool) -> dict[str, Any]:
    return {
        "metric": metric,
        "order": "desc" if descending else "asc",
        "period": period.as_json(),
        "comparison": previous.as_json() if previous else None,
    }


def rankings(
    db: Database,
    metric: str,
    group: str,
    period: Period,
    previous: Period | None,
    descending: bool,
    limit: int,
) -> dict[str, Any]:
    """Every ministry or every province ranked (validated parameters)."""
    all_agencies = agencies.list_agencies(db)
    found = _ranked(
        db, metric, _members(all_agencies, group), all_agencies, period, previous, descending
    )
    return {
        **_head(metric, period, previous, descending),
        "group": group,
        **found,
        "rows": found["rows"][:limit],
    }


def children_rankings(
    db: Database,
    metric: str,
    parent: Agency,
    kind: AgencyKind | None,
    period: Period,
    previous: Period | None,
    descending: bool,
    limit: int,
) -> dict[str, Any]:
    """The children of ``parent`` (of ``kind`` when given) ranked: a province's departments
    and communes, a ministry's units. The caller has checked that ``parent`` is visible."""
    all_agencies = agencies.list_agencies(db)
    ranked = children(all_agencies, parent.id, kind)
    found = _ranked(db, metric, ranked, all_agencies, period, previous, descending)
    return {
        **_head(metric, period, previous, descending),
        "group": "children",
        "parent": {"id": parent.id, "name": parent.name, "kind": parent.kind.value},
        "kind": kind.value if kind else None,
        **found,
        "rows": found["rows"][:limit],
    }


def own_rank(
    db: Database,
    metric: str,
    agency: Agency,
    period: Period,
    previous: Period | None,
    descending: bool,
) -> dict[str, Any]:
    """``agency``'s rank among its peers (``peers``): its rank, how many were ranked, its value
    and change; nothing about any peer but their number. ``rank`` is None when the agency has
    no site or no value (then ``reason`` says which)."""
    all_agencies = agencies.list_agencies(db)
    label, group = peers(all_agencies, agency)
    found = _ranked(db, metric, group, all_agencies, period, previous, descending)
    mine = next((r for r in found["rows"] if r["agency"] == agency.id), None)
    answer: dict[str, Any] = {
        **_head(metric, period, previous, descending),
        "agency": agency.id,
        "name": agency.name,
        "kind": agency.kind.value,
        "peers": label,
        "of": len(found["rows"]),
        "rank": None,
        "value": None,
        "previous": None,
    }
    if mine is not None:
        keep = ("rank", "sites", "value", "previous", "change_pct", "change_pp")
        answer.update({k: mine[k] for k in keep if k in mine})
    else:
        reason = "no_sites" if agency.id in found["without_sites"] else "no_data"
        answer["reason"] = reason
    return answer


def rankings_table(answer: dict[str, Any]) -> Table:
    change = "change_pp" if is_rate(answer["metric"]) else "change_pct"
    columns = ["rank", "agency", "name", "sites", "value", "previous", change]
    return Table(columns, [[row.get(c) for c in columns] for row in answer["rows"]])


def own_rank_table(answer: dict[str, Any]) -> Table:
    change = "change_pp" if is_rate(answer["metric"]) else "change_pct"
    columns = ["agency", "name", "peers", "rank", "of", "value", "previous", change]
    return Table(columns, [[answer.get(c) for c in columns]])


def agency_values(
    db: Database, metric: str, agency_ids: Iterable[str], period: Period
) -> dict[str, Any]:
    """Each agency's value of ``metric`` over ``period``, computed exactly as its ranking
    computes it (over its subtree's sites); None for an agency without a site or without data
    (targets, issue 18: a target's "actual" is the number the rankings show)."""
    wanted = set(agency_ids)
    all_agencies = agencies.list_agencies(db)
    chosen = [a for a in all_agencies if a.id in wanted]
    found = _ranked(db, metric, chosen, all_agencies, period, None, True)
    values = {r["agency"]: r["value"] for r in found["rows"]}
    return {a: values.get(a) for a in sorted(wanted)}
