"""``emc rebuild`` as an operator runs it: a process of its own on an embedded chDB folder (the
warehouse stopped), with the plan, progress lines, errors and the repaired numbers checked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

#: Run in a child process (chDB: one data folder per process): migrate, register s1 and s2,
#: store the known rows of test_rebuild through the views, then lose s1's October hits_hourly.
_PREPARE = """
from clickhouse.client import Database, connect
from clickhouse.migrate import migrate
from clickhouse.registry import upsert_site
from core.settings import load_settings
from schemas.sites import Site, SiteType
from tests.integration.test_rebuild import _load
s = load_settings()
client = connect(None, s.chdb_path, s.clickhouse_database)
migrate(client, s.clickhouse_database)
db = Database(client, s.clickhouse_database)
for site in ("s1", "s2"):
    upsert_site(db, Site(id=site, name=site, type=SiteType.PORTAL, domains=("x.vn",)))
_load(db)
db.command("ALTER TABLE hits_hourly DELETE WHERE site = 's1' AND hour >= '2026-10-01'",
           settings={"mutations_sync": 2})
"""
_HITS = """
from clickhouse.client import Database, connect
from core.settings import load_settings
s = load_settings()
db = Database(connect(None, s.chdb_path, s.clickhouse_database), s.clickhouse_database)
print(db.query("SELECT site, toYYYYMM(hour), sum(hits) FROM hits_hourly "
               "GROUP BY ALL ORDER BY ALL").result_rows)
"""


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EMC_DATA_DIR": str(tmp), "EMC_LOG_LEVEL": "WARNING"}
    env.pop("EMC_CLICKHOUSE_URL", None)
    return subprocess.run(
        [sys.executable, *args],
        check=False,
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_rebuild_command_plans_repairs_and_refuses_bad_input(tmp_path: Path) -> None:
    prepared = _run(tmp_path, "-c", _PREPARE)
    assert prepared.returncode == 0, prepared.stderr
    # known by construction (HITS of test_rebuild): s1 2 in Sept, 4 in Oct; s2 2 in Oct
    assert _run(tmp_path, "-c", _HITS).stdout.strip() == "[('s1', 202609, 2), ('s2', 202610, 2)]"

    unknown = _run(tmp_path, "-m", "emc.cli", "rebuild", "--from", "2026-10-01",
                   "--to", "2026-10-01", "--site", "nope")  # fmt: skip
    assert unknown.returncode == 1
    assert "--site nope: unknown site (registered: s1, s2)" in unknown.stderr

    dry = _run(tmp_path, "-m", "emc.cli", "rebuild", "--from", "2026-10-05",
               "--to", "2026-10-06", "--site", "s1", "--dry-run")  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert "would rebuild" in dry.stdout
    assert "hits_hourly partition 202610: 2026-10-01..2026-10-31" in dry.stdout
    assert "dossier_state: whole table (not partitioned by date)" in dry.stdout
    assert _run(tmp_path, "-c", _HITS).stdout.strip() == "[('s1', 202609, 2), ('s2', 202610, 2)]"

    done = _run(tmp_path, "-m", "emc.cli", "rebuild", "--from", "2026-10-05",
                "--to", "2026-10-06", "--site", "s1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "hits_hourly 202610: 0 rows -> 3 rows" in done.stdout  # 3 local hours of s1
    assert done.stdout.rstrip().endswith("rollups rebuilt")
    hits = _run(tmp_path, "-c", _HITS).stdout.strip()
    assert hits == "[('s1', 202609, 2), ('s1', 202610, 4), ('s2', 202610, 2)]"
