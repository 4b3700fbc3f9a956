"""Agency roll-ups and agency-scoped tokens on the real ClickHouse engine.

The traffic is the portal test's explicit visit list (``test_portal_api.VISITS``: sites ``hcm``
and ``hn``, one visitor ``u1`` on both). The tree built here:

    region (other) ─┬─ p-hcm (province) ── d-hcm (department) ── site hcm
                    └─ p-hn  (province) ── site hn
    site orphan (no agency; only the admin sees it)

Expected numbers come from the visit list (``expected_metrics``), never from the SQL: the
``region`` roll-up must equal the union of both sites (u1 counted once), not a sum or average.
A token of ``p-hn`` must not learn anything about ``hcm`` by any endpoint or parameter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from clickhouse import agencies, registry, tokens
from clickhouse.client import Database
from core.settings import Settings
from schemas.agencies import Agency, AgencyKind
from schemas.sites import Site, SiteType
from tests.integration.test_portal_api import (
    AFTER,
    BOTS,
    PERIOD,
    PREVIOUS,
    TOKEN,
    VISITS,
    P,
    expected_metrics,
    load,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ADMIN = {"Authorization": f"Bearer {TOKEN}"}
DATES = {"from": PERIOD[0].isoformat(), "to": PERIOD[1].isoformat()}


@asynccontextmanager
async def agency_world(
    engine: Any, database: str, **settings_overrides: Any
) -> AsyncIterator[dict[str, Any]]:
    """The tree above with the portal visits loaded, two agency tokens and the API on a client
    (shared with ``test_hostile_sql``, which builds it once per module)."""
    settings = Settings(
        clickhouse_database=database,
        admin_token=TOKEN,  # type: ignore[arg-type]
        api_max_range_days=31,
        **settings_overrides,
    )
    db = Database(engine, database)
    tree = [
        Agency(id="region", name="Region", kind=AgencyKind.OTHER),
        Agency(id="p-hcm", name="TP HCM", kind=AgencyKind.PROVINCE, code="79", parent_id="region"),
        Agency(id="d-hcm", name="Sở Y tế", kind=AgencyKind.DEPARTMENT, parent_id="p-hcm"),
        Agency(id="p-hn", name="Hà Nội", kind=AgencyKind.PROVINCE, code="01", parent_id="region"),
    ]
    agencies.load(db, tree)
    for site, agency in (("hcm", "d-hcm"), ("hn", "p-hn"), ("orphan", "")):
        registry.upsert_site(db, Site(id=site, name=site, type=SiteType.PORTAL, agency_id=agency))
    load(db, VISITS, BOTS)
    _, hn_token = tokens.create_token(db, "p-hn", "analysts of Hà Nội")
    _, hcm_token = tokens.create_token(db, "p-hcm", "analysts of HCM")
    app = create_app(settings, db, clock=AFTER.timestamp)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield {
            "api": client,
            "app": app,
            "db": db,
            "hn": {"Authorization": f"Bearer {hn_token}"},
            "hcm": {"Authorization": f"Bearer {hcm_token}"},
        }


@pytest_asyncio.fixture(loop_scope="session")
async def world(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[dict[str, Any]]:
    async with agency_world(clickhouse_engine, ch_database) as built:
        yield built


async def _get(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: str
) -> httpx.Response:
    return await client.get(f"/api/v1/portal/{path}", params=params, headers=headers)


# --- roll-ups -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agency", "sites"),
    [("region", {"hcm", "hn"}), ("p-hcm", {"hcm"}), ("d-hcm", {"hcm"}), ("p-hn", {"hn"})],
)
async def test_agency_rollup_is_the_union_of_its_subtree_sites(
    world: dict[str, Any], agency: str, sites: set[str]
) -> None:
    response = await _get(world["api"], "overview", ADMIN, agency=agency, **DATES)
    assert response.status_code == 200, response.text
    assert response.json()["metrics"] == expected_metrics(sites, PERIOD, PREVIOUS)
    explicit = await _get(world["api"], "overview", ADMIN, site=",".join(sorted(sites)), **DATES)
    assert explicit.json()["metrics"] == response.json()["metrics"]


async def test_region_rollup_counts_a_shared_visitor_once(world: dict[str, Any]) -> None:
    region = (await _get(world["api"], "overview", ADMIN, agency="region", **DATES)).json()
    parts = [
        (await _get(world["api"], "overview", ADMIN, agency=a, **DATES)).json()
        for a in ("p-hcm", "p-hn")
    ]
    uv = [p["metrics"]["unique_visitors"]["value"] for p in parts]
    # u1 visits both sites in the period: the union has one visitor fewer than the sum
    assert region["metrics"]["unique_visitors"]["value"] == sum(uv) - 1
    visits = [p["metrics"]["visits"]["value"] for p in parts]
    assert region["metrics"]["visits"]["value"] == sum(visits)


async def test_rollup_by_site_breakdown_and_timeseries(world: dict[str, Any]) -> None:
    rows = (
        await _get(world["api"], "breakdown", ADMIN, agency="region", by="site", **DATES)
    ).json()["rows"]
    assert {r["key"] for r in rows} == {"hcm", "hn"}
    series = await _get(world["api"], "timeseries", ADMIN, agency="p-hn", **DATES)
    direct = await _get(world["api"], "timeseries", ADMIN, site="hn", **DATES)
    assert series.status_code == 200 and series.json() == direct.json()


async def test_selection_errors(world: dict[str, Any]) -> None:
    both = await _get(world["api"], "overview", ADMIN, site="hn", agency="p-hn", **DATES)
    assert both.status_code == 400 and both.json()["error"].startswith("site: give either")
    unknown = await _get(world["api"], "overview", ADMIN, agency="nowhere", **DATES)
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "agency: agency 'nowhere' is not registered"}
    agencies.upsert_agency(world["db"], Agency(id="empty", name="E", kind=AgencyKind.OTHER))
    empty = await _get(world["api"], "overview", ADMIN, agency="empty", **DATES)
    assert empty.status_code == 404 and "has no registered site" in empty.json()["error"]


# --- isolation ------------------------------------------------------------------------------

ENDPOINTS: list[tuple[str, dict[str, str]]] = [
    ("overview", DATES),
    ("timeseries", DATES),
    ("timeseries", {**DATES, "interval": "hour"}),
    ("breakdown", {**DATES, "by": "country"}),
    ("breakdown", {**DATES, "by": "page"}),
    ("breakdown", {**DATES, "by": "site"}),
    ("realtime", {}),
]


@pytest.mark.parametrize(("path", "params"), ENDPOINTS)
async def test_a_province_token_reads_its_own_numbers(
    world: dict[str, Any], path: str, params: dict[str, str]
) -> None:
    mine = await _get(world["api"], path, world["hn"], site="hn", **params)
    as_admin = await _get(world["api"], path, ADMIN, site="hn", **params)
    assert mine.status_code == 200, mine.text
    assert mine.json() == as_admin.json()
    rolled = await _get(world["api"], path, world["hn"], agency="p-hn", **params)
    assert rolled.status_code == 200 and rolled.json() == as_admin.json()


OUTSIDE = [
    {"site": "hcm"},
    {"site": "hn,hcm"},
    {"site": "hcm,hn"},
    {"site": " hcm "},
    {"site": "orphan"},
    {"agency": "p-hcm"},
    {"agency": "d-hcm"},
    {"agency": "region"},
]


@pytest.mark.parametrize(("path", "params"), ENDPOINTS)
async def test_a_province_token_cannot_read_another_province(
    world: dict[str, Any], path: str, params: dict[str, str]
) -> None:
    """Outside the subtree answers exactly like an id that does not exist."""
    for selection in OUTSIDE:
        response = await _get(world["api"], path, world["hn"], **selection, **params)
        assert response.status_code == 404, (selection, response.text)
        param = next(iter(selection))
        fake = await _get(world["api"], path, world["hn"], **{param: "no-such-id"}, **params)
        assert fake.status_code == 404
        hidden = [h for h in selection[param].strip().split(",") if h != "hn"]
        expected = fake.json()["error"].replace("no-such-id", hidden[0])
        assert response.json() == {"error": expected}, selection


async def test_compare_and_repeated_parameters_stay_inside(world: dict[str, Any]) -> None:
    api, hn = world["api"], world["hn"]
    cmp = await api.get("/api/v1/portal/compare", params={"sites": "hn,hcm", **DATES}, headers=hn)
    assert cmp.status_code == 404 and cmp.json() == {"error": "sites: site 'hcm' is not registered"}
    # a repeated site= must never mix hcm's numbers in, whichever value the server reads
    for order in (["hn", "hcm"], ["hcm", "hn"]):
        query = "&".join(f"site={s}" for s in order) + f"&from={DATES['from']}&to={DATES['to']}"
        response = await api.get(f"/api/v1/portal/overview?{query}", headers=hn)
        if response.status_code == 200:
            assert response.json()["metrics"] == expected_metrics({"hn"}, PERIOD, PREVIOUS)
        else:
            assert response.status_code == 404
    # the HCM token is symmetric
    own = await _get(api, "overview", world["hcm"], agency="p-hcm", **DATES)
    assert own.json()["metrics"] == expected_metrics({"hcm"}, PERIOD, PREVIOUS)
    assert (await _get(api, "overview", world["hcm"], site="hn", **DATES)).status_code == 404


async def test_admin_routes_are_closed_to_agency_tokens(world: dict[str, Any]) -> None:
    api, hn = world["api"], world["hn"]
    for method, path in [
        ("GET", "/api/v1/sites"),
        ("GET", "/api/v1/sites/hcm"),
        ("GET", "/api/v1/agencies"),
        ("GET", "/api/v1/agencies/p-hcm/sites"),
        ("GET", "/api/v1/tokens"),
        ("DELETE", "/api/v1/sites/hcm"),
    ]:
        response = await api.request(method, path, headers=hn)
        # a valid agency token is authenticated but not allowed (api.guard: Access.ADMIN; the
        # token list is Access.EDITOR since issue 18, and this token is a viewer)
        assert response.status_code == 403, (method, path)
        needs = "an editor token" if path == "/api/v1/tokens" else "the admin token"
        assert f"needs {needs}" in response.json()["error"]


async def test_revoked_and_forged_tokens_are_refused(world: dict[str, Any]) -> None:
    db = world["db"]
    info, token = tokens.create_token(db, "p-hn", "short-lived")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await _get(world["api"], "overview", headers, site="hn", **DATES)).status_code == 200
    assert tokens.revoke_token(db, info.id)
    refused = await _get(world["api"], "overview", headers, site="hn", **DATES)
    assert refused.status_code == 401
    forged = {"Authorization": f"Bearer {token[:-1]}x"}
    assert (await _get(world["api"], "overview", forged, site="hn", **DATES)).status_code == 401
    # only the hash is stored
    stored = db.query("SELECT token_hash FROM api_tokens").result_rows
    assert all(token not in str(row) for row in stored)
    assert (tokens.hash_token(token),) in [tuple(r) for r in stored]


async def test_a_site_moved_to_another_province_moves_its_visibility(
    world: dict[str, Any],
) -> None:
    db, api = world["db"], world["api"]
    hcm = registry.get_site(db, "hcm")
    assert hcm is not None
    registry.upsert_site(db, hcm.model_copy(update={"agency_id": "p-hn"}))
    moved = await _get(api, "overview", world["hn"], agency="p-hn", **DATES)
    assert moved.json()["metrics"] == expected_metrics({"hcm", "hn"}, PERIOD, PREVIOUS)
    assert (await _get(api, "overview", world["hcm"], site="hcm", **DATES)).status_code == 404


# --- free SQL and named queries: rows of the subtree only, enforced by the engine ----------


def _pageviews_of(sites: set[str]) -> int:
    """Pageviews of ``sites`` in the explicit visit list (bots never reach ``pageviews``)."""
    return sum(1 for v in VISITS if v.site in sites for _, kind, _ in v.hits if kind is P)


async def _sql(api: httpx.AsyncClient, headers: dict[str, str], sql: str) -> httpx.Response:
    return await api.post("/api/v1/sql", json={"sql": sql}, headers=headers)


async def test_agency_sql_reads_only_its_subtree(world: dict[str, Any]) -> None:
    api, hn, hcm = world["api"], world["hn"], world["hcm"]
    per_site = "SELECT site, countIf(type = 'pageview') FROM pageviews GROUP BY site ORDER BY site"
    assert _pageviews_of({"hn"}) > 0 and _pageviews_of({"hcm"}) > 0
    own = await _sql(api, hn, per_site)
    assert own.status_code == 200, own.text
    assert own.json()["rows"] == [["hn", _pageviews_of({"hn"})]]
    other = await _sql(api, hcm, per_site)
    assert other.json()["rows"] == [["hcm", _pageviews_of({"hcm"})]]
    admin = await _sql(api, ADMIN, per_site)
    assert [r[0] for r in admin.json()["rows"]] == ["hcm", "hn"]
    agencies_seen = await _sql(api, hn, "SELECT id FROM agencies FINAL ORDER BY id")
    assert agencies_seen.json()["rows"] == [["p-hn"]]


@pytest.mark.parametrize(
    "sql",
    [
        # every way of reaching the raw rows of another province gives the own rows only
        "WITH x AS (SELECT site FROM pageviews) SELECT DISTINCT site FROM x",
        "SELECT DISTINCT site FROM sessions WHERE site IN (SELECT site FROM pageviews)",
        "SELECT arraySort((SELECT groupUniqArray(site) FROM hits_hourly))[1]",
        "SELECT DISTINCT p.site FROM pageviews AS p INNER JOIN visits_hourly AS v ON p.site = v.site",
        "SELECT DISTINCT site FROM {db}.pageviews",
        "SELECT DISTINCT site FROM pageviews UNION DISTINCT SELECT DISTINCT site FROM sessions",
        "SELECT DISTINCT site FROM (SELECT * FROM pageviews WHERE site = 'hcm' OR 1 = 1)",
    ],
)
async def test_agency_sql_subqueries_joins_and_unions_stay_inside(
    world: dict[str, Any], sql: str
) -> None:
    response = await _sql(world["api"], world["hn"], sql.format(db=world["db"].database))
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [["hn"]]


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("SELECT count() FROM merge(currentDatabase(), '^pageviews$')", "merge()"),
        ("SELECT * FROM view(SELECT site FROM pageviews)", "view()"),
        ("SELECT id, ingest_token FROM sites", "sites"),
        ("SELECT * FROM api_tokens", "api_tokens"),
        ("SELECT name FROM system.tables", "system.tables"),
        ("SELECT table, rows FROM system.parts", "system.parts"),
        ("SELECT count() FROM hits_hourly_mv", "hits_hourly_mv"),
        ("SELECT count() FROM pageviews SETTINGS additional_table_filters = {}", "SETTINGS"),
        ("SHOW TABLES", "SELECT"),
    ],
)
async def test_agency_sql_refuses_what_it_may_not_read(
    world: dict[str, Any], sql: str, named: str
) -> None:
    response = await _sql(world["api"], world["hn"], sql)
    assert response.status_code == 403, response.text
    assert named in response.json()["error"]


async def test_agency_sql_harmless_sources_and_errors(world: dict[str, Any]) -> None:
    api, hn = world["api"], world["hn"]
    ok = await _sql(api, hn, "SELECT count() FROM numbers(5) AS n CROSS JOIN system.one AS o")
    assert ok.status_code == 200 and ok.json()["rows"] == [[5]]
    bad = await _sql(api, hn, "SELECT nope FROM pageviews")
    assert bad.status_code == 400 and "nope" in bad.json()["error"]
    write = await _sql(api, hn, "INSERT INTO pageviews SELECT * FROM pageviews")
    assert write.status_code == 400
    assert (await _sql(api, {}, "SELECT 1")).status_code == 401


async def test_agency_named_queries_are_row_restricted(world: dict[str, Any]) -> None:
    api, hn = world["api"], world["hn"]
    assert (await api.get("/api/v1/queries", headers=hn)).status_code == 200
    dates = {"from": PERIOD[0].isoformat(), "to": PERIOD[1].isoformat()}

    async def pageviews(headers: dict[str, str], sites: str) -> int:
        body = {"params": {"sites": sites, **dates}}
        response = await api.post("/api/v1/queries/portal_overview", json=body, headers=headers)
        assert response.status_code == 200, response.text
        answer = response.json()
        return int(answer["rows"][0][answer["columns"].index("pageviews")])

    own = await pageviews(hn, "hn")
    assert own == await pageviews(ADMIN, "hn") and own > 0
    # asking for another province's site through the query's own parameter reads nothing
    assert await pageviews(hn, "hcm") == 0
    assert await pageviews(hn, "hcm,hn") == own
    assert await pageviews(ADMIN, "hcm,hn") > own
