"""Storage of the dossier totals an agency reports itself (đối soát, issue 18 item 6) in
``reconciliation_totals`` (migration 0093), and the one read of what the warehouse received
per procedure and day (``clickhouse/queries/reconciliation_received.sql``).

Contract: ``store_totals`` writes one upload (the latest upload of a site, procedure and month
replaces earlier ones on read), ``reported`` returns the live totals of some sites and months,
``received_days`` our counts per site, procedure and local day. Comparing them is
``indicators.reconciliation`` (pure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from clickhouse import named
from clickhouse.client import Database
from schemas.target_workbooks import TotalsRow

_COLUMNS = (
    "site", "procedure_code", "month", "received", "resolved", "agency", "upload_id",
    "file_name", "row", "uploaded_by", "uploaded_at",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Reported:
    site: str
    procedure: str
    month: date
    received: int
    resolved: int
    upload_id: str
    uploaded_at: datetime


@dataclass(frozen=True, slots=True)
class DayCount:
    """What the warehouse holds for one site, procedure and local day: dossiers received that
    day, and dossiers whose result (resolved, else returned) came that day."""

    site: str
    procedure: str
    day: date
    received: int
    resolved: int


def store_totals(
    db: Database,
    rows: Sequence[TotalsRow],
    *,
    agency: str,
    upload_id: str,
    file_name: str,
    uploaded_by: str,
    uploaded_at: datetime,
) -> None:
    """Write one upload's good rows."""
    if not rows:
        return
    db.insert(
        "reconciliation_totals",
        [
            [
                r.site,
                r.procedure,
                r.month,
                r.received,
                r.resolved,
                agency,
                upload_id,
                file_name,
                r.row,
                uploaded_by,
                uploaded_at,
            ]
            for r in rows
        ],
        _COLUMNS,
    )


def reported(db: Database, sites: Sequence[str], first: date, last: date) -> list[Reported]:
    """The latest reported totals of ``sites`` for the months ``first`` … ``last`` (first days
    of months, inclusive)."""
    if not sites:
        return []
    rows = db.query(
        "SELECT site, procedure_code, month, received, resolved, upload_id, uploaded_at"
        " FROM reconciliation_totals FINAL WHERE site IN {sites:Array(String)}"
        " AND month BETWEEN {first:Date} AND {last:Date}"
        " ORDER BY site, procedure_code, month",
        parameters={"sites": list(sites), "first": first, "last": last},
    ).result_rows
    return [
        Reported(str(r[0]), str(r[1]), r[2], int(r[3]), int(r[4]), str(r[5]), _aware(r[6]))
        for r in rows
    ]


def reported_months(db: Database, sites: Sequence[str]) -> tuple[date, date] | None:
    """The first and last month with reported totals for ``sites`` (None: nothing reported)."""
    if not sites:
        return None
    row = db.query(
        "SELECT min(month), max(month), count() FROM reconciliation_totals FINAL"
        " WHERE site IN {sites:Array(String)}",
        parameters={"sites": list(sites)},
    ).result_rows[0]
    return (row[0], row[1]) if int(row[2]) else None


def received_days(
    db: Database, sites: Sequence[str], timezone: str, first: date, last: date
) -> list[DayCount]:
    """Our received and resolved counts of ``sites`` (all in ``timezone``) per procedure and
    local day, ``first`` … ``last`` inclusive (days without any dossier are absent)."""
    if not sites:
        return []
    rows = named.rows(
        db,
        "reconciliation_received",
        {"sites": list(sites), "tz": timezone, "from": first, "to": last},
    )
    return [
        DayCount(
            str(r["site"]),
            str(r["procedure_code"]),
            r["day"],
            int(r["received"]),
            int(r["resolved"]),
        )
        for r in rows
    ]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
