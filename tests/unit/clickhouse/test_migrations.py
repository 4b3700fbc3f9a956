"""Migration discovery rules (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clickhouse.migrate import MIGRATIONS_DIR, Migration, MigrationError, discover


def _write(directory: Path, name: str, text: str = "-- what and why\nSELECT 1;\n") -> None:
    (directory / name).write_text(text)


def test_the_project_migrations_are_numbered_upwards_from_one() -> None:
    migrations = discover()
    versions = [m.version for m in migrations]
    assert versions[0] == 1 and versions == sorted(set(versions))
    assert migrations[0].name == "schema_migrations"
    for migration in migrations:
        assert migration.sql.lstrip().startswith("--"), migration.path.name
        assert "{database}" in migration.sql, migration.path.name


def test_every_project_statement_names_the_database_placeholder() -> None:
    for migration in discover(MIGRATIONS_DIR):
        for statement in migration.statements("emc_x"):
            assert "{database}" not in statement
            assert "emc_x." in statement, (migration.path.name, statement[:60])


def test_a_gap_is_allowed_because_work_streams_own_number_ranges(tmp_path: Path) -> None:
    _write(tmp_path, "0001_a.sql")
    _write(tmp_path, "0020_c.sql")
    assert [m.version for m in discover(tmp_path)] == [1, 20]


def test_not_starting_at_one_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "0002_b.sql")
    with pytest.raises(MigrationError, match="expected version 0001"):
        discover(tmp_path)


def test_a_duplicate_number_is_refused_naming_both_files(tmp_path: Path) -> None:
    _write(tmp_path, "0001_a.sql")
    _write(tmp_path, "0001_b.sql")
    with pytest.raises(MigrationError, match=r"0001_b\.sql: version 0001 is also used by 0001_a"):
        discover(tmp_path)


def test_a_missing_header_comment_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "0001_a.sql", "CREATE TABLE {database}.x (a UInt8) ENGINE = Memory;\n")
    with pytest.raises(MigrationError, match=r"0001_a\.sql: line 1 must be a header comment"):
        discover(tmp_path)


def test_a_badly_named_file_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "1_first.sql")
    with pytest.raises(MigrationError, match=r"1_first\.sql: migration files are named"):
        discover(tmp_path)


def test_a_file_with_only_comments_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "0001_a.sql", "-- header\n-- nothing else\n")
    with pytest.raises(MigrationError, match="no SQL statement"):
        discover(tmp_path)


def test_statements_split_on_semicolons_at_line_end_only(tmp_path: Path) -> None:
    text = (
        "-- header\n"
        "CREATE TABLE {database}.a (s String DEFAULT 'x;y') ENGINE = Memory;\n"
        "\n"
        "-- second\n"
        "CREATE TABLE {database}.b (a UInt8) ENGINE = Memory;  \n"
    )
    _write(tmp_path, "0001_a.sql", text)
    (migration,) = discover(tmp_path)
    assert isinstance(migration, Migration)
    statements = migration.statements("db1")
    assert len(statements) == 2
    assert statements[0].endswith("DEFAULT 'x;y') ENGINE = Memory")
    assert "db1.b" in statements[1]


def test_a_bad_database_name_is_refused() -> None:
    (first, *_) = discover()
    with pytest.raises(ValueError, match="database name"):
        first.statements("emc; DROP")


def test_checksum_changes_with_the_text(tmp_path: Path) -> None:
    _write(tmp_path, "0001_a.sql")
    before = discover(tmp_path)[0].checksum
    _write(tmp_path, "0001_a.sql", "-- what and why\nSELECT 2;\n")
    assert discover(tmp_path)[0].checksum != before
