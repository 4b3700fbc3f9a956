"""Periods that contain now (issue 16), on the real ClickHouse engine, against known answers.

The rule: per site, in its own timezone, a period that contains the local now counts only up to
now rounded down to the hour, and the comparison period only up to the same elapsed part
(``previous``: the same offset from its start; ``year``: the same wall-clock moment a year
earlier); ``period_cut`` / ``compare_cut`` say where. A period already over is whole
(``partial`` false, numbers as before). Each test runs the app with its own fixed clock over
the explicit visits and dossiers below; every expected number is counted by hand from them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from clickhouse.client import Database
from core.settings import Settings
from schemas.hits import EnrichedHit, HitType
from sink.rows import COLUMNS, Origin, hit_row
from tests.integration import test_dossier_api as dossier_test
from tests.integration.test_portal_api import OFFSET, P, Visit, load

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "partial-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# "tk" is in Asia/Tokyo (UTC+9, no DST): its local hour differs from Hồ Chí Minh City's (UTC+7)
OFFSET.setdefault("tk", timedelta(hours=9))
ZONES = {"hcm": "Asia/Ho_Chi_Minh", "tk": "Asia/Tokyo"}


def L(day: int, hour: int, minute: int = 0, year: int = 2025) -> datetime:
    """A local time in March (2025 unless said)."""
    return datetime(year, 3, day, hour, minute)


def V(site: str, visitor: str, start: datetime, *later: int) -> Visit:
    """A visit: a pageview at ``start`` and one more ``later`` seconds after it, each."""
    return Visit(site, visitor, start, [(0, P, "/a"), *((s, P, "/b") for s in later)])


VISITS = [
    V("hcm", "a", L(12, 9, 10), 60),  # today before 10:00: counted, 2 pageviews
    V("hcm", "b", L(12, 10, 2)),  # today in the running hour: after the cut
    V("hcm", "c", L(11, 9, 50), 1200),  # yesterday 09:50: counted; its 10:10 pageview is not
    V("hcm", "d", L(11, 15)),  # yesterday afternoon: after the comparison cut
    V("hcm", "e", L(11, 0)),  # yesterday at midnight: counted
    V("hcm", "f1", L(12, 9, year=2024)),  # a year earlier before 10:00: counted
    V("hcm", "f2", L(12, 11, year=2024)),  # a year earlier after 10:00
    V("hcm", "g", L(10, 11)),  # the 10th
    V("hcm", "h", L(9, 9)),  # the 9th before 10:00
    V("hcm", "i", L(9, 12)),  # the 9th after 10:00
    V("hcm", "j", L(7, 20)),  # the 7th
    V("tk", "k", L(12, 11, 30)),  # Tokyo today 11:30 (its cut is 12:00 Tokyo)
    V("tk", "l", L(12, 12, 5)),  # Tokyo today 12:05: after its cut
    V("tk", "m", L(11, 11)),  # Tokyo yesterday 11:00: counted
    V("tk", "n", L(11, 13)),  # Tokyo yesterday 13:00: after its comparison cut
]
#: 12 March 2025 10:05:30 in Hồ Chí Minh City (12:05:30 in Tokyo).
NOW = L(12, 10, 5).replace(second=30)

App = Callable[[datetime], AbstractAsyncContextManager[httpx.AsyncClient]]


def _clock(local: datetime, offset: timedelta = timedelta(hours=7)) -> Callable[[], float]:
    moment = (local - offset).replace(tzinfo=UTC).timestamp()
    return lambda: moment


@pytest_asyncio.fixture(loop_scope="session")
async def portal(clickhouse_engine: Any, ch_database: str) -> App:
    """The visits loaded once; ``portal(now)`` = a client of an app whose clock is ``now``
    (local time in Hồ Chí Minh City)."""
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    for site, zone in ZONES.items():
        db.command(
            "INSERT INTO sites (id, name, type, timezone, updated_at) "
            f"VALUES ('{site}', '{site}', 'portal', '{zone}', now64())"
        )
    load(db, VISITS, [])

    @asynccontextmanager
    async def at(now: datetime) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings, db, clock=_clock(now))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client

    return at


async def get(api: httpx.AsyncClient, path: str, **params: str) -> Any:
    response = await api.get(path, params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def counts(answer: dict[str, Any]) -> dict[str, tuple[Any, Any, Any]]:
    return {
        k: (m["value"], m["previous"], m["change_pct"])
        for k, m in answer["metrics"].items()
        if k in ("visits", "pageviews", "unique_visitors")
    }


def cut(at: str) -> dict[str, Any]:
    return {"partial": True, "cut": at, "precision": "hour"}


WHOLE = {"partial": False, "cut": None}


async def test_today_at_ten_against_yesterday_until_ten(portal: App) -> None:
    async with portal(NOW) as api:
        answer = await get(
            api, "/api/v1/portal/overview", site="hcm", **{"from": "2025-03-12", "to": "2025-03-12"}
        )
    assert answer["period"] == {"from": "2025-03-12", "to": "2025-03-12"}
    assert answer["compare_period"] == {"from": "2025-03-11", "to": "2025-03-11"}
    assert answer["period_cut"] == cut("2025-03-12T10:00+07:00")
    assert answer["compare_cut"] == cut("2025-03-11T10:00+07:00")
    # today: a (b is in the running hour); yesterday until 10:00: e, c (c's 10:10 pageview not)
    assert counts(answer) == {
        "visits": (1, 2, -50.0),
        "pageviews": (2, 2, 0.0),
        "unique_visitors": (1, 2, -50.0),
    }


async def test_a_period_ending_today(portal: App) -> None:
    async with portal(NOW) as api:
        answer = await get(
            api, "/api/v1/portal/overview", site="hcm", **{"from": "2025-03-10", "to": "2025-03-12"}
        )
    assert answer["compare_period"] == {"from": "2025-03-07", "to": "2025-03-09"}
    assert answer["compare_cut"] == cut("2025-03-09T10:00+07:00")  # 2 days 10 h from the 7th
    # g, e, c, d, a against j, h (i at 12:00 on the 9th is after the cut)
    assert counts(answer)["visits"] == (5, 2, 150.0)
    assert counts(answer)["pageviews"] == (7, 2, 250.0)


async def test_compare_year_cuts_at_the_same_moment_a_year_earlier(portal: App) -> None:
    async with portal(NOW) as api:
        answer = await get(
            api,
            "/api/v1/portal/overview",
            site="hcm",
            compare="year",
            **{"from": "2025-03-12", "to": "2025-03-12"},
        )
    assert answer["compare_cut"] == cut("2024-03-12T10:00+07:00")
    assert counts(answer)["visits"] == (1, 1, 0.0)  # a against f1 (not f2 at 11:00)


async def test_a_period_ended_before_today_is_whole(portal: App) -> None:
    async with portal(NOW) as api:
        answer = await get(
            api, "/api/v1/portal/overview", site="hcm", **{"from": "2025-03-10", "to": "2025-03-11"}
        )
    assert answer["period_cut"] == WHOLE and answer["compare_cut"] == WHOLE
    # g, e, c, d against the whole 8th-9th: h, i
    assert counts(answer)["visits"] == (4, 2, 100.0)
    assert counts(answer)["pageviews"] == (5, 2, 150.0)


async def test_midnight_edges(portal: App) -> None:
    period = {"from": "2025-03-12", "to": "2025-03-12"}
    async with portal(L(12, 0)) as api:  # the first instant of the 12th: nothing against nothing
        answer = await get(api, "/api/v1/portal/overview", site="hcm", **period)
    assert answer["period_cut"] == cut("2025-03-12T00:00+07:00")
    assert answer["compare_cut"] == cut("2025-03-11T00:00+07:00")
    assert counts(answer)["visits"] == (0, 0, None)
    async with portal(L(13, 0)) as api:  # the 12th is over: whole against the whole 11th
        answer = await get(api, "/api/v1/portal/overview", site="hcm", **period)
    assert answer["period_cut"] == WHOLE and answer["compare_cut"] == WHOLE
    assert counts(answer)["visits"] == (2, 3, -33.3)  # a, b against c, d, e


async def test_sites_in_different_timezones_are_cut_at_their_own_local_hour(portal: App) -> None:
    async with portal(NOW) as api:
        answer = await get(
            api,
            "/api/v1/portal/overview",
            site="hcm,tk",
            **{"from": "2025-03-12", "to": "2025-03-12"},
        )
    assert answer["period_cut"] == {
        "partial": True,
        "cut": None,
        "cuts": {"hcm": "2025-03-12T10:00+07:00", "tk": "2025-03-12T12:00+09:00"},
        "precision": "hour",
    }
    assert answer["compare_cut"]["cuts"] == {
        "hcm": "2025-03-11T10:00+07:00",
        "tk": "2025-03-11T12:00+09:00",
    }
    # a, k against e, c, m (l and n are after Tokyo's cuts)
    assert counts(answer)["visits"] == (2, 3, -33.3)


async def test_timeseries_points_after_the_cut_are_null(portal: App) -> None:
    async with portal(NOW) as api:
        hourly = await get(
            api,
            "/api/v1/portal/timeseries",
            site="hcm",
            interval="hour",
            **{"from": "2025-03-12", "to": "2025-03-12"},
        )
        daily = await get(
            api,
            "/api/v1/portal/timeseries",
            site="hcm",
            **{"from": "2025-03-10", "to": "2025-03-12"},
        )
    points, before = hourly["points"], hourly["compare_points"]
    assert hourly["compare_cut"] == cut("2025-03-11T10:00+07:00")
    assert [p["visits"] for p in points[:11]] == [0] * 9 + [1, None]
    assert all(p["visits"] is None and p["pageviews"] is None for p in points[10:])
    assert [p["visits"] for p in before[:11]] == [1] + [0] * 8 + [1, None]
    fields = ("visits", "pageviews", "unique_visitors", "pages_per_visit",
              "avg_visit_duration_s", "bounce_rate")  # fmt: skip
    # d (15:00 yesterday) is after the cut: the point is not counted (null), not 0
    assert before[15] == {"t": "2025-03-11T15:00", **dict.fromkeys(fields)}
    assert [p["visits"] for p in daily["points"]] == [1, 3, 1]
    assert [p["visits"] for p in daily["compare_points"]] == [1, 0, 1]  # j; -; h (not i)


# --- breakdowns and compare (daily rollups completed from the raw tables for the cut's day) ---

TODAY = {"from": "2025-03-12", "to": "2025-03-12"}
THREE_DAYS = {"from": "2025-03-10", "to": "2025-03-12"}


def by_key(answer: dict[str, Any], measure: str = "visits") -> dict[Any, tuple[Any, Any]]:
    prev = f"previous_{measure}"
    return {r["key"]: (r[measure], r[prev]) for r in answer["rows"]}


async def test_breakdown_by_country_is_cut_like_the_overview(portal: App) -> None:
    """Visits by country (Phụ lục 2, I.9 "Danh sách quốc gia"), the 12th at 10:05: today until
    10:00 (a) against the 11th until 10:00 (e, c); over the 10th-12th, the 10th and 11th come
    whole from the daily rollup and the 12th until 10:00 from the raw sessions (g, e, c, d, a),
    against the 7th-8th whole and the 9th until 10:00 (j, h; not i at 12:00)."""
    async with portal(NOW) as api:
        today = await get(api, "/api/v1/portal/breakdown", site="hcm", by="country", **TODAY)
        three = await get(api, "/api/v1/portal/breakdown", site="hcm", by="country", **THREE_DAYS)
    assert today["period_cut"] == cut("2025-03-12T10:00+07:00")
    assert today["compare_cut"] == cut("2025-03-11T10:00+07:00")
    assert by_key(today) == {"VN": (1, 2)} and today["total"] == {"visits": 1}
    assert three["compare_cut"] == cut("2025-03-09T10:00+07:00")
    assert by_key(three) == {"VN": (5, 2)}
    assert three["rows"][0]["change_pct"] == 150.0


async def test_breakdown_by_page_merges_rollup_and_raw_distinct_counts(portal: App) -> None:
    """Most viewed pages (I.8), by each pageview's own local time. Over the 10th-12th cut at
    10:00 on the 12th: /a viewed by g, e, c, d (rollup days) and a (raw, 09:10 on the 12th):
    5 pageviews, 5 visits, 5 visitors (states of both merged); /b by c (10:10 on the 11th, a
    whole day) and a (09:11): 2. Against the 7th-9th cut at 10:00 on the 9th: /a by j, h."""
    async with portal(NOW) as api:
        three = await get(api, "/api/v1/portal/breakdown", site="hcm", by="page", **THREE_DAYS)
        today = await get(api, "/api/v1/portal/breakdown", site="hcm", by="page", **TODAY)
    rows = {r["key"]: r for r in three["rows"]}
    assert (rows["/a"]["pageviews"], rows["/a"]["visits"], rows["/a"]["unique_visitors"]) == (
        5, 5, 5,
    )  # fmt: skip
    assert by_key(three, "pageviews") == {"/a": (5, 2), "/b": (2, 0)}
    assert three["total"] == {"pageviews": 7}  # the overview's pageviews over the same cut
    # today: a's /a and /b (b's 10:02 pageview is in the running hour); the 11th until 10:00:
    # e's and c's /a (c's /b at 10:10 is after the comparison cut)
    assert by_key(today, "pageviews") == {"/a": (1, 2), "/b": (1, 0)}


async def test_breakdown_by_visit_keys_and_hours_are_cut(portal: App) -> None:
    """Entry and exit pages (of the visit, by its first hit) from the 0012 dims completed from
    raw sessions; the 24-hour profile (I.6 "Lượt truy cập trong 24 giờ") from hourly rollups:
    today a at 09:xx only, against e at 00:00 and c at 09:50 (d at 15:00 is after the cut)."""
    async with portal(NOW) as api:
        entry = await get(api, "/api/v1/portal/breakdown", site="hcm", by="exit_page", **TODAY)
        hours = await get(api, "/api/v1/portal/breakdown", site="hcm", by="hour_of_day", **TODAY)
    assert by_key(entry) == {"/b": (1, 1)}  # a left on /b; c (yesterday 09:50) too, e on /a
    visits = {r["key"]: (r["visits"], r["previous_visits"]) for r in hours["rows"]}
    assert visits[9] == (1, 1) and visits[0] == (0, 1) and visits[10] == (0, 0)
    assert visits[15] == (0, 0)
    assert hours["period_cut"] == cut("2025-03-12T10:00+07:00")


async def test_breakdown_at_midnight_is_nothing_against_nothing(portal: App) -> None:
    """The first instant of the 12th: both sides are empty, not today's nothing against all
    of the 11th (the empty comparison period: no rows, no change)."""
    async with portal(L(12, 0)) as api:
        answer = await get(api, "/api/v1/portal/breakdown", site="hcm", by="country", **TODAY)
    assert answer["period_cut"] == cut("2025-03-12T00:00+07:00")
    assert answer["rows"] == [] and answer["total"] == {"visits": 0}


async def test_a_breakdown_of_a_period_ended_before_today_is_whole(portal: App) -> None:
    async with portal(NOW) as api:
        answer = await get(
            api, "/api/v1/portal/breakdown", site="hcm", by="page",
            **{"from": "2025-03-11", "to": "2025-03-11"},
        )  # fmt: skip
    assert answer["period_cut"] == WHOLE and answer["compare_cut"] == WHOLE
    # e, c, d each viewed /a; c's /b at 10:10 counts (the 11th is whole); the 10th: g
    assert by_key(answer, "pageviews") == {"/a": (3, 1), "/b": (1, 0)}


async def test_compare_cuts_each_site_at_its_own_local_hour(portal: App) -> None:
    """I.12 "So sánh các trang": two sites side by side over the same period; each is cut at
    its own local now (Hồ Chí Minh City 10:00, Tokyo 12:00) and compared with the same part of
    the 11th: hcm a against e, c; tk k against m (n at 13:00 is after Tokyo's cut)."""
    async with portal(NOW) as api:
        answer = await get(api, "/api/v1/portal/compare", sites="hcm,tk", **TODAY)
    assert answer["period_cut"]["cuts"] == {
        "hcm": "2025-03-12T10:00+07:00",
        "tk": "2025-03-12T12:00+09:00",
    }
    assert answer["compare_cut"]["cuts"]["tk"] == "2025-03-11T12:00+09:00"
    sites = {s["site"]: s for s in answer["sites"]}
    assert counts(sites["hcm"])["visits"] == (1, 2, -50.0)
    assert counts(sites["tk"])["visits"] == (1, 1, 0.0)
    country = sites["tk"]["breakdowns"]["country"]
    assert [(r["key"], r["visits"], r["previous_visits"]) for r in country] == [("VN", 1, 1)]


async def test_breakdown_by_site_in_two_timezones(portal: App) -> None:
    async with portal(NOW) as api:
        answer = await get(api, "/api/v1/portal/breakdown", site="hcm,tk", by="site", **TODAY)
    assert by_key(answer) == {"hcm": (1, 2), "tk": (1, 1)}


# --- DVC and one-stop -----------------------------------------------------------------------

D = dossier_test.Dossier
DL = dossier_test.L  # epoch ms of a local (UTC+7) time in March 2026
DOSSIERS = [
    D("R1", "P", "online", DL(4, 9)),  # today before 10:00: counted
    D("R2", "P", "online", DL(4, 10, 10)),  # today in the running hour: after the cut
    D("R3", "P", "online", DL(3, 9, 30)),  # yesterday 09:30: counted
    D("R4", "P", "direct", DL(3, 15)),  # yesterday afternoon: after the comparison cut
    D("S1", "1.001193", "online", None, submitted=DL(4, 9), site="dvc"),
    D("S2", "1.001193", "online", None, submitted=DL(3, 13), site="dvc"),
]
DVC_PAGEVIEWS = [DL(4, 9, 10), DL(3, 8), DL(3, 11)]


@pytest_asyncio.fixture(loop_scope="session")
async def dossiers(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[httpx.AsyncClient]:
    """One-stop site ``mc`` and DVC site ``dvc``; now = 4 March 2026 10:20 local (UTC+7)."""
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    for site, kind in [("mc", "onestop"), ("dvc", "dvc")]:
        db.command(
            "INSERT INTO sites (id, name, type, updated_at) VALUES "
            f"('{site}', '{site}', '{kind}', now64())"
        )
    dossier_test._store(db, DOSSIERS)
    rows = []
    for n, ts in enumerate(DVC_PAGEVIEWS):
        hit = EnrichedHit(
            event_id=f"pv{n}", site="dvc", ts=ts, local_ms=ts + 7 * 3_600_000, received_ms=ts,
            type=HitType.PAGEVIEW, url="https://dvc.gov.vn/", visitor_id=f"v{n}",
        )  # fmt: skip
        rows.append(hit_row(hit, Origin("t", 0, n))[1])
    db.insert("pageviews", rows, COLUMNS["pageviews"])
    app = create_app(settings, db, clock=_clock(datetime(2026, 3, 4, 10, 20)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_onestop_today_against_yesterday_until_the_same_hour(
    dossiers: httpx.AsyncClient,
) -> None:
    today = {"from": "2026-03-04", "to": "2026-03-04"}
    answer = await get(dossiers, "/api/v1/onestop/overview", site="mc", **today)
    assert answer["compare"] == {"from": "2026-03-03", "to": "2026-03-03"}
    assert answer["period_cut"] == cut("2026-03-04T10:00+07:00")
    assert answer["compare_cut"] == cut("2026-03-03T10:00+07:00")
    received = answer["metrics"]["received_total"]
    assert (received["value"], received["previous"], received["change_pct"]) == (1, 1, 0.0)
    rate = answer["metrics"]["online_rate_pct"]  # R1 against R3: both online (R4 was direct)
    assert (rate["value"], rate["previous"]) == (100.0, 100.0)
    ended = await get(
        dossiers,
        "/api/v1/onestop/overview",
        site="mc",
        **{"from": "2026-03-03", "to": "2026-03-03"},
    )
    assert ended["period_cut"] == WHOLE and ended["compare_cut"] == WHOLE
    assert ended["metrics"]["received_all_channels"]["value"] == 2  # R3, R4: the whole day
    assert ended["metrics"]["received_total"]["value"] == 1  # III.3, online sources: R3


async def test_dvc_today_against_yesterday_until_the_same_hour(dossiers: httpx.AsyncClient) -> None:
    today = {"from": "2026-03-04", "to": "2026-03-04"}
    answer = await get(dossiers, "/api/v1/dvc/overview", site="dvc", **today)
    assert answer["compare_cut"] == cut("2026-03-03T10:00+07:00")
    m = answer["metrics"]
    assert (m["pageviews"]["value"], m["pageviews"]["previous"]) == (1, 1)  # not the 11:00 one
    assert (m["submissions"]["value"], m["submissions"]["previous"]) == (1, 0)  # S2 at 13:00
    none = await get(dossiers, "/api/v1/dvc/overview", site="dvc", compare="none", **today)
    assert none["compare_cut"] is None and none["period_cut"] == cut("2026-03-04T10:00+07:00")
