"""The cluster DDL on the real engine, in a process of its own (chDB: one engine per process, and
this one needs a config file that names a cluster), for tests/integration/test_cluster_ddl.py.

``python -m tests.integration.cluster_child CONFIG_XML`` starts chDB with that config (a
cluster ``emc`` of one shard on this very process, so Distributed tables work without a
network), applies the single-node migrations to database ``single`` and the cluster rendering
to database ``clu`` — with the two things chDB cannot run taken out by ``dereplicate``: ``ON
CLUSTER`` (needs the distributed DDL queue in Keeper) and the Keeper path arguments of the
Replicated* engines (needs Keeper). Then it inserts the same hits, visits and dossier events
into both (into the Distributed tables on the cluster side), and prints one JSON object: every
table's engine, columns, create query and dependent views, and the answers of a few named
queries and views in both databases.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import orjson

from clickhouse.migrate import discover, statements_for
from clickhouse.named import load

CLUSTER = "emc"
_ON_CLUSTER = re.compile(rf" ON CLUSTER {CLUSTER}\b")
_REPLICATED = re.compile(r"\bReplicated(\w*MergeTree)\('[^']*', '\{replica\}'(?:, )?")

PAGEVIEWS = (
    "INSERT INTO {db}.pageviews (event_id, site, ts, local_ts, received_ts, type, path, "
    "visitor_id, session_id, _topic, _partition, _offset) "
    "SETTINGS distributed_foreground_insert = 1 VALUES "
    "('e1', 'a', '2026-03-10 01:00:00', '2026-03-10 08:00:00', '2026-03-10 01:00:01', "
    "'pageview', '/x', 'v1', 's1', 't', 0, 1), "
    "('e2', 'a', '2026-03-10 01:05:00', '2026-03-10 08:05:00', '2026-03-10 01:05:01', "
    "'pageview', '/y', 'v1', 's1', 't', 0, 2), "
    "('e3', 'a', '2026-03-10 17:30:00', '2026-03-11 00:30:00', '2026-03-10 17:30:01', "
    "'pageview', '/x', 'v2', 's2', 't', 1, 7), "
    "('e4', 'b', '2026-03-10 02:00:00', '2026-03-10 09:00:00', '2026-03-10 02:00:01', "
    "'event', '/z', 'v3', 's3', 't', 1, 8)"
)
SESSIONS = (
    "INSERT INTO {db}.sessions (session_id, site, visitor_id, start_ts, start_local, end_ts, "
    "duration_ms, version, hits, pageviews, is_bounce, entry_page, exit_page, sign, _topic, "
    "_partition, _offset) SETTINGS distributed_foreground_insert = 1 VALUES "
    "('s1', 'a', 'v1', '2026-03-10 01:00:00', '2026-03-10 08:00:00', '2026-03-10 01:00:00', "
    "0, 1, 1, 1, 1, '/x', '/x', 1, 's', 0, 1), "
    "('s1', 'a', 'v1', '2026-03-10 01:00:00', '2026-03-10 08:00:00', '2026-03-10 01:00:00', "
    "0, 1, 1, 1, 1, '/x', '/x', -1, 's', 0, 2), "
    "('s1', 'a', 'v1', '2026-03-10 01:00:00', '2026-03-10 08:00:00', '2026-03-10 01:05:00', "
    "300000, 2, 2, 2, 0, '/x', '/y', 1, 's', 0, 3), "
    "('s2', 'a', 'v2', '2026-03-10 17:30:00', '2026-03-11 00:30:00', '2026-03-10 17:30:00', "
    "0, 1, 1, 1, 1, '/x', '/x', 1, 's', 1, 4)"
)
DOSSIERS = (
    "INSERT INTO {db}.dossier_events (event_id, site, dossier_code, procedure_code, status, ts, "
    "local_ts, received_ts, received_at, due_at, resolved_at, _topic, _partition, _offset) "
    "SETTINGS distributed_foreground_insert = 1 VALUES "
    "('d1', 'm', 'H1', 'P1', 'received', '2026-03-02 01:00:00', '2026-03-02 08:00:00', "
    "'2026-03-02 01:00:00', '2026-03-02 01:00:00', '2026-03-05 10:00:00', NULL, 'd', 0, 1), "
    "('d2', 'm', 'H1', 'P1', 'resolved', '2026-03-04 01:00:00', '2026-03-04 08:00:00', "
    "'2026-03-04 01:00:00', NULL, NULL, '2026-03-04 01:00:00', 'd', 0, 2), "
    "('d2', 'm', 'H1', 'P1', 'resolved', '2026-03-04 01:00:00', '2026-03-04 08:00:00', "
    "'2026-03-04 01:00:00', NULL, NULL, '2026-03-04 01:00:00', 'd', 0, 2), "
    "('d3', 'm', 'H2', 'P2', 'received', '2026-03-03 01:00:00', '2026-03-03 08:00:00', "
    "'2026-03-03 01:00:00', '2026-03-03 01:00:00', NULL, NULL, 'd', 0, 3)"
)
READS: dict[str, str] = {
    "dossiers": "SELECT site, dossier_code, status, on_time, processing_s FROM {db}.dossiers "
    "ORDER BY site, dossier_code",
    "sink_offsets": "SELECT raw_table, topic, partition, max(max_offset) FROM {db}.sink_offsets "
    "GROUP BY ALL ORDER BY ALL",
    "receipts": "SELECT site, hour, sum(events), max(last_received) "
    "FROM {db}.site_receipts_hourly GROUP BY ALL ORDER BY ALL",
    "visits_by_dim": "SELECT site, date, dim, key, sum(visits), sum(pageviews) "
    "FROM {db}.visits_by_dim_daily GROUP BY ALL HAVING sum(visits) != 0 ORDER BY ALL",
}
NAMED: dict[str, dict[str, str]] = {
    "portal_overview": {"sites": "['a','b']", "from": "2026-03-10", "to": "2026-03-11"},
    "portal_breakdown_pages": {
        "sites": "['a','b']",
        "from": "2026-03-10",
        "to": "2026-03-11",
        "keys": "[]",
        "limit": "10",
    },
}


def dereplicate(statement: str) -> str:
    """The rendered statement without what needs Keeper: ``ON CLUSTER`` and the Keeper path
    and replica arguments (``ReplicatedReplacingMergeTree('…', '{replica}', v)`` →
    ``ReplacingMergeTree(v)``). Everything else (names, Distributed, views) runs as rendered."""
    return _REPLICATED.sub(r"\1(", _ON_CLUSTER.sub("", statement))


def _rows(session: Any, sql: str, params: dict[str, str] | None = None) -> list[list[Any]]:
    out = session.query(sql, "JSONCompact", params=params or {})
    return list(orjson.loads(out.bytes())["data"]) if out.bytes() else []


def _tables(session: Any, db: str) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for name, engine, create, deps in _rows(
        session,
        "SELECT name, engine, create_table_query, dependencies_table FROM system.tables "
        f"WHERE database = '{db}' ORDER BY name",
    ):
        tables[name] = {"engine": engine, "create": create, "views": sorted(deps)}
    for table, column, kind in _rows(
        session,
        "SELECT table, name, type FROM system.columns "
        f"WHERE database = '{db}' ORDER BY table, position",
    ):
        tables[table].setdefault("columns", []).append([column, kind])
    return tables


def main(config: str) -> int:
    from chdb import session as chdb_session

    make_session: Any = chdb_session.Session  # chdb has no type hints
    session: Any = make_session(f":memory:?config-file={config}")
    migrations = discover()
    session.query("CREATE DATABASE single")
    session.query("CREATE DATABASE clu")
    for migration in migrations:
        for statement in migration.statements("single"):
            session.query(statement)
        for statement in statements_for(migration, "clu", CLUSTER):
            session.query(dereplicate(statement))
    answers: dict[str, Any] = {}
    for db in ("single", "clu"):
        for insert in (PAGEVIEWS, SESSIONS, DOSSIERS):
            session.query(insert.format(db=db))
        reads: dict[str, Any] = {k: _rows(session, v.format(db=db)) for k, v in READS.items()}
        session.query(f"USE {db}")
        for name, params in NAMED.items():
            defaults = {p: "[]" for p in load(name).optional}
            reads[name] = _rows(session, load(name).sql, {**defaults, **params})
        answers[db] = {"tables": _tables(session, db), "reads": reads}
    sys.stdout.write(orjson.dumps(answers).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
