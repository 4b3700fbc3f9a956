"""Report filters on the dashboard (issue 17 item 1) in a real browser: Debian's Chromium driven
by Playwright against a real HTTP warehouse over the real ClickHouse engine, with the
known-answer traffic of ``test_portal_api`` (the stack and browser of
``test_dashboard_browser``).

"On the dashboard a click on any table row filters by it; filters show as removable chips and
live in the URL." Checked: a row click adds the filter to the URL and a chip, every KPI then
equals the API's answer for the same ``filter=`` values (and the numbers known by construction:
the mobile visits of the 10th–12th March are hcm's u2 and hn's u1, 2 visits with 4 pageviews),
a reload of the filtered URL restores the view, and removing chips brings the numbers back.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.integration import test_dashboard_browser as base
from tests.integration.test_dashboard_browser import (
    KPI_FORMATS,
    Screen,
    Stack,
    change,
    signed_in,
    vi_int,
)

# the fixtures of the dashboard's browser test: its stack (module scope: one here too), browser
# and tab
stack = base.stack
browser = base.browser
screen = base.screen

pytestmark = [pytest.mark.integration]

PERIOD = {"site": "hcm,hn", "from": "2025-03-10", "to": "2025-03-12"}
HASH = "/portal?site=hcm,hn&from=2025-03-10&to=2025-03-12"


def filters_in_url(screen: Screen) -> list[str]:
    query = screen.page.url.split("#", 1)[1].split("?", 1)[1]
    return parse_qs(query, keep_blank_values=True).get("filter", [])


def chips(screen: Screen) -> list[str]:
    return list(
        screen.page.eval_on_selector_all(
            '[data-card="filters"] .chip [data-role="label"]',
            "els => els.map(e => e.textContent.trim())",
        )
    )


def assert_kpis(screen: Screen, stack: Stack, filters: list[str]) -> dict[str, Any]:
    """Every KPI card equals the API's overview for the same filters; the answer."""
    response = stack.api.get("/api/v1/portal/overview", params={**PERIOD, "filter": filters})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    for name, fmt in KPI_FORMATS.items():
        m = answer["metrics"][name]
        shown = screen.kpi(name)
        assert shown["value"] == fmt(m["value"]), (filters, name)
        # every change in percent, the bounce rate's too (seed 000 I.4: "theo tỷ lệ %")
        assert shown["change"] == change(m["change_pct"])
    return answer


def click_row(screen: Screen, card: str, key: str) -> None:
    before = screen.renders()
    screen.page.click(f'[data-card="{card}"] tr[data-key="{key}"]')
    screen.wait_ready(before)


def test_row_clicks_filter_chips_remove_them_and_the_url_keeps_them(
    screen: Screen, stack: Stack
) -> None:
    signed_in(screen, stack, HASH)
    assert chips(screen) == []
    assert "Bấm vào một dòng" in screen.text('[data-card="filters"]')
    unfiltered = assert_kpis(screen, stack, [])

    click_row(screen, "devices", "mobile")
    assert filters_in_url(screen) == ["device:mobile"]
    assert chips(screen) == ["Thiết bị là Điện thoại"]
    mobile = assert_kpis(screen, stack, ["device:mobile"])
    assert screen.kpi("visits")["value"] == vi_int(2)  # hcm u2 and hn u1
    assert screen.kpi("pageviews")["value"] == vi_int(4)  # a mobile filter counts their pageviews
    assert mobile["metrics"]["visits"]["value"] < unfiltered["metrics"]["visits"]["value"]
    # the tables below are filtered too: only mobile in the devices table
    assert [r["key"] for r in screen.table("devices")] == ["Điện thoại"]

    click_row(screen, "pages", "/e")
    assert filters_in_url(screen) == ["device:mobile", "page:/e"]
    assert chips(screen) == ["Thiết bị là Điện thoại", "Trang là /e"]
    assert_kpis(screen, stack, ["device:mobile", "page:/e"])
    assert screen.kpi("visits")["value"] == vi_int(1)  # hn u1 viewed /e
    screen.shot("filters-two-chips")

    # a bookmark of the filtered view restores it
    screen.page.reload()
    screen.wait_ready()
    assert chips(screen) == ["Thiết bị là Điện thoại", "Trang là /e"]
    assert_kpis(screen, stack, ["device:mobile", "page:/e"])

    # removing a chip removes that filter only
    before = screen.renders()
    screen.page.click('[data-card="filters"] [data-remove="device:mobile"]')
    screen.wait_ready(before)
    assert filters_in_url(screen) == ["page:/e"]
    assert chips(screen) == ["Trang là /e"]
    assert_kpis(screen, stack, ["page:/e"])

    # a country row from the countries table, then "remove all"
    click_row(screen, "countries", "VN")
    assert filters_in_url(screen) == ["page:/e", "country:VN"]
    assert_kpis(screen, stack, ["page:/e", "country:VN"])
    before = screen.renders()
    screen.page.click('[data-card="filters"] [data-clear]')
    screen.wait_ready(before)
    assert filters_in_url(screen) == [] and chips(screen) == []
    assert_kpis(screen, stack, [])


def test_a_bad_filter_in_the_url_shows_the_api_message(screen: Screen, stack: Stack) -> None:
    screen.page.goto(f"{stack.url}/")
    screen.page.evaluate("t => sessionStorage.setItem('emc.token', 'dashboard-test-token')")
    screen.page.goto(f"{stack.url}/#{HASH}&filter=channel:Social")
    screen.page.reload()
    screen.page.wait_for_function("document.body.dataset.status === 'error'")
    assert "dimension 'channel' not available yet" in screen.text("main")
    # the chip is there, so the user can remove what the API refused
    assert chips(screen) == ["channel là Social"]
    screen.errors.clear()  # the refused request is logged by the browser as a failed load


def test_side_by_side_rows_filter_both_sites(screen: Screen, stack: Stack) -> None:
    signed_in(screen, stack, "/portal?site=hcm&vs=hn&from=2025-03-10&to=2025-03-12")
    click_row(screen, "two-sites-device", "mobile")
    assert filters_in_url(screen) == ["device:mobile"]
    answer = stack.get(
        "/api/v1/portal/compare", sites="hcm,hn", filter="device:mobile",
        **{"from": "2025-03-10", "to": "2025-03-12"},
    )  # fmt: skip
    by_label = {r["key"]: r for r in screen.table("two-sites-metrics")}
    visits = [s["metrics"]["visits"]["value"] for s in answer["sites"]]
    assert [by_label["Lượt truy cập"]["v0"], by_label["Lượt truy cập"]["v1"]] == [
        vi_int(v) for v in visits
    ]
    assert visits == [1, 1]  # hcm u2, hn u1: the mobile visits of the period
    assert [r["key"] for r in screen.table("two-sites-device")] == ["Điện thoại"]
