"""``emc reports …`` end to end in a subprocess (issue 18 item 5): schedule, list, send-now
through a real SMTP server started by the test, the log and the connection letter."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from tests.conftest import free_port
from tests.integration.smtp_server import SmtpServer, serve_smtp

pytestmark = pytest.mark.integration


@pytest.fixture()
def smtp() -> Iterator[SmtpServer]:
    yield from serve_smtp()


def test_cli_schedule_list_send_now_and_letter(tmp_path: Any, smtp: SmtpServer) -> None:
    """``emc reports …`` with no warehouse running: the same API in the CLI's process on the
    database directly; ``send-now`` mails through the test's SMTP server."""
    repo = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "EMC_DATA_DIR": str(tmp_path / "data"),
        "EMC_API_URL": f"http://127.0.0.1:{free_port()}",
        "EMC_LOG_LEVEL": "WARNING",
        "EMC_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
    }
    script = f"""
from emc.cli import main
from clickhouse import agencies, registry
from clickhouse.client import open_database
from clickhouse.migrate import migrate
from core.settings import load_settings
from schemas.agencies import Agency
from schemas.sites import Site
settings = load_settings()
db = open_database(settings)
migrate(db.client, settings.clickhouse_database)
agencies.load(db, [Agency(id="p", name="Tỉnh P", kind="province")])
registry.upsert_site(db, Site(id="s", name="Cổng S", type="portal", agency_id="p"))
codes = [
    main(["reports", "schedule", "--agency", "p", "--period", "monthly", "--to",
          "a@p.gov.vn,b@p.gov.vn", "--id", "m1"]),
    main(["reports", "list"]),
    main(["reports", "send-now", "m1", "--day", "2026-02-10"]),
    main(["reports", "deliveries"]),
    main(["reports", "letter", "p", "-o", "{tmp_path / "letter.docx"}"]),
    main(["reports", "schedule", "--site", "s", "--period", "weekly", "--to", "not-an-address"]),
]
print("CODES", codes)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=repo, env=env, capture_output=True, text=True,
        timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "CODES [0, 0, 0, 0, 0, 1]" in done.stdout, done.stdout + done.stderr
    assert "m1  p      monthly  a@p.gov.vn,b@p.gov.vn  resolution,sources" in done.stdout
    assert "recipients[0]: 'not-an-address' is not an e-mail address" in done.stderr
    [(recipients, message)] = smtp.inbox.messages
    assert recipients == ["a@p.gov.vn", "b@p.gov.vn"]
    assert message["Subject"] == "[OpenEMC] Báo cáo tháng 2 năm 2026: Tỉnh P"
    document = Document(str(tmp_path / "letter.docx"))
    rows = [[c.text for c in r.cells] for r in document.tables[1].rows]
    assert rows[1][1:4] == ["Cổng S (s)", "—", "Chưa từng nhận dữ liệu"]
