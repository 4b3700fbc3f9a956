"""Cluster rendering of the numbered migrations: Replicated* local tables, Distributed on top.

Contract: ``render_statement(sql, database, cluster)`` turns one single-node migration
statement (``{database}`` already filled in) into the statements a ClickHouse cluster needs;
``render_migration`` does it for a whole ``Migration``. Pure functions, no I/O: the output is
checked with the real engine's parser in tests (chDB ``formatQuery`` / ``EXPLAIN AST``), and
``emc migrate --cluster NAME --dry-run`` prints it.

Why a renderer and not a second set of migrations: the single-node files stay the one truth,
so a cluster can never drift from what tests run on chDB. The rules:

* Names. Every *sharded* table ``x`` becomes a local table ``x_local`` (its Replicated*
  counterpart: ``ReplacingMergeTree(v)`` → ``ReplicatedReplacingMergeTree('/clickhouse/tables/
  {shard}/{database}/{table}', '{replica}', v)``, version/sign arguments kept) and a
  ``Distributed`` table that keeps the original name ``x``. So every named query, view and
  the sink read and write ``x`` unchanged, through the Distributed table, and need no edit.
* Small *everywhere* tables (registries, catalogs, tokens, the runner's own state) keep their
  name and become one Replicated table whose Keeper path has no ``{shard}``: every node of
  every shard holds a full replica. They are a few thousand to a few million rows; a query on
  any shard can then JOIN / ``IN`` them locally (no double-distributed subquery), and an
  admin write on any node reaches all of them.
* Every CREATE / ALTER carries ``ON CLUSTER``; plain views are created on every node and read
  the Distributed names; materialized views read the *local* source table (a view fires on
  the insert into the table it names, i.e. on the shard where the rows land) and write the
  local target, so a rollup row always lives on the shard of the rows it summarises.
* Backfills (``INSERT … SELECT`` inside a migration) keep the Distributed names on both sides
  and gain ``distributed_foreground_insert = 1``: they run once, from the node that applies
  the migration, over the whole cluster, and the migration is recorded only after the rows
  are on their shards. Where placement matters it is the same as the materialized view's:
  ``dossier_state`` is Distributed by ``cityHash64(site, dossier_code)``, the key of
  ``dossier_events``. Other rollups are merged across shards by every query (sums,
  ``…Merge`` of states), so any shard is right for a backfilled row.
* ``non_replicated_deduplication_window = 1000`` becomes ``replicated_deduplication_window =
  1000`` (same guarantee: a retried block with the same token is dropped).

Sharding keys (``SHARDING`` below, one entry per table, a table missing from it is an error):

* ``pageviews``, ``bot_hits``, ``sessions``: ``cityHash64(site, visitor_id)``. All hits and
  visits of a visitor on one shard: ``uniqExact(visitor_id)`` per shard counts disjoint sets
  (``optimize_distributed_group_by_sharding_key`` can then skip the merge), a resent event
  (same event_id, same visitor) meets its twin for ReplacingMergeTree/FINAL, the +1/−1 pairs
  of a visit collapse on one shard, and filtered queries' ``sessions … IN (SELECT session_id
  FROM pageviews …)`` are shard-local (``distributed_product_mode = 'local'`` is exact).
* ``dossier_events``, ``dossier_state``: ``cityHash64(site, dossier_code)``. The state of a
  dossier is an aggregate over all its events, read with FINAL (merged per shard): every
  event of a dossier must reach the same shard.
* Rollups of hits and visits, ``site_receipts_hourly``, ``sink_offsets``: ``rand()``. Their
  rows are written by materialized views on the shard of the source rows; the Distributed
  key is used only by the backfills in migrations, and readers always aggregate across
  shards (sum, max, ``uniqCombined64Merge``), so spreading evenly is all that matters.
  (``emc rebuild`` swaps partitions with ``REPLACE PARTITION``, which a Distributed table
  does not take: on a cluster it is not supported yet, see ARCHITECTURE "ClickHouse cluster".)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from clickhouse.client import check_identifier

if TYPE_CHECKING:
    from clickhouse.migrate import Migration

#: Keeper path of a table with one replica set per shard, and of a table on every node.
SHARD_PATH = "/clickhouse/tables/{shard}/{database}/{table}"
EVERYWHERE_PATH = "/clickhouse/tables/all/{database}/{table}"
LOCAL_SUFFIX = "_local"

_HITS_KEY = "cityHash64(site, visitor_id)"
_DOSSIER_KEY = "cityHash64(site, dossier_code)"
_ANY_SHARD = "rand()"


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a table's rows live: ``sharded`` (local Replicated table + Distributed by
    ``key``) or ``everywhere`` (one Replicated table, a full replica on every node)."""

    kind: Literal["sharded", "everywhere"]
    key: str = ""
    why: str = ""


def _sharded(key: str, why: str) -> Placement:
    return Placement("sharded", key, why)


def _everywhere(why: str) -> Placement:
    return Placement("everywhere", "", why)


#: Every table a migration creates, with its placement (see the module docstring).
SHARDING: dict[str, Placement] = {
    "schema_migrations": _everywhere("the runner's state; any node can tell what is applied"),
    "sites": _everywhere("site registry, joined by every query path"),
    "pageviews": _sharded(_HITS_KEY, "visitor-aware: exact uniques, FINAL, sessions IN"),
    "bot_hits": _sharded(_HITS_KEY, "same shape and key as pageviews"),
    "sessions": _sharded(_HITS_KEY, "co-sharded with pageviews; +1/-1 pairs collapse locally"),
    "dossier_events": _sharded(_DOSSIER_KEY, "all events of a dossier on one shard"),
    "sink_offsets": _sharded(_ANY_SHARD, "written per shard by views; read with max()"),
    "hits_hourly": _sharded(_ANY_SHARD, "rollup, merged across shards"),
    "pages_daily": _sharded(_ANY_SHARD, "rollup, merged across shards"),
    "visits_hourly": _sharded(_ANY_SHARD, "rollup, summed across shards"),
    "visits_by_dim_daily": _sharded(_ANY_SHARD, "rollup, summed across shards"),
    "visitors_hourly": _sharded(_ANY_SHARD, "uniqCombined64 states, merged across shards"),
    "page_visitors_daily": _sharded(_ANY_SHARD, "uniqCombined64 states, merged across shards"),
    "dossier_state": _sharded(_DOSSIER_KEY, "same key as dossier_events: FINAL per shard"),
    "catalog_versions": _everywhere("small catalog log"),
    "catalog_services": _everywhere("service catalog, joined to dossiers"),
    "catalog_defaults": _everywhere("small catalog log"),
    "account_imports": _everywhere("small import log"),
    "accounts": _everywhere("account lists (millions of rows at most)"),
    "sink_batches": _everywhere("one row per consumer group, table and partition"),
    "agencies": _everywhere("administrative tree, read on every request"),
    "agency_history": _everywhere("small append-only log"),
    "api_tokens": _everywhere("token hashes, read on every request"),
    "site_receipts_hourly": _sharded(_ANY_SHARD, "rollup, summed/maxed across shards"),
    "goals": _everywhere("per-site goal definitions (issue 17), read by conversion queries"),
    "targets": _everywhere("yearly targets per agency and metric (issue 18), a few thousand"),
    "reconciliation_totals": _everywhere("agencies' own monthly totals (issue 18), small"),
    "report_schedules": _everywhere("e-mailed report schedules (issue 18), a few per agency"),
    "mail_outbox": _everywhere("e-mails owed and their log; any poller on any node claims"),
    "mail_claims": _everywhere("claims of send attempts: pollers on any node must see them"),
    "agency_contacts": _everywhere("contact addresses per agency (issue 18)"),
    "silence_alerts": _everywhere("one row per alerted silence episode"),
}


class ClusterDDLError(ValueError):
    """A statement the renderer does not know how to place on a cluster (names the table)."""


_LEADING_COMMENTS = re.compile(r"^(?:\s*--[^\n]*\n)*\s*")
_CREATE_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (?P<db>\w+)\.(?P<name>\w+)")
_CREATE_MV = re.compile(
    r"CREATE MATERIALIZED VIEW IF NOT EXISTS (?P<db>\w+)\.(?P<name>\w+)"
    r"\s+TO (?P<tdb>\w+)\.(?P<target>\w+)"
)
_CREATE_VIEW = re.compile(r"CREATE VIEW IF NOT EXISTS (?P<db>\w+)\.(?P<name>\w+)")
_INSERT = re.compile(r"INSERT INTO (?P<db>\w+)\.(?P<name>\w+)(?P<cols>\s*\([^()]*\))?")
_ALTER = re.compile(r"ALTER TABLE (?P<db>\w+)\.(?P<name>\w+)")
_AS_TABLE = re.compile(r"\s+AS (?P<db>\w+)\.(?P<name>\w+)\s")
_ENGINE = re.compile(r"ENGINE\s*=\s*(?P<engine>\w+)")
_SETTING_WINDOW = re.compile(r"\bnon_replicated_deduplication_window\b")


def placement(table: str) -> Placement:
    """The table's placement; ``ClusterDDLError`` for a table nobody placed yet."""
    found = SHARDING.get(table)
    if found is None:
        raise ClusterDDLError(
            f"table {table!r} has no cluster placement: add it to "
            "clickhouse/cluster_ddl.py SHARDING (sharded with a key, or everywhere)"
        )
    return found


def local_name(table: str) -> str:
    """The name a table's rows live under on each node (``x_local`` when sharded)."""
    return table + LOCAL_SUFFIX if placement(table).kind == "sharded" else table


def _balanced(text: str, start: int) -> int:
    """Index just past the parenthesis group opening at ``text[start] == '('``."""
    depth = 0
    quoted = False
    i = start
    while i < len(text):
        char = text[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == "'":
                quoted = False
        elif char == "'":
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ClusterDDLError(f"unbalanced parentheses after: {text[start : start + 60]!r}")


def replicated_engine(engine: str, args: str, path: str) -> str:
    """``ReplicatedX('path', '{replica}'[, args])`` for a MergeTree-family ``engine``."""
    if not engine.endswith("MergeTree") or engine.startswith("Replicated"):
        raise ClusterDDLError(f"engine {engine} is not a plain MergeTree-family engine")
    inner = args.strip()[1:-1].strip() if args.strip() else ""
    parts = [f"'{path}'", "'{replica}'"] + ([inner] if inner else [])
    return f"Replicated{engine}({', '.join(parts)})"


def _replace_engine(body: str, path: str) -> str:
    match = _ENGINE.search(body)
    if match is None:
        raise ClusterDDLError(f"no ENGINE clause in: {body[:80]!r}")
    end = match.end()
    args = ""
    rest = body[end:]
    if rest.startswith("("):
        close = _balanced(body, end)
        args = body[end:close]
        end = close
    engine = replicated_engine(match.group("engine"), args, path)
    return body[: match.start()] + f"ENGINE = {engine}" + body[end:]


def _local_refs(sql: str, database: str) -> str:
    """``db.x`` → ``db.x_local`` for every sharded table named in ``sql``."""

    def swap(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in SHARDING and SHARDING[name].kind == "sharded":
            return f"{database}.{name}{LOCAL_SUFFIX}"
        return match.group(0)

    return re.sub(rf"\b{re.escape(database)}\.(\w+)\b", swap, sql)


def _on_cluster(header_end: int, sql: str, cluster: str) -> str:
    return sql[:header_end] + f" ON CLUSTER {cluster}" + sql[header_end:]


def render_statement(sql: str, database: str, cluster: str) -> list[str]:
    """The cluster statements for one single-node statement (names already qualified with
    ``database``). Raises ``ClusterDDLError`` for an unplaced table or an unknown shape."""
    check_identifier(database)
    check_identifier(cluster, "cluster")
    lead = _LEADING_COMMENTS.match(sql)
    offset = lead.end() if lead else 0
    comments, code = sql[:offset], sql[offset:]

    if match := _CREATE_TABLE.match(code):
        name = match.group("name")
        where = placement(name)
        body = code[match.end() :]
        body = _SETTING_WINDOW.sub("replicated_deduplication_window", body)
        if where.kind == "everywhere":
            body = _replace_engine(body, EVERYWHERE_PATH)
            head = f"CREATE TABLE IF NOT EXISTS {database}.{name} ON CLUSTER {cluster}"
            return [f"{comments}{head}{body}"]
        body = _replace_engine(body, SHARD_PATH)
        if as_match := _AS_TABLE.match(body):
            source = as_match.group("name")
            body = f" AS {database}.{local_name(source)}" + body[as_match.end() - 1 :]
        local = f"{name}{LOCAL_SUFFIX}"
        return [
            f"{comments}CREATE TABLE IF NOT EXISTS {database}.{local} ON CLUSTER {cluster}{body}",
            f"CREATE TABLE IF NOT EXISTS {database}.{name} ON CLUSTER {cluster} "
            f"AS {database}.{local}\n"
            f"ENGINE = Distributed({cluster}, {database}, {local}, {where.key})",
        ]

    if match := _CREATE_MV.match(code):
        target = match.group("target")
        header = (
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{match.group('name')} "
            f"ON CLUSTER {cluster}\nTO {database}.{local_name(target)}"
        )
        select = _local_refs(code[match.end() :], database)
        return [f"{comments}{header}{select}"]

    if match := _CREATE_VIEW.match(code):
        return [comments + _on_cluster(match.end(), code, cluster)]

    if match := _INSERT.match(code):
        placement(match.group("name"))
        return [
            comments
            + code[: match.end()]
            + "\nSETTINGS distributed_foreground_insert = 1"
            + code[match.end() :]
        ]

    if match := _ALTER.match(code):
        name = match.group("name")
        rest = code[match.end() :]
        if placement(name).kind == "everywhere":
            return [f"{comments}ALTER TABLE {database}.{name} ON CLUSTER {cluster}{rest}"]
        return [
            f"{comments}ALTER TABLE {database}.{name}{LOCAL_SUFFIX} ON CLUSTER {cluster}{rest}",
            f"ALTER TABLE {database}.{name} ON CLUSTER {cluster}{rest}",
        ]

    raise ClusterDDLError(f"statement kind not known to the cluster renderer: {code[:80]!r}")


def render_migration(migration: Migration, database: str, cluster: str) -> list[str]:
    """Every cluster statement of ``migration``, in order."""
    out: list[str] = []
    for statement in migration.statements(database):
        try:
            out.extend(render_statement(statement, database, cluster))
        except ClusterDDLError as exc:
            raise ClusterDDLError(f"{migration.path.name}: {exc}") from exc
    return out


def create_database(database: str, cluster: str) -> str:
    """The database on every node."""
    check_identifier(database)
    check_identifier(cluster, "cluster")
    return f"CREATE DATABASE IF NOT EXISTS {database} ON CLUSTER {cluster}"
