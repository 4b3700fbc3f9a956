"""Rankings by the one-stop rates on real chDB: provinces ranked by online dossier rate and
on-time rate, each recomputed over the union of the province's sites.

Province ``p-a`` owns one-stop site ``mc`` with the dossiers of ``test_dossier_api.MC`` (its
documented answers: 5 of 9 received online, 2 of 4 resolved on time; previous period 1 of 2
online, 1 of 1 on time). Province ``p-b`` owns two one-stop sites whose dossiers are written
below, so its rate is a ratio of sums across sites, not an average of two site rates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from clickhouse import agencies, registry
from clickhouse.client import Database
from core.settings import Settings
from schemas.agencies import Agency, AgencyKind
from schemas.sites import Site, SiteType
from tests.integration.test_dossier_api import MC, PERIOD, Dossier, L, _store

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "rank-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

B_SITES = [
    # site b1: 1 of 1 received online, resolved on time
    Dossier("X1", "P", "online", L(2, 9), due=L(4, 17), resolved=L(3, 9), site="b1"),
    # site b2: 0 of 3 online; one resolved late, one resolved on time, one open
    Dossier("Y1", "P", "direct", L(2, 9), due=L(3, 17), resolved=L(5, 9), site="b2"),
    Dossier("Y2", "P", "direct", L(3, 9), due=L(6, 17), resolved=L(4, 9), site="b2"),
    Dossier("Y3", "P", "postal", L(4, 9), due=L(9, 17), site="b2"),
]
# p-b: online 1 / received 4 = 25.0 % (the mean of the two site rates would be 50 %);
# on time 2 / resolved with due 3 = 66.7 %.


@pytest_asyncio.fixture(loop_scope="session")
async def api(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    agencies.load(
        db,
        [
            Agency(id="p-a", name="A", kind=AgencyKind.PROVINCE),
            Agency(id="p-b", name="B", kind=AgencyKind.PROVINCE),
            Agency(id="p-c", name="C (no dossiers)", kind=AgencyKind.PROVINCE),
        ],
    )
    for site, agency in (("mc", "p-a"), ("b1", "p-b"), ("b2", "p-b"), ("c1", "p-c")):
        registry.upsert_site(db, Site(id=site, name=site, type=SiteType.ONESTOP, agency_id=agency))
    _store(db, MC + B_SITES)
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _rank(api: httpx.AsyncClient, **params: str) -> Any:
    response = await api.get(
        "/api/v1/rankings", params={"group": "provinces", **PERIOD, **params}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_online_dossier_rate_ranking(api: httpx.AsyncClient) -> None:
    answer = await _rank(api, metric="online_dossier_rate")
    rows = [(r["agency"], r["value"], r["rank"]) for r in answer["rows"]]
    assert rows == [("p-a", round(5 / 9 * 100, 1), 1), ("p-b", 25.0, 2)]
    assert answer["rows"][0]["previous"] == 50.0
    assert answer["rows"][0]["change_pp"] == round(5 / 9 * 100 - 50.0, 1)
    assert answer["without_data"] == ["p-c"]
    asc = await _rank(api, metric="online_dossier_rate", order="asc")
    assert [r["agency"] for r in asc["rows"]] == ["p-b", "p-a"]


async def test_on_time_rate_ranking(api: httpx.AsyncClient) -> None:
    answer = await _rank(api, metric="on_time_rate", compare="none")
    rows = [(r["agency"], r["value"], r["rank"]) for r in answer["rows"]]
    assert rows == [("p-b", round(2 / 3 * 100, 1), 1), ("p-a", 50.0, 2)]
    assert answer["rows"][0]["previous"] is None and answer["comparison"] is None
    csv = await api.get(
        "/api/v1/rankings",
        params={"group": "provinces", **PERIOD, "metric": "on_time_rate", "format": "csv"},
        headers=AUTH,
    )
    header = csv.text.lstrip("\ufeff").splitlines()[0]
    assert header == "rank,agency,name,sites,value,previous,change_pp"


DOSSIER_ENDPOINTS = [
    "/api/v1/dvc/overview",
    "/api/v1/onestop/overview",
    "/api/v1/onestop/top-services",
    "/api/v1/onestop/by-level",
    "/api/v1/accounts/summary",
]


async def test_onestop_rollup_by_agency_is_a_ratio_of_sums(api: httpx.AsyncClient) -> None:
    response = await api.get(
        "/api/v1/onestop/overview", params={"agency": "p-b", **PERIOD}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    metrics = response.json()["metrics"]
    assert (
        metrics["received_online"]["value"] == 1 and metrics["received_all_channels"]["value"] == 4
    )
    assert metrics["online_rate_pct"]["value"] == 25.0  # not (100 + 0) / 2


async def test_dossier_endpoints_keep_a_province_token_inside(
    api: httpx.AsyncClient, clickhouse_engine: Any, ch_database: str
) -> None:
    from clickhouse import tokens

    _, token = tokens.create_token(Database(clickhouse_engine, ch_database), "p-a", "A")
    mine = {"Authorization": f"Bearer {token}"}
    for path in DOSSIER_ENDPOINTS:
        own = await api.get(path, params={"site": "mc", **PERIOD}, headers=mine)
        admin = await api.get(path, params={"site": "mc", **PERIOD}, headers=AUTH)
        assert own.status_code == 200, (path, own.text)
        assert own.json() == admin.json()
        for selection in ({"site": "b1"}, {"site": "mc,b2"}, {"agency": "p-b"}):
            other = await api.get(path, params={**selection, **PERIOD}, headers=mine)
            assert other.status_code == 404, (path, selection)
            assert "b" in other.json()["error"] and "not registered" in other.json()["error"]


QUARTER = {"year": "2026", "quarter": "1"}


async def test_quarterly_report_answers_a_province_token_for_its_own_scope(
    api: httpx.AsyncClient, clickhouse_engine: Any, ch_database: str
) -> None:
    """Issue 12: the report answered an agency token 401 even for its own sites. Now it
    follows the other endpoints: site= / agency= inside the token's subtree give the admin's
    numbers, anything outside 404 like an unknown id, and the admin keeps everything."""
    from clickhouse import tokens

    db = Database(clickhouse_engine, ch_database)
    path = "/api/v1/reports/quarterly"
    _, token_a = tokens.create_token(db, "p-a", "A")
    info_b, token_b = tokens.create_token(db, "p-b", "B")
    a = {"Authorization": f"Bearer {token_a}"}
    b = {"Authorization": f"Bearer {token_b}"}
    own = [
        (a, {"site": "mc"}), (a, {"agency": "p-a"}),
        (b, {"site": "b1,b2"}), (b, {"site": "b2"}), (b, {"agency": "p-b"}),
    ]  # fmt: skip
    for headers, selection in own:
        mine = await api.get(path, params={**selection, **QUARTER}, headers=headers)
        admin = await api.get(path, params={**selection, **QUARTER}, headers=AUTH)
        assert mine.status_code == 200, (selection, mine.text)
        assert mine.json() == admin.json(), selection
    report_b = (await api.get(path, params={"agency": "p-b", **QUARTER}, headers=b)).json()
    assert (report_b["sites"], report_b["agency"]) == (["b1", "b2"], "p-b")
    # X1, Y1, Y2, Y3 received; X1 online; X1, Y1, Y2 resolved (Y1 late)
    assert (report_b["received"], report_b["received_online"], report_b["resolved"]) == (4, 1, 3)
    report_a = (await api.get(path, params={"site": "mc", **QUARTER}, headers=a)).json()
    assert (report_a["received"], report_a["resolved"]) == (12, 5)  # test_dossier_api's MC
    outside = [
        (a, {"site": "b1"}), (a, {"site": "mc,b2"}), (a, {"agency": "p-b"}),
        (a, {"agency": "p-c"}), (a, {"site": "nope"}),
        (b, {"site": "mc"}), (b, {"agency": "p-a"}),
    ]  # fmt: skip
    for headers, selection in outside:
        other = await api.get(path, params={**selection, **QUARTER}, headers=headers)
        assert other.status_code == 404, (selection, other.text)
        assert "not registered" in other.json()["error"], selection
    # the filter on the dossiers' own agency field stays inside the token's sites
    only = {"dossier_agency": "UBND-Q1", **QUARTER}  # A1 and A2 of site mc carry it
    by_a = (await api.get(path, params=only, headers=a)).json()
    by_b = (await api.get(path, params=only, headers=b)).json()
    by_admin = (await api.get(path, params=only, headers=AUTH)).json()
    assert (by_a["sites"], by_a["received"], by_a["dossier_agency"]) == (["mc"], 2, "UBND-Q1")
    assert (by_b["sites"], by_b["received"]) == (["b1", "b2"], 0)
    assert (sorted(by_admin["sites"]), by_admin["received"]) == (["b1", "b2", "c1", "mc"], 2)
    # the admin keeps everything, across provinces; the xlsx answers the token too
    both = await api.get(path, params={"site": "mc,b1", **QUARTER}, headers=AUTH)
    assert both.status_code == 200 and both.json()["received"] == 12 + 1
    xlsx = await api.get(path, params={"agency": "p-a", **QUARTER, "format": "xlsx"}, headers=a)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    # no token, a wrong one, a revoked one: 401
    assert tokens.revoke_token(db, info_b.id)
    for headers in ({}, {"Authorization": "Bearer nope"}, b):
        response = await api.get(path, params={"site": "b1", **QUARTER}, headers=headers)
        assert response.status_code == 401, headers
