"""Storage of per-site goals (issue 17 item 4) in the ``goals`` table (migration 0071).

Contract: ``list_goals`` returns the live goals of some sites, ``upsert_goal`` stores one (a
newer version replaces an older one with the same site and id), ``delete_goal`` marks one
deleted and says whether it existed. Validation of what a goal may say is in
``indicators.goals`` (a pure function); this module only reads and writes rows. Why a
ReplacingMergeTree with a deleted flag, as the site registry: ClickHouse has no cheap single-row
update, and reads with FINAL see exactly the latest version.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clickhouse.client import Database

_COLUMNS = (
    "site", "id", "name", "page", "event", "prop_key", "prop_value", "created_at",
    "updated_at", "deleted",
)  # fmt: skip
_SELECT = (
    "SELECT site, id, name, page, event, prop_key, prop_value, created_at "
    "FROM goals FINAL WHERE deleted = 0"
)
_clock_guard = threading.Lock()
_last_ms = [0]


@dataclass(frozen=True, slots=True)
class GoalRow:
    """One stored goal: a page pattern (``page``) or an event name (``event``) with an
    optional property (``prop_key`` = ``prop_value``)."""

    site: str
    id: str
    name: str
    page: str = ""
    event: str = ""
    prop_key: str = ""
    prop_value: str = ""
    created_at: datetime | None = None


def _next_version() -> datetime:
    """A strictly increasing millisecond time in this process (two writes in one millisecond
    still order)."""
    with _clock_guard:
        _last_ms[0] = max(int(time.time() * 1000), _last_ms[0] + 1)
        return datetime.fromtimestamp(_last_ms[0] / 1000, tz=UTC)


def _row(goal: GoalRow, deleted: int) -> list[Any]:
    version = _next_version()
    return [
        goal.site, goal.id, goal.name, goal.page, goal.event, goal.prop_key, goal.prop_value,
        goal.created_at or version, version, deleted,
    ]  # fmt: skip


def _goal(row: Any) -> GoalRow:
    created = row[7]
    if isinstance(created, datetime) and created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    site, goal_id, name, page, event, prop_key, prop_value = (str(v) for v in row[:7])
    return GoalRow(site, goal_id, name, page, event, prop_key, prop_value, created)


def list_goals(db: Database, sites: list[str]) -> list[GoalRow]:
    """The live goals of ``sites``, by site and id."""
    sql = f"{_SELECT} AND site IN {{sites:Array(String)}} ORDER BY site, id"
    return [_goal(r) for r in db.query(sql, parameters={"sites": sites}).result_rows]


def get_goal(db: Database, site: str, goal_id: str) -> GoalRow | None:
    sql = f"{_SELECT} AND site = {{site:String}} AND id = {{id:String}}"
    rows = db.query(sql, parameters={"site": site, "id": goal_id}).result_rows
    return _goal(rows[0]) if rows else None


def upsert_goal(db: Database, goal: GoalRow) -> GoalRow:
    """Store ``goal``; an existing goal keeps its creation time."""
    existing = get_goal(db, goal.site, goal.id)
    created = existing.created_at if existing else None
    stored = GoalRow(
        goal.site, goal.id, goal.name, goal.page, goal.event, goal.prop_key, goal.prop_value,
        created or _next_version(),
    )  # fmt: skip
    db.insert("goals", [_row(stored, 0)], _COLUMNS)
    return stored


def delete_goal(db: Database, site: str, goal_id: str) -> bool:
    """Mark a goal deleted; False when there was none."""
    existing = get_goal(db, site, goal_id)
    if existing is None:
        return False
    db.insert("goals", [_row(existing, 1)], _COLUMNS)
    return True
