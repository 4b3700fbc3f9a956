"""Storage of yearly targets (chỉ tiêu, issue 18 item 4) in the ``targets`` table (migration
0090).

Contract: ``put_targets`` stores rows (a newer row for the same agency, metric and year
replaces the older one, so a re-import replaces), ``delete_target`` marks one deleted and says
whether it existed, ``list_targets`` returns the live ones of some agencies. What a target may
say (metric names, who may set it) is decided above (``indicators.targets``, ``api/routes/
targets.py``); this module only reads and writes rows. Why ReplacingMergeTree with a deleted
flag, as the goals and the site registry: no cheap single-row update in ClickHouse, and reads
with FINAL see exactly the latest version.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clickhouse.client import Database

_COLUMNS = ("agency", "metric", "year", "value", "updated_by", "updated_at", "deleted")
_clock_guard = threading.Lock()
_last_ms = [0]


@dataclass(frozen=True, slots=True)
class Target:
    """One agency's target for one metric and year (``updated_*``: who set it, when)."""

    agency: str
    metric: str
    year: int
    value: float
    updated_by: str = ""
    updated_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "metric": self.metric,
            "year": self.year,
            "target": self.value,
            "updated_by": self.updated_by,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


def _next_version() -> datetime:
    """A strictly increasing millisecond time in this process (two writes in one millisecond
    still order: the later one wins)."""
    with _clock_guard:
        _last_ms[0] = max(int(time.time() * 1000), _last_ms[0] + 1)
        return datetime.fromtimestamp(_last_ms[0] / 1000, tz=UTC)


def put_targets(db: Database, rows: Sequence[Target], updated_by: str) -> list[Target]:
    """Store ``rows`` (each replacing any earlier target of its agency, metric and year) and
    return them as stored."""
    if not rows:
        return []
    version = _next_version()
    stored = [Target(r.agency, r.metric, r.year, r.value, updated_by, version) for r in rows]
    db.insert(
        "targets",
        [[t.agency, t.metric, t.year, t.value, updated_by, version, 0] for t in stored],
        _COLUMNS,
    )
    return stored


def delete_target(db: Database, agency: str, metric: str, year: int, updated_by: str) -> bool:
    """Mark a target deleted; False when there was none."""
    found = list_targets(db, [agency], year=year, metric=metric)
    if not found:
        return False
    db.insert(
        "targets",
        [[agency, metric, year, found[0].value, updated_by, _next_version(), 1]],
        _COLUMNS,
    )
    return True


def list_targets(
    db: Database,
    agencies: Collection[str] | None,
    *,
    year: int | None = None,
    metric: str | None = None,
) -> list[Target]:
    """The live targets of ``agencies`` (None: every agency), of ``year`` / ``metric`` when
    given, by agency, metric and year."""
    where = ["deleted = 0"]
    params: dict[str, Any] = {}
    if agencies is not None:
        where.append("agency IN {agencies:Array(String)}")
        params["agencies"] = sorted(agencies)
    if year is not None:
        where.append("year = {year:UInt16}")
        params["year"] = year
    if metric is not None:
        where.append("metric = {metric:String}")
        params["metric"] = metric
    rows = db.query(
        "SELECT agency, metric, year, value, updated_by, updated_at FROM targets FINAL"
        f" WHERE {' AND '.join(where)} ORDER BY agency, metric, year",
        parameters=params,
    ).result_rows
    return [
        Target(str(r[0]), str(r[1]), int(r[2]), float(r[3]), str(r[4]), _aware(r[5])) for r in rows
    ]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
