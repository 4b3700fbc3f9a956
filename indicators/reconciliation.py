"""Reconciliation (đối soát, issue 18 item 6): an agency's own dossier totals per procedure and
month beside what the warehouse received, so that lost numbers are found.

Why per day: a month that differs says *that* events went missing, not *when*. For every
(site, procedure, month) the answer gives the agency's totals, ours and the difference
(``received_diff`` = their received − our received, the same for resolved; positive = we miss
dossiers), and for every differing one our count on each day of that month, zeros included,
so the silent day stands out. ``site_days`` gives each site's daily totals over all procedures
for the months that differ (a broken connection silences every procedure at once).

Ours are counted as the one-stop overview counts them (received by reception time, resolved
by result time, local dates of the site: ``reconciliation_received.sql``). A procedure we
received but the agency did not report is listed with ``reported_*`` None (no difference
computed: the agency said nothing about it).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from clickhouse import reconciliation as storage
from clickhouse import registry
from clickhouse.client import Database
from clickhouse.reconciliation import DayCount, Reported
from indicators.tables import Table

COLUMNS = (
    "site", "procedure", "month", "reported_received", "received", "received_diff",
    "reported_resolved", "resolved", "resolved_diff",
)  # fmt: skip


def month_days(month: date) -> list[date]:
    """Every date of ``month`` (its first day)."""
    count = calendar.monthrange(month.year, month.month)[1]
    return [month + timedelta(days=i) for i in range(count)]


def month_end(month: date) -> date:
    return month_days(month)[-1]


def _diff(theirs: int | None, ours: int) -> int | None:
    return None if theirs is None else theirs - ours


def differences(reported: Sequence[Reported], days: Sequence[DayCount]) -> dict[str, Any]:
    """The comparison (pure): ``rows`` per (site, procedure, month) of the months reported,
    sorted, each differing one with ``days``; ``site_days`` per site and differing month."""
    theirs = {(r.site, r.procedure, r.month): r for r in reported}
    months = {(r.site, r.month) for r in reported}
    ours: dict[tuple[str, str, date], dict[date, tuple[int, int]]] = defaultdict(dict)
    per_site: dict[tuple[str, date], dict[date, list[int]]] = defaultdict(dict)
    for d in days:
        month = d.day.replace(day=1)
        if (d.site, month) not in months:
            continue
        ours[(d.site, d.procedure, month)][d.day] = (d.received, d.resolved)
        total = per_site[(d.site, month)].setdefault(d.day, [0, 0])
        total[0] += d.received
        total[1] += d.resolved
    rows: list[dict[str, Any]] = []
    differing: set[tuple[str, date]] = set()
    for key in sorted(set(theirs) | set(ours)):
        site, procedure, month = key
        found = theirs.get(key)
        daily = ours.get(key, {})
        received = sum(v[0] for v in daily.values())
        resolved = sum(v[1] for v in daily.values())
        row: dict[str, Any] = {
            "site": site,
            "procedure": procedure,
            "month": f"{month:%Y-%m}",
            "reported_received": found.received if found else None,
            "received": received,
            "received_diff": _diff(found.received if found else None, received),
            "reported_resolved": found.resolved if found else None,
            "resolved": resolved,
            "resolved_diff": _diff(found.resolved if found else None, resolved),
        }
        if row["received_diff"] or row["resolved_diff"]:
            differing.add((site, month))
            row["days"] = [
                {"date": day.isoformat(), "received": daily.get(day, (0, 0))[0],
                 "resolved": daily.get(day, (0, 0))[1]}
                for day in month_days(month)
            ]  # fmt: skip
        rows.append(row)
    site_days = [
        {
            "site": site,
            "month": f"{month:%Y-%m}",
            "days": [
                {
                    "date": day.isoformat(),
                    "received": per_site[(site, month)].get(day, [0, 0])[0],
                    "resolved": per_site[(site, month)].get(day, [0, 0])[1],
                }
                for day in month_days(month)
            ],
        }
        for site, month in sorted(differing)
    ]
    totals = {
        "received_diff": sum(r["received_diff"] or 0 for r in rows),
        "resolved_diff": sum(r["resolved_diff"] or 0 for r in rows),
        "differing_rows": sum(1 for r in rows if "days" in r),
    }
    return {"rows": rows, "site_days": site_days, "totals": totals}


def compare(
    db: Database, sites: Sequence[str], first: date | None, last: date | None
) -> dict[str, Any]:
    """The comparison for ``sites`` over the months ``first`` … ``last`` (first days of
    months; None: every month reported for these sites)."""
    if first is None or last is None:
        span = storage.reported_months(db, sites)
        if span is None:
            return {"months": None, **differences([], [])}
        first, last = first or span[0], last or span[1]
    found = storage.reported(db, sites, first, last)
    if not found:
        return {"months": {"from": f"{first:%Y-%m}", "to": f"{last:%Y-%m}"}, **differences([], [])}
    # our days are read for the months actually reported only
    low, high = min(r.month for r in found), max(r.month for r in found)
    zones = {s.id: s.timezone for s in registry.list_sites(db)}
    by_zone: dict[str, list[str]] = defaultdict(list)
    for site in sorted({r.site for r in found}):
        by_zone[zones[site]].append(site)
    days: list[DayCount] = []
    for zone, ids in sorted(by_zone.items()):
        days.extend(storage.received_days(db, ids, zone, low, month_end(high)))
    return {"months": {"from": f"{first:%Y-%m}", "to": f"{last:%Y-%m}"}, **differences(found, days)}


def table(answer: dict[str, Any]) -> Table:
    return Table(list(COLUMNS), [[r[c] for c in COLUMNS] for r in answer["rows"]])
