"""Rankings (DESIGN §3): ministries against ministries, provinces against provinces.

Each top-level agency's value is computed over the union of its subtree's sites: visits and
pageviews are counts over disjoint sites, so an agency's value is the sum of its sites' values
(``rankings_site_totals.sql``). The dossier rates are the one-stop indicators' own
(``api/dossier_data.onestop_overview`` over the agency's sites: online dossier rate = received
online / received, on-time rate = resolved on or before the due time / all resolved (seed 004,
footnote 5)), so an agency's rate is recomputed from its summed numerators and denominators,
never an average of its sites' rates; their change is in percentage points. Ranks are
competition ranks (1, 2, 2, 4) in the requested order; an agency without any site is listed apart
(``without_sites``), one whose rate has no denominator apart too (``without_data``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clickhouse import agencies, agency_tree, named, registry
from clickhouse.client import Database
from indicators import dossiers as dossier_data
from indicators.change import change_pct
from indicators.periods import Period
from indicators.tables import Table
from schemas.agencies import Agency, AgencyKind

METRICS = ("visits", "pageviews", "online_dossier_rate", "on_time_rate")
COUNT_METRICS = ("visits", "pageviews")
#: Rate metrics and the one-stop overview metric that defines each.
RATE_METRICS = {"online_dossier_rate": "online_rate_pct", "on_time_rate": "on_time_rate_pct"}
GROUPS: dict[str, frozenset[AgencyKind]] = {
    "ministries": frozenset(
        {AgencyKind.MINISTRY, AgencyKind.MINISTRY_LEVEL, AgencyKind.GOVERNMENT_AGENCY}
    ),
    "provinces": frozenset({AgencyKind.PROVINCE}),
}


def competition_ranks(values: Sequence[int | float]) -> list[int]:
    """Ranks of already ordered values: equal values share a rank, the next rank skips."""
    ranks: list[int] = []
    for index, value in enumerate(values):
        ranks.append(ranks[-1] if index and value == values[index - 1] else index + 1)
    return ranks


def _members(all_agencies: list[Agency], group: str) -> list[Agency]:
    kinds = GROUPS[group]
    return [a for a in all_agencies if a.kind in kinds and not a.merged_into]


def _site_totals(db: Database, sites: list[str], period: Period, metric: str) -> dict[str, int]:
    if not sites:
        return {}
    rows = named.rows(
        db, "rankings_site_totals", {"sites": sites, "from": period.start, "to": period.end}
    )
    return {str(r["key"]): int(r[metric]) for r in rows}


def _rate_entries(
    db: Database,
    metric: str,
    sites_by_agency: dict[str, list[str]],
    period: Period,
    previous: Period | None,
) -> list[dict[str, Any]]:
    timezones = {s.id: s.timezone for s in registry.list_sites(db)}
    entries = []
    for agency_id, sites in sites_by_agency.items():
        if not sites:
            continue
        tzs = {s: timezones[s] for s in sites}
        answer = dossier_data.onestop_overview(db, sites, tzs, period, previous)
        rate = answer["metrics"][RATE_METRICS[metric]]
        entries.append(
            {
                "agency": agency_id,
                "sites": len(sites),
                "value": rate["value"],
                "previous": rate["previous"] if previous else None,
                "change_pp": rate["change_pp"] if previous else None,
            }
        )
    return entries


def rankings(
    db: Database,
    metric: str,
    group: str,
    period: Period,
    previous: Period | None,
    descending: bool,
    limit: int,
) -> dict[str, Any]:
    """The ranking answer (validated parameters; ``metric`` one of ``COUNT_METRICS``)."""
    all_agencies = agencies.list_agencies(db)
    sites_by_agency: dict[str, list[str]] = {}
    all_sites = registry.list_sites(db)
    for agency in _members(all_agencies, group):
        ids = agency_tree.subtree(all_agencies, agency.id)
        sites_by_agency[agency.id] = sorted(s.id for s in all_sites if s.agency_id in ids)
    names = {a.id: a.name for a in all_agencies}
    entries: list[dict[str, Any]] = []
    if metric in RATE_METRICS:
        entries = _rate_entries(db, metric, sites_by_agency, period, previous)
    else:
        every_site = sorted({s for ids in sites_by_agency.values() for s in ids})
        current = _site_totals(db, every_site, period, metric)
        before = _site_totals(db, every_site, previous, metric) if previous else {}
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
    for entry in entries:
        entry["name"] = names[entry["agency"]]
    without_data = sorted(e["agency"] for e in entries if e["value"] is None)
    entries = [e for e in entries if e["value"] is not None]
    sign = -1 if descending else 1
    entries.sort(key=lambda e: (sign * e["value"], e["agency"]))
    for entry, rank in zip(entries, competition_ranks([e["value"] for e in entries]), strict=True):
        entry["rank"] = rank
    return {
        "metric": metric,
        "group": group,
        "order": "desc" if descending else "asc",
        "period": period.as_json(),
        "comparison": previous.as_json() if previous else None,
        "rows": entries[:limit],
        "without_sites": sorted(a for a, s in sites_by_agency.items() if not s),
        "without_data": without_data,
    }


def rankings_table(answer: dict[str, Any]) -> Table:
    change = "change_pp" if answer["metric"] in RATE_METRICS else "change_pct"
    columns = ["rank", "agency", "name", "sites", "value", "previous", change]
    return Table(columns, [[row[c] for c in columns] for row in answer["rows"]])
