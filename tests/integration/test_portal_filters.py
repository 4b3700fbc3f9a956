"""Report filters (issue 17 item 1) on the real ClickHouse engine, against known answers.

The traffic is ``test_portal_api.VISITS`` (written out visit by visit, sessionized by the
project's own sessionizer and inserted as the sink writes it). Every expectation is computed
here from that list by the issue's semantics, independently of the SQL:

- "a visit dimension selects visits and all their hits (a mobile filter counts the pageviews of
  mobile visits)";
- "a page filter selects, for visit numbers, the visits with at least one matching pageview
  and, for pageview numbers, the matching pageviews".

Visit numbers belong to the local date of the visit's first hit, pageviews to each hit's own
local time (DESIGN §2); unique visitors are the visitors with a selected hit in the period.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.integration.test_portal_api import (
    AFTER,
    AUTH,
    NOW,
    PERIOD,
    PREVIOUS,
    VISITS,
    E,
    P,
    Visit,
    _client,
    _in,
    bounce,
    duration,
    get,
    pct,
    pv,
    r,
    user_bounce_rate,
    visit_key,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

VisitTest = Callable[[Visit], bool]
PageTest = Callable[[str], bool]


@pytest_asyncio.fixture(loop_scope="session")
async def api(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(clickhouse_engine, ch_database, AFTER):
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def api_now(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[httpx.AsyncClient]:
    """ "Now" = the 12th 10:05:30 local: a period ending on the 12th is cut (issue 16)."""
    async for client in _client(clickhouse_engine, ch_database, NOW):
        yield client


# --- expectations from the visit list ---------------------------------------------------------


def _everything(_: Any) -> bool:
    return True


def selected_visits(
    sites: set[str], period: tuple[date, date], visit_ok: VisitTest, page_ok: PageTest | None
) -> list[Visit]:
    """Visits started in ``period`` that pass the visit filters and, with a page filter, have
    at least one matching pageview (at any time of the visit)."""
    return [
        v
        for v in VISITS
        if v.site in sites
        and _in(v.start.date(), period)
        and visit_ok(v)
        and (page_ok is None or any(k is P and page_ok(p) for _, k, p in v.local_hits))
    ]


def selected_hits(
    sites: set[str], period: tuple[date, date], visit_ok: VisitTest, page_ok: PageTest | None
) -> list[tuple[Visit, datetime, Any, str]]:
    """Hits in ``period`` (their own local time) of visits passing the visit filters; with a
    page filter only the matching pageviews."""
    return [
        (v, t, k, p)
        for v in VISITS
        if v.site in sites and visit_ok(v)
        for t, k, p in v.local_hits
        if _in(t.date(), period) and (page_ok is None or (k is P and page_ok(p)))
    ]


def totals(
    sites: set[str], period: tuple[date, date], visit_ok: VisitTest, page_ok: PageTest | None
) -> dict[str, Any]:
    vs = selected_visits(sites, period, visit_ok, page_ok)
    hits = selected_hits(sites, period, visit_ok, page_ok)
    n = len(vs)
    return {
        "visits": n,
        "pageviews": sum(1 for h in hits if h[2] is P),
        "unique_visitors": len({h[0].visitor for h in hits}),
        # I.2 (seed 000): "tổng số lượt xem trang (pageview) / lượt truy cập (visit)"
        "pages_per_visit": sum(1 for h in hits if h[2] is P) / n if n else None,
        "avg_visit_duration_s": sum(duration(v) for v in vs) / n if n else None,
        "bounce_rate": user_bounce_rate(vs),  # I.4 over users (seed 000)
    }


def metrics(
    sites: set[str], visit_ok: VisitTest = _everything, page_ok: PageTest | None = None
) -> dict[str, Any]:
    c, p = totals(sites, PERIOD, visit_ok, page_ok), totals(sites, PREVIOUS, visit_ok, page_ok)
    digits = {"pages_per_visit": 2, "avg_visit_duration_s": 1}
    out: dict[str, Any] = {}
    for name in ("visits", "pageviews", "unique_visitors", "pages_per_visit",
                 "avg_visit_duration_s"):  # fmt: skip
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


def has_event(v: Visit, name: str) -> bool:
    """Every event of the fixture is named "click" (``test_portal_api._enriched``)."""
    return name == "click" and any(k is E for _, k, _ in v.local_hits)


def exit_page(v: Visit) -> str:
    return visit_key(v, "exit_page")


#: (filter values, visit test, page test): every operator and both dimension families.
CASES: list[tuple[list[str], VisitTest, PageTest | None]] = [
    (["device:mobile"], lambda v: v.device == "mobile", None),
    (["country!:VN"], lambda v: v.country != "VN", None),
    (["browser~:SAFARI"], lambda v: "safari" in v.browser.lower(), None),
    (["referrer:"], lambda v: v.referrer == "", None),
    (["referrer:google.com|facebook.com"], lambda v: v.referrer in ("google.com", "facebook.com"),
     None),
    (["city:Hanoi|Vientiane", "os!:Windows"],
     lambda v: v.city in ("Hanoi", "Vientiane") and v.os != "Windows", None),
    (["os:iOS|Android", "os:Android|Linux"], lambda v: v.os == "Android", None),
    (["country:VN|US", "country:LA"], lambda v: False, None),
    (["entry_page:/a"], lambda v: v.local_hits[0][2] == "/a", None),
    (["exit_page:/b"], lambda v: exit_page(v) == "/b", None),
    (["exit_page~:c"], lambda v: "c" in exit_page(v), None),
    (["page:/b"], _everything, lambda p: p == "/b"),
    (["page!:/a"], _everything, lambda p: p != "/a"),
    (["page~:/A", "device:mobile"], lambda v: v.device == "mobile", lambda p: "/a" in p),
    (["page:/a|/e", "page~:e"], _everything, lambda p: p == "/e"),
    # u1's visit of the 10th is the only one with an event ("click", on /b)
    (["event:click"], lambda v: has_event(v, "click"), None),
    (["event~:LIC"], lambda v: has_event(v, "click"), None),
    (["event:submit"], lambda v: has_event(v, "submit"), None),
    (["event!:click"], lambda v: any(k is E for _, k, _ in v.local_hits) and not has_event(v, "click"),
     None),
    (["event:click", "page:/b"], lambda v: has_event(v, "click"), lambda p: p == "/b"),
]  # fmt: skip


async def test_overview_with_every_operator_and_dimension_family(api: httpx.AsyncClient) -> None:
    for filters, visit_ok, page_ok in CASES:
        answer = await get(
            api, "overview", site="hcm,hn", **{"from": "2025-03-10", "to": "2025-03-12"},
            filter=filters,  # type: ignore[arg-type]
        )  # fmt: skip
        assert answer["metrics"] == metrics({"hcm", "hn"}, visit_ok, page_ok), filters
        assert [f"{f['dim']}{ {'is': ':', 'is_not': '!:', 'contains': '~:'}[f['op']] }"
                f"{'|'.join(f['values'])}" for f in answer["filters"]] == filters  # fmt: skip


async def test_semantics_by_hand(api: httpx.AsyncClient) -> None:
    """The issue's two sentences, on numbers counted by hand from VISITS (10th–12th March)."""
    period = {"from": "2025-03-10", "to": "2025-03-12", "compare": "none"}
    mobile = await get(api, "overview", site="hcm,hn", filter="device:mobile", **period)
    m = {k: v["value"] for k, v in mobile["metrics"].items()}
    # mobile visits in the period: hcm u2 (10th 23:50, /a then /c at 00:10 on the 11th) and
    # hn u1 (/a, /e); their four pageviews, two visitors. (u6, mobile, is on the 8th.)
    assert (m["visits"], m["pageviews"], m["unique_visitors"]) == (2, 4, 2)
    page_b = await get(api, "overview", site="hcm", filter="page:/b", **period)
    b = {k: v["value"] for k, v in page_b["metrics"].items()}
    # visits with a /b pageview: u1 (10th, /a /b, 3 pageviews… 2 pageviews + an event) and u3
    # (12th, /b at 00:10 on the 13th, outside the period); u5's /b is at 00:10 on the 10th but
    # u5 started on the 9th. Pageviews of /b in the period: u1's and u5's = 2, visitors u1, u5.
    assert (b["visits"], b["pageviews"], b["unique_visitors"]) == (2, 2, 2)
    # I.2 (seed 000, issue 16): the answer's pageviews / its visits = 2 / 2 (the /b pageviews)
    assert b["pages_per_visit"] == 1.0


async def test_a_filter_matching_everything_gives_the_rollup_numbers(
    api_now: httpx.AsyncClient,
) -> None:
    """Raw-table queries with a filter that matches every row answer exactly what the rollups
    answer without one: same cut (the period contains now), same unique-visitor function."""
    for path, extra in (("overview", {}), ("timeseries", {}), ("timeseries", {"interval": "hour"})):
        params = {"site": "hcm,hn", "from": "2025-03-10", "to": "2025-03-12", **extra}
        plain = await get(api_now, path, **params)
        filtered = await get(api_now, path, filter="country!:ZZ", **params)
        assert (
            plain["period_cut"]["partial"] is True and filtered["period_cut"] == plain["period_cut"]
        )
        del filtered["filters"], plain["filters"]
        assert filtered == plain, path


async def test_timeseries_by_day_filtered(api: httpx.AsyncClient) -> None:
    answer = await get(
        api, "timeseries", site="hcm,hn", filter=["device:mobile", "page~:/"],  # type: ignore[arg-type]
        **{"from": "2025-03-10", "to": "2025-03-12"},
    )  # fmt: skip

    def mobile(v: Visit) -> bool:
        return v.device == "mobile"

    for point in answer["points"]:
        day = date.fromisoformat(point["t"])
        t = totals({"hcm", "hn"}, (day, day), mobile, lambda p: "/" in p)
        assert (point["visits"], point["pageviews"], point["unique_visitors"]) == (
            t["visits"], t["pageviews"], t["unique_visitors"],
        ), point  # fmt: skip
    # 10th: u2's /a and hn u1's /a and /e; 11th: u2's /c at 00:10 (its visit counts on the 10th)
    assert [p["pageviews"] for p in answer["points"]] == [3, 1, 0]
    assert [p["visits"] for p in answer["points"]] == [2, 0, 0]


async def test_breakdowns_filtered(api: httpx.AsyncClient) -> None:
    period = {"from": "2025-03-10", "to": "2025-03-12"}

    def not_vn(v: Visit) -> bool:
        return v.country != "VN"

    for by in ("country", "city", "device", "browser", "os", "entry_page", "exit_page",
               "referrer", "site"):  # fmt: skip
        answer = await get(api, "breakdown", site="hcm,hn", by=by, filter="page:/a", **period)
        vs = selected_visits({"hcm", "hn"}, PERIOD, _everything, lambda p: p == "/a")
        key = (lambda v: v.site) if by == "site" else (lambda v: visit_key(v, by))  # noqa: B023
        counts: dict[str, int] = {}
        for v in vs:
            counts[key(v)] = counts.get(key(v), 0) + 1
        expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        assert [(row["key"], row["visits"]) for row in answer["rows"]] == expected, by
        assert answer["total"] == {"visits": len(vs)}
    device = await get(api, "breakdown", site="hcm,hn", by="device", filter="country!:VN",
                       **period)  # fmt: skip
    vs = selected_visits({"hcm", "hn"}, PERIOD, not_vn, None)
    prev = selected_visits({"hcm", "hn"}, PREVIOUS, not_vn, None)
    assert device["rows"] == [
        {
            "key": v.device, "visits": 1, "pageviews": pv(v), "share_pct": 50.0,
            "pages_per_visit": float(pv(v)), "avg_visit_duration_s": duration(v),
            "bounce_rate": 100.0 if bounce(v) else 0.0,
            "previous_visits": sum(p.device == v.device for p in prev),
            "change_pct": pct(1, sum(p.device == v.device for p in prev)),
        }
        for v in sorted(vs, key=lambda v: v.device)
    ]  # fmt: skip
    assert [v.device for v in vs] == ["tablet", "desktop"]  # u3 (US) and hn u8 (LA)


async def test_page_and_hour_breakdowns_filtered(api: httpx.AsyncClient) -> None:
    period = {"from": "2025-03-10", "to": "2025-03-12"}
    answer = await get(api, "breakdown", site="hcm,hn", by="page", filter="device:mobile", **period)
    hits = selected_hits({"hcm", "hn"}, PERIOD, lambda v: v.device == "mobile", None)
    pages = [h for h in hits if h[2] is P]
    assert answer["total"] == {"pageviews": len(pages)} == {"pageviews": 4}
    assert [(row["key"], row["pageviews"], row["visits"], row["unique_visitors"])
            for row in answer["rows"]] == [("/a", 2, 2, 2), ("/c", 1, 1, 1), ("/e", 1, 1, 1)]  # fmt: skip
    hours = await get(
        api, "breakdown", site="hcm,hn", by="hour_of_day", filter="page:/b", compare="none",
        **period,
    )  # fmt: skip
    vs = selected_visits({"hcm", "hn"}, PERIOD, _everything, lambda p: p == "/b")
    b_hits = selected_hits({"hcm", "hn"}, PERIOD, _everything, lambda p: p == "/b")
    for row in hours["rows"]:
        h = row["key"]
        assert row["visits"] == sum(v.start.hour == h for v in vs), row
        assert row["pageviews"] == sum(t.hour == h for _, t, _, _ in b_hits), row
    assert len(hours["rows"]) == 24


async def test_event_filter_by_hand(api: httpx.AsyncClient) -> None:
    """An event filter selects the visits with a matching event and all their hits: u1's visit
    of the 10th (/a, /b, then a "click" event on /b): 1 visit, its 2 pageviews, 1 visitor, and
    not a bounce (it has an interactive event)."""
    period = {"from": "2025-03-10", "to": "2025-03-12", "compare": "none"}
    answer = await get(api, "overview", site="hcm,hn", filter="event:click", **period)
    m = {k: v["value"] for k, v in answer["metrics"].items()}
    assert (m["visits"], m["pageviews"], m["unique_visitors"], m["bounce_rate"]) == (1, 2, 1, 0.0)
    pages = await get(api, "breakdown", site="hcm", by="page", filter="event:click", **period)
    assert [(r["key"], r["pageviews"]) for r in pages["rows"]] == [("/a", 1), ("/b", 1)]


async def test_compare_filtered(api: httpx.AsyncClient) -> None:
    answer = await get(
        api, "compare", sites="hcm,hn", filter="device:mobile",
        **{"from": "2025-03-10", "to": "2025-03-12"},
    )  # fmt: skip
    for entry in answer["sites"]:
        site = {entry["site"]}
        assert entry["metrics"] == metrics(site, lambda v: v.device == "mobile"), site
        assert [r_["key"] for r_ in entry["breakdowns"]["device"]] == ["mobile"]


async def test_realtime_filtered(api_now: httpx.AsyncClient) -> None:
    """now = 12th 10:05:30 local; the last 30 minutes, (09:35:30, 10:05:30], hold u9's /f
    (09:40) and /a (09:50), u4's /a (10:00, referrer google.com) and its engagement ping
    (10:05); the last 5 minutes only the ping, which is no pageview."""
    answer = await get(api_now, "realtime", site="hcm", filter="page:/a")
    assert (answer["visitors_5m"], answer["visitors_30m"], answer["pageviews_30m"]) == (0, 2, 2)
    assert answer["visits_30m"] == 2  # u9 (09:40) and u4 (10:00) both viewed /a
    assert answer["top_pages"] == [{"key": "/a", "pageviews": 2, "visitors": 2}]
    assert sum(m["pageviews"] for m in answer["pageviews_per_minute"]) == 2
    none = await get(api_now, "realtime", site="hcm", filter="device:mobile")
    assert (none["visitors_30m"], none["pageviews_30m"], none["visits_30m"]) == (0, 0, 0)
    assert none["top_pages"] == []
    google = await get(api_now, "realtime", site="hcm", filter="referrer:google.com")
    assert (google["visitors_5m"], google["visitors_30m"], google["pageviews_30m"]) == (1, 1, 1)
    assert google["visits_30m"] == 1
    assert google["top_pages"] == [{"key": "/a", "pageviews": 1, "visitors": 1}]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (["cuntry:VN"], "filter #1 'cuntry:VN': unknown dimension 'cuntry'; one of country,"),
        (["device:mobile", "channel:Social"],
         "filter #2 'channel:Social': unknown channel 'Social'; one of direct"),
        (["utm_campaign~:"], "filter #1 'utm_campaign~:': the text to look for is empty"),
        (["device"], "filter #1 'device': expected DIM:V1|V2 (is one of), DIM!:V"),
        (["page~:"], "filter #1 'page~:': the text to look for is empty"),
        (["os:" + "|".join(["x"] * 101)], "filter #1 'os:x|x|x"),
    ],
)  # fmt: skip
async def test_bad_filters_are_400_naming_the_filter(
    api: httpx.AsyncClient, filters: list[str], message: str
) -> None:
    for path, params in (
        ("overview", {"site": "hcm"}), ("timeseries", {"site": "hcm"}),
        ("breakdown", {"site": "hcm", "by": "page"}), ("realtime", {"site": "hcm"}),
        ("compare", {"sites": "hcm,hn"}),
    ):  # fmt: skip
        response = await api.get(
            f"/api/v1/portal/{path}",
            params={**params, "from": "2025-03-10", "to": "2025-03-12", "filter": filters},
            headers=AUTH,
        )
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"].startswith(message), response.json()


async def test_events_are_not_pageviews_in_the_fixture() -> None:
    """Guard for the expectations above: u1's event on /b is not a pageview, so the page filter
    page:/b must not count it."""
    u1 = VISITS[0]
    assert [(k, p) for _, k, p in u1.local_hits] == [(P, "/a"), (P, "/b"), (E, "/b")]


async def test_cutting_unused_conditions_changes_no_number(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The filtered queries are sent without the ``-- when:`` blocks of the filters a request
    does not use (``clickhouse.named.prune``, issue 17 item 1's timing). Every report, for
    every case above and a goal and a channel filter, answers the same with the whole text."""
    from clickhouse import named

    reports = [
        ("overview", {}),
        ("timeseries", {}),
        ("timeseries", {"interval": "hour"}),
        ("breakdown", {"by": "country"}),
        ("breakdown", {"by": "page"}),
        ("breakdown", {"by": "hour_of_day"}),
        ("realtime", {}),
        ("breakdown", {"by": "channel"}),
    ]
    cases = [f for f, _, _ in CASES] + [["channel:direct|referral"], ["utm_source!:x"]]
    period = {"site": "hcm,hn", "from": "2025-03-10", "to": "2025-03-12"}
    cut: dict[str, Any] = {}
    for path, extra in reports:
        for filters in cases:
            cut[f"{path} {extra} {filters}"] = await get(
                api,
                path,
                filter=filters,
                **period,
                **extra,  # type: ignore[arg-type]
            )
    monkeypatch.setattr(named, "prune", lambda sql, params: sql)
    for path, extra in reports:
        for filters in cases:
            whole = await get(api, path, filter=filters, **period, **extra)  # type: ignore[arg-type]
            assert whole == cut[f"{path} {extra} {filters}"], (path, extra, filters)
