"""Migrations on the real ClickHouse engine: apply, idempotent, changed files refused."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from clickhouse.migrate import MIGRATIONS_DIR, MigrationError, discover, migrate, status

pytestmark = pytest.mark.integration

TABLES = {
    "schema_migrations", "sites", "pageviews", "bot_hits", "sessions", "dossier_events",
    "sink_offsets", "hits_hourly", "visits_hourly", "visits_by_dim_daily", "pages_daily",
}  # fmt: skip


def _tables(engine: Any, database: str) -> set[str]:
    rows = engine.query(
        "SELECT name FROM system.tables WHERE database = {db:String}", parameters={"db": database}
    ).result_rows
    return {r[0] for r in rows}


def test_migrations_create_every_table_and_a_second_run_does_nothing(
    clickhouse_engine: Any, ch_database: str
) -> None:
    assert _tables(clickhouse_engine, ch_database) >= TABLES
    assert migrate(clickhouse_engine, ch_database) == []
    applied = clickhouse_engine.query(
        f"SELECT version, name FROM {ch_database}.schema_migrations ORDER BY version"
    ).result_rows
    assert [(v, n) for v, n in applied] == [(m.version, m.name) for m in discover()]
    assert all(s.applied for s in status(clickhouse_engine, ch_database))


def test_dry_run_lists_pending_and_changes_nothing(clickhouse_engine: Any) -> None:
    name = f"t_{uuid.uuid4().hex[:12]}"
    try:
        pending = migrate(clickhouse_engine, name, dry_run=True)
        assert [m.version for m in pending] == [m.version for m in discover()]
        assert _tables(clickhouse_engine, name) == set()
        assert not any(s.applied for s in status(clickhouse_engine, name))
    finally:
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {name} SYNC")


def test_a_changed_applied_migration_is_refused(
    clickhouse_engine: Any, ch_database: str, tmp_path: Path
) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy)
    target = copy / "0002_sites.sql"
    target.write_text(target.read_text() + "\n-- edited after the fact\n")
    with pytest.raises(MigrationError, match=r"0002_sites\.sql was changed after it was applied"):
        migrate(clickhouse_engine, ch_database, directory=copy)


def test_a_new_migration_is_applied_once(
    clickhouse_engine: Any, ch_database: str, tmp_path: Path
) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy)
    version = max(m.version for m in discover()) + 1  # after every existing one
    (copy / f"{version:04d}_extra.sql").write_text(
        "-- extra: a test table\nCREATE TABLE IF NOT EXISTS {database}.extra (a UInt8) "
        "ENGINE = MergeTree ORDER BY a;\n"
    )
    done = migrate(clickhouse_engine, ch_database, directory=copy)
    assert [(m.version, m.name) for m in done] == [(version, "extra")]
    assert migrate(clickhouse_engine, ch_database, directory=copy) == []
    assert "extra" in _tables(clickhouse_engine, ch_database)


def test_raw_and_rollup_tables_deduplicate_by_token(
    clickhouse_engine: Any, ch_database: str
) -> None:
    """The exactly-once scheme relies on this: every table an insert reaches has a window."""
    rows = clickhouse_engine.query(
        "SELECT name, engine_full FROM system.tables WHERE database = {db:String} "
        "AND engine LIKE '%MergeTree'",
        parameters={"db": ch_database},
    ).result_rows
    without = [
        name
        for name, engine in rows
        if "non_replicated_deduplication_window" not in engine
        and name not in {"schema_migrations", "sites"}
    ]
    assert without == []
