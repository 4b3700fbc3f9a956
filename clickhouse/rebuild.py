"""Recompute rollups from the raw tables, one partition at a time, atomically.

Why: rollups are accelerators filled by materialized views at insert time; when they are wrong
(a view added or fixed later, rows lost by a crash, a raw row corrected) the raw tables are the
truth. For every rollup (``clickhouse.rollups.discover``: the views themselves) and every
partition that the date range touches, the partition is built in a staging table of the same
structure (``CREATE TABLE … AS target``): the rows of the sites not being rebuilt are copied
over, the view SELECTs run over the source rows of that partition and those sites, then
``ALTER TABLE target REPLACE PARTITION ID … FROM staging`` swaps it in. A query sees the old or
the new partition, never a half one. Ranges widen to whole partitions (a monthly rollup is
rebuilt for the whole month) and the plan says so. Unpartitioned rollups (``dossier_state``) are
rebuilt whole for the selected sites.

Not guarded: rows inserted into a partition while it is rebuilt (between the staging SELECT and
the swap) may be missed or counted twice; rebuild while the sink is stopped, or for partitions
that receive no inserts (see README "Rebuilding rollups").
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from clickhouse.client import Database
from clickhouse.rollups import Rollup, RollupError, ViewSource

#: Days around the range scanned to find where the widened partitions start and end.
_WIDEN_DAYS = 400
#: Staging inserts must never be dropped as duplicates of each other.
_STAGING_SETTINGS = {"insert_deduplicate": 0}


@dataclass(frozen=True, slots=True)
class PartitionPlan:
    """One partition of one rollup to rebuild: its id, the partition value as SQL, and the
    local dates it covers (None for an unpartitioned rollup: all dates)."""

    rollup: Rollup
    partition_id: str
    value_sql: str
    first_day: date | None
    last_day: date | None

    def describe(self) -> str:
        if self.first_day is None or self.last_day is None:
            return f"{self.rollup.target}: whole table (not partitioned by date)"
        return (
            f"{self.rollup.target} partition {self.partition_id}: "
            f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"
        )


@dataclass(frozen=True, slots=True)
class PartitionResult:
    """What a rebuilt partition held before and holds now (rows of the selected sites)."""

    plan: PartitionPlan
    rows_before: int
    rows_after: int


def _substitute(expression: str, column: str, replacement: str) -> str:
    return re.sub(rf"\b{re.escape(column)}\b", f"({replacement})", expression)


def plan(db: Database, rollups: Sequence[Rollup], start: date, end: date) -> list[PartitionPlan]:
    """The partitions of ``rollups`` that local dates ``start``..``end`` touch, widened to whole
    partitions. Raises RollupError for a partition key rebuild cannot address (its values must
    be integers, like ``toYYYYMM``, or absent)."""
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    out: list[PartitionPlan] = []
    low = start - timedelta(days=_WIDEN_DAYS)
    days = (end - low).days + _WIDEN_DAYS + 1
    for rollup in rollups:
        column = rollup.partition_column
        if column is None:
            out.append(PartitionPlan(rollup, "all", "tuple()", None, None))
            continue
        day_value = f"CAST(d AS {rollup.column_types[column]})"
        key = _substitute(rollup.partition_key, column, day_value)
        rows = db.query(
            f"SELECT toString({key}) AS k, min(d), max(d) FROM "
            "(SELECT addDays({low:Date}, number) AS d FROM numbers({n:UInt32})) "
            "GROUP BY k HAVING countIf(d BETWEEN {start:Date} AND {end:Date}) > 0 ORDER BY min(d)",
            parameters={"low": low, "n": days, "start": start, "end": end},
        ).result_rows
        for value, first, last in rows:
            if not str(value).isdigit():
                raise RollupError(
                    f"{rollup.target}: partition key {rollup.partition_key!r} gives {value!r}; "
                    "rebuild handles integer partition values (toYYYYMM) or no partitioning"
                )
            out.append(PartitionPlan(rollup, str(value), str(value), first, last))
    return out


def _source_filter(view: ViewSource, part: PartitionPlan, sites: Sequence[str]) -> str:
    conditions = []
    rollup = part.rollup
    if rollup.partition_column is not None and view.time_expr is not None:
        key = _substitute(rollup.partition_key, rollup.partition_column, view.time_expr)
        conditions.append(f"{key} = {part.value_sql}")
    if sites:
        conditions.append("site IN {sites:Array(String)}")
    return " AND ".join(conditions) or "1"


def view_select(db: Database, view: ViewSource, part: PartitionPlan, sites: Sequence[str]) -> str:
    """The view's SELECT reading only the source rows of ``part`` and ``sites``."""
    source = f"{db.database}.{view.source}"
    pattern = re.compile(
        rf"\bFROM\s+`?{re.escape(db.database)}`?\.`?{re.escape(view.source)}`?(?![\w.])"
    )
    if len(pattern.findall(view.select)) != 1:
        raise RollupError(f"{view.view}: expected exactly one FROM {source} in its SELECT")
    filtered = f"FROM (SELECT * FROM {source} WHERE {_source_filter(view, part, sites)})"
    return pattern.sub(lambda _: filtered, view.select)


def _count(db: Database, table: str, part: PartitionPlan, sites: Sequence[str]) -> int:
    where = "_partition_id = {pid:String}"
    if sites:
        where += " AND site IN {sites:Array(String)}"
    result = db.query(
        f"SELECT count() FROM {table} WHERE {where}",
        parameters={"pid": part.partition_id, "sites": list(sites)},
    )
    return int(result.result_rows[0][0])


def _partition_rows(db: Database, table: str, part: PartitionPlan) -> int:
    return _count(db, table, part, [])


def rebuild_partition(db: Database, part: PartitionPlan, sites: Sequence[str]) -> PartitionResult:
    """Build ``part`` in a staging table and swap it in (module docstring). ``sites`` empty =
    every site."""
    rollup = part.rollup
    target = rollup.target
    staging = f"{target}__rebuild_{uuid.uuid4().hex[:8]}"
    params = {"pid": part.partition_id, "sites": list(sites)}
    before = _count(db, target, part, sites)
    db.command(f"CREATE TABLE {staging} AS {target}")
    try:
        columns = ", ".join(f"`{c}`" for c in rollup.columns)
        if sites:
            db.command(
                f"INSERT INTO {staging} ({columns}) SELECT {columns} FROM {target} "
                "WHERE _partition_id = {pid:String} AND site NOT IN {sites:Array(String)}",
                parameters=params,
                settings=_STAGING_SETTINGS,
            )
        for view in rollup.views:
            select = view_select(db, view, part, sites)
            names = [
                str(r[0]) for r in db.query(f"DESCRIBE ({select})", parameters=params).result_rows
            ]
            listed = ", ".join(f"`{n}`" for n in names)
            db.command(
                f"INSERT INTO {staging} ({listed}) {select}",
                parameters=params,
                settings=_STAGING_SETTINGS,
            )
        after = _count(db, staging, part, sites)
        if after or _partition_rows(db, staging, part):
            db.command(
                f"ALTER TABLE {target} REPLACE PARTITION ID '{part.partition_id}' FROM {staging}"
            )
        else:  # nothing belongs there: ClickHouse refuses to replace from an empty partition
            db.command(f"ALTER TABLE {target} DROP PARTITION ID '{part.partition_id}'")
    finally:
        db.command(f"DROP TABLE IF EXISTS {staging} SYNC")
    return PartitionResult(part, before, after)


def rebuild(
    db: Database,
    parts: Sequence[PartitionPlan],
    sites: Sequence[str],
    progress: Callable[[str], None] = lambda _: None,
) -> list[PartitionResult]:
    """Rebuild every planned partition in order, reporting each one to ``progress``."""
    results = []
    for index, part in enumerate(parts, 1):
        progress(f"[{index}/{len(parts)}] {part.describe()} ...")
        result = rebuild_partition(db, part, sites)
        progress(
            f"[{index}/{len(parts)}] {part.rollup.target} {part.partition_id}: "
            f"{result.rows_before} rows -> {result.rows_after} rows"
        )
        results.append(result)
    return results
