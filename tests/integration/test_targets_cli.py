"""``emc targets import|list`` and ``emc reconciliation upload|show`` (issue 18) with no
warehouse running: the commands open the database themselves."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.test_targets import workbook

pytestmark = pytest.mark.integration


def test_the_cli_in_direct_database_mode(tmp_path: Path) -> None:
    """``emc targets import|list`` and ``emc reconciliation upload|show`` with no warehouse
    running (a process of its own: chDB allows one data folder per process)."""
    (tmp_path / "targets.xlsx").write_bytes(
        workbook([
            ["Agency", "Metric", "Year", "Target"],
            ["dept", "online_dossier_rate", 2026, 80],
            ["prov", "online_dossier_rate", 2026, 80],
        ])
    )  # fmt: skip
    (tmp_path / "totals.xlsx").write_bytes(
        workbook(
            [["Site", "Procedure", "Month", "Received", "Resolved"], ["mc", "P", "2026-03", 2, 0]]
        )
    )
    env = {
        **os.environ,
        "EMC_DATA_DIR": str(tmp_path / "data"),
        "EMC_API_URL": f"http://127.0.0.1:{free_port()}",
        "EMC_LOG_LEVEL": "WARNING",
    }
    script = f"""
from emc.cli import main
from clickhouse import agencies
from clickhouse.client import open_database
from clickhouse.migrate import migrate
from clickhouse.registry import upsert_site
from core.settings import load_settings
from schemas.agencies import Agency
from schemas.sites import Site
settings = load_settings()
db = open_database(settings)
migrate(db.client, settings.clickhouse_database)
agencies.load(db, [Agency(id="prov", name="P", kind="province"),
                   Agency(id="dept", name="D", kind="department", parent_id="prov")])
upsert_site(db, Site(id="mc", name="MC", type="onestop", agency_id="dept"))
codes = [
    main(["targets", "import", "{tmp_path / "targets.xlsx"}", "--agency", "prov"]),
    main(["targets", "list", "--agency", "prov", "--year", "2026"]),
    main(["reconciliation", "upload", "{tmp_path / "totals.xlsx"}", "--agency", "dept"]),
    main(["reconciliation", "show", "--agency", "prov"]),
]
print("CODES", codes)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2], env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "CODES [0, 0, 0, 0]" in out, out + done.stderr
    assert "targets: 1 rows stored, 1 refused" in out
    assert "row 3, column Agency: agency 'prov': an agency's own targets" in out
    assert re.search(r"^dept +online_dossier_rate +2026 +80\.0 ", out, re.MULTILINE), out
    assert "reconciliation: 1 rows stored, 0 refused" in out
    assert "mc P 2026-03: days without any received dossier: 2026-03-01," in out
