"""The self-service screens of issue 18 in a real browser (Debian's Chromium driven by
Playwright's client): catalog, accounts, the agency tree, tokens, and rankings at every level,
signed in with an editor token and with a viewer token, over a real warehouse HTTP server and
the real ClickHouse engine.

The tree, sites and dossiers are ``test_rankings_levels``'s (their ranks are known there):

    prov (province) ─┬─ dept-a (department) ── a-mc     prov2 (province) ── p2-mc
                     ├─ dept-b (department) ── b-mc
                     │     └─ b-unit (other) ── bu-mc
                     ├─ dept-c (department, no site)
                     └─ xa-1 (commune) ── x1-mc

Tokens: ``editor`` of ``prov`` and ``viewer`` of ``dept-b``. What the page shows is compared
with the API's answer for the same request, formatted the Vietnamese way, and with numbers
known by construction. Screenshots go to ``var/test-artifacts/dashboard/``.
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
from tests.integration import test_rankings_levels as levels
from tests.integration.test_dashboard_browser import (
    NBSP,
    TOKEN,
    Screen,
    Stack,
    api_client,
    change,
    serve,
    vi_int,
    vi_pct,
)
from tests.integration.test_dossier_api import PERIOD, _store

pytestmark = [pytest.mark.integration]

browser = base.browser
screen = base.screen

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
DATES = f"from={PERIOD['from']}&to={PERIOD['to']}"


@pytest.fixture(scope="module")
def stack(clickhouse_engine: Any) -> Iterator[Stack]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    clickhouse_engine.command(f"CREATE DATABASE {name}")
    migrate(clickhouse_engine, name)
    db = Database(clickhouse_engine, name)
    agencies.load(db, levels.TREE)
    for site, agency in levels.SITES.items():
        registry.upsert_site(
            db,
            Site(id=site, name=f"Một cửa {site}", type=SiteType.ONESTOP, agency_id=agency),
        )
    _store(db, levels.DOSSIERS)
    settings = Settings(clickhouse_database=name, admin_token=TOKEN)  # type: ignore[arg-type]
    app = create_app(settings, db)
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


def as_token(screen: Screen, stack: Stack, token: str, hash_: str) -> Screen:
    screen.page.goto(f"{stack.url}/")
    screen.page.evaluate("t => sessionStorage.setItem('emc.token', t)", token)
    screen.page.goto(f"{stack.url}/#{hash_}")
    screen.page.reload()
    screen.wait_ready()
    return screen


def call(stack: Stack, token: str, path: str, **params: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.get(f"{stack.url}{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def upload(
    screen: Screen, card: str, path: Path | tuple[str, bytes], default: bool = False
) -> None:
    page = screen.page
    if isinstance(path, Path):
        page.set_input_files(f'[data-card="{card}"] input[type="file"]', str(path))
    else:
        name, data = path
        files = {"name": name, "mimeType": "application/vnd.ms-excel", "buffer": data}
        page.set_input_files(f'[data-card="{card}"] input[type="file"]', files)
    if default:
        page.check(f'[data-card="{card}"] input[name="default"]')
    page.click(f'[data-card="{card}"] button[type="submit"]')


def nav(screen: Screen) -> list[str]:
    return list(screen.page.eval_on_selector_all("#nav a", "as => as.map(a => a.dataset.screen)"))


# --- catalog ---------------------------------------------------------------------------------


def test_an_editor_imports_a_catalog_with_row_errors_versions_and_default(
    screen: Screen, stack: Stack, editor: str
) -> None:
    page = screen.page
    as_token(screen, stack, editor, "/catalog?site=a-mc")
    assert screen.text("main h1") == "Danh mục thủ tục"
    assert screen.text('[data-role="no-catalog"]') == "Trang này chưa có danh mục thủ tục."
    # a refused file: every problem row by row, as the API reports it, and nothing stored
    upload(screen, "catalog-upload", SAMPLES / "broken" / "catalog_unknown_level.xlsx")
    page.wait_for_selector('[data-card="catalog-problems"] tbody tr')
    screen.errors.clear()  # the browser logs the refused request (422) as a console error
    refused = httpx.post(
        f"{stack.url}/api/v1/sites/a-mc/catalog",
        files={
            "file": ("x.xlsx", (SAMPLES / "broken" / "catalog_unknown_level.xlsx").read_bytes())
        },
        headers={"Authorization": f"Bearer {editor}"},
    ).json()
    shown = page.eval_on_selector_all(
        '[data-card="catalog-problems"] tbody tr',
        "trs => trs.map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent.trim()))",
    )
    assert shown == [[str(p["row"]), p["column"], p["problem"]] for p in refused["problems"]]
    assert screen.text('[data-role="refused"]').startswith("Lỗi: catalog: refused")
    assert call(stack, editor, "/api/v1/sites/a-mc/catalog/history")["versions"] == []
    screen.shot("catalog-refused")

    # version 1 (the first is the default at once), then version 2 from a .xls, made default
    before = screen.renders()
    upload(screen, "catalog-upload", SAMPLES / "catalog.xlsx")
    screen.wait_ready(before)
    assert screen.text('[data-role="done"]') == "Đã nhập danh mục, phiên bản 1."
    from tests.integration.test_agency_roles import _xls_catalog

    before = screen.renders()
    upload(screen, "catalog-upload", ("dm.xls", _xls_catalog()), default=True)
    screen.wait_ready(before)
    assert screen.text('[data-role="done"]') == "Đã nhập danh mục, phiên bản 2."
    versions = screen.table("catalog-versions")
    assert [(v["version"], v["file_name"], v["rows"], v["is_default"]) for v in versions] == [
        ("2", "dm.xls", "2", "Mặc định"), ("1", "catalog.xlsx", "7", ""),
    ]  # fmt: skip
    services = call(stack, editor, "/api/v1/sites/a-mc/catalog")["services"]
    assert [r["id_mcdt"] for r in screen.table("catalog-services")] == [
        s["id_mcdt"] for s in services
    ]
    # back to version 1 as the default: the history says when each became the default
    before = screen.renders()
    page.click('[data-make-default="1"]')
    screen.wait_ready(before)
    assert screen.text('[data-role="done"]') == "Đã đặt phiên bản 1 làm mặc định."
    assert [r["version"] for r in screen.table("catalog-defaults")] == ["1", "2", "1"]
    assert len(screen.table("catalog-services")) == 7
    # the export of a version is the API's workbook
    with page.expect_download() as info:
        page.click('[data-export-version="2"]')
    sheet = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).worksheets[0]
    assert [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        "1.001193", "1.000894",
    ]  # fmt: skip
    screen.shot("catalog")


def test_a_viewer_reads_catalogs_but_gets_no_upload_and_no_tokens(
    screen: Screen, stack: Stack, viewer: str
) -> None:
    as_token(screen, stack, viewer, "/catalog?site=b-mc")
    assert screen.page.query_selector('[data-card="catalog-upload"]') is None
    assert "tokens" not in nav(screen) and "catalog" in nav(screen)
    assert "rankings" in nav(screen)


# --- accounts --------------------------------------------------------------------------------


def test_accounts_by_type_new_and_active_with_change(
    screen: Screen, stack: Stack, editor: str
) -> None:
    page = screen.page
    q = {"site": "x1-mc", "from": "2026-03-01", "to": "2026-03-07", "compare": "previous"}
    as_token(
        screen, stack, editor, "/accounts?site=x1-mc&preset=custom&from=2026-03-01&to=2026-03-07"
    )
    assert screen.text("main h1") == "Tài khoản"
    before = screen.renders()
    upload(screen, "accounts-upload", SAMPLES / "accounts.xlsx")
    screen.wait_ready(before)
    assert screen.text('[data-role="done"]') == "Đã nhập danh sách tài khoản (lần nhập 1)."
    answer = call(stack, editor, "/api/v1/accounts/summary", **q)
    assert answer["accounts"] > 0
    assert screen.text('[data-kpi="accounts"] [data-role="value"]') == vi_int(answer["accounts"])
    for kind in ("business", "individual", "onestop_officer"):
        assert screen.text(f'[data-kpi="{kind}"] [data-role="value"]') == vi_int(
            answer["by_type"][kind]
        )
    for key in ("new_in_period", "active_in_period"):
        m = answer["metrics"][key]
        assert screen.kpi(key) == {
            "value": vi_int(m["value"]),
            "change": change(m["change_pct"]),
            "previous": f"Kỳ so sánh: {vi_int(m['previous'])}",
        }
    linked = f"{vi_int(answer['linked_national'])} ({vi_pct(answer['linked_national_pct'])})"
    assert screen.text('[data-kpi="linked_national"] [data-role="value"]') == linked
    assert [(r["type"], r["count"]) for r in screen.table("accounts-by-type")] == [
        ("Doanh nghiệp", vi_int(answer["by_type"]["business"])),
        ("Công dân", vi_int(answer["by_type"]["individual"])),
        ("Cán bộ một cửa", vi_int(answer["by_type"]["onestop_officer"])),
    ]
    assert [r["file_name"] for r in screen.table("account-imports")] == ["accounts.xlsx"]
    assert page.query_selector('[data-card="accounts-problems"]') is None
    screen.shot("accounts")


# --- agencies and sites ----------------------------------------------------------------------


def test_the_tree_and_an_editor_adds_a_commune_a_site_and_domains(
    screen: Screen, stack: Stack, editor: str, viewer: str
) -> None:
    page = screen.page
    as_token(screen, stack, editor, "/agencies")
    assert screen.text("main h1") == "Cơ quan và trang"
    tree = screen.table("agency-tree")
    assert [r["id"] for r in tree] == ["prov", "dept-a", "dept-b", "b-unit", "dept-c", "xa-1"]
    assert tree[1] == {"name": "Sở A", "kind": "Sở, ban, ngành", "id": "dept-a", "sites": "1"}
    # a commune under the province
    page.select_option('[data-card="agency-add"] select[name="parent"]', "prov")
    page.fill('[data-card="agency-add"] input[name="id"]', "xa-2")
    page.fill('[data-card="agency-add"] input[name="name"]', "Phường 2")
    page.select_option('[data-card="agency-add"] select[name="kind"]', "commune")
    before = screen.renders()
    page.click('[data-card="agency-add"] button[type="submit"]')
    screen.wait_ready(before)
    assert screen.text('[data-role="done"]') == "Đã thêm đơn vị xa-2."
    assert "xa-2" in [r["id"] for r in screen.table("agency-tree")]
    # its site, then its domains
    page.select_option('[data-card="site-add"] select[name="agency"]', "xa-2")
    page.fill('[data-card="site-add"] input[name="id"]', "x2-web")
    page.fill('[data-card="site-add"] input[name="name"]', "Cổng phường 2")
    before = screen.renders()
    page.click('[data-card="site-add"] button[type="submit"]')
    screen.wait_ready(before)
    page.select_option('[data-card="site-domains"] select[name="site"]', "x2-web")
    page.fill(
        '[data-card="site-domains"] input[name="domains"]', "p2.prov.gov.vn, www.p2.prov.gov.vn"
    )
    before = screen.renders()
    page.click('[data-card="site-domains"] button[type="submit"]')
    screen.wait_ready(before)
    site = next(r for r in screen.table("site-list") if r["id"] == "x2-web")
    assert site == {
        "name": "Cổng phường 2", "id": "x2-web", "type": "Cổng thông tin điện tử",
        "agency": "Phường 2", "domains": "p2.prov.gov.vn, www.p2.prov.gov.vn",
    }  # fmt: skip
    stored = registry.get_site(stack.db, "x2-web")
    assert stored is not None and stored.agency_id == "xa-2"
    # a refusal stays beside the form (an id already registered)
    page.fill('[data-card="agency-add"] input[name="id"]', "prov2")
    page.fill('[data-card="agency-add"] input[name="name"]', "Trùng mã")
    page.click('[data-card="agency-add"] button[type="submit"]')
    page.wait_for_selector('[data-card="agency-add"] [role="alert"]')
    assert "already registered" in screen.text('[data-card="agency-add"] [role="alert"]')
    screen.errors.clear()  # the refused request (409) is logged by the browser
    screen.shot("agencies")
    # a viewer of dept-b sees its own subtree and no form
    as_token(screen, stack, viewer, "/agencies")
    assert [r["id"] for r in screen.table("agency-tree")] == ["dept-b", "b-unit"]
    assert page.query_selector('[data-card="agency-add"]') is None


# --- tokens ----------------------------------------------------------------------------------


def test_an_editor_creates_and_revokes_a_viewer_token(
    screen: Screen, stack: Stack, editor: str
) -> None:
    page = screen.page
    page.on("dialog", lambda dialog: dialog.accept())
    as_token(screen, stack, editor, "/tokens")
    assert screen.text("main h1") == "Mã truy cập"
    assert "tokens" in nav(screen)
    assert select_values(screen, '[data-card="token-create"] select[name="role"]') == ["viewer"]
    page.select_option('[data-card="token-create"] select[name="agency_id"]', "dept-a")
    page.fill('[data-card="token-create"] input[name="name"]', "Sở A – thống kê")
    page.click('[data-card="token-create"] button[type="submit"]')
    made = page.wait_for_selector('[data-role="new-token"]')
    assert made is not None
    secret = made.inner_text().strip()
    assert secret.startswith("emc_")
    me = call(stack, secret, "/api/v1/me")
    assert (me["agency"]["id"], me["token_role"]) == ("dept-a", "viewer")
    page.wait_for_selector('[data-card="token-list"] tbody tr[data-key]')
    listed = {r["name"]: r for r in screen.table("token-list")}
    assert listed["Sở A – thống kê"]["role"] == "Xem"
    assert listed["Sở A – thống kê"]["state"] == "Đang dùng"
    assert listed["biên tập tỉnh"]["role"] == "Quản lý" and listed["biên tập tỉnh"]["actions"] == ""
    token_id = listed["Sở A – thống kê"]["id"]
    page.click(f'[data-revoke="{token_id}"]')
    page.wait_for_selector('[data-role="revoked"]')
    page.wait_for_function(
        "id => [...document.querySelectorAll('[data-card=\"token-list\"] tr')]"
        ".some(tr => tr.dataset.key === id && tr.textContent.includes('Đã thu hồi'))",
        arg=token_id,
    )
    gone = httpx.get(f"{stack.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert gone.status_code == 401
    screen.shot("tokens")


def select_values(screen: Screen, selector: str) -> list[str]:
    return list(
        screen.page.eval_on_selector_all(f"{selector} option", "os => os.map(o => o.value)")
    )


# --- rankings at every level -----------------------------------------------------------------


def test_a_province_editor_ranks_its_units_and_sees_its_own_rank(
    screen: Screen, stack: Stack, editor: str, viewer: str
) -> None:
    as_token(screen, stack, editor, f"/rankings?metric=online_dossier_rate&preset=custom&{DATES}")
    q = {"metric": "online_dossier_rate", "agency": "prov", "order": "desc", "limit": "100"}
    answer = call(stack, editor, "/api/v1/rankings", **q, **PERIOD, compare="previous")
    rows = screen.table("ranking")
    assert [(r["rank"], r["name"], r["value"]) for r in rows] == [
        ("1", "Xã 1", f"100,0{NBSP}%"), ("2", "Sở A", f"66,7{NBSP}%"), ("3", "Sở B", f"33,3{NBSP}%"),
    ]  # fmt: skip
    assert [r["change"] for r in rows] == [change(r["change_pp"], True) for r in answer["rows"]]
    assert screen.text('[data-role="without-sites"]') == "Chưa có trang nào: Sở C"
    # among the provinces: 4 of 7 online (57.1 %) after prov2's 1 of 1
    assert screen.text('[data-role="own-rank"]') == "Hạng 2/2 trong các tỉnh, thành phố"
    assert "57,1" in screen.text('[data-role="own-value"]')
    screen.shot("rankings-children")
    # departments only, by on-time rate
    as_token(
        screen, stack, editor,
        f"/rankings?metric=on_time_rate&kind=department&preset=custom&{DATES}",
    )  # fmt: skip
    assert [(r["rank"], r["name"]) for r in screen.table("ranking")] == [
        ("1", "Sở B"),
        ("2", "Sở A"),
    ]
    # a department's viewer: its own unit below, and its rank among the departments
    as_token(screen, stack, viewer, f"/rankings?metric=online_dossier_rate&preset=custom&{DATES}")
    assert [r["name"] for r in screen.table("ranking")] == ["Chi cục B"]
    assert screen.text('[data-role="own-rank"]') == "Hạng 2/2 trong các đơn vị cùng cấp"
    assert "Sở A" not in screen.text("main")
