"""Free SQL for every token: checked on the syntax tree, restricted row by row by the engine.

Any valid token may run read-only SQL (``/api/v1/sql``) and the named queries. Three walls:

1. ``indicators.sql_guard`` checks every node of the engine's syntax tree before anything runs:
   functions from the allow-list only (no host files, network, dictionaries, settings or
   introspection — for the admin too), table functions that generate numbers only, and for an
   agency token only the tables below. What runs is the statement formatted back from that tree.
2. For an agency token, ``additional_table_filters``: ClickHouse applies ``site IN (visible
   sites)`` after reading every allowed table, wherever it appears in the query (subqueries,
   joins, ``IN``, CTEs, scalar subqueries). Allowed: the warehouse database's MergeTree tables
   that have a ``site`` column (raw tables, rollups, dossier and catalog tables: new rollups are
   covered without a code change), ``agencies`` (filtered to the subtree) and ``system.one``.
   ``sites`` (ingest tokens), ``api_tokens``, ``system.*``, views and other databases are not.
3. ``indicators.sql.Limits`` passed with ``readonly = 1``: time, memory, rows and bytes read, result
   size and threads; an agency's are lower than the admin's and the statement cannot lift them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clickhouse import agencies, agency_tree, named
from clickhouse.client import Database
from indicators import sql_guard
from indicators.sql import Limits, run_checked
from indicators.sql_guard import Policy, Refused

#: Refusals answered 403 (kept under its old name for the route modules).
OutOfScope = Refused


@dataclass(frozen=True, slots=True)
class Scope:
    """What an agency statement may read: ``filters`` maps each allowed table (qualified and
    bare name) to its row filter; ``tables`` are all table names of the warehouse database."""

    agency_id: str
    filters: dict[str, str]
    database: str = ""
    tables: frozenset[str] = field(default_factory=frozenset)

    def policy(self) -> Policy:
        """The syntax-tree check's view of this scope."""
        readable = frozenset(t for t in self.filters if "." not in t)
        return Policy(self.database, readable, self.tables)

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
        "SELECT t.name, t.engine LIKE '%MergeTree' AND countIf(c.name = 'site') > 0"
        " FROM system.tables AS t"
        " LEFT JOIN system.columns AS c ON c.database = t.database AND c.table = t.name"
        " WHERE t.database = {db:String} GROUP BY t.name, t.engine",
        parameters={"db": db.database},
    ).result_rows
    filters: dict[str, str] = {}
    for name, has_site in tables:
        if has_site:
            for key in (str(name), f"{db.database}.{name}"):
                filters[key] = f"site IN {_in_list(sites)}"
    for key in ("agencies", f"{db.database}.agencies"):
        filters[key] = f"id IN {_in_list(subtree)}"
    return Scope(agency_id, filters, db.database, frozenset(str(r[0]) for r in tables))


def admin_policy(db: Database) -> Policy:
    """The admin's view: every table, but the same functions and table functions."""
    return Policy(db.database, None)


def check_scoped(db: Database, sql: str, scope: Scope) -> str:
    """The statement to run for an agency token (formatted from its checked syntax tree), or
    ``Refused`` naming what it may not use / ``SqlFailed`` when it does not parse."""
    return sql_guard.checked(db, sql, scope.policy())


def settings(scope: Scope) -> dict[str, Any]:
    """The row filters every agency statement runs with (beside its ``Limits``). The engine
    may move a WHERE condition into PREWHERE, which runs before ``additional_table_filters``:
    a failing cast there would quote another agency's values in its error, so it may not."""
    return {
        "readonly": 1,
        "additional_table_filters": scope.setting(),
        "optimize_move_to_prewhere": 0,
        "optimize_move_to_prewhere_if_final": 0,
    }


def tagged(statement: str, tag: str | None) -> str:
    """``statement`` with a leading comment naming it in ``system.processes`` (to cancel it)."""
    return f"/* emc-sql:{tag} */ {statement}" if tag else statement


def run_sql(
    db: Database, agency_id: str | None, sql: str, limits: Limits, tag: str | None = None
) -> Any:
    """Free SQL for a token (``agency_id`` None: the admin): checked, then run with its limits
    (and, for an agency, its row filters); the clickhouse-connect result."""
    if agency_id is None:
        statement = sql_guard.checked(db, sql, admin_policy(db))
        return run_checked(db, tagged(statement, tag), limits)
    scope = scope_for(db, agency_id)
    statement = check_scoped(db, sql, scope)
    return run_checked(db, tagged(statement, tag), limits, settings(scope))


def run_named(
    db: Database,
    agency_id: str | None,
    name: str,
    params: dict[str, Any],
    limits: Limits,
    tag: str | None = None,
) -> Any:
    """A named query (``params`` already converted) with the token's limits; for an agency
    token checked like free SQL and run with its row filters. Returns the clickhouse-connect
    result."""
    query, bound = named.bind(name, params)
    text = named.statement(query, bound)
    if agency_id is None:
        return run_checked(db, tagged(text, tag), limits, parameters=bound)
    scope = scope_for(db, agency_id)
    statement = check_scoped(db, text, scope)
    return run_checked(db, tagged(statement, tag), limits, settings(scope), bound)
