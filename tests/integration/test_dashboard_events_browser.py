"""The events, goals and funnel screen (issue 17 items 3, 4) in a real browser: Debian's
Chromium driven by Playwright (the browser and tab fixtures of ``test_dashboard_browser``)
against a real HTTP warehouse over the real ClickHouse engine, with the known-answer traffic of
``test_events_goals`` (site ``dvc``).

Checked: the screen is in the navigation, its tables show the API's numbers for the same
period (custom events, search terms, titles, goals), a funnel typed into the form goes to the
URL and shows the known counts and drop-offs (4 → 3 → 2 visits), English is switchable, and a
click on a goal opens the portal screen filtered by it (``filter=goal:ID``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from api.app import create_app
from clickhouse.client import Database
from clickhouse.migrate import migrate
from core.settings import Settings
from tests.integration import test_dashboard_browser as base
from tests.integration import test_events_goals as data
from tests.integration.test_dashboard_browser import TOKEN, Screen, Stack, api_client, serve

browser = base.browser
screen = base.screen

pytestmark = [pytest.mark.integration]

HASH = "/events?site=dvc&from=2025-03-10&to=2025-03-11"


@pytest.fixture(scope="module")
def stack(clickhouse_engine: Any) -> Iterator[Stack]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    clickhouse_engine.command(f"CREATE DATABASE {name}")
    migrate(clickhouse_engine, name)
    db = Database(clickhouse_engine, name)
    db.command(
        "INSERT INTO sites (id, name, type, timezone, updated_at) "
        "VALUES ('dvc', 'Cổng DVC tỉnh', 'dvc', 'Asia/Ho_Chi_Minh', now64())"
    )
    data.load(db)
    settings = Settings(clickhouse_database=name, admin_token=TOKEN)  # type: ignore[arg-type]
    app = create_app(settings, db, clock=data.NOW.timestamp)
    try:
        with serve(app) as url, api_client(url) as client:
            for goal in data.GOALS:
                assert client.post("/api/v1/sites/dvc/goals", json=goal).status_code == 201
            yield Stack(url, db, client)
    finally:
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {name} SYNC")


def test_events_goals_and_a_funnel_on_screen(screen: Screen, stack: Stack) -> None:
    base.signed_in(screen, stack, HASH)
    assert screen.text('nav [aria-current="page"]') == "Sự kiện và mục tiêu"
    events = screen.table("ev-event")
    assert [(r["key"], r["hits"]) for r in events] == [("start", "5"), ("submit", "4")]
    assert events[0]["change_pct"] == "▲ 400,0\u00a0%"
    assert [(r["key"], r["hits"]) for r in screen.table("ev-search")] == [("hộ chiếu", "3")]
    titles = screen.table("ev-title")
    assert titles[0]["key"] == "/thu-tuc/abc" and titles[0]["title"] == "Thủ tục ABC (mới)"
    assert [r["key"] for r in screen.table("ev-outbound")] == ["https://dichvucong.gov.vn/x"]
    goals = {r["key"]: r for r in screen.table("goals")}
    assert goals["Nộp 1.000123"]["converting_visits"] == "3"
    assert goals["Nộp 1.000123"]["conversion_rate_pct"] == "50,0\u00a0%"
    assert "Trên 6 lượt truy cập" in screen.text('[data-card="goals"]')

    before = screen.renders()
    screen.page.fill('[data-card="funnel"] textarea', "page:/thu-tuc/*\nevent:start\nevent:submit")
    screen.page.click('[data-card="funnel"] button[type="submit"]')
    screen.wait_ready(before)
    assert "step=page%3A%2Fthu-tuc%2F*" in screen.page.url or "step=page:/thu-tuc/*" in (
        screen.page.url
    )
    steps = screen.table("funnel-steps")
    assert [(r["visits"], r["dropoff"], r["dropoff_pct"]) for r in steps] == [
        ("4", "—", "—"),
        ("3", "1", "25,0\u00a0%"),
        ("2", "1", "33,3\u00a0%"),
    ]
    screen.shot("events-funnel")

    before = screen.renders()
    screen.page.click("#lang")
    screen.wait_ready(before)
    assert screen.text('nav [aria-current="page"]') == "Events and goals"
    assert "Funnel" in screen.text('[data-card="funnel"]')


def test_a_goal_row_opens_the_portal_filtered_by_it(screen: Screen, stack: Stack) -> None:
    """goal:nop-123 on the 10th-11th: V1, V4, V6 converted (3 visits, 3 pageviews)."""
    base.signed_in(screen, stack, HASH)
    before = screen.renders()
    screen.page.click('[data-card="goals"] tr[data-key="nop-123"]')
    screen.wait_ready(before)
    assert "#/portal?" in screen.page.url and "filter=goal" in screen.page.url
    chips = screen.page.eval_on_selector_all(
        '[data-card="filters"] .chip [data-role="label"]',
        "els => els.map(e => e.textContent.trim())",
    )
    assert chips == ["Mục tiêu là nop-123"]
    assert screen.kpi("visits")["value"] == "3"
    assert screen.kpi("pageviews")["value"] == "3"
