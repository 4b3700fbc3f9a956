"""The rankings and connections screens and agency sign-in in a real browser (Debian's Chromium
driven by Playwright's client), over a real warehouse HTTP server and the real ClickHouse engine.

Same conventions as ``test_dashboard_browser`` (whose browser and tab fixtures this reuses):
the page's numbers are checked against the API's answer for the same selection, formatted the
Vietnamese way, and against numbers known by construction. The data: the portal test's explicit
visits (sites ``hcm``, ``hn``) and the dossier test's one-stop and DVC dossiers (sites ``mc``,
``dvc``), under this agency tree:

    p-hcm (province) ── d-hcm (department) ── site hcm
    p-hn  (province) ── site hn, site hn2 (no traffic)
    p-empty (province, no site)
    m-a (ministry) ── site mc          m-b (ministry) ── site dvc
    site quiet (no agency, never sent anything)

Screenshots go to ``var/test-artifacts/dashboard/`` like the other screens'.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from api.app import create_app
from clickhouse import agencies, catalog, registry, tokens
from clickhouse.client import Database
from clickhouse.migrate import migrate
from core.settings import Settings
from schemas.agencies import Agency, AgencyKind
from schemas.sites import Site, SiteType
from tests.integration import test_dashboard_browser as base
from tests.integration import test_dossier_api as dossiers
from tests.integration.test_dashboard_browser import (
    NBSP,
    TOKEN,
    Screen,
    Stack,
    api_client,
    change,
    serve,
    signed_in,
    vi_dec,
    vi_int,
    vi_pct,
)
from tests.integration.test_portal_api import BOTS, PERIOD, PREVIOUS, VISITS, expected_metrics
from tests.integration.test_portal_api import load as load_visits

pytestmark = [pytest.mark.integration]

#: The browser (Debian's Chromium) and the tab fixture (fails on console errors) of the other
#: dashboard tests; the tab uses this module's ``stack``.
browser = base.browser
screen = base.screen

TREE = [
    Agency(id="p-hcm", name="TP. Hồ Chí Minh", kind=AgencyKind.PROVINCE),
    Agency(id="d-hcm", name="Sở Y tế TP.HCM", kind=AgencyKind.DEPARTMENT, parent_id="p-hcm"),
    Agency(id="p-hn", name="Hà Nội", kind=AgencyKind.PROVINCE),
    Agency(id="p-empty", name="Tỉnh chưa có trang", kind=AgencyKind.PROVINCE),
    Agency(id="m-a", name="Bộ A", kind=AgencyKind.MINISTRY),
    Agency(id="m-b", name="Bộ B", kind=AgencyKind.MINISTRY),
]
#: site id → (name, type, agency)
SITES = {
    "hcm": ("Cổng TP. Hồ Chí Minh", SiteType.PORTAL, "d-hcm"),
    "hn": ("Cổng Hà Nội", SiteType.PORTAL, "p-hn"),
    "hn2": ("Cổng Hà Nội 2", SiteType.PORTAL, "p-hn"),
    "mc": ("Một cửa Bộ A", SiteType.ONESTOP, "m-a"),
    "dvc": ("Cổng DVC Bộ B", SiteType.DVC, "m-b"),
    "quiet": ("Cổng im lặng", SiteType.PORTAL, ""),
}
VN = ZoneInfo("Asia/Ho_Chi_Minh")
#: "Now" of the connections screen: after every event written here (the dossiers' last is on
#: 2026-03-08 local), so the portal sites, silent since March 2025, are silent by construction.
CONNECTIONS_NOW = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
DATES = f"from={PERIOD[0]}&to={PERIOD[1]}"


@pytest.fixture(scope="module")
def stack(clickhouse_engine: Any) -> Iterator[Stack]:
    """A real HTTP warehouse API on a loopback port over a fresh database; "now" is the
    known-answer moment for realtime, ``CONNECTIONS_NOW`` for connections."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    clickhouse_engine.command(f"CREATE DATABASE {name}")
    migrate(clickhouse_engine, name)
    db = Database(clickhouse_engine, name)
    agencies.load(db, TREE)
    for site, (title, kind, agency) in SITES.items():
        registry.upsert_site(
            db,
            Site(id=site, name=title, type=kind, agency_id=agency, ingest_token=f"secret-{site}"),
        )
    load_visits(db, VISITS, BOTS)
    for site, rows in (("mc", dossiers.CATALOG_V1), ("dvc", dossiers.DVC_CATALOG)):
        catalog.import_catalog(db, site, rows, file_name="v1", sha256="", make_default=True)
    dossiers._store(db, dossiers.MC + dossiers.DVC)
    dossiers._pageviews(db)
    settings = Settings(clickhouse_database=name, admin_token=TOKEN)  # type: ignore[arg-type]
    app = create_app(settings, db, clock=CONNECTIONS_NOW.timestamp)
    try:
        with serve(app) as url, api_client(url) as client:
            yield Stack(url, db, client)
    finally:
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {name} SYNC")


@pytest.fixture(scope="module")
def hn_token(stack: Stack) -> str:
    """An agency token of the province p-hn (``emc tokens create``'s function)."""
    return tokens.create_token(stack.db, "p-hn", "browser test")[1]


def choose(screen: Screen, select: str, value: str) -> None:
    """Pick ``value`` in ``select[name=select]`` and wait for the re-render it causes."""
    before = screen.renders()
    screen.page.select_option(f'select[name="{select}"]', value)
    screen.wait_ready(before)


def wait_error(screen: Screen) -> str:
    """Wait for a render that ended in an error; its alert's text."""
    screen.page.wait_for_function(
        "document.body.dataset.status !== 'loading' && Number(document.body.dataset.renders) > 0"
    )
    assert screen.page.evaluate("document.body.dataset.status") == "error"
    return screen.text('main [role="alert"]')


def only_refusals(screen: Screen, status: int) -> None:
    """The browser logs each refused request as a console error: expected, and only those."""
    assert screen.errors and all(str(status) in e for e in screen.errors), screen.errors
    screen.errors.clear()


def select_values(screen: Screen, name: str) -> list[str]:
    return list(
        screen.page.eval_on_selector_all(
            f'select[name="{name}"] option', "os => os.map(o => o.value)"
        )
    )


# --- rankings --------------------------------------------------------------------------------


def ranking_rows(answer: dict[str, Any]) -> list[dict[str, str]]:
    rate = answer["metric"] in ("online_dossier_rate", "on_time_rate")
    fmt = vi_pct if rate else vi_int
    return [
        {
            "rank": vi_int(r["rank"]),
            "name": r["name"],
            "sites": vi_int(r["sites"]),
            "value": fmt(r["value"]),
            "previous": fmt(r["previous"]),
            "change": change(r["change_pp"] if rate else r["change_pct"], rate),
        }
        for r in answer["rows"]
    ]


def test_rankings_of_provinces_equal_the_api_and_the_known_visits(
    screen: Screen, stack: Stack
) -> None:
    signed_in(screen, stack, f"/rankings?metric=visits&group=provinces&{DATES}")
    page = screen.page
    assert screen.text("main h1") == "Xếp hạng"
    q = {"metric": "visits", "group": "provinces", "order": "desc", "limit": "100"}
    q |= {"from": str(PERIOD[0]), "to": str(PERIOD[1]), "compare": "previous"}
    answer = stack.get("/api/v1/rankings", **q)
    known = {
        a: expected_metrics({s}, PERIOD, PREVIOUS)["visits"]
        for a, s in (("p-hcm", "hcm"), ("p-hn", "hn"))
    }
    # known by construction: hcm has 8 visits in the period, more than hn
    assert known["p-hcm"]["value"] == 8 and known["p-hcm"]["value"] > known["p-hn"]["value"]
    assert [(r["agency"], r["value"], r["previous"]) for r in answer["rows"]] == [
        (a, known[a]["value"], known[a]["previous"]) for a in ("p-hcm", "p-hn")
    ]
    assert screen.table("ranking") == ranking_rows(answer)
    assert [r["name"] for r in screen.table("ranking")] == ["TP. Hồ Chí Minh", "Hà Nội"]
    assert screen.table("ranking")[0]["value"] == "8"
    assert screen.text('[data-role="without-sites"]') == "Chưa có trang nào: Tỉnh chưa có trang"
    assert screen.text('[data-role="period"]') == (
        "Kỳ báo cáo 10/03/2025 – 12/03/2025 so với 07/03/2025 – 09/03/2025"
    )
    # the bar chart drew one bar per agency, and reads as the same table
    assert page.eval_on_selector_all('[data-chart="ranking"] svg path', "ps => ps.length") >= 2
    labels = page.inner_text('[data-chart="ranking"]')
    assert "1. TP. Hồ Chí Minh" in labels and "2. Hà Nội" in labels
    screen.shot("rankings-chart")
    page.click('[data-toggle="ranking"]')
    assert page.is_visible('[data-card="ranking"] [data-role="table"]')
    screen.shot("rankings")

    choose(screen, "order", "asc")
    assert "order=asc" in page.url
    ascending = stack.get("/api/v1/rankings", **{**q, "order": "asc"})
    assert screen.table("ranking") == ranking_rows(ascending)
    assert [r["name"] for r in screen.table("ranking")] == ["Hà Nội", "TP. Hồ Chí Minh"]

    choose(screen, "metric", "pageviews")
    assert "metric=pageviews" in page.url
    pageviews = stack.get("/api/v1/rankings", **{**q, "order": "asc", "metric": "pageviews"})
    assert screen.table("ranking") == ranking_rows(pageviews)
    assert [r["value"] for r in pageviews["rows"]] == [
        expected_metrics({s}, PERIOD, PREVIOUS)["pageviews"]["value"] for s in ("hn", "hcm")
    ]
    assert screen.table("ranking") != ranking_rows(ascending)

    # the URL alone restores the view (bookmark)
    bookmarked = page.url
    page.goto("about:blank")
    page.goto(bookmarked)
    screen.wait_ready()
    assert screen.table("ranking") == ranking_rows(pageviews)
    assert page.input_value('select[name="metric"]') == "pageviews"
    assert page.input_value('select[name="order"]') == "asc"


def test_rankings_of_ministries_by_dossier_rates(screen: Screen, stack: Stack) -> None:
    period = dossiers.PERIOD
    signed_in(
        screen,
        stack,
        f"/rankings?metric=online_dossier_rate&group=ministries&from={period['from']}"
        f"&to={period['to']}",
    )
    q = {"metric": "online_dossier_rate", "group": "ministries", "order": "desc", "limit": "100"}
    answer = stack.get("/api/v1/rankings", **q, **period, compare="previous")
    assert screen.table("ranking") == ranking_rows(answer)
    by_agency = {r["agency"]: r for r in answer["rows"]}
    # known: mc received 9 dossiers in the week, 5 of them online (test_dossier_api)
    assert vi_pct(by_agency["m-a"]["value"]) == f"55,6{NBSP}%"
    mc = stack.get("/api/v1/onestop/overview", site="mc", **period)["metrics"]["online_rate_pct"]
    assert by_agency["m-a"]["value"] == mc["value"]
    shown = {r["name"]: r for r in screen.table("ranking")}
    assert shown["Bộ A"]["value"] == f"55,6{NBSP}%"
    assert shown["Bộ A"]["change"].endswith("điểm %") or shown["Bộ A"]["change"] == "—"

    choose(screen, "metric", "on_time_rate")
    on_time = stack.get("/api/v1/rankings", **{**q, "metric": "on_time_rate"}, **period)
    assert screen.table("ranking") == ranking_rows(on_time)
    screen.shot("rankings-ministries-on-time")


def test_rankings_xlsx_download_is_the_api_table(screen: Screen, stack: Stack) -> None:
    signed_in(screen, stack, f"/rankings?metric=visits&group=provinces&order=asc&{DATES}")
    with screen.page.expect_download() as info:
        screen.page.click('[data-card="ranking"] [data-export="xlsx"]')
    got = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    q = {"metric": "visits", "group": "provinces", "order": "asc", "limit": "100", **_dates()}
    answer = stack.get("/api/v1/rankings", **q, compare="previous")
    rows = [list(r) for ws in got for r in ws.iter_rows(values_only=True)]
    assert rows[0][:5] == ["rank", "agency", "name", "sites", "value"]
    assert [r[:5] for r in rows[1:]] == [
        [r["rank"], r["agency"], r["name"], r["sites"], r["value"]] for r in answer["rows"]
    ]
    assert [r[1] for r in rows[1:]] == ["p-hn", "p-hcm"]


def test_rankings_in_english(screen: Screen, stack: Stack) -> None:
    signed_in(screen, stack, f"/rankings?metric=visits&group=provinces&{DATES}&lang=en")
    assert screen.text("main h1") == "Rankings"
    assert screen.text('[data-card="ranking"] h2') == "Provinces and cities ranked by Visits"
    assert screen.table("ranking")[0]["name"] == "TP. Hồ Chí Minh"


# --- connections -----------------------------------------------------------------------------


def local_time(iso: str | None) -> str:
    if iso is None:
        return "—"
    return datetime.fromisoformat(iso).astimezone(VN).strftime("%d/%m/%Y %H:%M")


def gaps_text(gaps: list[dict[str, Any]]) -> str:
    if not gaps:
        return "—"
    total = sum(g["hours"] for g in gaps)
    items = "".join(
        f"{local_time(g['from'])} → {local_time(g['to'])} ({vi_int(g['hours'])} giờ)" for g in gaps
    )
    return f"{vi_int(len(gaps))} · {vi_int(total)} giờ{items}"


STATUS_VI = {"connected": "Đang kết nối", "silent": "Mất tín hiệu", "never_seen": "Chưa từng nhận"}


def connection_rows(answer: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "site": SITES[s["site"]][0],
            "status": STATUS_VI[s["status"]],
            "last_event": local_time(s["last_event"]),
            "since": "—"
            if s["seconds_since_last_event"] is None
            else vi_dec(s["seconds_since_last_event"] / 3600, 1),
            "usual_gap_hours": vi_int(s["usual_gap_hours"]),
            "gaps": gaps_text(s["gaps"]),
        }
        for s in answer["sites"]
    ]


def test_connections_screen_equals_the_api(screen: Screen, stack: Stack) -> None:
    signed_in(screen, stack, "/connections")
    page = screen.page
    assert screen.text("main h1") == "Kết nối"
    answer = stack.get("/api/v1/connections")
    assert {s["site"] for s in answer["sites"]} == set(SITES)
    statuses = {s["site"]: s["status"] for s in answer["sites"]}
    assert statuses["quiet"] == statuses["hn2"] == "never_seen"  # known: nothing ever sent
    assert statuses["hcm"] == statuses["hn"] == "silent"  # nothing since March 2025
    assert {statuses["mc"], statuses["dvc"]} == {"connected"}  # hours before "now"
    for status in ("connected", "silent", "never_seen"):
        count = sum(1 for s in statuses.values() if s == status)
        assert screen.text(f'[data-kpi="{status}"] [data-role="value"]') == vi_int(count)
    assert screen.table("connections") == connection_rows(answer)
    badge = page.get_attribute('[data-key="quiet"] .badge', "class") or ""
    assert badge.split() == ["badge", "never_seen"]
    assert (
        screen.text('[data-role="checked"]')
        == f"Kiểm tra lúc {local_time(CONNECTIONS_NOW.isoformat())}"
    )
    screen.shot("connections")

    choose(screen, "status", "never_seen")
    assert "status=never_seen" in page.url
    only = stack.get("/api/v1/connections", status="never_seen")
    assert screen.table("connections") == connection_rows(only)
    assert [r["site"] for r in screen.table("connections")] == ["Cổng Hà Nội 2", "Cổng im lặng"]
    choose(screen, "status", "silent")
    silent = stack.get("/api/v1/connections", status="silent")
    assert screen.table("connections") == connection_rows(silent)
    assert [r["site"] for r in screen.table("connections")] == [
        "Cổng TP. Hồ Chí Minh",
        "Cổng Hà Nội",
    ]

    choose(screen, "status", "all")
    choose(screen, "agency", "p-hcm")
    assert "agency=p-hcm" in page.url and "status=" not in page.url
    mine = stack.get("/api/v1/connections", agency="p-hcm")
    assert screen.table("connections") == connection_rows(mine)
    assert [r["site"] for r in screen.table("connections")] == ["Cổng TP. Hồ Chí Minh"]


def test_connections_download_is_the_api_csv(screen: Screen, stack: Stack) -> None:
    signed_in(screen, stack, "/connections?agency=p-hn")
    with screen.page.expect_download() as got:
        screen.page.click('[data-card="connections"] [data-export="csv"]')
    path = got.value.path()
    expected = stack.api.get("/api/v1/connections", params={"agency": "p-hn", "format": "csv"})
    assert expected.status_code == 200
    with open(path, encoding="utf-8-sig") as handle:
        assert handle.read().strip() == expected.content.decode("utf-8-sig").strip()


# --- agency sign-in --------------------------------------------------------------------------


def test_an_agency_token_signs_in_and_sees_only_its_subtree(
    screen: Screen, stack: Stack, hn_token: str
) -> None:
    page = screen.page
    page.goto(f"{stack.url}/")
    screen.wait_ready()
    before = screen.renders()
    page.fill('input[name="token"]', hn_token)
    page.click('button[type="submit"]')
    screen.wait_ready(before)
    assert screen.text("#who") == "Hà Nội"
    assert select_values(screen, "site") == ["hn", "hn2", "hn,hn2"]  # the last: all its sites
    me = page.evaluate(
        "fetch('/api/v1/me', {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('emc.token')}})"
        ".then(r => r.text())"
    )
    assert "secret-" not in me and "hcm" not in me
    # the portal shows hn's numbers over the default 30 days ending at "now" (known answer)
    last_30 = (date(2025, 2, 11), date(2025, 3, 12))
    assert screen.text('[data-role="period"]').startswith("Kỳ báo cáo 11/02/2025 – 12/03/2025")
    known = expected_metrics({"hn"}, last_30, None)["visits"]["value"]
    assert known > 0 and screen.kpi("visits")["value"] == vi_int(known)
    nav = page.eval_on_selector_all("#nav a", "as => as.map(a => a.dataset.screen)")
    # rankings inside its subtree are every token's since issue 18
    assert "rankings" in nav and "connections" in nav
    screen.shot("agency-signed-in")

    before = screen.renders()
    page.click('#nav [data-screen="connections"]')
    screen.wait_ready(before)
    assert [r["site"] for r in screen.table("connections")] == ["Cổng Hà Nội", "Cổng Hà Nội 2"]
    assert select_values(screen, "agency") == ["", "p-hn"]
    screen.shot("agency-connections")


def test_a_province_token_cannot_read_another_province(
    screen: Screen, stack: Stack, hn_token: str
) -> None:
    page = screen.page
    page.goto(f"{stack.url}/")
    page.evaluate("t => sessionStorage.setItem('emc.token', t)", hn_token)
    for hash_, status, message in (
        (f"/portal?site=hcm&{DATES}", 404, "site 'hcm' is not registered"),
        ("/connections?agency=p-hcm", 404, "agency 'p-hcm' is not registered"),
        ("/rankings?group=provinces&metric=visits", 403, "needs the admin token"),
    ):
        page.goto(f"{stack.url}/#{hash_}")
        page.reload()
        alert = wait_error(screen)
        assert message in alert, alert
        if status == 404:
            assert alert.endswith("nằm ngoài phạm vi cơ quan của mã truy cập này)"), alert
        assert page.query_selector("main .loading") is None
        assert alert.startswith("Lỗi: ")
        assert page.query_selector("[data-kpi] [data-role='value']") is None
        assert page.query_selector("tbody tr[data-key]") is None
        if hash_.startswith("/portal"):  # the selector still lists only what the token sees
            assert select_values(screen, "site") == ["hn", "hn2", "hn,hn2"]
        only_refusals(screen, status)
        screen.shot(f"agency-refused-{hash_.split('?')[0].strip('/')}")


def test_the_admin_picks_an_agency_in_the_site_selector(screen: Screen, stack: Stack) -> None:
    """An agency with two or more sites is one entry: its numbers are its sites' union, equal to
    the API's ``agency=`` roll-up and to the known answer (hn2 has no traffic)."""
    signed_in(screen, stack, f"/portal?site=hcm&{DATES}")
    options = screen.page.eval_on_selector_all(
        'select[name="site"] option[data-agency]', "os => os.map(o => [o.dataset.agency, o.value])"
    )
    assert options == [["p-hn", "hn,hn2"]]  # d-hcm and p-hcm have one site: no group entry
    choose(screen, "site", "hn,hn2")
    assert "site=hn%2Chn2" in screen.page.url or "site=hn,hn2" in screen.page.url
    rollup = stack.get("/api/v1/portal/overview", agency="p-hn", **_dates())["metrics"]
    assert rollup == expected_metrics({"hn"}, PERIOD, PREVIOUS)
    assert screen.kpi("visits")["value"] == vi_int(rollup["visits"]["value"])
    assert screen.kpi("pageviews")["value"] == vi_int(rollup["pageviews"]["value"])
    assert screen.page.input_value('select[name="site"]') == "hn,hn2"


def _dates() -> dict[str, str]:
    return {"from": str(PERIOD[0]), "to": str(PERIOD[1])}
