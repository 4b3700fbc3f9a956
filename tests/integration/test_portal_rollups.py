"""The portal rollups of issue 3 (migrations 0010-0012) on the real ClickHouse engine.

Four questions, each against answers known by construction:

- Is ``uniqCombined64(19)`` exact up to 10,000 distinct ids of the project's visitor id format
  (32 hex digits from ``ingest.visitor``), and within 1 % above? (And is the default
  precision not, which is why the rollups name 19.)
- With more than 10,000 distinct visitors, written through the project's own sessionizer and
  row builders (``tests.integration.test_portal_api.load``, as the sink writes them), are the
  overview, timeseries and page breakdown exact up to 10,000 and within 1 % above?
- Does the overview's unique-visitor count, merged from hourly states, count every visitor
  of the period once whatever months the period cuts (month edges at local midnight, a visit
  straddling the month's last midnight, periods inside one month, across a year's end)?
- Does a warehouse that had its data before the migrations (so the rollups are filled only by
  the migrations' backfill statements) answer exactly as one whose rollups were filled by the
  materialized views, and does running a backfill again change nothing?
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from clickhouse.client import Database
from clickhouse.migrate import MIGRATIONS_DIR, discover, migrate
from core.settings import Settings
from indicators import portal as portal_data
from indicators.periods import Period
from ingest.visitor import visitor_key
from schemas.hits import HitType
from tests.integration.test_portal_api import BOTS, VISITS, Visit, load

pytestmark = pytest.mark.integration
SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")

TOKEN = "rollup-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
P = HitType.PAGEVIEW
#: The issue's rule: unique counts exact up to this many, within 1 % above.
EXACT_UP_TO = 10_000
#: This issue's migrations (the backfill test applies them to a warehouse that has data).
OWN_RANGE = range(10, 20)


def ids(n: int, site: str) -> list[str]:
    """``n`` distinct visitor ids in the project's format (hex of 16 HMAC bytes)."""
    return [visitor_key(b"rollup-test", site, f"10.0.{i // 256}.{i % 256}", "UA") for i in range(n)]


def assert_unique(got: int, true: int, what: str) -> None:
    if true <= EXACT_UP_TO:
        assert got == true, f"{what}: {got} != {true} (must be exact up to {EXACT_UP_TO})"
    else:
        assert abs(got - true) <= 0.01 * true, f"{what}: {got} not within 1 % of {true}"


# --- the estimator ----------------------------------------------------------------------------


def test_uniq_combined64_precision_19_is_exact_to_16384_on_visitor_ids(
    clickhouse_engine: Any, ch_database: str
) -> None:
    """Every prefix of 40,000 distinct ids: the estimate equals the true count up to 16,384
    and stays within 1 % above; precision 17 (the default) already errs below 10,000."""
    db = Database(clickhouse_engine, ch_database)
    db.command(f"CREATE TABLE {ch_database}.ids (n UInt32, id String) ENGINE = Memory")
    db.insert("ids", [[i + 1, v] for i, v in enumerate(ids(40_000, "any"))], ["n", "id"])

    def check(precision: int) -> tuple[int, int, float]:
        row = db.query(
            "SELECT minIf(n, est != n), maxIf(n, est != n), max(abs(est - n) / n) FROM ("
            f"SELECT n, uniqCombined64({precision})(id) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED "
            "PRECEDING AND CURRENT ROW) AS est FROM ids)"
        ).result_rows[0]
        return int(row[0]), int(row[1]), float(row[2])

    first_wrong, _, worst = check(19)
    assert first_wrong == 16_385  # exact for every count up to 2^14
    assert worst <= 0.01
    assert 0 < check(17)[0] <= EXACT_UP_TO  # why the rollups do not use the default


# --- more than 10,000 visitors through the API ------------------------------------------------

DAY1, DAY2, DAY3 = date(2025, 4, 1), date(2025, 4, 2), date(2025, 4, 3)
BIG1, BIG2 = "hcm", "hn"


def big_visits() -> list[Visit]:
    """Site ``big``: 10,000 visitors on day 1 (every 4th also views /form), 13,000 on day 2
    (5,000 of them seen on day 1), 100 others on day 3. Site ``big2``: 10,000 on day 1, 3,000
    of them also on ``big``. Spread over the 24 local hours. (The site ids are the portal
    tests' ``hcm`` and ``hn``, whose timezone ``load`` knows.)"""
    a, b = ids(20_100, BIG1), ids(7_000, BIG2)

    def at(day: date, i: int) -> datetime:
        # minute < 59: a second pageview 60 s later stays in the same local hour
        return datetime(day.year, day.month, day.day, i % 24, (i // 24) % 59, i % 60)

    out = []
    for i, v in enumerate(a[:10_000]):
        hits = [(0, P, "/home")] + ([(60, P, "/form")] if i % 4 == 0 else [])
        out.append(Visit(BIG1, v, at(DAY1, i), hits))
    out += [Visit(BIG1, v, at(DAY2, i), [(0, P, "/home")]) for i, v in enumerate(a[5_000:18_000])]
    out += [Visit(BIG1, v, at(DAY3, i), [(0, P, "/news")]) for i, v in enumerate(a[20_000:])]
    out += [Visit(BIG2, v, at(DAY1, i), [(0, P, "/home")]) for i, v in enumerate(a[:3_000] + b)]
    return out


BIG = big_visits()


def true_visitors(sites: set[str], days: set[date], hour: int | None = None) -> int:
    return len(
        {
            v.visitor
            for v in BIG
            for t, _, _ in v.local_hits
            if v.site in sites and t.date() in days and (hour is None or t.hour == hour)
        }
    )


def true_page(path: str, days: set[date]) -> tuple[int, int, int]:
    """(pageviews, visits, visitors) of ``path`` on site ``big``."""
    hits = [
        (v, t) for v in BIG if v.site == BIG1 for t, _, p in v.local_hits
        if p == path and t.date() in days
    ]  # fmt: skip
    return len(hits), len({id(v) for v, _ in hits}), len({v.visitor for v, _ in hits})


@pytest_asyncio.fixture(loop_scope="session")
async def big_api(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    for site in (BIG1, BIG2):
        db.command(
            "INSERT INTO sites (id, name, type, timezone, updated_at) "
            f"VALUES ('{site}', '{site}', 'portal', 'Asia/Ho_Chi_Minh', now64())"
        )
    load(db, BIG, [])
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def get(api: httpx.AsyncClient, path: str, **params: str) -> Any:
    response = await api.get(f"/api/v1/portal/{path}", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


@SESSION_LOOP
async def test_unique_visitors_above_and_below_10000(big_api: httpx.AsyncClient) -> None:
    both = f"{BIG1},{BIG2}"
    cases = [
        (BIG1, {DAY1}),  # exactly 10,000
        (BIG2, {DAY1}),  # 10,000, 3,000 shared with BIG1
        (BIG1, {DAY2}),  # 13,000
        (BIG1, {DAY3}),  # 100
        (BIG1, {DAY1, DAY2, DAY3}),  # 18,100
        (both, {DAY1}),  # the union: 17,000, not 20,000
        (both, {DAY1, DAY2, DAY3}),  # 25,100
    ]
    for sites, days in cases:
        answer = await get(
            big_api, "overview", site=sites, compare="none",
            **{"from": min(days).isoformat(), "to": max(days).isoformat()},
        )  # fmt: skip
        true = true_visitors(set(sites.split(",")), days)
        assert_unique(answer["metrics"]["unique_visitors"]["value"], true, f"{sites} {days}")
    assert true_visitors({BIG1}, {DAY1}) == EXACT_UP_TO  # the boundary itself is tested
    assert true_visitors({BIG1, BIG2}, {DAY1}) == 17_000


@SESSION_LOOP
async def test_timeseries_unique_visitors_by_day_and_hour(big_api: httpx.AsyncClient) -> None:
    days = await get(
        big_api, "timeseries", site=f"{BIG1},{BIG2}", compare="previous",
        **{"from": DAY1.isoformat(), "to": DAY3.isoformat()},
    )  # fmt: skip
    assert [p["t"] for p in days["points"]] == [d.isoformat() for d in (DAY1, DAY2, DAY3)]
    for point, day in zip(days["points"], (DAY1, DAY2, DAY3), strict=True):
        assert_unique(point["unique_visitors"], true_visitors({BIG1, BIG2}, {day}), str(day))
    assert [p["unique_visitors"] for p in days["compare_points"]] == [0, 0, 0]
    hours = await get(
        big_api, "timeseries", site=BIG1, interval="hour", compare="none",
        **{"from": DAY1.isoformat(), "to": DAY1.isoformat()},
    )  # fmt: skip
    got = [p["unique_visitors"] for p in hours["points"]]
    assert got == [true_visitors({BIG1}, {DAY1}, h) for h in range(24)]
    assert sum(got) == 10_000  # one visit per visitor that day, within one hour


@SESSION_LOOP
async def test_page_breakdown_visits_and_visitors(big_api: httpx.AsyncClient) -> None:
    answer = await get(
        big_api, "breakdown", site=BIG1, by="page", compare="none",
        **{"from": DAY1.isoformat(), "to": DAY2.isoformat()},
    )  # fmt: skip
    rows = {r["key"]: r for r in answer["rows"]}
    assert list(rows) == ["/home", "/form"]
    for path in rows:
        pageviews, visits, visitors = true_page(path, {DAY1, DAY2})
        assert rows[path]["pageviews"] == pageviews  # summed: always exact
        assert_unique(rows[path]["visits"], visits, f"{path} visits")
        assert_unique(rows[path]["unique_visitors"], visitors, f"{path} visitors")
    assert true_page("/home", {DAY1, DAY2}) == (23_000, 23_000, 18_000)
    assert answer["total"] == {"pageviews": 25_500}


# --- month and year edges ------------------------------------------------------------------


def month_edge_visits() -> list[Visit]:
    """One visitor per moment, local time of site ``hcm`` (UTC+7): the last second of a month,
    the first second of the next, a visit from 23:59:30 on the last day of February into
    March 1, the middle of months, a year's end. Plus visitors seen in several months, and a
    visitor of site ``hn`` in January (another site: must not count for ``hcm``)."""
    at = datetime
    moments = {
        "dec-31-late": at(2024, 12, 31, 23, 59, 59),
        "jan-01-first": at(2025, 1, 1, 0, 0, 0),
        "jan-15": at(2025, 1, 15, 12, 0, 0),
        "jan-31-late": at(2025, 1, 31, 23, 59, 59),
        "feb-01-first": at(2025, 2, 1, 0, 0, 0),
        "feb-14": at(2025, 2, 14, 8, 30, 0),
        "mar-10": at(2025, 3, 10, 10, 0, 0),
        "mar-31-late": at(2025, 3, 31, 23, 0, 0),
        "apr-01": at(2025, 4, 1, 6, 0, 0),
    }
    out = [Visit("hcm", name, t, [(0, P, "/")]) for name, t in moments.items()]
    # starts on Feb 28 (counts there), its second pageview is on March 1 (counts there too:
    # unique visitors count every hit's visitor)
    out.append(
        Visit("hcm", "feb-28-to-mar-01", at(2025, 2, 28, 23, 59, 30), [(0, P, "/"), (60, P, "/x")])
    )
    # one visitor in January, February and April: one visitor, however many months
    out += [Visit("hcm", "regular", at(2025, m, 20, 9, 0, 0), [(0, P, "/")]) for m in (1, 2, 4)]
    out.append(Visit("hn", "other-site", at(2025, 1, 10, 9, 0, 0), [(0, P, "/")]))
    return out


MONTH_EDGE = month_edge_visits()


def true_visitors_of(visits: list[Visit], site: str, first: date, last: date) -> int:
    return len(
        {v.visitor for v in visits if v.site == site for t, _, _ in v.local_hits
         if first <= t.date() <= last}
    )  # fmt: skip


def test_visitors_and_visits_across_month_and_year_edges(
    clickhouse_engine: Any, ch_database: str
) -> None:
    db = Database(clickhouse_engine, ch_database)
    load(db, MONTH_EDGE, [])
    d = date
    periods = [
        (d(2025, 1, 1), d(2025, 1, 31)),  # exactly one month
        (d(2025, 1, 1), d(2025, 3, 31)),  # three whole months
        (d(2025, 1, 2), d(2025, 3, 30)),  # February whole, partial January and March
        (d(2025, 1, 31), d(2025, 2, 1)),  # two partial months, no whole one
        (d(2025, 2, 1), d(2025, 2, 28)),  # February whole; its visitor straddling into March
        (d(2025, 3, 1), d(2025, 3, 31)),  # ... counts in March too
        (d(2025, 2, 28), d(2025, 2, 28)),  # one day
        (d(2025, 1, 15), d(2025, 1, 15)),
        (d(2024, 12, 31), d(2025, 1, 1)),  # across the year's end
        (d(2024, 12, 1), d(2025, 4, 30)),  # five whole months across the year
        (d(2024, 12, 15), d(2025, 4, 1)),  # partial edges in two years
        (d(2025, 2, 2), d(2025, 2, 27)),  # inside one month
    ]
    metrics = {
        (first, last): portal_data.overview(db, ["hcm"], Period(first, last), None)["metrics"]
        for first, last in periods
    }
    got = {period: m["unique_visitors"]["value"] for period, m in metrics.items()}
    true = {
        (first, last): true_visitors_of(MONTH_EDGE, "hcm", first, last) for first, last in periods
    }
    assert got == true
    # a visit counts on the local date of its first hit only
    got_visits = {period: m["visits"]["value"] for period, m in metrics.items()}
    true_visits = {
        (first, last): sum(
            1 for v in MONTH_EDGE if v.site == "hcm" and first <= v.start.date() <= last
        )
        for first, last in periods
    }
    assert got_visits == true_visits
    assert true_visits[(d(2025, 3, 1), d(2025, 3, 31))] == 2  # the straddler belongs to February
    # the construction itself: the cases above are not all alike
    assert true[(d(2025, 1, 1), d(2025, 1, 31))] == 4  # jan-01-first, jan-15, jan-31-late, regular
    assert true[(d(2025, 1, 31), d(2025, 2, 1))] == 2
    assert true[(d(2025, 3, 1), d(2025, 3, 31))] == 3  # feb-28-to-mar-01, mar-10, mar-31-late
    assert true[(d(2024, 12, 1), d(2025, 4, 30))] == 11
    assert true[(d(2025, 2, 2), d(2025, 2, 27))] == 2  # feb-14, regular


# --- backfill versus materialized views -------------------------------------------------------


def extra_visits() -> list[Visit]:
    """A few hundred visits of 1-4 pageviews over two sites and three days (exit pages change
    while visits run, so sessions get retracted snapshots)."""
    vs = ids(300, "hcm")
    out = []
    for i, v in enumerate(vs):
        n = 1 + i % 4
        hits = [(60 * k, P, f"/p{(i + k) % 7}") for k in range(n)]
        start = datetime(2025, 3, 8 + i % 3, (i * 7) % 24, i % 60)
        out.append(
            Visit("hcm" if i % 3 else "hn", v, start, hits, city=["Hanoi", "Hue", ""][i // 3 % 3])
        )
    return out


ROLLUP_CONTENTS = {
    "visitors_hourly": "SELECT site, hour, uniqCombined64Merge(19)(visitors) FROM visitors_hourly "
    "GROUP BY site, hour ORDER BY site, hour",
    "page_visitors_daily": "SELECT site, date, path, sum(pageviews), "
    "uniqCombined64Merge(19)(visits), uniqCombined64Merge(19)(visitors) FROM page_visitors_daily "
    "GROUP BY site, date, path ORDER BY site, date, path",
    "visits_by_dim_daily": "SELECT site, date, dim, key, sum(visits), sum(pageviews), "
    "sum(duration_ms), sum(bounces) FROM visits_by_dim_daily GROUP BY site, date, dim, key "
    "HAVING sum(visits) != 0 OR sum(pageviews) != 0 OR sum(duration_ms) != 0 "
    "ORDER BY site, date, dim, key",
}


def answers(db: Database) -> dict[str, Any]:
    """Every portal answer the rollups feed, for both sites alone and together."""
    period, previous = (
        Period(date(2025, 3, 8), date(2025, 3, 12)),
        Period(date(2025, 3, 3), date(2025, 3, 7)),
    )
    out: dict[str, Any] = {}
    for sites in (["hcm"], ["hn"], ["hcm", "hn"]):
        key = ",".join(sites)
        out[f"overview {key}"] = portal_data.overview(db, sites, period, previous)
        for hourly in (False, True):
            out[f"series {key} {hourly}"] = portal_data.timeseries(
                db, sites, period, previous, hourly
            )
        for by in portal_data.BREAKDOWNS:
            out[f"{by} {key}"] = portal_data.breakdown(db, sites, period, previous, by, 50)
    return out


@pytest.fixture()
def backfilled(clickhouse_engine: Any, tmp_path: Path) -> Iterator[Database]:
    """A warehouse migrated without this issue's migrations, loaded, then migrated fully: its
    new rollups hold only what the backfill statements wrote."""
    older = tmp_path / "migrations"
    older.mkdir()
    for m in discover():
        if m.version not in OWN_RANGE:
            shutil.copy(m.path, older / m.path.name)
    name = f"t_{uuid.uuid4().hex[:12]}"
    clickhouse_engine.command(f"CREATE DATABASE {name}")
    try:
        migrate(clickhouse_engine, name, directory=older)
        db = Database(clickhouse_engine, name)
        load(db, VISITS + extra_visits(), BOTS)
        applied = migrate(clickhouse_engine, name, directory=MIGRATIONS_DIR)
        assert sorted(m.version for m in applied) == [
            m.version for m in discover() if m.version in OWN_RANGE
        ]
        yield db
    finally:
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {name} SYNC")


def test_backfill_answers_as_the_materialized_views(
    clickhouse_engine: Any, ch_database: str, backfilled: Database
) -> None:
    live = Database(clickhouse_engine, ch_database)
    load(live, VISITS + extra_visits(), BOTS)  # the views fill the rollups, insert by insert
    for table, sql in ROLLUP_CONTENTS.items():
        rows = live.query(sql).result_rows
        assert rows, f"{table} is empty: nothing compared"
        assert backfilled.query(sql).result_rows == rows, table
    dims = {r[2] for r in live.query(ROLLUP_CONTENTS["visits_by_dim_daily"]).result_rows}
    assert dims >= {"city", "entry_page", "exit_page", "referrer"}
    assert answers(backfilled) == answers(live)
    # running the migrations' backfills again (an interrupted migration re-run) adds nothing
    for m in discover():
        if m.version in OWN_RANGE:
            for statement in m.statements(backfilled.database):
                if statement.startswith("INSERT"):
                    backfilled.command(statement)
    for table, sql in ROLLUP_CONTENTS.items():
        assert backfilled.query(sql).result_rows == live.query(sql).result_rows, table
