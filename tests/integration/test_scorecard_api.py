"""``GET /api/v1/scorecard`` (issue 16, item 3: the provisional Decision 766/QĐ-TTg scorecard)
on real chDB, against dossiers and rating events written out below; every expected number is
added up by hand in the comments (thresholds: ``indicators/scorecard_766.toml``, points =
points × clamp((value − zero_at) / (full_at − zero_at), 0, 1), 2 decimals).

Issue 16: "five groups — openness 18 points, progress and results 20, digitised dossiers 22,
online services 22, satisfaction 18. Compute what the data supports … a group the data cannot
compute shows 'not measured', never 0."

Tree: p (province) ─┬─ d (department) ── site mc1 (catalog: P4 level 4, P3 level 3)
                    └─ site mc2 (no catalog)
      q (province) ─── site mc3 (no data at all)
Period 2026-03-01 … 03-07, local time Asia/Ho_Chi_Minh (UTC+7). Events are stored twice.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from openpyxl import load_workbook

from api.app import create_app
from clickhouse import agencies, catalog, registry, tokens
from clickhouse.client import Database
from core.settings import Settings
from schemas.agencies import Agency, AgencyKind
from schemas.dossiers import DossierEvent
from schemas.dossiers import DossierStatus as S
from schemas.hits import EnrichedHit, HitType
from schemas.sites import Site, SiteType
from schemas.workbooks import CatalogRow
from sink.rows import COLUMNS, DOSSIER_COLUMNS, Origin, dossier_row, hit_row

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "scorecard-admin"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
PERIOD = {"from": "2026-03-01", "to": "2026-03-07"}
H = 3_600_000


def L(day: int, hour: int = 9, minute: int = 0, month: int = 3) -> int:
    """Epoch ms of a local (UTC+7) time in 2026."""
    local = datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)
    return int(local.timestamp() * 1000)


def _event(site: str, code: str, proc: str, status: S, ts: int, **fields: Any) -> DossierEvent:
    return DossierEvent(
        event_id=f"{site}-{code}-{status.value}", site=site, dossier_code=code,
        procedure_code=proc, status=status, ts=ts, local_ms=ts + 7 * H, received_ms=ts, **fields,
    )  # fmt: skip


def _dossier(
    site: str,
    code: str,
    proc: str,
    channel: str,
    received: int,
    due: int = 0,
    resolved: int | None = None,
    fee: int = -1,
    digitized: int = -1,
    digitized_later: int = -1,
) -> list[DossierEvent]:
    out = [
        _event(site, code, proc, S.RECEIVED, received, channel=channel, received_at=received,
               due_at=due, digitized=digitized)
    ]  # fmt: skip
    if digitized_later >= 0:  # the flag only on a later event
        out.append(_event(site, code, proc, S.PROCESSING, received + H, digitized=digitized_later))
    if resolved is not None:
        out.append(_event(site, code, proc, S.RESOLVED, resolved, fee_paid_online=fee))
    return out


EVENTS = [
    # mc1: received in the period D1-D10 and D13 (11), online D1-D4 and D7 (5);
    # level 4 (P4): D1-D6 (6), of them online D1-D4 (4)
    # D1-D4 online P4, resolved on time; D1 fee paid online, D2 fee paid directly;
    # digitised: D1-D3 yes, D4 no
    *_dossier("mc1", "D1", "P4", "online", L(1), L(4, 17), L(3), fee=1, digitized=1),
    *_dossier("mc1", "D2", "P4", "online", L(1), L(4, 17), L(3), fee=0, digitized=1),
    *_dossier("mc1", "D3", "P4", "online", L(2), L(5, 17), L(4), digitized=1),
    *_dossier("mc1", "D4", "P4", "online", L(2), L(5, 17), L(4), digitized=0),
    # D5 direct P4 resolved late; D6 direct P4 open past its due time (overdue)
    *_dossier("mc1", "D5", "P4", "direct", L(1), L(3, 17), L(5)),
    *_dossier("mc1", "D6", "P4", "direct", L(1), L(3, 17)),
    # D7 online P3, digitised said only on a later event; D8-D10 direct P3, open, no due time
    *_dossier("mc1", "D7", "P3", "online", L(3), digitized_later=1),
    *_dossier("mc1", "D8", "P3", "direct", L(3)),
    *_dossier("mc1", "D9", "P3", "direct", L(4)),
    *_dossier("mc1", "D10", "P3", "direct", L(4)),
    # D11 in February (digitised, online, on time): counts nowhere
    *_dossier("mc1", "D11", "P4", "online", L(20, month=2), L(24, 17, month=2),
              L(22, month=2), digitized=1),
    # D12 received 00:30 local after the last day: not in the period
    *_dossier("mc1", "D12", "P3", "online", L(8, 0, 30), digitized=1),
    # D13 received 00:10 local on the first day (still 28 February in UTC): in the period
    *_dossier("mc1", "D13", "P3", "direct", L(1, 0, 10)),
    # mc2: E1-E9 online, resolved on time; E10 direct, open, no due time (10 received, 9 online)
    *[
        e
        for n in range(1, 10)
        for e in _dossier("mc2", f"E{n}", "Q1", "online", L(2), L(6, 17), L(4))
    ],
    *_dossier("mc2", "E10", "Q1", "direct", L(5)),
]  # fmt: skip

#: (site, event id, local time, event name)
RATINGS = [
    ("mc1", "r1", L(1, 10), "rating:5:P4"),
    ("mc1", "r2", L(2, 10), "rating:5:P4"),
    ("mc1", "r3", L(3, 10), "rating:4:P4"),
    ("mc1", "r4", L(7, 23, 50), "rating:2:P3"),  # 23:50 on the last day: in
    ("mc1", "r5", L(8, 0, 10), "rating:1:P3"),  # 00:10 after it: out
    ("mc1", "c1", L(2, 11), "click"),  # not a rating
    ("mc2", "r6", L(4, 10), "rating:3:Q1"),
]

P_CARD = {
    # on time (4 + 9) / (5 + 9) = 13/14 → 12 × 13/14 = 11.14; overdue (D5 + D6) / (14 + D6) =
    # 2/15 → 8 × (0.2 − 2/15) / 0.2 = 2.67
    "progress": ("measured", 13.81, [11.14, 2.67]),
    # reported D1-D4, D7 (5), digitised D1-D3, D7 (4): 0.8 → 10 × 0.8 = 8.0; two indicators
    # without a source
    "digitization": ("partial", 8.0, [8.0, None, None]),
    # online (5 + 9) / (11 + 10) = 2/3 → 8 × (2/3) / 0.8 = 6.67; full process 4 / 6 → 6.67;
    # paid online 1 of 2 fees = 0.5 ≥ 0.5 → 6.0
    "online": ("measured", 19.34, [6.67, 6.67, 6.0]),
    # ratings 5, 5, 4, 2 (mc1) and 3 (mc2): mean 19/5 = 3.8 → 18 × 2.8 / 4 = 12.6
    "satisfaction": ("measured", 12.6, [12.6]),
    "openness": ("not_measured", None, [None, None, None]),
}


def _store(db: Database) -> None:
    origin = Origin("emc.dossiers", 0, 0)
    rows = [dossier_row(e, origin) for e in EVENTS]
    for _ in range(2):  # a replay: every event twice
        db.insert("dossier_events", rows, DOSSIER_COLUMNS)
    hits = []
    for site, event_id, ts, name in RATINGS:
        hit = EnrichedHit(
            event_id=event_id, site=site, ts=ts, local_ms=ts + 7 * H, received_ms=ts,
            type=HitType.EVENT, name=name, url=f"https://{site}.gov.vn/", visitor_id="v",
        )  # fmt: skip
        hits.append(hit_row(hit, Origin("t", 0, 0))[1])
    db.insert("pageviews", hits, COLUMNS["pageviews"])
    db.insert("pageviews", hits[:1], COLUMNS["pageviews"])  # r1 stored twice: counts once


@pytest_asyncio.fixture(loop_scope="session")
async def world(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[dict[str, Any]]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    agencies.load(
        db,
        [
            Agency(id="p", name="Tỉnh P", kind=AgencyKind.PROVINCE, code="91"),
            Agency(id="d", name="Sở D", kind=AgencyKind.DEPARTMENT, parent_id="p"),
            Agency(id="q", name="Tỉnh Q", kind=AgencyKind.PROVINCE, code="92"),
        ],
    )
    for site, agency in (("mc1", "d"), ("mc2", "p"), ("mc3", "q")):
        registry.upsert_site(db, Site(id=site, name=site, type=SiteType.ONESTOP, agency_id=agency))
    catalog.import_catalog(
        db,
        "mc1",
        [CatalogRow(2, "Thủ tục 4", 4, "", "", "P4"), CatalogRow(3, "Thủ tục 3", 3, "", "", "P3")],
        file_name="c",
        sha256="",
        make_default=True,
    )
    _store(db)
    _, p_token = tokens.create_token(db, "p", "Tỉnh P")
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield {"api": client, "p": {"Authorization": f"Bearer {p_token}"}}


async def _card(world: dict[str, Any], headers: dict[str, str], **params: str) -> Any:
    response = await world["api"].get("/api/v1/scorecard", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _summary(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        g["key"]: (g["status"], g["points"], [i["points"] for i in g["indicators"]])
        for g in answer["groups"]
    }


async def test_the_agency_scorecard_equals_the_hand_computed_one(world: dict[str, Any]) -> None:
    answer = await _card(world, ADMIN, agency="p", **PERIOD)
    assert answer["provisional"] is True and answer["agency"] == "p"
    assert sorted(answer["sites"]) == ["mc1", "mc2"]
    assert _summary(answer) == P_CARD
    assert answer["total"] == {
        "points_max": 100,
        "points": 53.75,  # 13.81 + 8.0 + 19.34 + 12.6
        "measured_max": 70,  # openness (18) and 12 digitisation points cannot be measured
        "measured_pct": 76.8,  # 53.75 / 70
        "complete": False,
    }
    groups = {g["key"]: g for g in answer["groups"]}
    online = groups["online"]["indicators"]
    assert [(i["numerator"], i["denominator"]) for i in online] == [(14, 21), (4, 6), (1, 2)]
    digitized = groups["digitization"]["indicators"][0]
    assert (digitized["numerator"], digitized["denominator"]) == (4, 5)
    assert groups["openness"]["points"] is None and groups["openness"]["reason"]
    assert answer["ratings"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 2}


async def test_a_site_without_data_is_not_measured_never_zero(world: dict[str, Any]) -> None:
    answer = await _card(world, ADMIN, site="mc3", **PERIOD)
    assert {g["key"]: (g["status"], g["points"]) for g in answer["groups"]} == {
        key: ("not_measured", None) for key in P_CARD
    }
    assert answer["total"]["points"] is None and answer["total"]["measured_pct"] is None
    satisfaction = answer["groups"][4]
    assert satisfaction["reason"] == "0 ratings in the period; at least 1 needed"


async def test_the_department_sees_its_own_site(world: dict[str, Any]) -> None:
    """Agency d = site mc1 only: on time 4/5 → 9.6; overdue 2/6 > 0.2 → 0; online 5/11 →
    8 × (5/11) / 0.8 = 4.55; ratings 5, 5, 4, 2 → mean 4 → 13.5."""
    answer = await _card(world, ADMIN, agency="d", **PERIOD)
    summary = _summary(answer)
    assert summary["progress"] == ("measured", 9.6, [9.6, 0.0])
    assert summary["online"][2][0] == 4.55
    assert summary["satisfaction"] == ("measured", 13.5, [13.5])


async def test_an_agency_token_sees_its_subtree_only(world: dict[str, Any]) -> None:
    mine = await _card(world, world["p"], agency="p", **PERIOD)
    assert _summary(mine) == P_CARD
    for params in ({"agency": "q"}, {"site": "mc3"}):
        response = await world["api"].get(
            "/api/v1/scorecard", params={**params, **PERIOD}, headers=world["p"]
        )
        assert response.status_code == 404, response.text


async def test_bad_parameters_name_the_field(world: dict[str, Any]) -> None:
    response = await world["api"].get(
        "/api/v1/scorecard", params={"agency": "p", "from": "2026-03-08", "to": "2026-03-01"},
        headers=ADMIN,
    )  # fmt: skip
    assert response.status_code == 400 and "from" in response.json()["error"]
    response = await world["api"].get(
        "/api/v1/scorecard", params={"agency": "p", **PERIOD, "format": "pdf"}, headers=ADMIN
    )
    assert response.status_code == 400 and "format" in response.json()["error"]


async def test_xlsx_and_csv_exports(world: dict[str, Any]) -> None:
    response = await world["api"].get(
        "/api/v1/scorecard", params={"agency": "p", **PERIOD, "format": "xlsx"}, headers=ADMIN
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert "TẠM TÍNH" in rows[0][0] and "766/QĐ-TTg" in rows[0][0]
    assert rows[2][0] == "Kỳ — period: 2026-03-01 … 2026-03-07"
    by_name = {str(r[0]).strip(): r for r in rows[6:] if r and r[0]}
    assert by_name["Công khai, minh bạch"][4] is None
    assert str(by_name["Công khai, minh bạch"][6]).startswith("Chưa đo được")
    # value in percent, numerator, denominator, points, max
    assert tuple(by_name["Tỷ lệ hồ sơ trực tuyến"][1:6]) == (66.67, 14, 21, 6.67, 8)
    assert by_name["Tổng điểm — total"][4] == 53.75
    response = await world["api"].get(
        "/api/v1/scorecard", params={"agency": "p", **PERIOD, "format": "csv"}, headers=ADMIN
    )
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("group,group_vi,group_points")
    assert len(lines) == 1 + 12 + 1  # header, 12 indicators, total
