"""Events reports, goals and funnels (issue 17 items 3 and 4) on the real ClickHouse engine,
against known answers written out by hand from the visits below.

The hits go through the project's own sessionizer (``streams.sessionize.advance``) and row
builders (``sink.rows``) into ``pageviews`` / ``sessions`` exactly as the sink writes them.
Site ``dvc`` is in Asia/Ho_Chi_Minh (UTC+7, no DST). Rules used for the expectations (DESIGN
§2): events, searches, clicks and titles belong to each hit's own local date, like pageviews;
conversions and funnels are visit numbers: they belong to the local date of the visit's first
hit, with all of that visit's hits, so a visit crossing midnight converts on the day it started.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

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

TOKEN = "events-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UTC7 = timedelta(hours=7)
P, E = HitType.PAGEVIEW, HitType.EVENT
ABC = "Thủ tục ABC"
TERM = "hộ chiếu"


@dataclass
class Hit:
    after_s: int
    type: HitType
    path: str
    name: str = ""  # event name, or a pageview's title
    props: dict[str, str] | None = None
    value: float | None = None
    query: str = ""  # the URL's query string


@dataclass
class Visit:
    visitor: str
    start: datetime  # local wall clock of the first hit
    hits: list[Hit]


def L(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in March 2025."""
    return datetime(2025, 3, day, hour, minute)


OK1, OK2 = {"procedure": "1.000123"}, {"procedure": "1.000456"}
VISITS = {
    # the whole procedure in order: funnel level 3, every goal
    "V1": Visit(
        "u1",
        L(10, 9),
        [
            Hit(0, P, "/thu-tuc/abc", ABC),
            Hit(60, E, "/thu-tuc/abc", "start", OK1),
            Hit(120, E, "/thu-tuc/abc", "submit", OK1, value=2.0),
        ],
    ),
    # starts but never submits: level 2
    "V2": Visit(
        "u2", L(10, 10), [Hit(0, P, "/thu-tuc/abc", ABC), Hit(60, E, "/thu-tuc/abc", "start", OK2)]
    ),
    # the steps out of order (submit, start, page): level 1 only
    "V3": Visit(
        "u3",
        L(10, 11),
        [
            Hit(0, E, "/", "submit", OK2),
            Hit(60, E, "/", "start", OK2),
            Hit(120, P, "/thu-tuc/xyz", "Thủ tục XYZ"),
        ],
    ),
    # across midnight: starts 23:50 on the 10th, start 00:00 and submit 00:05 on the 11th:
    # a level-3 visit of the 10th; its events count on the 11th
    "V4": Visit(
        "u4",
        L(10, 23, 50),
        [
            Hit(0, P, "/thu-tuc/abc", ABC + " (mới)"),
            Hit(600, E, "/thu-tuc/abc", "start", OK1),
            Hit(900, E, "/thu-tuc/abc", "submit", OK1),
        ],
    ),
    # searches (a URL parameter and a Matomo search property), an outbound link, a download
    "V5": Visit(
        "u5",
        L(11, 8),
        [
            Hit(0, P, "/tim-kiem", "Tìm kiếm", query="q=" + quote("Hộ chiếu")),
            Hit(30, P, "/tim-kiem", "Tìm kiếm", {"search": "Hộ Chiếu"}),
            Hit(60, E, "/tim-kiem", "outbound:https://dichvucong.gov.vn/x"),
            Hit(90, E, "/tim-kiem", "download:/files/mau.pdf"),
        ],
    ),
    # a search on the home page (WordPress-style s=, trailing space) and a submit without
    # the procedure page: converts on the submit goals, level 0 in the funnel
    "V6": Visit(
        "u1",
        L(11, 9),
        [
            Hit(0, P, "/", "Trang chủ", query="s=" + quote("Hộ chiếu ")),
            Hit(60, E, "/", "submit", OK1),
        ],
    ),
    # previous period (8th-9th)
    "V7": Visit(
        "u7",
        L(9, 10),
        [
            Hit(0, P, "/thu-tuc/abc", ABC),
            Hit(60, E, "/thu-tuc/abc", "start", OK1),
            Hit(120, E, "/thu-tuc/abc", "submit", OK1),
        ],
    ),
    "V8": Visit(
        "u8",
        L(8, 10),
        [Hit(0, P, "/", "Trang chủ"), Hit(30, E, "/", "outbound:https://dichvucong.gov.vn/x")],
    ),
    # starts 23:55 on the 9th, its start event at 00:05 on the 10th: a level-2 visit of the
    # 9th (previous period); the start event itself counts on the 10th
    "V9": Visit(
        "u9",
        L(9, 23, 55),
        [Hit(0, P, "/thu-tuc/abc", ABC), Hit(600, E, "/thu-tuc/abc", "start", OK1)],
    ),
}
NOW = datetime(2025, 4, 1, tzinfo=UTC)  # after every period: nothing is cut
PERIOD = {"site": "dvc", "from": "2025-03-10", "to": "2025-03-11"}
GOALS = [
    {"id": "thu-tuc", "name": "Xem thủ tục", "page": "/thu-tuc/*"},
    {"id": "nop-123", "name": "Nộp 1.000123", "event": "submit", "property": OK1},
    {"id": "nop", "name": "Nộp hồ sơ", "event": "submit"},
]


def _ms(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def load(db: Database) -> None:
    """Sessionize the hits in time order and insert the rows the sink would write."""
    hits = [(label, v, n, h) for label, v in VISITS.items() for n, h in enumerate(v.hits)]
    hits.sort(key=lambda x: x[1].start + timedelta(seconds=x[3].after_s))
    states: dict[str, Any] = {}
    pageviews: list[list[Any]] = []
    sessions: list[list[Any]] = []
    origin = Origin("test", 0, 0)
    for label, visit, n, h in hits:
        local = visit.start + timedelta(seconds=h.after_s)
        url = f"https://dvc.gov.vn{h.path}" + (f"?{h.query}" if h.query else "")
        hit = EnrichedHit(
            event_id=f"{label}-{n}", site="dvc", ts=_ms(local - UTC7), local_ms=_ms(local),
            received_ms=_ms(local - UTC7) + 50, type=h.type, name=h.name, url=url,
            host="dvc.gov.vn", path=h.path, visitor_id=visit.visitor, country="VN",
            device="desktop", props=h.props or {}, value=h.value,
        )  # fmt: skip
        result = advance(
            states.get(visit.visitor), hit, visit.visitor, timeout_s=1800, max_s=86400, now_ms=0
        )
        states[visit.visitor] = result.state
        pageviews.extend(hit_row(x, origin)[1] for x in result.hits)
        for update in result.updates:
            if update.prev is not None:
                sessions.append(session_row(update.prev, -1, origin, "prev"))
            sessions.append(session_row(update.cur, 1, origin, "cur"))
    db.insert("pageviews", pageviews, COLUMNS["pageviews"])
    db.insert("sessions", sessions, COLUMNS["sessions"])


@pytest_asyncio.fixture(loop_scope="session")
async def api(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN, api_max_range_days=31)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    db.command(
        "INSERT INTO sites (id, name, type, timezone, updated_at) "
        "VALUES ('dvc', 'DVC', 'dvc', 'Asia/Ho_Chi_Minh', now64())"
    )
    load(db)
    app = create_app(settings, db, clock=NOW.timestamp)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for goal in GOALS:
            response = await client.post("/api/v1/sites/dvc/goals", json=goal, headers=AUTH)
            assert response.status_code == 201, response.text
        yield client


async def get(api: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await api.get(f"/api/v1/portal/{path}", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def pick(rows: list[dict[str, Any]], *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(r[f] for f in fields) for r in rows]


async def test_events_by_name_by_each_hits_own_date_with_change(api: httpx.AsyncClient) -> None:
    """start: V1, V2, V3 (10th), V4 (00:00 on the 11th) and V9's (00:05 on the 10th, though
    V9 is a visit of the 9th) = 5; previous: V7 = 1. submit: V1, V3, V4, V6 = 4 (V1's value 2
    is the only one); previous V7 = 1. Outbound links and downloads are not custom events."""
    answer = await get(api, "events", by="event", **PERIOD)
    assert answer["total"] == {"hits": 9}
    assert pick(answer["rows"], "key", "hits", "visits", "unique_visitors", "value_sum") == [
        ("start", 5, 5, 5, None),
        ("submit", 4, 4, 3, 2.0),
    ]
    assert pick(answer["rows"], "previous_hits", "change_pct") == [(1, 400.0), (1, 300.0)]
    assert answer["rows"][0]["share_pct"] == 55.6


async def test_event_property_values(api: httpx.AsyncClient) -> None:
    answer = await get(
        api, "breakdown", by="event_property", event="submit", property="procedure", **PERIOD
    )
    assert pick(answer["rows"], "key", "hits", "previous_hits") == [
        ("1.000123", 3, 1),
        ("1.000456", 1, 0),
    ]


async def test_outbound_download_search_and_titles(api: httpx.AsyncClient) -> None:
    outbound = await get(api, "events", by="outbound", **PERIOD)
    assert pick(outbound["rows"], "key", "hits", "previous_hits", "change_pct") == [
        ("https://dichvucong.gov.vn/x", 1, 1, 0.0)
    ]
    download = await get(api, "events", by="download", **PERIOD)
    assert pick(download["rows"], "key", "hits", "previous_hits", "change_pct") == [
        ("/files/mau.pdf", 1, 0, None)
    ]
    # q= on /tim-kiem, Matomo's search property, s= with a trailing space: one term
    search = await get(api, "events", by="search", **PERIOD)
    assert pick(search["rows"], "key", "hits", "visits", "unique_visitors") == [(TERM, 3, 2, 2)]
    titles = await get(api, "breakdown", by="title", **PERIOD)
    # V4's pageview (23:50 on the 10th) is the latest of /thu-tuc/abc: its title wins
    assert pick(titles["rows"], "key", "title", "hits") == [
        ("/thu-tuc/abc", ABC + " (mới)", 3),
        ("/tim-kiem", "Tìm kiếm", 2),
        ("/", "Trang chủ", 1),
        ("/thu-tuc/xyz", "Thủ tục XYZ", 1),
    ]


async def test_goal_conversions_and_rate_with_change(api: httpx.AsyncClient) -> None:
    """Visits of the 10th-11th: V1-V6 = 6; of the 8th-9th: V7, V8, V9 = 3.
    thu-tuc (page /thu-tuc/*): V1, V2, V3, V4 = 4 of 6 (66.7 %); previous V7, V9 = 2 of 3.
    nop-123 (submit with procedure 1.000123): V1, V4 (after midnight), V6 = 3 of 6 (50 %),
    visitors u1, u4; previous V7 = 1 of 3 (33.3 %): +200 %, +16.7 points.
    nop (any submit): V1, V3 (out of order still converts), V4, V6 = 4; previous 1."""
    answer = await get(api, "goals", **PERIOD)
    assert answer["total"] == {"visits": 6}
    fields = ("key", "converting_visits", "conversions", "converting_visitors",
              "conversion_rate_pct", "previous_converting_visits", "change_pct",
              "previous_conversion_rate_pct", "conversion_rate_change_pp")  # fmt: skip
    assert pick(answer["rows"], *fields) == [
        ("nop", 4, 4, 3, 66.7, 1, 300.0, 33.3, 33.3),
        ("nop-123", 3, 3, 2, 50.0, 1, 200.0, 33.3, 16.7),
        ("thu-tuc", 4, 4, 4, 66.7, 2, 100.0, 66.7, 0.0),
    ]
    same = await get(api, "breakdown", by="goal", **PERIOD)
    assert same["rows"] == answer["rows"]
    # the 11th alone: V5, V6; only V6 converts (on both submit goals)
    day = await get(api, "goals", site="dvc", **{"from": "2025-03-11", "to": "2025-03-11"})
    assert pick(day["rows"], "key", "converting_visits", "conversion_rate_pct") == [
        ("nop", 1, 50.0),
        ("nop-123", 1, 50.0),
        ("thu-tuc", 0, 0.0),
    ]


async def test_funnel_counts_and_dropoff(api: httpx.AsyncClient) -> None:
    """Levels of the 10th-11th: V1 3, V2 2, V3 1 (out of order), V4 3 (across midnight), V5 0,
    V6 0 → reached 4, 3, 2. Previous: V7 3, V8 0, V9 2 → 2, 2, 1."""
    steps = ["page:/thu-tuc/*", "event:start", "event:submit"]
    answer = await get(api, "funnel", step=steps, **PERIOD)
    fields = ("step", "visits", "dropoff", "dropoff_pct", "conversion_pct", "previous_visits")
    assert pick(answer["steps"], *fields) == [
        (1, 4, None, None, 100.0, 2),
        (2, 3, 1, 25.0, 75.0, 2),
        (3, 2, 1, 33.3, 50.0, 1),
    ]
    assert answer["completion"] == {"value": 2, "previous": 1, "change_pct": 100.0}
    # the 10th alone keeps V4 whole (its start and submit come after midnight)
    tenth = {"site": "dvc", "from": "2025-03-10", "to": "2025-03-10", "compare": "none"}
    answer = await get(api, "funnel", step=steps, **tenth)
    assert [s["visits"] for s in answer["steps"]] == [4, 3, 2]
    # a property on a step and a saved goal as a step: only 1.000123 submits (V1, V4)
    answer = await get(
        api, "funnel", step=["goal:thu-tuc", "event:submit:procedure=1.000123"], **tenth
    )
    assert [s["visits"] for s in answer["steps"]] == [4, 2]


async def test_goal_management_and_errors(api: httpx.AsyncClient) -> None:
    listed = (await api.get("/api/v1/sites/dvc/goals", headers=AUTH)).json()
    assert [g["id"] for g in listed] == ["nop", "nop-123", "thu-tuc"]
    assert listed[1]["property"] == {"procedure": "1.000123"}
    bad = await api.post("/api/v1/sites/dvc/goals", json={"id": "x"}, headers=AUTH)
    assert bad.status_code == 422 and "page/event" in bad.json()["error"]
    both = {"id": "x", "page": "/a", "event": "b"}
    assert (await api.post("/api/v1/sites/dvc/goals", json=both, headers=AUTH)).status_code == 422
    unknown = await api.post("/api/v1/sites/nope/goals", json=GOALS[0], headers=AUTH)
    assert unknown.status_code == 404
    assert (await api.post("/api/v1/sites/dvc/goals", json=GOALS[0])).status_code == 401
    gone = await api.delete("/api/v1/sites/dvc/goals/nop", headers=AUTH)
    assert gone.status_code == 200
    again = await api.delete("/api/v1/sites/dvc/goals/nop", headers=AUTH)
    assert again.status_code == 404
    answer = await get(api, "goals", **PERIOD)
    assert [r["key"] for r in answer["rows"]] == ["nop-123", "thu-tuc"]
    one_step = await api.get("/api/v1/portal/funnel", params={**PERIOD, "step": "page:/a"},
                             headers=AUTH)  # fmt: skip
    assert one_step.status_code == 400 and "step" in one_step.json()["error"]
    filtered = await api.get(
        "/api/v1/portal/events", params={**PERIOD, "by": "event", "filter": "country:VN"},
        headers=AUTH,
    )  # fmt: skip
    assert filtered.status_code == 400 and filtered.json()["error"].startswith("filter")


async def test_goal_filter_selects_converting_visits_and_their_hits(
    api: httpx.AsyncClient,
) -> None:
    """goal:nop-123 → V1, V4, V6 (3 visits); their pageviews by own date: V1 /thu-tuc/abc, V4
    /thu-tuc/abc (23:50 on the 10th), V6 / = 3. goal!:thu-tuc → V5, V6 (2 visits, 3 pageviews).
    goal~:nộp (id or name contains) → nop and nop-123 → V1, V3, V4, V6."""
    one = await get(api, "overview", filter="goal:nop-123", compare="none", **PERIOD)
    assert (one["metrics"]["visits"]["value"], one["metrics"]["pageviews"]["value"]) == (3, 3)
    assert one["filters"] == [{"dim": "goal", "op": "is", "values": ["nop-123"]}]
    not_page = await get(api, "overview", filter="goal!:thu-tuc", compare="none", **PERIOD)
    assert not_page["metrics"]["visits"]["value"] == 2
    assert not_page["metrics"]["pageviews"]["value"] == 3
    text = await get(api, "overview", filter="goal~:nộp", compare="none", **PERIOD)
    assert text["metrics"]["visits"]["value"] == 4
    pages = await get(api, "breakdown", by="page", filter="goal:nop-123", **PERIOD)
    assert pick(pages["rows"], "key", "pageviews") == [("/thu-tuc/abc", 2), ("/", 1)]
