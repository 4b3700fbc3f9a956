"""Free SQL for agency tokens, restricted row by row by the ClickHouse engine itself.

An agency token may run read-only SQL (``/api/v1/sql``) and the named queries, and sees the
rows of its own subtree only. The restriction is not a rewrite of the SQL text (text is not a
security boundary); it is two engine-side mechanisms:

1. ``additional_table_filters``: ClickHouse applies ``site IN (visible sites)`` after reading
   every allowed table, wherever it appears in the query (subqueries, joins, ``IN``, CTEs,
   scalar subqueries). The setting is passed with ``readonly = 1``, so the statement cannot
   change it (ClickHouse answers READONLY), and a ``SETTINGS`` clause is refused before that.
2. The engine's own analysis of the statement (``EXPLAIN QUERY TREE``) lists every table and
   table function it would read. Allowed: the warehouse database's MergeTree tables that have a
   ``site`` column (raw tables, rollups, dossier and catalog tables: new rollups are covered
   without a code change), ``agencies`` (filtered to the subtree), ``system.one`` and the
   ``numbers``/``zeros`` generators. Anything else (``sites`` with its ingest tokens, tokens,
   other databases, ``system.*``, ``merge()``, ``file()``, ``url()``, dictionaries, views) is
   refused with a message naming it, before the statement runs.

The admin token keeps unrestricted read-only SQL (``api.sql``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from api.sql import SqlFailed, SqlRefused, check_readonly, run_readonly
from clickhouse import agencies, agency_tree, named
from clickhouse.client import Database

#: Table functions that read no stored data.
_GENERATORS = frozenset({"numbers", "numbers_mt", "zeros", "zeros_mt"})
#: Tables outside the warehouse database an agency statement may read.
_SYSTEM_ALLOWED = frozenset({"system.one"})
#: Functions that read stored data by name rather than through a table node.
_DATA_FUNCTIONS = re.compile(r"^(dict\w*|joinGet\w*|getSubcolumn)$", re.IGNORECASE)
_TABLE = re.compile(r"^\s*TABLE id: \d+.*?, table_name: (\S+)\s*$")
_TABLE_FUNCTION = re.compile(r"^\s*TABLE_FUNCTION id: \d+.*?, table_function_name: (\w+)")
_FUNCTION = re.compile(r"^\s*FUNCTION id: \d+, function_name: (\w+)")
_SETTINGS = re.compile(r"\bSETTINGS\b", re.IGNORECASE)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'", re.DOTALL)
_AGENCY_STATEMENTS = ("SELECT", "WITH", "(")


class OutOfScope(SqlRefused):
    """The statement would read something an agency token may not read (answered 403)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What an agency statement may read: ``filters`` maps each allowed table (qualified and
    bare name) to its row filter."""

    agency_id: str
    filters: dict[str, str]

    def setting(self) -> str:
        """The ``additional_table_filters`` value (a ClickHouse map literal)."""
        entries = ", ".join(f"{_quote(t)}: {_quote(f)}" for t, f in sorted(self.filters.items()))
        return "{" + entries + "}"


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _in_list(values: set[str]) -> str:
    # an empty subtree must match nothing, not be a syntax error
    return "(" + ", ".join(_quote(v) for v in sorted(values)) + ")" if values else "('')"


def scope_for(db: Database, agency_id: str) -> Scope:
    """The tables an agency token may read and the row filter of each (blocks on the
    database: call it from a worker thread)."""
    subtree = agency_tree.subtree(agencies.list_agencies(db), agency_id)
    site_rows = db.query(
        "SELECT id FROM sites FINAL WHERE deleted = 0 AND agency_id IN {ids:Array(String)}",
        parameters={"ids": sorted(subtree)},
    ).result_rows
    sites = {str(r[0]) for r in site_rows}
    tables = db.query(
        "SELECT t.name FROM system.tables AS t"
        " INNER JOIN system.columns AS c ON c.database = t.database AND c.table = t.name"
        " WHERE t.database = {db:String} AND c.name = 'site' AND t.engine LIKE '%MergeTree'",
        parameters={"db": db.database},
    ).result_rows
    filters: dict[str, str] = {}
    for (name,) in tables:
        for key in (str(name), f"{db.database}.{name}"):
            filters[key] = f"site IN {_in_list(sites)}"
    for key in ("agencies", f"{db.database}.agencies"):
        filters[key] = f"id IN {_in_list(subtree)}"
    return Scope(agency_id, filters)


def _code(sql: str) -> str:
    """The statement without comments and string literals (for keyword checks)."""
    return _STRINGS.sub("''", _COMMENTS.sub(" ", sql))


def check_scoped(
    db: Database, sql: str, scope: Scope, parameters: dict[str, Any] | None = None
) -> str:
    """The statement to run for an agency token, or ``SqlRefused`` naming what it may not
    read. Runs ``EXPLAIN QUERY TREE`` (read-only, reads no data); ``parameters`` are the
    statement's ``{name:Type}`` values (named queries)."""
    statement = check_readonly(sql)
    code = _code(statement).lstrip()
    if not code.upper().startswith(_AGENCY_STATEMENTS):
        raise OutOfScope("sql: agency tokens may run SELECT (or WITH … SELECT) statements only")
    if _SETTINGS.search(code):
        raise OutOfScope("sql: a SETTINGS clause is not allowed for agency tokens")
    try:
        tree = db.query(
            f"EXPLAIN QUERY TREE {statement}", parameters=parameters, settings={"readonly": 1}
        )
    except Exception as exc:
        # the statement is invalid (syntax, unknown table or column): ClickHouse says why
        raise SqlFailed(str(exc).strip()) from exc
    for (line,) in tree.result_rows:
        text = str(line)
        if match := _TABLE_FUNCTION.match(text):
            if match.group(1) not in _GENERATORS:
                raise OutOfScope(
                    f"sql: table function {match.group(1)}() is not available to agency tokens"
                )
        elif match := _TABLE.match(text):
            table = match.group(1)
            if table not in scope.filters and table not in _SYSTEM_ALLOWED:
                raise OutOfScope(
                    f"sql: table {table} is not available to agency tokens (readable: the "
                    "warehouse tables with a site column, and agencies)"
                )
        elif (match := _FUNCTION.match(text)) and _DATA_FUNCTIONS.match(match.group(1)):
            raise OutOfScope(f"sql: function {match.group(1)} is not available to agency tokens")
    return statement


def settings(scope: Scope) -> dict[str, Any]:
    """The ClickHouse settings every agency statement runs with."""
    return {"readonly": 1, "additional_table_filters": scope.setting()}


def run_sql(
    db: Database, agency_id: str, sql: str, max_rows: int | None, timeout_s: float | None
) -> dict[str, Any]:
    """``api.sql.run_readonly`` for an agency token: checked, then run with its row filters."""
    scope = scope_for(db, agency_id)
    statement = check_scoped(db, sql, scope)
    return run_readonly(db, statement, max_rows, timeout_s, extra_settings=settings(scope))


def run_named(db: Database, agency_id: str, name: str, params: dict[str, Any]) -> Any:
    """A named query for an agency token (``params`` already converted): checked like free
    SQL, then run with its row filters; returns the clickhouse-connect result."""
    query = named.check_params(name, params)
    scope = scope_for(db, agency_id)
    check_scoped(db, query.sql, scope, dict(params))
    return named.run(db, name, params, settings(scope))
