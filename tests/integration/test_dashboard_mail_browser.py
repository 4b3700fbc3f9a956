"""The "Báo cáo định kỳ" screen and the contacts card (issue 18 items 5, 6) in a real browser
(Debian's Chromium driven by Playwright's client) over a real warehouse HTTP server, the real
ClickHouse engine and a real SMTP server (aiosmtpd) started by the test.

An editor token of province ``p-bg`` creates a monthly schedule of its agency, sends it now
(the e-mail arrives at the test's server, and the log says "Đã gửi"), and adds a contact on the
agencies screen; a viewer token of the same province reads the schedules without the form or
the buttons. Screenshots go to ``var/test-artifacts/dashboard/``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from api.app import create_app
from clickhouse import agencies, registry, tokens
from clickhouse.client import Database
from clickhouse.migrate import migrate
from core.settings import Settings
from schemas.agencies import Agency, AgencyKind
from schemas.sites import Site, SiteType
from tests.integration import test_dashboard_browser as base
from tests.integration.smtp_server import SmtpServer, serve_smtp
from tests.integration.test_dashboard_browser import TOKEN, Screen, Stack, api_client, serve
from tests.integration.test_dashboard_self_service_browser import as_token, nav

pytestmark = [pytest.mark.integration]

browser = base.browser
screen = base.screen


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    yield from serve_smtp()


@pytest.fixture(scope="module")
def stack(clickhouse_engine: Any, smtp: SmtpServer) -> Iterator[Stack]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    clickhouse_engine.command(f"CREATE DATABASE {name}")
    migrate(clickhouse_engine, name)
    db = Database(clickhouse_engine, name)
    agencies.load(db, [
        Agency(id="p-bg", name="Tỉnh Bắc Giang", kind=AgencyKind.PROVINCE),
        Agency(id="d-bg", name="Sở TT&TT Bắc Giang", kind=AgencyKind.DEPARTMENT, parent_id="p-bg"),
    ])  # fmt: skip
    registry.upsert_site(
        db, Site(id="bg", name="Một cửa Bắc Giang", type=SiteType.ONESTOP, agency_id="p-bg")
    )
    settings = Settings(  # type: ignore[call-arg]
        clickhouse_database=name, admin_token=TOKEN, smtp_url=f"smtp://127.0.0.1:{smtp.port}"
    )
    app = create_app(settings, db)
    try:
        with serve(app) as url, api_client(url) as client:
            yield Stack(url, db, client)
    finally:
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {name} SYNC")


def test_an_editor_schedules_sends_now_and_adds_a_contact_a_viewer_reads(
    screen: Screen, stack: Stack, smtp: SmtpServer
) -> None:
    editor = tokens.create_token(stack.db, "p-bg", "biên tập", tokens.EDITOR)[1]
    viewer = tokens.create_token(stack.db, "p-bg", "xem")[1]
    page = screen.page
    as_token(screen, stack, editor, "/schedules")
    assert screen.text("main h1") == "Báo cáo định kỳ"
    assert "schedules" in nav(screen)
    card = '[data-card="schedule-create"]'
    page.select_option(f'{card} select[name="scope"]', "agency:p-bg")
    page.select_option(f'{card} select[name="period"]', "monthly")
    page.fill(f'{card} input[name="recipients"]', "so@bacgiang.gov.vn, vp@bacgiang.gov.vn")
    page.check(f'{card} input[value="online-services"]')
    page.click(f'{card} button[type="submit"]')
    page.wait_for_selector('[data-role="done"]')
    made = stack.get("/api/v1/report-schedules")
    assert [(s["agency_id"], s["period"], s["recipients"], s["forms"]) for s in made] == [
        ("p-bg", "monthly", ["so@bacgiang.gov.vn", "vp@bacgiang.gov.vn"],
         ["resolution", "sources", "online-services"]),
    ]  # fmt: skip
    assert screen.text('[data-role="done"]') == f"Đã tạo lịch {made[0]['id']}."
    [row] = screen.table("schedules")
    assert (row["scope"], row["period"], row["recipients"]) == (
        "Tỉnh Bắc Giang", "Hằng tháng", "so@bacgiang.gov.vn, vp@bacgiang.gov.vn")  # fmt: skip
    # send now: the test's SMTP server receives the report, the log says it was sent
    page.click(f'[data-send-now="{made[0]["id"]}"]')
    page.wait_for_function(
        "() => document.querySelector('[data-role=\"done\"]')?.textContent === 'Đã gửi báo cáo.'"
    )
    page.wait_for_selector('[data-card="deliveries"] tbody tr td[data-col="status"]')
    [(recipients, message)] = smtp.inbox.messages
    assert recipients == ["so@bacgiang.gov.vn", "vp@bacgiang.gov.vn"]
    assert str(message["Subject"]).endswith(": Tỉnh Bắc Giang")
    [logged] = screen.table("deliveries")
    assert (logged["kind"], logged["status"], logged["attempts"]) == ("Báo cáo", "Đã gửi", "1")
    assert logged["subject"] == str(message["Subject"])
    screen.shot("schedules")

    # contacts on the agencies screen
    as_token(screen, stack, editor, "/agencies")
    contacts = '[data-card="contacts"]'
    assert screen.text(f"{contacts} h2") == "Đầu mối liên hệ (nhận thư báo mất kết nối)"
    page.fill(f'{contacts} input[name="name"]', "Nguyễn Văn A")
    page.fill(f'{contacts} input[name="email"]', "a@bacgiang.gov.vn")
    page.fill(f'{contacts} input[name="title"]', "Trưởng phòng")
    before = screen.renders()
    page.click(f'{contacts} button[type="submit"]')
    screen.wait_ready(before)
    shown = screen.table("contacts")
    assert [(c["name"], c["email"], c["title"], c["silence_alerts"]) for c in shown] == [
        ("Nguyễn Văn A", "a@bacgiang.gov.vn", "Trưởng phòng", "Có"),
    ]
    assert stack.get("/api/v1/agencies/p-bg/contacts")[0]["email"] == "a@bacgiang.gov.vn"
    with page.expect_download() as info:
        page.click(f'{contacts} [data-letter="p-bg"]')
    assert info.value.suggested_filename.startswith("don-doc-ket-noi-p-bg-")
    screen.shot("agency-contacts")

    # a viewer reads, without the form or the buttons; English switchable
    as_token(screen, stack, viewer, "/schedules")
    assert page.query_selector('[data-card="schedule-create"]') is None
    assert page.query_selector("[data-send-now]") is None
    assert len(screen.table("schedules")) == 1
    as_token(screen, stack, viewer, "/schedules?lang=en")
    assert screen.text("main h1") == "Scheduled reports"
    assert screen.table("deliveries")[0]["status"] == "Sent"
