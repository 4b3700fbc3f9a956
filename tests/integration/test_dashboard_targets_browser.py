"""The targets (Chỉ tiêu) and reconciliation (Đối soát) screens of issue 18 in a real browser
(Debian's Chromium through Playwright), over a real warehouse HTTP server and ClickHouse engine,
with ``test_targets``'s tree, dossiers and fixed "now" (2026-03-11 00:00 in Vietnam), so the
numbers on the page are the known answers of that module: the online dossier rate of dept-a
is 66,7 % (progress 133,4 % of a 50 % target), dept-b's 33,3 % (55,5 % of 60 %), and the
commune's procedure R lost the dossier of 4 March (the commune's books say 4, we hold 3).
Screenshots go to ``var/test-artifacts/dashboard/``.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from api.app import create_app
from clickhouse import agencies, registry, tokens
from clickhouse.client import Database
from clickhouse.migrate import migrate
from core.settings import Settings
from schemas.sites import Site, SiteType
from tests.integration import test_dashboard_browser as base
from tests.integration import test_targets as known
from tests.integration.test_dashboard_browser import TOKEN, Screen, Stack, api_client, serve
from tests.integration.test_dashboard_self_service_browser import as_token, nav
from tests.integration.test_dossier_api import _store

pytestmark = [pytest.mark.integration]

browser = base.browser
screen = base.screen
NBSP = "\u00a0"


@pytest.fixture(scope="module")
def stack(clickhouse_engine: Any) -> Iterator[Stack]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    clickhouse_engine.command(f"CREATE DATABASE {name}")
    migrate(clickhouse_engine, name)
    db = Database(clickhouse_engine, name)
    agencies.load(db, known.TREE)
    for site, agency in known.SITES.items():
        registry.upsert_site(
            db, Site(id=site, name=f"Một cửa {site}", type=SiteType.ONESTOP, agency_id=agency)
        )
    _store(db, known.DOSSIERS)
    settings = Settings(clickhouse_database=name, admin_token=TOKEN)  # type: ignore[arg-type]
    app = create_app(settings, db, clock=lambda: known.NOW)
    try:
        with serve(app) as url, api_client(url) as client:
            yield Stack(url, db, client)
    finally:
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {name} SYNC")


@pytest.fixture(scope="module")
def editor(stack: Stack) -> str:
    return tokens.create_token(stack.db, "prov", "biên tập tỉnh", tokens.EDITOR)[1]


@pytest.fixture(scope="module")
def viewer(stack: Stack) -> str:
    return tokens.create_token(stack.db, "dept-b", "xem sở B")[1]


def _upload(screen: Screen, card: str, name: str, data: bytes) -> None:
    files = {"name": name, "mimeType": known.XLSX, "buffer": data}
    screen.page.set_input_files(f'[data-card="{card}"] input[type="file"]', files)
    screen.page.click(f'[data-card="{card}"] button[type="submit"]')


def test_targets_screen_progress_forecast_laggards_import_and_export(
    screen: Screen, stack: Stack, editor: str, viewer: str
) -> None:
    page = screen.page
    as_token(screen, stack, editor, "/targets?year=2026")
    assert screen.text("main h1") == "Chỉ tiêu"
    assert {"targets", "reconciliation"} <= set(nav(screen))
    _upload(screen, "targets-upload", "chi-tieu.xlsx", known.workbook(known.TARGETS_FILE))
    page.wait_for_selector('[data-role="done"]')
    assert screen.text('[data-role="done"]') == "Đã lưu 6 chỉ tiêu, 6 dòng bị từ chối."
    shown = page.eval_on_selector_all(
        '[data-card="targets-problems"] tbody tr',
        "trs => trs.map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent.trim()))",
    )
    assert [(row[0], row[1]) for row in shown] == [
        ("8", "Agency"), ("9", "Agency"), ("10", "Metric"), ("11", "Year"), ("12", "Target"),
        ("13", "Agency"),
    ]  # fmt: skip
    page.wait_for_function(
        "() => document.querySelectorAll('[data-card=\"targets\"] tbody tr[data-key]').length === 4"
    )
    rows = {(r["name"], r["metric"]): r for r in screen.table("targets")}
    rate = rows[("Sở A", "Tỷ lệ hồ sơ trực tuyến")]
    assert (rate["target"], rate["actual"], rate["progress_pct"], rate["forecast"]) == (
        f"50,0{NBSP}%", f"66,7{NBSP}%", f"133,4{NBSP}%", f"66,7{NBSP}%",
    )  # fmt: skip
    assert rate["on_track"] == "Đạt"
    count = rows[("Sở A", "Hồ sơ tiếp nhận (mọi hình thức)")]
    # 3 dossiers by 11 March: 3 × 365 / 69 = 15,9 at the year's end, 79,5 % of 20
    assert (count["actual"], count["progress_pct"], count["forecast"], count["forecast_pct"]) == (
        "3", f"15,0{NBSP}%", "16", f"79,5{NBSP}%",
    )  # fmt: skip
    assert count["on_track"] == "Không đạt"
    assert [(r["name"], r["metric"]) for r in screen.table("targets-laggards")] == [
        ("Sở B", "Tỷ lệ hồ sơ trực tuyến"), ("Sở A", "Hồ sơ tiếp nhận (mọi hình thức)"),
    ]  # fmt: skip
    # the page's numbers are the API's
    answer = stack.get("/api/v1/targets", agency="prov", year="2026")
    assert [r["actual"] for r in answer["targets"]] == [66.7, 3, 33.3, 3]
    with page.expect_download() as info:
        page.click('[data-card="targets"] [data-export="xlsx"]')
    sheet = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).worksheets[0]
    assert next(sheet.iter_rows(values_only=True))[:4] == ("Agency", "Metric", "Year", "Target")
    screen.shot("targets")
    # a viewer reads its own subtree's targets, with no import
    as_token(screen, stack, viewer, "/targets?year=2026")
    assert page.query_selector('[data-card="targets-upload"]') is None
    assert {r["name"] for r in screen.table("targets")} == {"Sở B"}


def test_reconciliation_screen_drills_a_month_down_to_the_lost_day(
    screen: Screen, stack: Stack, editor: str
) -> None:
    page = screen.page
    as_token(screen, stack, editor, "/reconciliation?agency=xa")
    assert screen.text("main h1") == "Đối soát"
    before = screen.renders()
    _upload(screen, "reconciliation-upload", "doi-soat.xlsx", known.workbook(known.RECON_FILE))
    screen.wait_ready(before)
    assert screen.text('[data-role="done"]') == "Đã lưu 2 dòng, 3 dòng bị từ chối."
    refused = page.eval_on_selector_all(
        '[data-card="reconciliation-problems"] tbody tr',
        "trs => trs.map(tr => [...tr.querySelectorAll('td')].slice(0, 2).map(td => td.textContent.trim()))",
    )
    assert refused == [["4", "Month"], ["5", "Site"], ["6", "Received"]]
    rows = {r["procedure"]: r for r in screen.table("reconciliation")}
    assert (rows["R"]["reported_received"], rows["R"]["received"], rows["R"]["received_diff"]) == (
        "4", "3", "+1",
    )  # fmt: skip
    assert rows["Q"]["received_diff"] == "0"
    assert screen.text('[data-kpi="received_diff"] [data-role="value"]') == "1"
    before = screen.renders()
    page.click('[data-card="reconciliation"] tr[data-key="x-mc:R:2026-03"]')
    screen.wait_ready(before)
    days = {r["date"]: r["received"] for r in screen.table("reconciliation-days")}
    assert len(days) == 31
    assert [days[f"0{d}/03/2026"] for d in range(2, 6)] == ["1", "1", "0", "1"]
    silent = page.eval_on_selector_all(
        '[data-card="reconciliation-days"] [data-role="silent"]',
        "els => els.map(e => e.closest('tr').dataset.key)",
    )
    assert "2026-03-04" in silent and "2026-03-02" not in silent
    screen.shot("reconciliation")
    # the same differences as the API
    api = httpx.get(
        f"{stack.url}/api/v1/reconciliation", params={"agency": "xa"},
        headers={"Authorization": f"Bearer {editor}"},
    ).json()  # fmt: skip
    assert [r["received_diff"] for r in api["rows"]] == [0, 1]
