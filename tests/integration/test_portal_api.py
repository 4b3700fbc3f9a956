"""Portal indicator endpoints on the real ClickHouse engine, against known answers.

The traffic is written out below as explicit visits (site, visitor, local start, hits). The
hits go through the project's own sessionizer (``streams.sessionize.advance``) and row builders
(``sink.rows``) into ``pageviews`` / ``bot_hits`` / ``sessions`` exactly as the sink writes
them, so the materialized views fill the rollups as in production. Every expected number is
computed here from the visit list by the definitions of DESIGN §2 (seed 000 where it wins, issue 16: I.2 over every pageview,
I.4 over users), independently of the SQL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from clickhouse.client import Database
from core.settings import Settings
from schemas.hits import EnrichedHit, HitType
from sink.rows import COLUMNS, Origin, hit_row, session_row
from streams.sessionize import advance

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "portal-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OFFSET = {"hcm": timedelta(hours=7), "hn": timedelta(hours=7)}  # Asia/Ho_Chi_Minh, no DST
P = HitType.PAGEVIEW
E = HitType.EVENT
G = HitType.ENGAGEMENT


@dataclass
class Visit:
    site: str
    visitor: str
    start: datetime  # local wall clock of the first hit
    hits: list[tuple[int, HitType, str]]  # (seconds after start, type, path)
    country: str = "VN"
    city: str = "Hanoi"
    device: str = "desktop"
    browser: str = "Chrome"
    os: str = "Windows"
    referrer: str = ""
    query: str = ""  # of the landing URL (the first hit's), e.g. utm_source=zalo
    local_hits: list[tuple[datetime, HitType, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.local_hits = [(self.start + timedelta(seconds=s), t, p) for s, t, p in self.hits]


def L(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local time in March 2025."""
    return datetime(2025, 3, day, hour, minute, second)


VISITS = [
    # two pageviews and an event: not a bounce, 120 s
    Visit(
        "hcm", "u1", L(10, 9), [(0, P, "/a"), (60, P, "/b"), (120, E, "/b")], referrer="google.com"
    ),
    # straddles midnight: counts on the 10th, its second pageview belongs to the 11th
    Visit(
        "hcm",
        "u2",
        L(10, 23, 50),
        [(0, P, "/a"), (1200, P, "/c")],
        city="Ho Chi Minh City",
        device="mobile",
        browser="Mobile Safari",
        os="iOS",
    ),
    # same visitor again on the 11th: a bounce of 0 s
    Visit("hcm", "u1", L(11, 14), [(0, P, "/a")]),
    # straddles the period's end: counts on the 12th, second pageview on the 13th (outside)
    Visit(
        "hcm",
        "u3",
        L(12, 23, 45),
        [(0, P, "/a"), (1500, P, "/b")],
        country="US",
        city="",
        device="tablet",
        browser="Firefox",
        os="Android",
        referrer="facebook.com",
    ),
    # one pageview + engagement ping: a bounce that lasts 300 s
    Visit("hcm", "u4", L(12, 10), [(0, P, "/a"), (300, G, "/a")], referrer="google.com"),
    # previous period, straddles the period's start: the visit counts on the 9th, /b on the 10th
    Visit("hcm", "u5", L(9, 23, 40), [(0, P, "/a"), (1800, P, "/b")]),
    Visit("hcm", "u6", L(8, 8), [(0, P, "/a"), (60, P, "/a"), (120, P, "/d")], device="mobile"),
    # 05:00 local is 22:00 UTC on the 9th: the local date decides
    Visit("hcm", "u7", L(10, 5), [(0, P, "/a")]),
    # realtime window (now = 12th 10:05:30 local)
    Visit("hcm", "u9", L(12, 9, 40), [(0, P, "/f"), (600, P, "/a")]),
    Visit("hcm", "u10", L(12, 9, 35, 30), [(0, P, "/g")]),  # exactly now - 30 min: outside
    # a second site sharing visitor u1
    Visit("hn", "u1", L(10, 10), [(0, P, "/a"), (120, P, "/e")], device="mobile"),
    Visit("hn", "u8", L(11, 7), [(0, P, "/a")], country="LA", city="Vientiane"),
]
#: Bot hits (site, local time, path): stored in bot_hits, counted nowhere.
BOTS = [("hcm", L(10, 9, 30), "/a"), ("hcm", L(12, 10, 5), "/a"), ("hn", L(11, 7), "/a")]
NOW_LOCAL = L(12, 10, 5, 30)
NOW = (NOW_LOCAL - OFFSET["hcm"]).replace(tzinfo=UTC)
PERIOD = (date(2025, 3, 10), date(2025, 3, 12))
PREVIOUS = (date(2025, 3, 7), date(2025, 3, 9))


def _ms(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def _enriched(visit: Visit, n: int, local: datetime, kind: HitType, path: str) -> EnrichedHit:
    utc = local - OFFSET[visit.site]
    return EnrichedHit(
        event_id=f"{visit.site}-{visit.visitor}-{_ms(local)}-{n}", site=visit.site, ts=_ms(utc),
        local_ms=_ms(local), received_ms=_ms(utc) + 50, type=kind,
        name="click" if kind is E else "",
        url=f"https://{visit.site}.gov.vn{path}" + (f"?{visit.query}" if visit.query and n == 0 else ""),
        host=f"{visit.site}.gov.vn", path=path,
        referrer=f"https://{visit.referrer}/" if visit.referrer else "",
        referrer_host=visit.referrer, visitor_id=visit.visitor, country=visit.country,
        city=visit.city, device=visit.device, browser=visit.browser, os=visit.os,
    )  # fmt: skip


def load(db: Database, visits: list[Visit], bots: list[tuple[str, datetime, str]]) -> None:
    """Sessionize the hits in time order and insert the rows the sink would write."""
    hits = [
        (v, n, local, kind, path)
        for v in visits
        for n, (local, kind, path) in enumerate(v.local_hits)
    ]
    hits.sort(key=lambda h: _ms(h[2] - OFFSET[h[0].site]))
    states: dict[tuple[str, str], Any] = {}
    out: dict[str, list[list[Any]]] = {"pageviews": [], "bot_hits": [], "sessions": []}
    origin = Origin("test", 0, 0)
    for visit, n, local, kind, path in hits:
        key = (visit.site, visit.visitor)
        result = advance(
            states.get(key), _enriched(visit, n, local, kind, path), visit.visitor,
            timeout_s=1800, max_s=86400, now_ms=0,
        )  # fmt: skip
        states[key] = result.state
        for hit in result.hits:
            out["pageviews"].append(hit_row(hit, origin)[1])
        for update in result.updates:
            if update.prev is not None:
                out["sessions"].append(session_row(update.prev, -1, origin, "prev"))
            out["sessions"].append(session_row(update.cur, 1, origin, "cur"))
    for i, (site, local, path) in enumerate(bots):
        bot = Visit(site, f"bot{i}", local, [(0, P, path)])
        hit = _enriched(bot, 0, local, P, path).model_copy(
            update={"is_bot": True, "bot_reason": "ua"}
        )
        table, row = hit_row(hit, origin)
        out[table].append(row)
    for table, rows in out.items():
        # two inserts per table, like two sink batches
        half = len(rows) // 2
        for part in (rows[:half], rows[half:]):
            if part:
                db.insert(table, part, COLUMNS[table])


# --- expectations, from the visit list ------------------------------------------------------


def _in(day: date, period: tuple[date, date]) -> bool:
    return period[0] <= day <= period[1]


def _before(moment: datetime, until: datetime | None) -> bool:
    """Inside a period cut at the local time ``until`` (None: not cut; issue 16)."""
    return until is None or moment < until


def counted(
    sites: set[str], period: tuple[date, date], until: datetime | None = None
) -> list[Visit]:
    return [
        v
        for v in VISITS
        if v.site in sites and _in(v.start.date(), period) and _before(v.start, until)
    ]


def page_hits(
    sites: set[str], period: tuple[date, date], until: datetime | None = None
) -> list[tuple[Visit, datetime, str]]:
    return [
        (v, t, p)
        for v in VISITS
        if v.site in sites
        for t, k, p in v.local_hits
        if k is P and _in(t.date(), period) and _before(t, until)
    ]


def pv(v: Visit) -> int:
    return sum(1 for _, k, _ in v.local_hits if k is P)


def duration(v: Visit) -> float:
    return (v.local_hits[-1][0] - v.local_hits[0][0]).total_seconds()


def bounce(v: Visit) -> bool:
    return pv(v) == 1 and not any(k is E for _, k, _ in v.local_hits)


def user_bounce_rate(vs: list[Visit]) -> float | None:
    """I.4 over users (seed 000, Phụ lục 2, I.4: "phần trăm người dùng rời khỏi Cổng/ Trang
    thông tin điện tử sau khi chỉ truy cập vào một trang thành phần"): visitors every one of
    whose visits ``vs`` bounced / visitors of ``vs`` × 100 (u1 bounces on the 11th but looked at
    two pages on the 10th: over the 10th-12th u1 did not bounce)."""
    users = {v.visitor for v in vs}
    if not users:
        return None
    bounced = {u for u in users if all(bounce(v) for v in vs if v.visitor == u)}
    return 100 * len(bounced) / len(users)


def expected_totals(
    sites: set[str], period: tuple[date, date], until: datetime | None = None
) -> dict[str, Any]:
    vs = counted(sites, period, until)
    n = len(vs)
    visitors = {
        v.visitor
        for v in VISITS
        if v.site in sites
        for t, _, _ in v.local_hits
        if _in(t.date(), period) and _before(t, until)
    }
    pageviews = len(page_hits(sites, period, until))
    return {
        "visits": n,
        "pageviews": pageviews,
        "unique_visitors": len(visitors),
        # I.2 (seed 000): "tổng số lượt xem trang (pageview) / lượt truy cập (visit)"
        "pages_per_visit": pageviews / n if n else None,
        "avg_visit_duration_s": sum(duration(v) for v in vs) / n if n else None,
        "bounce_rate": user_bounce_rate(vs),
    }


def pct(v: float | None, p: float | None) -> float | None:
    return None if v is None or not p else round((v - p) / p * 100, 1)


def r(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)


def expected_metrics(
    sites: set[str],
    cur: tuple[date, date],
    prev: tuple[date, date] | None,
    until: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """The overview's metrics; ``until`` = the local cuts of the period and of the comparison
    period when the period contains now (issue 16), None for whole periods."""
    c = expected_totals(sites, cur, until[0] if until else None)
    p = expected_totals(sites, prev, until[1] if until else None) if prev else dict.fromkeys(c)
    digits = {"pages_per_visit": 2, "avg_visit_duration_s": 1}
    out: dict[str, Any] = {}
    for name in (
        "visits",
        "pageviews",
        "unique_visitors",
        "pages_per_visit",
        "avg_visit_duration_s",
    ):
        d = digits.get(name)
        out[name] = {
            "value": c[name] if d is None else r(c[name], d),
            "previous": p[name] if d is None else r(p[name], d),
            "change_pct": pct(c[name], p[name]),
        }
    b, pb = c["bounce_rate"], p["bounce_rate"]
    out["bounce_rate"] = {
        "value": r(b, 1),
        "previous": r(pb, 1),
        "change_pp": None if b is None or pb is None else round(b - pb, 1),
        "change_pct": pct(b, pb),  # seed 000 I.4: "theo tỷ lệ %"
    }
    return out


# --- fixtures ---------------------------------------------------------------------------


#: "Now" of the period tests: after all the traffic, so their periods are over and counted whole
#: (a period that contains now is cut, issue 16: tests/integration/test_partial_periods.py).
AFTER = (L(20, 12) - OFFSET["hcm"]).replace(tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="session")
async def api(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(clickhouse_engine, ch_database, AFTER):
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def api_now(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with "now" = NOW (12th 10:05:30 local), for realtime."""
    async for client in _client(clickhouse_engine, ch_database, NOW):
        yield client


async def _client(
    clickhouse_engine: Any, ch_database: str, now: datetime
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN, api_max_range_days=31)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    for site in ("hcm", "hn"):
        db.command(
            "INSERT INTO sites (id, name, type, timezone, updated_at) "
            f"VALUES ('{site}', '{site}', 'portal', 'Asia/Ho_Chi_Minh', now64())"
        )
    load(db, VISITS, BOTS)
    app = create_app(settings, db, clock=now.timestamp)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def get(api: httpx.AsyncClient, path: str, **params: str) -> Any:
    response = await api.get(f"/api/v1/portal/{path}", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


# --- tests ------------------------------------------------------------------------------


async def test_seed_definitions_of_pages_per_visit_and_bounce(api: httpx.AsyncClient) -> None:
    """Seed 000 (Phụ lục 2, I: Cổng thông tin điện tử) wins over DESIGN §2 (issue 16):

    I.2 "Số trang xem trung bình/lượt truy cập": "Tính bằng tổng số lượt xem trang (pageview) /
    lượt truy cập (visit)" — every pageview of the period. On the 11th at hcm one visit starts
    (u1, one pageview) and u2's visit of the 10th shows /c at 00:10: 2 pageviews / 1 visit = 2.0
    (the pageviews of the visits counted would give 1.0).

    I.4 "Tỷ lệ thoát trang": "Tỷ lệ thoát là phần trăm người dùng rời khỏi Cổng/ Trang thông tin
    điện tử sau khi chỉ truy cập vào một trang thành phần … Hiển thị mức độ tăng giảm tỷ lệ thoát
    trang của người dùng so với cùng kỳ trước đó (theo tỷ lệ %)". The 10th-11th at hcm: users
    u1 (two pages on the 10th, a bounce on the 11th), u2 (two pages), u7 (a bounce): 1 of 3
    users bounced = 33.3 % (visits: 2 bounces of 4 = 50 %). The 8th-9th: u6 (three pages) and
    u5 (two pages): 0 %, so the change in percent is undefined (null), 33.3 points."""
    one = await get(
        api, "overview", site="hcm", compare="none", **{"from": "2025-03-11", "to": "2025-03-11"}
    )
    m = one["metrics"]
    assert (m["visits"]["value"], m["pageviews"]["value"], m["pages_per_visit"]["value"]) == (
        1,
        2,
        2.0,
    )
    two = await get(api, "overview", site="hcm", **{"from": "2025-03-10", "to": "2025-03-11"})
    assert two["compare_period"] == {"from": "2025-03-08", "to": "2025-03-09"}
    assert two["metrics"]["bounce_rate"] == {
        "value": 33.3,
        "previous": 0.0,
        "change_pp": 33.3,
        "change_pct": None,
    }
    days = await get(
        api, "timeseries", site="hcm", compare="none", **{"from": "2025-03-10", "to": "2025-03-11"}
    )
    # per day: the 10th u1, u2, u7 (u7 bounced) = 33.3 %; the 11th u1 (bounced) = 100 %
    assert [p["bounce_rate"] for p in days["points"]] == [33.3, 100.0]
    assert [p["pages_per_visit"] for p in days["points"]] == [round(5 / 3, 2), 2.0]


async def test_bots_are_stored_apart_and_visits_as_built(api: httpx.AsyncClient) -> None:
    sql = "SELECT (SELECT count() FROM bot_hits), (SELECT sum(sign) FROM sessions)"
    response = await api.post("/api/v1/sql", json={"sql": sql}, headers=AUTH)
    assert response.json()["rows"] == [[len(BOTS), len(VISITS)]]


@pytest.mark.parametrize("sites", ["hcm", "hn", "hcm,hn"])
async def test_overview_against_the_previous_period(api: httpx.AsyncClient, sites: str) -> None:
    answer = await get(api, "overview", site=sites, **{"from": "2025-03-10", "to": "2025-03-12"})
    assert answer["site"] == sites
    assert answer["period"] == {"from": "2025-03-10", "to": "2025-03-12"}
    assert answer["compare_period"] == {"from": "2025-03-07", "to": "2025-03-09"}
    assert answer["metrics"] == expected_metrics(set(sites.split(",")), PERIOD, PREVIOUS)


async def test_overview_known_values_of_the_edge_cases(api: httpx.AsyncClient) -> None:
    """The same answer spelled out: midnight, period boundaries, timezone, bots, overlap."""
    m = (await get(api, "overview", site="hcm,hn", **{"from": "2025-03-10", "to": "2025-03-12"}))[
        "metrics"
    ]
    # hcm: u1, u2 (23:50 on the 10th), u1, u3 (23:45 on the 12th), u4, u7 (05:00 local), u9, u10
    # hn: u1, u8. Not u5 (starts on the 9th) nor u6.
    assert m["visits"]["value"] == 10
    assert m["visits"]["previous"] == 2
    # pageviews by hit time (events are not pageviews): u1 2, u2 2, u1 1, u3 1 (its /b is on
    # the 13th), u4 1, u5's /b on the 10th 1, u7 1, u9 2, u10 1, hn u1 2, u8 1; bots never
    assert m["pageviews"]["value"] == 2 + 2 + 1 + 1 + 1 + 1 + 1 + 2 + 1 + 2 + 1
    # hcm: u1 u2 u3 u4 u5 (its /b on the 10th) u7 u9 u10 = 8; hn: u1 u8 = 2; u1 is on both
    # sites, so the union has 9, not the 10 that adding the sites would give
    assert m["unique_visitors"]["value"] == 9
    alone = [
        (await get(api, "overview", site=s, **{"from": "2025-03-10", "to": "2025-03-12"}))
        for s in ("hcm", "hn")
    ]
    assert [a["metrics"]["unique_visitors"]["value"] for a in alone] == [8, 2]


async def test_overview_with_an_empty_comparison_year(api: httpx.AsyncClient) -> None:
    answer = await get(
        api, "overview", site="hcm", compare="year", **{"from": "2025-03-10", "to": "2025-03-12"}
    )
    assert answer["compare_period"] == {"from": "2024-03-10", "to": "2024-03-12"}
    m = answer["metrics"]
    assert m["visits"] == {
        "value": len(counted({"hcm"}, PERIOD)),
        "previous": 0,
        "change_pct": None,
    }
    assert m["bounce_rate"]["previous"] is None and m["bounce_rate"]["change_pp"] is None
    assert m["pages_per_visit"]["previous"] is None and m["pages_per_visit"]["change_pct"] is None
    assert m == expected_metrics({"hcm"}, PERIOD, (date(2024, 3, 10), date(2024, 3, 12)))
    none = await get(
        api, "overview", site="hcm", compare="none", **{"from": "2025-03-10", "to": "2025-03-12"}
    )
    assert none["compare_period"] is None
    assert none["metrics"]["visits"] == {
        "value": m["visits"]["value"],
        "previous": None,
        "change_pct": None,
    }


def expected_points(
    sites: set[str], period: tuple[date, date], hourly: bool
) -> list[dict[str, Any]]:
    points = []
    day = period[0]
    while day <= period[1]:
        hours = range(24) if hourly else [None]
        for hour in hours:

            def within(t: datetime, day: date = day, hour: int | None = hour) -> bool:
                return t.date() == day and (hour is None or t.hour == hour)

            vs = [v for v in VISITS if v.site in sites and within(v.start)]
            n = len(vs)
            views = sum(
                1
                for v in VISITS
                if v.site in sites
                for t, k, _ in v.local_hits
                if k is P and within(t)
            )
            points.append({
                "t": day.isoformat() if hour is None else f"{day.isoformat()}T{hour:02d}:00",
                "visits": n,
                "pageviews": views,
                "unique_visitors": len({v.visitor for v in VISITS if v.site in sites for t, _, _ in v.local_hits if within(t)}),
                "pages_per_visit": r(views / n, 2) if n else None,
                "avg_visit_duration_s": r(sum(duration(v) for v in vs) / n, 1) if n else None,
                "bounce_rate": r(user_bounce_rate(vs), 1),
            })  # fmt: skip
        day += timedelta(days=1)
    return points


async def test_timeseries_by_day_zero_filled_with_comparison(api: httpx.AsyncClient) -> None:
    answer = await get(
        api, "timeseries", site="hcm,hn", **{"from": "2025-03-06", "to": "2025-03-12"}
    )
    assert answer["interval"] == "day"
    assert answer["compare_period"] == {"from": "2025-02-27", "to": "2025-03-05"}
    assert answer["points"] == expected_points(
        {"hcm", "hn"}, (date(2025, 3, 6), date(2025, 3, 12)), False
    )
    assert answer["points"][0]["visits"] == 0  # the 6th has no data: zero-filled
    assert answer["compare_points"] == expected_points(
        {"hcm", "hn"}, (date(2025, 2, 27), date(2025, 3, 5)), False
    )
    assert len(answer["compare_points"]) == 7


async def test_timeseries_by_local_hour(api: httpx.AsyncClient) -> None:
    answer = await get(
        api,
        "timeseries",
        site="hcm",
        interval="hour",
        compare="previous",
        **{"from": "2025-03-10", "to": "2025-03-10"},
    )
    assert len(answer["points"]) == 24
    assert answer["points"] == expected_points(
        {"hcm"}, (date(2025, 3, 10), date(2025, 3, 10)), True
    )
    assert answer["points"][5]["visits"] == 1  # u7 at 05:00 local (22:00 UTC the day before)
    assert answer["compare_points"] == expected_points(
        {"hcm"}, (date(2025, 3, 9), date(2025, 3, 9)), True
    )


def visit_key(v: Visit, by: str) -> str:
    if by == "entry_page":
        return v.local_hits[0][2]
    if by == "exit_page":
        return [p for _, k, p in v.local_hits if k is P][-1]
    if by == "referrer":
        return v.referrer
    return str(getattr(v, by))


def expected_visit_rows(
    sites: set[str], by: str, prev: tuple[date, date] | None
) -> list[dict[str, Any]]:
    vs = counted(sites, PERIOD)
    keys = sorted(
        {visit_key(v, by) for v in vs}, key=lambda k: (-sum(visit_key(v, by) == k for v in vs), k)
    )
    rows = []
    for key in keys:
        group = [v for v in vs if visit_key(v, by) == key]
        n = len(group)
        before = sum(visit_key(v, by) == key for v in counted(sites, prev)) if prev else None
        rows.append({
            "key": key, "visits": n, "pageviews": sum(pv(v) for v in group),
            "share_pct": round(100 * n / len(vs), 1),
            "pages_per_visit": round(sum(pv(v) for v in group) / n, 2),
            "avg_visit_duration_s": round(sum(duration(v) for v in group) / n, 1),
            "bounce_rate": r(user_bounce_rate(group), 1),  # I.4 over users, row by row
            "previous_visits": before, "change_pct": pct(n, before),
        })  # fmt: skip
    return rows


@pytest.mark.parametrize(
    "by", ["country", "city", "device", "browser", "os", "entry_page", "exit_page", "referrer"]
)
async def test_visit_breakdowns(api: httpx.AsyncClient, by: str) -> None:
    answer = await get(
        api, "breakdown", site="hcm,hn", by=by, **{"from": "2025-03-10", "to": "2025-03-12"}
    )
    expected = expected_visit_rows({"hcm", "hn"}, by, PREVIOUS)
    assert answer["by"] == by
    assert answer["total"] == {"visits": len(counted({"hcm", "hn"}, PERIOD))}
    assert answer["rows"] == expected
    limited = await get(
        api,
        "breakdown",
        site="hcm,hn",
        by=by,
        limit="1",
        compare="none",
        **{"from": "2025-03-10", "to": "2025-03-12"},
    )
    assert limited["rows"] == [{**expected[0], "previous_visits": None, "change_pct": None}]
    assert limited["total"] == answer["total"]  # shares stay shares of every visit


async def test_page_breakdown_by_hit_time(api: httpx.AsyncClient) -> None:
    answer = await get(
        api, "breakdown", site="hcm", by="page", **{"from": "2025-03-10", "to": "2025-03-12"}
    )
    hits = page_hits({"hcm"}, PERIOD)
    before = page_hits({"hcm"}, PREVIOUS)
    paths = sorted({p for _, _, p in hits}, key=lambda p: (-sum(x == p for _, _, x in hits), p))
    expected = []
    for path in paths:
        mine = [(v, t) for v, t, p in hits if p == path]
        prev = sum(p == path for _, _, p in before)
        expected.append({
            "key": path, "pageviews": len(mine), "visits": len({id(v) for v, _ in mine}),
            "unique_visitors": len({v.visitor for v, _ in mine}),
            "share_pct": round(100 * len(mine) / len(hits), 1),
            "previous_pageviews": prev, "change_pct": pct(len(mine), prev),
        })  # fmt: skip
    assert answer["total"] == {"pageviews": len(hits)}
    assert answer["rows"] == expected
    assert "/c" in paths and "/b" in paths  # u2's 00:10 pageview, u5's boundary pageview


async def test_hour_of_day_profile(api: httpx.AsyncClient) -> None:
    answer = await get(
        api,
        "breakdown",
        site="hcm,hn",
        by="hour_of_day",
        **{"from": "2025-03-10", "to": "2025-03-12"},
    )
    vs = counted({"hcm", "hn"}, PERIOD)
    hits = page_hits({"hcm", "hn"}, PERIOD)
    prev = counted({"hcm", "hn"}, PREVIOUS)
    expected = []
    for hour in range(24):
        group = [v for v in vs if v.start.hour == hour]
        n = len(group)
        before = sum(v.start.hour == hour for v in prev)
        views = sum(t.hour == hour for _, t, _ in hits)
        expected.append({
            "key": hour, "visits": n, "pageviews": views,
            "share_pct": round(100 * n / len(vs), 1),
            "pages_per_visit": round(views / n, 2) if n else None,  # I.2, I.6: every pageview
            "avg_visit_duration_s": round(sum(duration(v) for v in group) / n, 1) if n else None,
            "bounce_rate": r(user_bounce_rate(group), 1),  # I.4 over users, row by row
            "previous_visits": before, "change_pct": pct(n, before),
        })  # fmt: skip
    assert answer["rows"] == expected
    assert answer["rows"][0]["pageviews"] == 2  # 00:10 pageviews of u2 (11th) and u5 (10th)


async def test_site_ranking(api: httpx.AsyncClient) -> None:
    answer = await get(
        api,
        "breakdown",
        site="hn,hcm",
        by="site",
        compare="none",
        **{"from": "2025-03-10", "to": "2025-03-12"},
    )
    assert [(row["key"], row["visits"]) for row in answer["rows"]] == [
        ("hcm", len(counted({"hcm"}, PERIOD))),
        ("hn", len(counted({"hn"}, PERIOD))),
    ]


async def test_realtime(api_now: httpx.AsyncClient) -> None:
    api = api_now
    answer = await get(api, "realtime", site="hcm")
    now_local = NOW_LOCAL
    hits = [(v, t, k, p) for v in VISITS if v.site == "hcm" for t, k, p in v.local_hits]
    last30 = [h for h in hits if now_local - timedelta(minutes=30) < h[1] <= now_local]
    last5 = [h for h in hits if now_local - timedelta(minutes=5) < h[1] <= now_local]
    assert answer["now"] == "2025-03-12T03:05:30Z"
    assert answer["visitors_5m"] == len({h[0].visitor for h in last5}) == 1  # u4's engagement ping
    assert answer["visitors_30m"] == len({h[0].visitor for h in last30}) == 2  # u4, u9; not u10
    assert answer["pageviews_30m"] == sum(h[2] is P for h in last30) == 3
    assert answer["visits_30m"] == sum(
        now_local - timedelta(minutes=30) < v.start <= now_local for v in VISITS if v.site == "hcm"
    )
    minutes = answer["pageviews_per_minute"]
    assert len(minutes) == 30
    assert (
        minutes[0]["minute"] == "2025-03-12T02:36Z" and minutes[-1]["minute"] == "2025-03-12T03:05Z"
    )
    first = datetime(2025, 3, 12, 9, 36)
    for i, point in enumerate(minutes):
        start = first + timedelta(minutes=i)
        assert point["pageviews"] == sum(
            h[2] is P and start <= h[1] < start + timedelta(minutes=1) and h[1] <= now_local
            for h in hits
        ), point
    assert answer["top_pages"] == [
        {"key": "/a", "pageviews": 2, "visitors": 2},
        {"key": "/f", "pageviews": 1, "visitors": 1},
    ]


async def test_compare_two_sites_side_by_side(api: httpx.AsyncClient) -> None:
    answer = await get(api, "compare", sites="hcm,hn", **{"from": "2025-03-10", "to": "2025-03-12"})
    assert answer["period"] == {"from": "2025-03-10", "to": "2025-03-12"}
    assert [s["site"] for s in answer["sites"]] == ["hcm", "hn"]
    for entry in answer["sites"]:
        site = {entry["site"]}
        assert entry["metrics"] == expected_metrics(site, PERIOD, PREVIOUS)
        for by in ("country", "device", "browser"):
            assert entry["breakdowns"][by] == expected_visit_rows(site, by, PREVIOUS)
        assert sum(r["pageviews"] for r in entry["breakdowns"]["page"]) == len(
            page_hits(site, PERIOD)
        )


async def test_csv_and_xlsx_exports(api: httpx.AsyncClient) -> None:
    params = {"site": "hcm,hn", "by": "country", "from": "2025-03-10", "to": "2025-03-12"}
    answer = await get(api, "breakdown", **params)
    response = await api.get(
        "/api/v1/portal/breakdown", params={**params, "format": "csv"}, headers=AUTH
    )
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="breakdown.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == list(answer["rows"][0])
    assert [row[0] for row in rows[1:]] == [row["key"] for row in answer["rows"]]
    assert [int(row[1]) for row in rows[1:]] == [row["visits"] for row in answer["rows"]]
    xlsx = await api.get(
        "/api/v1/portal/overview", params={**params, "format": "xlsx"}, headers=AUTH
    )
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    cells = list(sheet.iter_rows(values_only=True))
    assert cells[0] == ("metric", "value", "previous", "change", "change_unit")
    assert cells[1][:3] == ("visits", 10, 2)


@pytest.mark.parametrize(
    ("path", "params", "status", "prefix"),
    [
        (
            "overview",
            {"site": "nope", "from": "2025-03-10", "to": "2025-03-12"},
            404,
            "site: site 'nope'",
        ),
        (
            "overview",
            {"site": "hcm,nope", "from": "2025-03-10", "to": "2025-03-12"},
            404,
            "site: site 'nope'",
        ),
        ("overview", {"from": "2025-03-10", "to": "2025-03-12"}, 400, "site: required"),
        ("overview", {"site": "hcm", "from": "2025-03-32", "to": "2025-03-12"}, 400, "from:"),
        (
            "timeseries",
            {"site": "hcm", "from": "2025-03-12", "to": "2025-03-10"},
            400,
            "to: 2025-03-10 is before",
        ),
        (
            "breakdown",
            {"site": "hcm", "by": "country", "from": "2025-01-01", "to": "2025-03-12"},
            400,
            "to: the range",
        ),
        (
            "breakdown",
            {"site": "hcm", "by": "planet", "from": "2025-03-10", "to": "2025-03-12"},
            400,
            "by: 'planet'",
        ),
        (
            "breakdown",
            {"site": "hcm", "from": "2025-03-10", "to": "2025-03-12"},
            400,
            "by: required",
        ),
        (
            "breakdown",
            {"site": "hcm", "by": "page", "limit": "0", "from": "2025-03-10", "to": "2025-03-12"},
            400,
            "limit:",
        ),
        (
            "timeseries",
            {"site": "hcm", "interval": "week", "from": "2025-03-10", "to": "2025-03-12"},
            400,
            "interval:",
        ),
        (
            "overview",
            {"site": "hcm", "compare": "last", "from": "2025-03-10", "to": "2025-03-12"},
            400,
            "compare:",
        ),
        (
            "overview",
            {"site": "hcm", "format": "pdf", "from": "2025-03-10", "to": "2025-03-12"},
            400,
            "format:",
        ),
        (
            "compare",
            {"sites": "hcm", "from": "2025-03-10", "to": "2025-03-12"},
            400,
            "sites: give at least two",
        ),
        (
            "compare",
            {"sites": "hcm,zz", "from": "2025-03-10", "to": "2025-03-12"},
            404,
            "sites: site 'zz'",
        ),
        ("realtime", {"site": "zz"}, 404, "site: site 'zz'"),
    ],
)
async def test_errors_name_the_parameter(
    api: httpx.AsyncClient, path: str, params: dict[str, str], status: int, prefix: str
) -> None:
    response = await api.get(f"/api/v1/portal/{path}", params=params, headers=AUTH)
    assert response.status_code == status, response.text
    assert response.json()["error"].startswith(prefix), response.json()


@pytest.mark.parametrize("path", ["overview", "timeseries", "breakdown", "realtime", "compare"])
async def test_every_portal_route_needs_the_token(api: httpx.AsyncClient, path: str) -> None:
    for headers in [{}, {"Authorization": "Bearer wrong"}]:
        response = await api.get(f"/api/v1/portal/{path}", params={"site": "hcm"}, headers=headers)
        assert response.status_code == 401
        assert "bearer token" in response.json()["error"]


async def test_named_queries_over_http(api: httpx.AsyncClient) -> None:
    listed = (await api.get("/api/v1/queries", headers=AUTH)).json()
    assert "portal_overview" in [q["name"] for q in listed]
    params = {"sites": "hcm,hn", "from": "2025-03-10", "to": "2025-03-12"}
    response = await api.post(
        "/api/v1/queries/portal_overview", json={"params": params}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    body = response.json()
    row = dict(zip(body["columns"], body["rows"][0], strict=True))
    assert row["visits"] == len(counted({"hcm", "hn"}, PERIOD))
    bad = await api.post(
        "/api/v1/queries/portal_overview", json={"params": {"sites": "hcm"}}, headers=AUTH
    )
    assert bad.status_code == 400 and "missing from" in bad.json()["error"]
    missing = await api.post("/api/v1/queries/nope", json={}, headers=AUTH)
    assert missing.status_code == 404
