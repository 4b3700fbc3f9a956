"""Targets (chỉ tiêu) and reconciliation (đối soát), issue 18 items 4 and 6, on real chDB:
known-answer progress, forecast and laggards with a fixed ``now``, a reconciliation with a
known missing day, and isolation of every new route (a token never reads or writes outside its
subtree; outside answers exactly like an unknown id).

The tree, its dossiers (the rankings tests' list, ``test_rankings_levels``) and tokens:

    prov (province; editor and viewer tokens) ─┬─ dept-a ── a-mc: A1 online, A2 online, A3 direct
                                               │            (all March 2026); A0 direct, Dec 2025
                                               ├─ dept-b ── b-mc: B1 direct
                                               │    └─ b-unit ── bu-mc: U1 online, U2 direct
                                               └─ xa (commune) ── x-mc: reconciliation dossiers
    other (province; the ``rival`` editor token) ── o-mc

Seed 002, footnote to Bảng 3/4: "Tỷ lệ hồ sơ trực tuyến được tính bằng số lượng hồ sơ nộp trực
tuyến … so với tổng số hồ sơ" (online dossiers ÷ all dossiers), the rankings' online_dossier_rate.
Now = 2026-03-11 00:00 in Vietnam: 69 whole days of 2026 have passed (31 + 28 + 10). The
online dossier rate (III.5, "tỷ lệ hồ sơ trực tuyến", seed 002) of dept-a is 2/3 = 66.7 %, of
dept-b 1/3 = 33.3 %; each received 3 dossiers (``received_all_channels``), so the year-end
forecast of that count is 3 × 365 / 69 = 15.87 → 15.9, and of a rate its value so far.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import pytest_asyncio
from openpyxl import Workbook, load_workbook

from api.app import create_app
from clickhouse import agencies, registry, tokens
from clickhouse.client import Database
from clickhouse.migrate import migrate
from core.settings import Settings
from schemas.agencies import Agency, AgencyKind
from schemas.sites import Site, SiteType
from tests.integration.test_dossier_api import LY, Dossier, L, _store
from tests.integration.test_rankings_levels import DOSSIERS as LEVEL_DOSSIERS

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "targets-admin"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
K = AgencyKind
NOW = datetime(2026, 3, 11, 0, 0, tzinfo=timezone(timedelta(hours=7))).timestamp()

TREE = [
    Agency(id="prov", name="Tỉnh P", kind=K.PROVINCE),
    Agency(id="other", name="Tỉnh O", kind=K.PROVINCE),
    Agency(id="dept-a", name="Sở A", kind=K.DEPARTMENT, parent_id="prov"),
    Agency(id="dept-b", name="Sở B", kind=K.DEPARTMENT, parent_id="prov"),
    Agency(id="b-unit", name="Chi cục B", kind=K.OTHER, parent_id="dept-b"),
    Agency(id="xa", name="Xã X", kind=K.COMMUNE, parent_id="prov"),
]
SITES = {"a-mc": "dept-a", "b-mc": "dept-b", "bu-mc": "b-unit", "x-mc": "xa", "o-mc": "other"}
DOSSIERS = [
    *(d for d in LEVEL_DOSSIERS if d.site in ("a-mc", "b-mc", "bu-mc")),
    Dossier("A0", "S1", "direct", LY(2025, 12, 15), site="a-mc"),
    # x-mc, procedure R: received 2, 3 and 5 March (the dossier of 4 March never arrived; the
    # commune's own books say 4), the first resolved on 3 March; procedure Q: one, 3 March
    Dossier("R1", "R", "direct", L(2), due=L(9, 17), resolved=L(3), site="x-mc"),
    Dossier("R2", "R", "direct", L(3), due=L(10, 17), site="x-mc"),
    Dossier("R3", "R", "online", L(5), due=L(12, 17), site="x-mc"),
    Dossier("Q1", "Q", "direct", L(3), due=L(10, 17), site="x-mc"),
    Dossier("O1", "R", "direct", L(4), site="o-mc"),
]


@pytest.fixture(scope="module")
def targets_db(clickhouse_engine: Any) -> Iterator[Database]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    clickhouse_engine.command(f"CREATE DATABASE {name}")
    migrate(clickhouse_engine, name)
    db = Database(clickhouse_engine, name)
    agencies.load(db, TREE)
    for site, agency in SITES.items():
        registry.upsert_site(db, Site(id=site, name=site, type=SiteType.ONESTOP, agency_id=agency))
    _store(db, DOSSIERS)
    try:
        yield db
    finally:
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {name} SYNC")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest_asyncio.fixture(loop_scope="session")
async def world(targets_db: Database) -> AsyncIterator[dict[str, Any]]:
    db = targets_db
    settings = Settings(clickhouse_database=db.database, admin_token=TOKEN)  # type: ignore[arg-type]
    _, editor = tokens.create_token(db, "prov", "editors of P", tokens.EDITOR)
    _, viewer = tokens.create_token(db, "prov", "analysts of P")
    _, dept_editor = tokens.create_token(db, "dept-b", "editors of B", tokens.EDITOR)
    _, rival = tokens.create_token(db, "other", "editors of O", tokens.EDITOR)
    app = create_app(settings, db, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield {
            "api": client,
            "editor": _bearer(editor),
            "viewer": _bearer(viewer),
            "dept_editor": _bearer(dept_editor),
            "rival": _bearer(rival),
        }


def workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _file(data: bytes, name: str = "chi-tieu.xlsx") -> dict[str, Any]:
    return {"files": {"file": (name, data, XLSX)}}


TARGETS_FILE = [
    ["Agency", "Metric", "Year", "Target", "Ghi chú"],
    ["dept-a", "online_dossier_rate", 2026, 50, ""],  # 2
    ["dept-b", "online_dossier_rate", 2026, 60, ""],  # 3
    ["dept-a", "received_all_channels", 2026, 20, ""],  # 4
    ["dept-b", "received_all_channels", 2026, 10, ""],  # 5
    ["dept-a", "received_all_channels", 2025, 1, ""],  # 6
    ["dept-a", "received_all_channels", 2027, 30, ""],  # 7
    ["prov", "online_dossier_rate", 2026, 70, "own agency"],  # 8
    ["other", "online_dossier_rate", 2026, 70, "outside"],  # 9
    ["dept-a", "tỷ lệ", 2026, 70, "bad metric"],  # 10
    ["dept-b", "on_time_rate", 1999, 70, "bad year"],  # 11
    ["dept-b", "on_time_rate", 2026, -5, "bad target"],  # 12
    ["nowhere", "on_time_rate", 2026, 5, "unknown"],  # 13
]


async def _import(world: dict[str, Any]) -> httpx.Response:
    return await world["api"].post(
        "/api/v1/targets/import", headers=world["editor"], **_file(workbook(TARGETS_FILE))
    )


async def test_import_keeps_good_rows_and_reports_each_bad_one(world: dict[str, Any]) -> None:
    answer = await _import(world)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["imported"] == 6
    problems = [(p["row"], p["column"]) for p in body["problems"]]
    assert problems == [
        (8, "Agency"), (9, "Agency"), (10, "Metric"), (11, "Year"), (12, "Target"),
        (13, "Agency"),
    ]  # fmt: skip
    by_row = {p["row"]: p["problem"] for p in body["problems"]}
    assert "set by the agency above" in by_row[8]
    # outside the subtree reads exactly like an unknown id
    assert by_row[9] == by_row[13].replace("nowhere", "other")
    # a file that is no workbook, or lacks a column, is refused whole, naming why
    junk = await world["api"].post(
        "/api/v1/targets/import", headers=world["editor"], **_file(b"Agency;Metric", "x.csv")
    )
    assert junk.status_code == 415 and junk.json()["problems"][0]["row"] == 0
    short = await world["api"].post(
        "/api/v1/targets/import", headers=world["editor"],
        **_file(workbook([["Agency", "Metric", "Year"], ["dept-a", "visits", 2026]])),
    )  # fmt: skip
    assert short.status_code == 422
    assert short.json()["problems"] == [{"row": 1, "column": "Target", "problem": "missing column"}]
    # a re-import replaces: still one target per agency, metric and year
    again = await _import(world)
    assert again.status_code == 201
    listed = await world["api"].get(
        "/api/v1/targets", params={"year": "2026"}, headers=world["viewer"]
    )
    assert len(listed.json()["targets"]) == 4


async def test_progress_forecast_and_laggards_known_answer(world: dict[str, Any]) -> None:
    await _import(world)
    answer = await world["api"].get(
        "/api/v1/targets", params={"year": "2026"}, headers=world["viewer"]
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["agency"] == "prov" and body["now"] == "2026-03-11T00:00:00"
    got = {
        (r["agency"], r["metric"]): (
            r["target"], r["actual"], r["progress_pct"], r["forecast"], r["forecast_pct"],
            r["on_track"],
        )
        for r in body["targets"]
    }  # fmt: skip
    assert got == {
        # a rate: the forecast is the rate so far
        ("dept-a", "online_dossier_rate"): (50.0, 66.7, 133.4, 66.7, 133.4, True),
        ("dept-b", "online_dossier_rate"): (60.0, 33.3, 55.5, 33.3, 55.5, False),
        # a count: 3 × 365 / 69 = 15.9 at year end
        ("dept-a", "received_all_channels"): (20.0, 3, 15.0, 15.9, 79.5, False),
        ("dept-b", "received_all_channels"): (10.0, 3, 30.0, 15.9, 159.0, True),
    }
    assert [(r["agency"], r["metric"]) for r in body["laggards"]] == [
        ("dept-b", "online_dossier_rate"), ("dept-a", "received_all_channels"),
    ]  # fmt: skip
    # the actual is the number the rankings show for 1 January … today
    ranking = await world["api"].get(
        "/api/v1/rankings",
        params={"agency": "prov", "metric": "online_dossier_rate", "from": "2026-01-01",
                "to": "2026-03-11", "compare": "none"},
        headers=world["viewer"],
    )  # fmt: skip
    ranked = {r["agency"]: r["value"] for r in ranking.json()["rows"]}
    assert ranked["dept-a"] == 66.7 and ranked["dept-b"] == 33.3
    # a past year: its actual (A0, December 2025) is the forecast; a future year: none
    past = (
        await world["api"].get("/api/v1/targets", params={"year": "2025"}, headers=ADMIN)
    ).json()
    assert [(r["agency"], r["actual"], r["forecast"], r["progress_pct"], r["on_track"])
            for r in past["targets"]] == [("dept-a", 1, 1.0, 100.0, True)]  # fmt: skip
    future = (
        await world["api"].get("/api/v1/targets", params={"year": "2027"}, headers=ADMIN)
    ).json()
    assert [(r["actual"], r["forecast"], r["on_track"]) for r in future["targets"]] == [
        (None, None, None)
    ]


async def test_export_is_the_import_layout(world: dict[str, Any]) -> None:
    await _import(world)
    exported = await world["api"].get(
        "/api/v1/targets", params={"year": "2026", "format": "xlsx"}, headers=world["viewer"]
    )
    assert exported.status_code == 200
    rows = list(load_workbook(io.BytesIO(exported.content)).worksheets[0].values)
    assert list(rows[0][:6]) == ["Agency", "Metric", "Year", "Target", "name", "actual"]
    assert [tuple(r[:4]) for r in rows[1:]] == [
        ("dept-a", "online_dossier_rate", 2026, 50), ("dept-a", "received_all_channels", 2026, 20),
        ("dept-b", "online_dossier_rate", 2026, 60), ("dept-b", "received_all_channels", 2026, 10),
    ]  # fmt: skip
    back = await world["api"].post(
        "/api/v1/targets/import", headers=world["editor"], **_file(exported.content)
    )
    assert back.status_code == 201 and back.json()["imported"] == 4


async def test_put_and_delete_follow_the_tree(world: dict[str, Any]) -> None:
    api = world["api"]
    one = {"agency": "b-unit", "metric": "on_time_rate", "year": 2026, "target": 90}
    # the province's editor and the department's editor set a target below them
    for who in ("editor", "dept_editor"):
        put = await api.put("/api/v1/targets", json=one, headers=world[who])
        assert put.status_code == 200, put.text
        assert put.json()["target"] == 90.0 and put.json()["updated_by"].startswith("agency:")
    # its own agency's targets are its parent's to set
    own = await api.put(
        "/api/v1/targets", json={**one, "agency": "dept-b"}, headers=world["dept_editor"]
    )
    assert own.status_code == 403
    # a viewer may not write at all
    assert (await api.put("/api/v1/targets", json=one, headers=world["viewer"])).status_code == 403
    # another subtree answers like an unknown id
    rival = await api.put("/api/v1/targets", json=one, headers=world["rival"])
    unknown = await api.put(
        "/api/v1/targets", json={**one, "agency": "nope"}, headers=world["rival"]
    )
    assert rival.status_code == unknown.status_code == 404
    assert rival.json()["error"] == unknown.json()["error"].replace("nope", "b-unit")
    bad = await api.put("/api/v1/targets", json={**one, "year": "2026"}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"].startswith("year:")
    broken = await api.put("/api/v1/targets", content=b"{", headers=ADMIN)
    assert broken.status_code == 400 and broken.json()["error"].startswith("body:")
    params = {"agency": "b-unit", "metric": "on_time_rate", "year": "2026"}
    gone = await api.delete("/api/v1/targets", params=params, headers=world["rival"])
    assert gone.status_code == 404
    gone = await api.delete("/api/v1/targets", params=params, headers=world["dept_editor"])
    assert gone.status_code == 200
    again = await api.delete("/api/v1/targets", params=params, headers=world["editor"])
    assert again.status_code == 404


async def test_reads_stay_inside_the_subtree(world: dict[str, Any]) -> None:
    await _import(world)
    api = world["api"]
    await api.put(
        "/api/v1/targets",
        json={"agency": "other", "metric": "on_time_rate", "year": 2026, "target": 80},
        headers=ADMIN,
    )
    mine = (await api.get("/api/v1/targets", headers=world["rival"])).json()
    assert {r["agency"] for r in mine["targets"]} == {"other"}
    for who in ("rival", "dept_editor"):
        other = await api.get("/api/v1/targets", params={"agency": "dept-a"}, headers=world[who])
        unknown = await api.get("/api/v1/targets", params={"agency": "nope"}, headers=world[who])
        assert other.status_code == unknown.status_code == 404
    dept = (await api.get("/api/v1/targets", headers=world["dept_editor"])).json()
    seen = {r["agency"] for r in dept["targets"]}
    assert "dept-b" in seen and seen <= {"dept-b", "b-unit"}
    everything = (await api.get("/api/v1/targets", params={"year": "2026"}, headers=ADMIN)).json()
    assert {"other", "dept-a"} <= {r["agency"] for r in everything["targets"]}


RECON_FILE = [
    ["Site", "Procedure", "Month", "Received", "Resolved"],
    ["x-mc", "R", "2026-03", 4, 1],  # 2: one received dossier lost (4 March)
    ["x-mc", "Q", "03/2026", 1, 0],  # 3: matches
    ["x-mc", "R", "2026-13", 4, 1],  # 4: bad month
    ["o-mc", "R", "2026-03", 1, 0],  # 5: another province's site
    ["x-mc", "S", "2026-03", -1, 0],  # 6: bad count
]


async def test_reconciliation_finds_the_missing_day(world: dict[str, Any]) -> None:
    api = world["api"]
    up = await api.post(
        "/api/v1/reconciliation", params={"agency": "xa"}, headers=world["editor"],
        **_file(workbook(RECON_FILE), "doi-soat.xlsx"),
    )  # fmt: skip
    assert up.status_code == 201, up.text
    assert up.json()["imported"] == 2
    assert [(p["row"], p["column"]) for p in up.json()["problems"]] == [
        (4, "Month"), (5, "Site"), (6, "Received"),
    ]  # fmt: skip
    answer = await api.get(
        "/api/v1/reconciliation", params={"agency": "xa"}, headers=world["viewer"]
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = {r["procedure"]: r for r in body["rows"]}
    assert set(rows) == {"Q", "R"}
    r = rows["R"]
    assert (r["reported_received"], r["received"], r["received_diff"]) == (4, 3, 1)
    assert (r["reported_resolved"], r["resolved"], r["resolved_diff"]) == (1, 1, 0)
    received = {d["date"]: d["received"] for d in r["days"]}
    assert len(received) == 31
    assert [received[f"2026-03-0{d}"] for d in range(1, 7)] == [0, 1, 1, 0, 1, 0]
    assert "days" not in rows["Q"] and rows["Q"]["received_diff"] == 0
    site_days = {d["date"]: d["received"] for d in body["site_days"][0]["days"]}
    assert site_days["2026-03-03"] == 2 and site_days["2026-03-04"] == 0
    assert body["totals"] == {"received_diff": 1, "resolved_diff": 0, "differing_rows": 1}
    sheet = await api.get(
        "/api/v1/reconciliation", params={"agency": "prov", "format": "xlsx"},
        headers=world["editor"],
    )  # fmt: skip
    rows_x = list(load_workbook(io.BytesIO(sheet.content)).worksheets[0].values)
    assert rows_x[0][:3] == ("site", "procedure", "month") and len(rows_x) == 3


async def test_reconciliation_isolation(world: dict[str, Any]) -> None:
    api = world["api"]
    data = _file(workbook(RECON_FILE[:2]))
    viewer = await api.post(
        "/api/v1/reconciliation", params={"agency": "xa"}, headers=world["viewer"], **data
    )
    assert viewer.status_code == 403
    rival = await api.post(
        "/api/v1/reconciliation", params={"agency": "xa"}, headers=world["rival"], **data
    )
    unknown = await api.post(
        "/api/v1/reconciliation", params={"agency": "nope"}, headers=world["rival"], **data
    )
    assert rival.status_code == unknown.status_code == 404
    assert rival.json()["error"] == unknown.json()["error"].replace("nope", "xa")
    # the rival's own file naming our site: a row problem, nothing stored
    mine = await api.post(
        "/api/v1/reconciliation", headers=world["rival"], **_file(workbook(RECON_FILE[:2]))
    )
    assert mine.status_code == 422 and mine.json()["problems"][0]["column"] == "Site"
    for params in ({"agency": "xa"}, {"site": "x-mc"}):
        read = await api.get("/api/v1/reconciliation", params=params, headers=world["rival"])
        assert read.status_code == 404
    own = await api.get("/api/v1/reconciliation", headers=world["rival"])
    assert own.status_code == 200 and own.json()["rows"] == []


async def test_import_as_a_lower_agency_takes_only_rows_below_it(world: dict[str, Any]) -> None:
    rows = [
        ["Agency", "Metric", "Year", "Target"],
        ["b-unit", "on_time_rate", 2026, 95],
        ["dept-b", "on_time_rate", 2026, 95],
        ["dept-a", "on_time_rate", 2026, 95],
    ]
    answer = await world["api"].post(
        "/api/v1/targets/import", params={"agency": "dept-b"}, headers=world["editor"],
        **_file(workbook(rows)),
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    assert [t["agency"] for t in answer.json()["targets"]] == ["b-unit"]
    assert [(p["row"], p["column"]) for p in answer.json()["problems"]] == [
        (3, "Agency"), (4, "Agency"),
    ]  # fmt: skip
    # an agency outside the caller's subtree cannot be borrowed
    borrowed = await world["api"].post(
        "/api/v1/targets/import", params={"agency": "dept-b"}, headers=world["rival"],
        **_file(workbook(rows)),
    )  # fmt: skip
    assert borrowed.status_code == 404
    # another province's editor importing our agencies' rows stores nothing
    theirs = await world["api"].post(
        "/api/v1/targets/import", headers=world["rival"], **_file(workbook(rows))
    )
    assert theirs.status_code == 422
    assert {p["problem"] for p in theirs.json()["problems"]} == {
        f"agency {a!r} is not registered" for a in ("b-unit", "dept-b", "dept-a")
    }
