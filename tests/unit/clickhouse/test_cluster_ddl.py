"""clickhouse/cluster_ddl.py on every migration, without an engine: every table is placed, every
statement gets ON CLUSTER, engines keep their family and arguments, views read local tables.
(The real parser and the real engine check the same output in
tests/integration/test_cluster_ddl.py.)"""

from __future__ import annotations

import re

import pytest

from clickhouse.cluster_ddl import (
    SHARDING,
    ClusterDDLError,
    render_statement,
    replicated_engine,
)
from clickhouse.migrate import discover, statements_for

DB = "emc"
CLUSTER = "emc"
_CREATED = re.compile(r"CREATE TABLE IF NOT EXISTS emc\.(\w+)")
_LOCAL_REF = re.compile(r"\bemc\.\w+_local\b")


def _code(statement: str) -> str:
    return "\n".join(line for line in statement.splitlines() if not line.startswith("--"))


def _single() -> list[str]:
    return [_code(s) for m in discover() for s in m.statements(DB)]


def _cluster() -> list[str]:
    return [_code(s) for m in discover() for s in statements_for(m, DB, CLUSTER)]


def test_every_created_table_has_a_placement_and_no_placement_is_stale() -> None:
    created = {m.group(1) for s in _single() if (m := _CREATED.match(s))}
    assert created == set(SHARDING)


def test_every_statement_runs_on_the_cluster() -> None:
    for statement in _cluster():
        if statement.startswith(("CREATE", "ALTER")):
            first_line = statement.splitlines()[0]
            assert f" ON CLUSTER {CLUSTER}" in first_line, statement[:120]
        else:
            assert statement.startswith("INSERT INTO"), statement[:120]
            assert "SETTINGS distributed_foreground_insert = 1" in statement


@pytest.mark.parametrize(
    ("engine", "args", "expected"),
    [
        ("MergeTree", "", "ReplicatedMergeTree('p', '{replica}')"),
        ("ReplacingMergeTree", "(updated_at)", "ReplicatedReplacingMergeTree('p', '{replica}', "
         "updated_at)"),
        ("VersionedCollapsingMergeTree", "(sign, version)",
         "ReplicatedVersionedCollapsingMergeTree('p', '{replica}', sign, version)"),
        ("AggregatingMergeTree", "()", "ReplicatedAggregatingMergeTree('p', '{replica}')"),
        ("SummingMergeTree", "", "ReplicatedSummingMergeTree('p', '{replica}')"),
    ],
)  # fmt: skip
def test_replicated_engine_keeps_the_family_and_its_arguments(
    engine: str, args: str, expected: str
) -> None:
    assert replicated_engine(engine, args, "p") == expected


def test_a_non_mergetree_engine_is_refused() -> None:
    with pytest.raises(ClusterDDLError, match="Log"):
        replicated_engine("Log", "", "p")


def test_sharded_tables_become_local_replicated_plus_distributed_under_the_original_name() -> None:
    statements = _cluster()
    for table, where in SHARDING.items():
        local = [s for s in statements if s.startswith(f"CREATE TABLE IF NOT EXISTS emc.{table}_")]
        dist = [s for s in statements if s.startswith(f"CREATE TABLE IF NOT EXISTS emc.{table} ")]
        assert len(dist) == 1, table
        if where.kind == "everywhere":
            assert local == []
            assert "/clickhouse/tables/all/{database}/{table}" in dist[0]
            assert "{shard}" not in dist[0]
            continue
        assert len(local) == 1 and local[0].startswith(
            f"CREATE TABLE IF NOT EXISTS emc.{table}_local "
        )
        assert "ENGINE = Replicated" in local[0]
        assert "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'" in local[0]
        assert dist[0].endswith(
            f"ENGINE = Distributed({CLUSTER}, {DB}, {table}_local, {where.key})"
        )


def test_the_sharding_keys_follow_visitors_and_dossiers() -> None:
    """Exact visitors and visits need all of a visitor on one shard; dossier state needs all
    events of a dossier on one shard, and dossier_state on the same shard as its events."""
    for table in ("pageviews", "bot_hits", "sessions"):
        assert SHARDING[table].key == "cityHash64(site, visitor_id)"
    for table in ("dossier_events", "dossier_state"):
        assert SHARDING[table].key == "cityHash64(site, dossier_code)"


def test_materialized_views_read_and_write_local_tables_and_plain_views_distributed() -> None:
    views = [s for s in _cluster() if s.startswith("CREATE MATERIALIZED VIEW")]
    assert len(views) == len([s for s in _single() if s.startswith("CREATE MATERIALIZED VIEW")])
    sharded = {t for t, p in SHARDING.items() if p.kind == "sharded"}
    for view in views:
        names = set(re.findall(r"\bemc\.(\w+)", view))
        target = re.search(r"\nTO emc\.(\w+)", view)
        assert target and target.group(1).endswith("_local"), view[:200]
        assert not names & sharded, f"view reads a Distributed table: {names & sharded}"
    for view in (s for s in _cluster() if s.startswith("CREATE VIEW")):
        assert not _LOCAL_REF.search(view), view[:200]


def test_backfills_write_through_the_distributed_tables() -> None:
    inserts = [s for s in _cluster() if s.startswith("INSERT INTO")]
    assert len(inserts) == 6  # 0065 backfills the channel dims of visits_by_dim_daily
    for insert in inserts:
        assert not _LOCAL_REF.search(insert), insert[:200]


def test_alter_of_a_sharded_table_changes_local_and_distributed() -> None:
    out = render_statement(
        "ALTER TABLE emc.dossier_events ADD COLUMN IF NOT EXISTS x UInt8", DB, CLUSTER
    )
    assert out == [
        "ALTER TABLE emc.dossier_events_local ON CLUSTER emc ADD COLUMN IF NOT EXISTS x UInt8",
        "ALTER TABLE emc.dossier_events ON CLUSTER emc ADD COLUMN IF NOT EXISTS x UInt8",
    ]


def test_an_unplaced_table_is_refused_with_its_name() -> None:
    with pytest.raises(ClusterDDLError, match=r"'newtable'.*SHARDING"):
        render_statement(
            "CREATE TABLE IF NOT EXISTS emc.newtable (a String) ENGINE = MergeTree ORDER BY a",
            DB,
            CLUSTER,
        )


def test_a_bad_cluster_name_is_refused() -> None:
    with pytest.raises(ValueError, match="cluster"):
        render_statement("CREATE VIEW IF NOT EXISTS emc.v AS SELECT 1", DB, "a b")


def test_emc_migrate_cluster_dry_run_prints_the_ddl(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a server URL the dry run needs no engine and prints every migration."""
    from emc.cli import main

    monkeypatch.delenv("EMC_CLICKHOUSE_URL", raising=False)
    assert main(["migrate", "--cluster", "prod", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"-- cluster prod, database emc: {len(discover())} migration(s)")
    assert "CREATE DATABASE IF NOT EXISTS emc ON CLUSTER prod;" in out
    assert "ENGINE = Distributed(prod, emc, pageviews_local, cityHash64(site, visitor_id));" in out


def test_emc_migrate_cluster_without_a_server_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from emc.cli import main

    monkeypatch.delenv("EMC_CLICKHOUSE_URL", raising=False)
    assert main(["migrate", "--cluster", "prod"]) == 2
    assert "EMC_CLICKHOUSE_URL" in capsys.readouterr().err


def test_the_cluster_setting_needs_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import Settings

    monkeypatch.delenv("EMC_CLICKHOUSE_URL", raising=False)
    monkeypatch.setenv("EMC_CLICKHOUSE_CLUSTER", "prod")
    with pytest.raises(ValueError, match="EMC_CLICKHOUSE_CLUSTER needs EMC_CLICKHOUSE_URL"):
        Settings()
    monkeypatch.setenv("EMC_CLICKHOUSE_CLUSTER", "")
    assert Settings().clickhouse_cluster is None
    monkeypatch.setenv("EMC_CLICKHOUSE_URL", "http://u:p@ch:8123")
    monkeypatch.setenv("EMC_CLICKHOUSE_CLUSTER", "prod")
    assert Settings().clickhouse_cluster == "prod"
