"""The migration runner: numbered SQL files applied once, state kept in ClickHouse itself.

Files are ``clickhouse/migrations/NNNN_name.sql``, numbered upwards from 0001 (gaps allowed:
parallel work streams own number ranges, e.g. 0020-0029), each opening
with a ``--`` header comment saying what and why. SQL names the database as ``{database}``;
statements are split on a ``;`` at the end of a line. Applied migrations are recorded in
``{database}.schema_migrations`` with a checksum of the file; a file changed after it was
applied is refused (write a new migration instead). Statements use ``IF NOT EXISTS`` so a
migration interrupted half-way can simply run again.

With a cluster name (``EMC_CLICKHOUSE_CLUSTER``, ``emc migrate --cluster NAME``) the same files
are rendered by ``clickhouse/cluster_ddl.py`` into ``ON CLUSTER`` DDL with Replicated* local
tables and Distributed tables under the original names; the state table is then replicated on
every node, so the same checksums and versions apply.

``python -m clickhouse.migrate [--dry-run] [--status]`` runs it with the settings.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clickhouse.client import check_identifier
from clickhouse.cluster_ddl import create_database, render_migration

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)


class MigrationError(RuntimeError):
    """A migration file is malformed or misnumbered, or an applied one was changed."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file: its number, name, text and checksum (sha256 of the text)."""

    version: int
    name: str
    path: Path
    sql: str
    checksum: str

    def statements(self, database: str) -> list[str]:
        """The statements with ``{database}`` filled in, comments-only chunks dropped."""
        text = self.sql.replace("{database}", check_identifier(database))
        parts = _STATEMENT_END.split(text)
        return [part.strip() for part in parts if _has_code(part)]


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """A known migration and whether (and when) it was applied."""

    version: int
    name: str
    applied: bool
    applied_at: str = ""


def _has_code(chunk: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in chunk.splitlines())


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration in ``directory``, by version. Raises ``MigrationError`` naming the file
    for a bad name, a duplicate or missing number, a missing header comment or no SQL."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(
                f"{path.name}: migration files are named NNNN_lower_snake_name.sql"
            )
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"{path.name}: version {version:04d} is also used by {found[version].path.name}"
            )
        sql = path.read_text(encoding="utf-8")
        first = next((line for line in sql.splitlines() if line.strip()), "")
        if not first.startswith("--"):
            raise MigrationError(f"{path.name}: line 1 must be a header comment (-- what and why)")
        migration = Migration(
            version=version,
            name=match.group(2),
            path=path,
            sql=sql,
            checksum=hashlib.sha256(sql.encode()).hexdigest(),
        )
        if not migration.statements("db"):
            raise MigrationError(f"{path.name}: no SQL statement")
        found[version] = migration
    ordered = [found[v] for v in sorted(found)]
    if ordered and ordered[0].version != 1:
        raise MigrationError(
            f"{ordered[0].path.name}: expected version 0001 first (the schema_migrations table)"
        )
    return ordered


def _applied(client: Any, database: str) -> dict[int, tuple[str, str, str]]:
    """version -> (name, checksum, applied_at) of the applied migrations."""
    exists = client.command(
        "SELECT count() FROM system.tables WHERE database = {db:String} "
        "AND name = 'schema_migrations'",
        parameters={"db": database},
    )
    if int(exists) == 0:
        return {}
    rows = client.query(
        f"SELECT version, name, checksum, toString(applied_at) "
        f"FROM {database}.schema_migrations ORDER BY version"
    ).result_rows
    return {int(r[0]): (str(r[1]), str(r[2]), str(r[3])) for r in rows}


def _check_unchanged(migrations: list[Migration], applied: dict[int, tuple[str, str, str]]) -> None:
    known = {m.version: m for m in migrations}
    for version, (name, checksum, _) in applied.items():
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"database has migration {version:04d}_{name} that is not in "
                f"{MIGRATIONS_DIR}; is this code older than the database?"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"{migration.path.name} was changed after it was applied (checksum differs); "
                "restore it and put the change in a new migration"
            )


def migrate(
    client: Any,
    database: str,
    dry_run: bool = False,
    directory: Path = MIGRATIONS_DIR,
    cluster: str | None = None,
) -> list[Migration]:
    """Apply the pending migrations to ``database`` (created if missing) in order; return them
    (with ``dry_run``, return what would be applied and change nothing). With ``cluster``,
    apply their cluster rendering (``ON CLUSTER``, Replicated*, Distributed). Raises
    ``MigrationError`` when an applied migration was changed or is unknown, and
    clickhouse-connect's error naming the statement when ClickHouse refuses one."""
    check_identifier(database)
    migrations = discover(directory)
    applied = _applied(client, database)
    _check_unchanged(migrations, applied)
    pending = [m for m in migrations if m.version not in applied]
    if dry_run:
        return pending
    if cluster is None:
        client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    else:
        client.command(create_database(database, cluster))
    for migration in pending:
        for statement in statements_for(migration, database, cluster):
            try:
                client.command(statement)
            except Exception as exc:
                raise MigrationError(
                    f"{migration.path.name}: ClickHouse refused a statement: {exc}"
                ) from exc
        client.insert(
            f"{database}.schema_migrations",
            [[migration.version, migration.name, migration.checksum]],
            column_names=["version", "name", "checksum"],
        )
    return pending


def statements_for(migration: Migration, database: str, cluster: str | None) -> list[str]:
    """The statements to run for ``migration``: as written, or rendered for ``cluster``."""
    if cluster is None:
        return migration.statements(database)
    return render_migration(migration, database, cluster)


def status(client: Any, database: str, directory: Path = MIGRATIONS_DIR) -> list[MigrationStatus]:
    """Every known migration and whether it is applied (no changes made)."""
    applied = _applied(client, check_identifier(database))
    return [
        MigrationStatus(
            version=m.version,
            name=m.name,
            applied=m.version in applied,
            applied_at=applied.get(m.version, ("", "", ""))[2],
        )
        for m in discover(directory)
    ]


def main(argv: list[str] | None = None) -> int:
    """``python -m clickhouse.migrate [--dry-run | --status]`` with the EMC_ settings."""
    import argparse

    from clickhouse.client import connect
    from core.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m clickhouse.migrate")
    parser.add_argument("--dry-run", action="store_true", help="print what would be applied")
    parser.add_argument("--status", action="store_true", help="list migrations and state")
    args = parser.parse_args(argv)
    settings = load_settings()
    client = connect(settings.clickhouse_url, settings.chdb_path, settings.clickhouse_database)
    database = settings.clickhouse_database
    if args.status:
        for item in status(client, database):
            state = f"applied {item.applied_at}" if item.applied else "pending"
            print(f"{item.version:04d} {item.name}: {state}")
        return 0
    done = migrate(client, database, dry_run=args.dry_run, cluster=settings.clickhouse_cluster)
    verb = "would apply" if args.dry_run else "applied"
    for migration in done:
        print(f"{verb} {migration.version:04d} {migration.name}")
    if not done:
        print("database is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
