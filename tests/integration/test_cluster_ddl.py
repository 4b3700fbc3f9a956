"""The cluster DDL (clickhouse/cluster_ddl.py) checked by the real ClickHouse engine.

1. Every rendered statement of every migration parses with the engine's own parser (chDB
   ``formatQuery``), and the parser's reading keeps ON CLUSTER, the Replicated* engine and the
   columns of the single-node statement.
2. In a chDB process configured with a one-shard cluster (tests/integration/cluster_child.py),
   the cluster rendering is applied (minus ON CLUSTER and Keeper paths, which need Keeper) next
   to the single-node migrations, and compared table by table: same names, same columns and
   types, engine family kept under ``x_local`` with a Distributed ``x`` over it, same views,
   every materialized view fed by and writing the local tables. The same hits, visits and
   dossier events are then inserted into both (through the Distributed tables on the cluster
   side) and named queries and views give the same known answers in both.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from clickhouse.cluster_ddl import SHARDING, render_statement
from clickhouse.migrate import discover, statements_for

CLUSTER_XML = """<clickhouse>
  <tcp_port>9000</tcp_port>
  <remote_servers>
    <emc><shard><replica><host>localhost</host><port>9000</port></replica></shard></emc>
  </remote_servers>
</clickhouse>
"""
pytestmark = pytest.mark.integration

_COLUMN = re.compile(r"^\s*ColumnDeclaration (\S+)", re.MULTILINE)


def _format(client: Any, sql: str) -> str:
    return str(client.command("SELECT formatQuery({q:String})", parameters={"q": sql}))


def _ast(client: Any, sql: str) -> str:
    return "\n".join(
        str(r[0])
        for r in client.query(f"EXPLAIN AST {sql}").result_rows  # our own DDL
    )


def test_every_rendered_statement_parses_and_keeps_its_columns(clickhouse_engine: Any) -> None:
    checked = 0
    for migration in discover():
        for single in migration.statements("emc"):
            rendered = render_statement(single, "emc", "emc")
            for statement in rendered:
                formatted = _format(clickhouse_engine, statement)
                if not formatted.startswith("INSERT"):
                    assert " ON CLUSTER emc" in formatted.splitlines()[0], formatted[:200]
                checked += 1
            first = _format(clickhouse_engine, rendered[0])
            if first.startswith("CREATE TABLE") and "ENGINE = Distributed" not in first:
                assert "ENGINE = Replicated" in first
                assert _COLUMN.findall(_ast(clickhouse_engine, rendered[0])) == _COLUMN.findall(
                    _ast(clickhouse_engine, single)
                )
    assert checked > 60


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    config = tmp_path_factory.mktemp("cluster") / "cluster.xml"
    config.write_text(CLUSTER_XML)
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.cluster_child", str(config)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    result: dict[str, Any] = orjson.loads(done.stdout.splitlines()[-1])
    return result


def test_cluster_tables_match_single_node_table_by_table(cluster_run: dict[str, Any]) -> None:
    single = cluster_run["single"]["tables"]
    clu = cluster_run["clu"]["tables"]
    sharded = {t for t, p in SHARDING.items() if p.kind == "sharded"}
    assert set(clu) == set(single) | {f"{t}_local" for t in sharded}
    for name, table in single.items():
        assert clu[name]["columns"] == table["columns"], name
        engine = table["engine"]
        if name in sharded:
            assert clu[name]["engine"] == "Distributed", name
            assert clu[f"{name}_local"]["engine"] == engine, name
            assert clu[f"{name}_local"]["columns"] == table["columns"], name
            # views fire on the local table, as they fired on the single-node table
            assert clu[f"{name}_local"]["views"] == table["views"], name
            assert clu[name]["views"] == [], name
        else:
            assert clu[name]["engine"] == engine, name
            assert clu[name]["views"] == table["views"], name
        if engine == "MaterializedView":
            target = re.search(r" TO clu\.(\w+)", clu[name]["create"])
            assert target is not None
            assert target.group(1) == (
                re.search(r" TO single\.(\w+)", table["create"]).group(1)  # type: ignore[union-attr]
                + ("_local" if target.group(1).removesuffix("_local") in sharded else "")
            )


def test_queries_through_distributed_tables_give_the_single_node_answers(
    cluster_run: dict[str, Any],
) -> None:
    """Known answers by construction (cluster_child.py): site a has visits s1 (3 snapshot rows
    +1 -1 +1, 2 pageviews, 300 s) and s2 (one pageview, a bounce, local 00:30 on the 11th),
    site b one event hit; 3 pageviews, 3 visitors. Dossier H1: received 2 Mar 01:00 UTC,
    resolved 4 Mar 01:00 (sent twice), due 5 Mar: on time, 172,800 s."""
    single = cluster_run["single"]["reads"]
    clu = cluster_run["clu"]["reads"]
    assert clu == single
    visits, visit_pageviews, duration_ms, bounces, pageviews, visitors = single["portal_overview"][
        0
    ]
    assert (visits, visit_pageviews, duration_ms, bounces, pageviews, visitors) == (
        2, 3, 300000, 1, 3, 3,
    )  # fmt: skip
    assert single["dossiers"] == [
        ["m", "H1", "resolved", 1, 172800],
        ["m", "H2", "received", None, None],
    ]
    assert [row[:2] for row in single["portal_breakdown_pages"]] == [["/x", 2], ["/y", 1]]


def test_statements_for_without_a_cluster_is_the_single_node_text() -> None:
    for migration in discover():
        assert statements_for(migration, "emc", None) == migration.statements("emc")
