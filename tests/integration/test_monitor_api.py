"""Connections and rankings endpoints on the real ClickHouse engine, against known answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
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
from tests.integration.test_portal_api import BOTS, PERIOD, PREVIOUS, VISITS, load, page_hits

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "monitor-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime(2025, 4, 20, 12, 30, tzinfo=UTC)


def H(day: int, hour: int) -> datetime:
    return datetime(2025, 4, day, hour, tzinfo=UTC)


#: Receipt hours per site: "live" sends 08-11 UTC daily and is fine now; "quiet" did the same
#: but stopped after the 18th; "never" sent nothing. "hcm"/"hn" carry the portal test traffic
#: (received in March: silent by April's clock).
RECEIPTS = {
    "live": [H(d, h) for d in (17, 18, 19, 20) for h in (8, 9, 10, 11)] + [H(20, 12)],
    "quiet": [H(d, h) for d in (16, 17, 18) for h in (8, 9, 10, 11)],
}


@pytest_asyncio.fixture(loop_scope="session")
async def world(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[dict[str, Any]]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN, api_max_range_days=31)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    agencies.load(
        db,
        [
            Agency(id="p-hcm", name="HCM", kind=AgencyKind.PROVINCE),
            Agency(id="d-hcm", name="Sở", kind=AgencyKind.DEPARTMENT, parent_id="p-hcm"),
            Agency(id="p-hn", name="Hà Nội", kind=AgencyKind.PROVINCE),
            Agency(id="p-empty", name="Empty", kind=AgencyKind.PROVINCE),
            Agency(id="m-1", name="Bộ", kind=AgencyKind.MINISTRY),
        ],
    )
    placement = {"hcm": "d-hcm", "hn": "p-hn", "live": "p-hn", "quiet": "p-hcm", "never": "m-1"}
    for site, agency in placement.items():
        registry.upsert_site(db, Site(id=site, name=site, type=SiteType.PORTAL, agency_id=agency))
    load(db, VISITS, BOTS)
    rows = []
    for site, hours in RECEIPTS.items():
        for n, hour in enumerate(hours):
            moment = (hour + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
            rows.append(f"('{site}-{n}', '{site}', '{moment}', '{moment}', '{moment}', 'v')")
    db.command(
        "INSERT INTO pageviews (event_id, site, ts, local_ts, received_ts, visitor_id) VALUES "
        + ", ".join(rows)
    )
    _, hn_token = tokens.create_token(db, "p-hn", "hn")
    app = create_app(settings, db, clock=NOW.timestamp)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield {"api": client, "db": db, "hn": {"Authorization": f"Bearer {hn_token}"}}


async def test_connections_status_per_site(world: dict[str, Any]) -> None:
    response = await world["api"].get("/api/v1/connections", headers=ADMIN)
    assert response.status_code == 200, response.text
    by_site = {s["site"]: s for s in response.json()["sites"]}
    assert set(by_site) == {"hcm", "hn", "live", "quiet", "never"}
    live = by_site["live"]
    assert live["status"] == "connected" and live["last_event"] == "2025-04-20T12:05:00+00:00"
    assert live["seconds_since_last_event"] == 25 * 60 and live["usual_gap_hours"] == 21
    quiet = by_site["quiet"]
    assert quiet["status"] == "silent" and quiet["last_event"] == "2025-04-18T11:05:00+00:00"
    # its expected hours 08-11 passed without data on the 19th and the 20th
    assert [(g["from"][:13], g["hours"]) for g in quiet["gaps"]] == [
        ("2025-04-19T08", 4),
        ("2025-04-20T08", 4),
    ]
    assert by_site["never"]["status"] == "never_seen"
    assert by_site["hcm"]["status"] == "silent"  # March traffic, April clock
    silent = await world["api"].get("/api/v1/connections?status=silent", headers=ADMIN)
    assert {s["site"] for s in silent.json()["sites"]} == {"hcm", "hn", "quiet"}
    csv = await world["api"].get("/api/v1/connections?format=csv&agency=p-hn", headers=ADMIN)
    assert csv.status_code == 200 and csv.text.lstrip("\ufeff").startswith("site,status")
    assert [line.split(",")[0] for line in csv.text.splitlines()[1:]] == ["hn", "live"]


async def test_connection_gauges_for_prometheus(world: dict[str, Any]) -> None:
    """The warehouse's /metrics gauge per site, as its poller sets it."""
    from api.ops import update_connections
    from core import metrics

    registry = metrics.new_registry()
    gauges = metrics.ConnectionMetrics(registry)
    update_connections(world["db"], gauges, NOW)
    lines = metrics.render(registry)[0].decode().splitlines()
    assert "# TYPE emc_site_seconds_since_last_event gauge" in lines
    assert 'emc_site_seconds_since_last_event{site="live"} 1500.0' in lines
    assert 'emc_site_seconds_since_last_event{site="never"} NaN' in lines
    assert 'emc_site_silent{site="quiet"} 1.0' in lines
    assert 'emc_site_silent{site="live"} 0.0' in lines
    assert 'emc_site_silent{site="never"} 0.0' in lines
    quiet = (NOW - datetime(2025, 4, 18, 11, 5, tzinfo=UTC)).total_seconds()
    assert f'emc_site_seconds_since_last_event{{site="quiet"}} {quiet}' in lines
    # a site removed from the registry disappears from the gauges
    registry_sites = [r for r in lines if r.startswith("emc_site_seconds_since_last_event{")]
    assert len(registry_sites) == 5
    from clickhouse import registry as site_registry

    site_registry.delete_site(world["db"], "never")
    update_connections(world["db"], gauges, NOW)
    after = metrics.render(registry)[0].decode()
    assert 'site="never"' not in after and 'site="live"' in after


async def test_connections_for_an_agency_token(world: dict[str, Any]) -> None:
    api, hn = world["api"], world["hn"]
    mine = await api.get("/api/v1/connections", headers=hn)
    assert [s["site"] for s in mine.json()["sites"]] == ["hn", "live"]
    other = await api.get("/api/v1/connections?agency=p-hcm", headers=hn)
    assert other.status_code == 404
    assert (await api.get("/api/v1/connections?site=quiet", headers=hn)).status_code == 404
    assert (await api.get("/api/v1/connections")).status_code == 401


def _visits(sites: set[str], period: tuple[Any, Any]) -> int:
    return sum(1 for v in VISITS if v.site in sites and period[0] <= v.start.date() <= period[1])


async def test_rankings_of_provinces_by_visits_and_pageviews(world: dict[str, Any]) -> None:
    base = f"from={PERIOD[0]}&to={PERIOD[1]}&group=provinces"
    response = await world["api"].get(f"/api/v1/rankings?metric=visits&{base}", headers=ADMIN)
    assert response.status_code == 200, response.text
    answer = response.json()
    hcm = _visits({"hcm", "quiet"}, PERIOD)
    hn = _visits({"hn", "live"}, PERIOD)
    assert hcm > hn  # the data is built so; the order below depends on it
    assert [(r["agency"], r["value"], r["rank"]) for r in answer["rows"]] == [
        ("p-hcm", hcm, 1),
        ("p-hn", hn, 2),
    ]
    prev = _visits({"hcm", "quiet"}, PREVIOUS)
    assert answer["rows"][0]["previous"] == prev
    assert answer["rows"][0]["change_pct"] == round((hcm - prev) * 100 / prev, 1)
    assert answer["without_sites"] == ["p-empty"]
    asc = await world["api"].get(
        f"/api/v1/rankings?metric=pageviews&order=asc&limit=1&{base}", headers=ADMIN
    )
    rows = asc.json()["rows"]
    assert rows == [
        {
            "agency": "p-hn",
            "name": "Hà Nội",
            "sites": 2,
            "value": len(page_hits({"hn"}, PERIOD)),
            "previous": len(page_hits({"hn"}, PREVIOUS)),
            "change_pct": rows[0]["change_pct"],
            "rank": 1,
        }
    ]
    ministries = await world["api"].get(
        f"/api/v1/rankings?metric=visits&from={PERIOD[0]}&to={PERIOD[1]}&group=ministries",
        headers=ADMIN,
    )
    assert [(r["agency"], r["value"]) for r in ministries.json()["rows"]] == [("m-1", 0)]


async def test_rankings_errors_and_access(world: dict[str, Any]) -> None:
    api = world["api"]
    dates = f"from={PERIOD[0]}&to={PERIOD[1]}"
    for query, start in [
        (f"group=provinces&{dates}", "metric: required"),
        (f"metric=clicks&group=provinces&{dates}", "metric: 'clicks'"),
        (f"metric=visits&{dates}", "group: required"),
        (f"metric=visits&group=communes&{dates}", "group: 'communes'"),
        ("metric=visits&group=provinces", "from: required"),
        (f"metric=visits&group=provinces&order=up&{dates}", "order: 'up'"),
    ]:
        response = await api.get(f"/api/v1/rankings?{query}", headers=ADMIN)
        assert response.status_code == 400, query
        assert response.json()["error"].startswith(start), (query, response.json())
    denied = await api.get(
        f"/api/v1/rankings?metric=visits&group=provinces&{dates}", headers=world["hn"]
    )
    assert denied.status_code == 403
