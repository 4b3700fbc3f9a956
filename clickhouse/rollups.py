"""The rollups of the warehouse, read from the materialized views themselves.

Why derived and not declared: every rollup is already declared once, as a materialized view in
a migration. A second hand-written copy (for ``emc rebuild``) would drift the day someone adds
or changes a view. So the one list is what ClickHouse holds: for every materialized view,
``system.tables`` gives its SELECT (``as_select``), its target (``TO db.table`` in
``create_table_query``) and its source (the table whose ``dependencies_table`` names it); the
target's ``partition_key`` says how it is partitioned, and the SELECT's item aliased to the
partition column is the time expression on the source rows (``toDate(local_ts) AS date``).

A view this module cannot read that way raises ``RollupError`` naming it, so a new view that
``emc rebuild`` could not recompute fails the coverage test instead of being skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from clickhouse.client import Database

#: Targets of materialized views that are not rollups of dates and sites, and why.
NOT_REBUILT: dict[str, str] = {
    "sink_offsets": "the sink's bookkeeping of stored Kafka offsets (no site, no date); "
    "it is rebuilt by nothing and needs no rebuild: its source rows are the raw tables",
}

_TARGET = re.compile(r"\bTO\s+`?(\w+)`?\.`?(\w+)`?", re.IGNORECASE)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class RollupError(RuntimeError):
    """A materialized view that rebuild cannot recompute (the message names it and why)."""


@dataclass(frozen=True, slots=True)
class ViewSource:
    """One materialized view feeding a rollup: its name, source table, SELECT (with the
    database-qualified source name in it) and the time expression of the partition column
    over the source's columns (None when the target is not partitioned)."""

    view: str
    source: str
    select: str
    time_expr: str | None


@dataclass(frozen=True, slots=True)
class Rollup:
    """A rollup table: its partition key (``''`` = one partition), the column in it, its
    insertable columns and every view that feeds it."""

    target: str
    engine: str
    partition_key: str
    partition_column: str | None
    column_types: dict[str, str]
    views: tuple[ViewSource, ...]

    @property
    def columns(self) -> list[str]:
        return list(self.column_types)


def split_select_list(select: str) -> list[str]:
    """The top-level items of ``SELECT a, f(b, c) AS x FROM …`` (parentheses, brackets and
    quotes respected). Raises RollupError when there is no top-level FROM."""
    body = select.strip()
    if not body.upper().startswith("SELECT "):
        raise RollupError(f"not a SELECT: {select[:60]!r}")
    items: list[str] = []
    depth, start, i, quote = 0, 7, 7, ""
    while i < len(body):
        ch = body[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'`\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and ch == ",":
            items.append(body[start:i].strip())
            start = i + 1
        elif depth == 0 and body[i : i + 6].upper() == " FROM " and not quote:
            items.append(body[start:i].strip())
            return items
        i += 1
    raise RollupError(f"no top-level FROM in {select[:60]!r}")


def alias_expression(select: str, column: str) -> str:
    """The expression of the SELECT item ``<expr> AS column`` (or a bare ``column``)."""
    for item in split_select_list(select):
        if item == column:
            return column
        suffix = f" AS {column}"
        if item.endswith(suffix):
            return item[: -len(suffix)].strip()
    raise RollupError(f"the SELECT has no item named {column!r}")


def _partition_column(rollup_target: str, key: str, columns: dict[str, str]) -> str | None:
    if not key or key == "tuple()":
        return None
    names = {name for name in _IDENT.findall(key) if name in columns}
    if len(names) != 1:
        raise RollupError(
            f"{rollup_target}: partition key {key!r} must use exactly one column of the table"
        )
    return str(names.pop())


def discover(db: Database) -> list[Rollup]:
    """Every rollup of ``db`` (targets in ``NOT_REBUILT`` left out), by target name."""
    tables = db.query(
        "SELECT name, engine, partition_key, as_select, create_table_query, dependencies_table "
        "FROM system.tables WHERE database = {db:String}",
        parameters={"db": db.database},
    ).result_rows
    source_of: dict[str, list[str]] = {}
    meta: dict[str, tuple[str, str]] = {}
    views: list[tuple[str, str, str]] = []
    for name, engine, key, as_select, create, dependents in tables:
        meta[name] = (engine, key)
        for dependent in dependents:
            source_of.setdefault(dependent, []).append(name)
        if engine == "MaterializedView":
            views.append((name, as_select, create))
    columns = _columns(db)
    by_target: dict[str, list[ViewSource]] = {}
    for view, select, create in views:
        head = create.split("(", 1)[0]
        match = _TARGET.search(head)
        if match is None or match.group(1) != db.database:
            raise RollupError(f"{view}: not a TO-table view of database {db.database}")
        target = match.group(2)
        if target in NOT_REBUILT:
            continue
        sources = source_of.get(view, [])
        if len(sources) != 1:
            raise RollupError(f"{view}: expected one source table, found {sources}")
        source = sources[0]
        if "site" not in columns.get(source, {}) or "site" not in columns.get(target, {}):
            raise RollupError(f"{view}: source {source} and target {target} need a site column")
        column = _partition_column(target, meta[target][1], columns[target])
        time_expr = alias_expression(select, column) if column else None
        by_target.setdefault(target, []).append(ViewSource(view, source, select, time_expr))
    return [
        Rollup(
            target=target,
            engine=meta[target][0],
            partition_key=meta[target][1],
            partition_column=_partition_column(target, meta[target][1], columns[target]),
            column_types=columns[target],
            views=tuple(sorted(sources, key=lambda v: v.view)),
        )
        for target, sources in sorted(by_target.items())
    ]


def _columns(db: Database) -> dict[str, dict[str, str]]:
    """table -> {column: type} of the insertable (not MATERIALIZED/ALIAS) columns."""
    rows = db.query(
        "SELECT table, name, type FROM system.columns WHERE database = {db:String} "
        "AND default_kind NOT IN ('MATERIALIZED', 'ALIAS', 'EPHEMERAL') ORDER BY table, position",
        parameters={"db": db.database},
    ).result_rows
    out: dict[str, dict[str, str]] = {}
    for table, name, type_ in rows:
        out.setdefault(str(table), {})[str(name)] = str(type_)
    return out


def materialized_views(db: Database) -> dict[str, str]:
    """view name -> target table of every materialized view of ``db`` (for coverage checks)."""
    rows: list[Any] = db.query(
        "SELECT name, create_table_query FROM system.tables WHERE database = {db:String} "
        "AND engine = 'MaterializedView'",
        parameters={"db": db.database},
    ).result_rows
    out: dict[str, str] = {}
    for name, create in rows:
        match = _TARGET.search(str(create).split("(", 1)[0])
        out[str(name)] = match.group(2) if match else ""
    return out
