"""The demo generator (issue 17 item 5): history span and rhythm, sources and campaigns, events,
dossiers against the catalog, determinism, and the history's resume-without-doubling."""

from __future__ import annotations

import asyncio
import collections
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.channels import visit_source
from emc.demo import DAY_MS, DemoTraffic, History
from emc.demo_data import DVC_SITE, ONESTOP_SITE, PROCEDURES, UNKNOWN_PROCEDURE
from emc.demo_run import post_history
from emc.demo_setup import (
    HistoryState,
    account_rows,
    accounts_workbook,
    catalog_workbook,
    load_state,
    save_state,
)
from schemas import DossierEventIn, ServerHit
from schemas.ratings import rating_name
from schemas.workbooks import read_accounts, read_catalog

#: 2026-12-05 00:00 UTC = 07:00 in Vietnam.
END_MS = 1_796_428_800_000
VN = timedelta(hours=7)


@pytest.fixture(scope="module")
def history() -> History:
    return DemoTraffic(seed=3).history(END_MS, 90, 150)


def _local(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) + VN


def test_history_spans_90_days_before_the_end_in_time_order(history: History) -> None:
    for lines in (history.hits, history.dossiers):
        times = [int(line["ts"]) for line in lines]
        assert times == sorted(times)
        assert times[0] >= END_MS - 90 * DAY_MS - 3_600_000 and times[-1] < END_MS
    days = {_local(int(h["ts"])).date() for h in history.hits}
    assert len(days) >= 90  # every local day of the period has visits (91 with the partial one)


def test_history_has_a_day_night_and_weekday_rhythm_in_vietnam_time(history: History) -> None:
    pageviews = [h for h in history.hits if h["type"] == "pageview"]
    hours = collections.Counter(_local(int(h["ts"])).hour for h in pageviews)
    assert hours[9] + hours[10] > 5 * (hours[2] + hours[3])
    weekdays = collections.Counter(_local(int(h["ts"])).weekday() for h in pageviews)
    assert weekdays[1] > 1.5 * weekdays[6]  # Tuesday vs Sunday


def test_history_grows_so_that_comparisons_show_a_change(history: History) -> None:
    middle = END_MS - 45 * DAY_MS
    older = sum(1 for h in history.hits if int(h["ts"]) < middle)
    assert len(history.hits) - older > 1.1 * older


def test_every_line_is_valid_for_the_collector(history: History) -> None:
    for hit in history.hits[::7]:
        ServerHit.model_validate(hit)
    for event in history.dossiers:
        DossierEventIn.model_validate(event)


def test_sources_campaigns_and_channels_are_mixed(history: History) -> None:
    landings = [h for h in history.hits if h["type"] == "pageview" and "?" in h["url"]]
    tags = collections.Counter(
        parse_qs(urlsplit(h["url"]).query)["utm_campaign"][0] for h in landings
    )
    assert {"dvc-toan-trinh", "ban-tin-thang-10", "khao-sat-hai-long", "du-lich-da-nang"} <= set(
        tags
    )
    hosts = collections.Counter(urlsplit(h["referrer"]).hostname or "" for h in history.hits)
    for host in ("www.google.com", "coccoc.com", "www.facebook.com", "zalo.me", "chinhphu.vn"):
        assert hosts[host] > 0, host

    # issue 17 item 2: the demo's visits land in every stored channel (core/channels.toml),
    # and sites of one agency tree refer to each other (hanoi.gov.vn and
    # dichvucong.hanoi.gov.vn are both Hà Nội's: "internal" at query time)
    def referrer_host(hit: dict[str, str]) -> str:
        host = (urlsplit(hit["referrer"]).hostname or "").removeprefix("www.")
        return "" if host == (urlsplit(hit["url"]).hostname or "").removeprefix("www.") else host

    channels = collections.Counter(
        visit_source(h["url"], referrer_host(h))["channel"]
        for h in history.hits
        if h["type"] == "pageview"
    )
    for channel in ("direct", "organic_search", "social", "email", "paid", "referral"):
        assert channels[channel] > 0, channel
    assert hosts["hanoi.gov.vn"] > 0 and hosts["dichvucong.hanoi.gov.vn"] > 0
    # a campaign runs only in its window: the October newsletter ended 40 days before the end
    newsletter = [h for h in landings if "ban-tin-thang-10" in h["url"]]
    assert all(40 * DAY_MS <= END_MS - int(h["ts"]) <= 55 * DAY_MS for h in newsletter)


def test_events_downloads_outbound_ratings_and_dvc_submissions(history: History) -> None:
    events = [h for h in history.hits if h["type"] == "event"]
    kinds = collections.Counter(h["name"].split(":")[0].split("/")[0] for h in events)
    for kind in ("search", "share", "download", "outbound", "rating", "dvc"):
        assert kinds[kind] > 0, kind
    for rating in (h for h in events if h["name"] == "rating"):
        assert rating_name("rating", rating["props"]).startswith("rating:")
    custom = next(h for h in events if h["name"] == "share")
    assert custom["props"]["network"] in {"zalo", "facebook", "email"}


def test_dossier_and_submission_codes_are_in_the_catalog(history: History) -> None:
    catalog = {row.id_mcdt: row.level for row in read_catalog(catalog_workbook())}
    assert catalog == {p.code: p.level for p in PROCEDURES}
    used = collections.Counter(d["procedure_code"] for d in history.dossiers)
    assert set(used) - set(catalog) <= {UNKNOWN_PROCEDURE.code}
    assert used[UNKNOWN_PROCEDURE.code] < 0.05 * sum(used.values())
    submits = [
        h["name"].split("/") for h in history.hits if h.get("name", "").startswith("dvc/submit/")
    ]
    assert submits and all(catalog[parts[2]] >= 3 for parts in submits)
    pushed = {d["dossier_code"] for d in history.dossiers if d["site"] == DVC_SITE}
    matched = sum(1 for parts in submits if parts[3] in pushed)
    assert 0.8 * len(submits) <= matched < len(submits)  # some pushes lost: tracker-only ones


def test_dossiers_are_online_and_direct_on_time_and_late(history: History) -> None:
    by_code: dict[str, dict[str, Any]] = collections.defaultdict(dict)
    for event in history.dossiers:
        by_code[event["dossier_code"]][event["status"]] = event
    resolved = [d for d in by_code.values() if "resolved" in d]
    late = sum(1 for d in resolved if d["resolved"]["resolved_at"] > d["resolved"]["due_at"])
    assert 0.08 * len(resolved) < late < 0.3 * len(resolved)
    channels = collections.Counter(
        d["received"]["channel"] for d in by_code.values() if "received" in d
    )
    assert channels["online"] > 0 and channels["direct"] > 0
    digitized = [d["received"]["digitized"] for d in by_code.values() if "received" in d]
    assert 0.6 < sum(digitized) / len(digitized) < 0.9
    assert {e["site"] for e in history.dossiers} == {DVC_SITE, ONESTOP_SITE}
    # some dossiers are still open at the end (the overdue_open number has data)
    assert any(
        "received" in d and "resolved" not in d and "rejected" not in d for d in by_code.values()
    )


def test_the_same_seed_gives_the_same_lines() -> None:
    a = DemoTraffic(seed=5).history(END_MS, 3, 100)
    b = DemoTraffic(seed=5).history(END_MS, 3, 100)
    c = DemoTraffic(seed=6).history(END_MS, 3, 100)
    assert a == b
    assert a.hits != c.hits
    assert not {h["event_id"] for h in a.hits} & {h["event_id"] for h in c.hits}


def test_live_dossiers_live_in_minutes_and_hits_come_when_due() -> None:
    traffic = DemoTraffic(rate_per_s=40, seed=1)
    now = 1_795_399_200_000  # 2026-11-23 09:00 in Vietnam
    seen: list[dict[str, Any]] = []
    for second in range(600):
        hits, dossiers = traffic.tick(now + second * 1000, 1.0)
        assert all(int(h["ts"]) <= now + second * 1000 for h in hits + dossiers)
        seen += dossiers
    assert {"received", "resolved", "returned"} <= {d["status"] for d in seen}


def test_accounts_workbook_is_accepted_and_recent() -> None:
    rows = read_accounts(accounts_workbook(DVC_SITE, END_MS))
    assert len(rows) == len(account_rows(DVC_SITE, END_MS)) and {r.type for r in rows} == {1, 2}
    assert any(r.id_qg for r in rows) and any(not r.id_qg for r in rows)
    officers = read_accounts(accounts_workbook(ONESTOP_SITE, END_MS))
    assert {r.type for r in officers} == {3}


def _recording_client(posted: list[tuple[str, int]]) -> httpx.AsyncClient:
    def handle(request: httpx.Request) -> httpx.Response:
        lines = json.loads(request.content)
        posted.append((request.url.path, len(lines)))
        return httpx.Response(202, json={"accepted": len(lines), "rejected": []})

    return httpx.AsyncClient(base_url="http://c", transport=httpx.MockTransport(handle))


def test_history_is_posted_once_and_a_restart_posts_only_the_rest(tmp_path: Path) -> None:
    state_path = tmp_path / "demo-history.json"
    generated = DemoTraffic(seed=9).history(END_MS, 10, 400)
    total = len(generated.hits) + len(generated.dossiers)
    # a run that stopped after 2,000 hits: same seed and end are kept, the rest is posted
    save_state(state_path, HistoryState(9, END_MS, 10, 400, hits_posted=2000, catalogs_done=True))

    async def run() -> list[tuple[str, int]]:
        posted: list[tuple[str, int]] = []
        async with _recording_client(posted) as client:
            kwargs: dict[str, Any] = {"warehouse_url": None, "token": "t"}
            stop = asyncio.Event()
            await post_history(client, state_path, days=10, visits_per_day=400, stop=stop, **kwargs)
            await post_history(client, state_path, days=10, visits_per_day=400, stop=stop, **kwargs)
        return posted

    posted = asyncio.run(run())
    assert sum(n for _, n in posted) == total - 2000
    state = load_state(state_path)
    assert state is not None and state.done
    assert (state.hits_posted, state.dossiers_posted) == (
        len(generated.hits),
        len(generated.dossiers),
    )


def test_the_demo_defines_its_goals_through_the_goals_api() -> None:
    """Issue 17 item 4: every DEMO_GOALS entry is POSTed to its site's goals; each body is a
    valid goal (``indicators.goals.parse_goal``); a refusal does not stop the others."""
    import asyncio

    import httpx

    from emc.demo_data import DEMO_GOALS
    from emc.demo_run import define_goals
    from indicators.goals import parse_goal

    seen: list[tuple[str, bytes]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.content))
        return httpx.Response(422 if len(seen) == 1 else 201, json={})

    asyncio.run(define_goals("http://w", "t", transport=httpx.MockTransport(answer)))
    assert [p for p, _ in seen] == [f"/api/v1/sites/{g['site']}/goals" for g in DEMO_GOALS]
    for (_, body), goal in zip(seen, DEMO_GOALS, strict=True):
        parse_goal(goal["site"], httpx.Response(200, content=body).json())
