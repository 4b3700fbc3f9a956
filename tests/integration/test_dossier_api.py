"""The DVC and one-stop indicators, the account summary and the quarterly report over the
warehouse API on real chDB, against dossiers written out below. Every expected number is
counted by hand from that list (the comments say which dossiers make it).

Site ``mc`` (one-stop, UTC+7). Default catalog v1: P4a, P4b, P4c level 4; P3a, P3b level 3;
P0 level 0 (6 services). PX is in no catalog. Period 2026-03-01 … 03-07 (local), previous
period 02-22 … 02-28. Events are stored shuffled and twice (late, out of order, duplicated).
"""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from openpyxl import load_workbook

from api.app import create_app
from clickhouse import accounts, catalog
from clickhouse.client import Database
from core.settings import Settings
from schemas.dossiers import DossierEvent
from schemas.dossiers import DossierStatus as S
from schemas.hits import EnrichedHit, HitType
from schemas.workbooks import AccountRow, CatalogRow
from sink.rows import COLUMNS, DOSSIER_COLUMNS, Origin, dossier_row, hit_row

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "dossier-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
H = 3_600_000
PERIOD = {"from": "2026-03-01", "to": "2026-03-07"}


def L(day: int, hour: int = 9, minute: int = 0, month: int = 3) -> int:
    """Epoch ms of a local (UTC+7) time in 2026."""
    local = datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)
    return int(local.timestamp() * 1000)


@dataclass(frozen=True)
class Dossier:
    code: str
    proc: str
    channel: str
    received: int | None
    submitted: int | None = None
    due: int | None = None
    resolved: int | None = None
    returned: int | None = None
    admin_level: str = ""
    agency: str = ""
    fee: int = -1
    payment_requested: bool = False
    withdrawn: int | None = None
    site: str = "mc"


MC = [
    # A1 online L4, submitted and received 03-01, resolved on time 03-03, returned 03-03 15:00
    #    (processing 54 h), fee paid online
    Dossier("A1", "P4a", "online", L(1, 9), submitted=L(1, 8), due=L(5, 17), resolved=L(3, 10),
            returned=L(3, 15), admin_level="commune", agency="UBND-Q1", fee=1),
    # A2 direct L4, resolved late 03-06 09:00, returned 03-06 10:00 (96 h), fee paid directly
    Dossier("A2", "P4a", "direct", L(2, 10), due=L(4, 17), resolved=L(6, 9), returned=L(6, 10),
            admin_level="district", agency="UBND-Q1", fee=0),
    # A3 online L4, open, due after the period; a payment was requested (a fee)
    Dossier("A3", "P4b", "online", L(2, 11), submitted=L(2, 10, 30), due=L(10, 17),
            admin_level="province", payment_requested=True),
    # A4 online L3, submitted in the previous period, received 03-01, open and overdue
    Dossier("A4", "P3a", "online", L(1, 8), submitted=L(27, 20, month=2), due=L(2, 17),
            admin_level="province"),
    # A5 direct L3, received in the previous period, resolved late in this one (120 h)
    Dossier("A5", "P3a", "direct", L(25, 9, month=2), due=L(27, 17, month=2),
            resolved=L(2, 9), returned=L(2, 9), admin_level="province"),
    # A6 postal L3 received at 23:30 local on the last day (16:30 UTC): in the period
    Dossier("A6", "P3b", "postal", L(7, 23, 30), due=L(20, 17), admin_level="commune"),
    # A7 online L3 received at 00:30 local after the last day (same UTC date as A6): not in it
    Dossier("A7", "P3b", "online", L(8, 0, 30), due=L(20, 17), admin_level="commune"),
    # A8 online, procedure PX missing from the catalog
    Dossier("A8", "PX", "online", L(3, 9), submitted=L(3, 8), admin_level="district"),
    # A9 direct level 0, resolved exactly at its due time (on time), 32 h
    Dossier("A9", "P0", "direct", L(4, 9), due=L(5, 17), resolved=L(5, 17), returned=L(5, 17)),
    # A10 online L4, withdrawn: received, open, but never overdue
    Dossier("A10", "P4b", "online", L(1, 10), due=L(3, 17), withdrawn=L(2, 9),
            admin_level="central"),
    # A11 direct L3, open, due after the period
    Dossier("A11", "P3b", "direct", L(5, 10), due=L(20, 17), admin_level="commune"),
    # B1 previous period: online L4, resolved on time (24 h)
    Dossier("B1", "P4a", "online", L(23, 9, month=2), submitted=L(23, 8, month=2),
            due=L(26, 17, month=2), resolved=L(24, 9, month=2), returned=L(24, 9, month=2),
            admin_level="province"),
]  # fmt: skip

DVC = [
    # previous period: one submission of a level-4 service
    Dossier("S0", "1.001193", "online", None, submitted=L(25, 9, month=2), site="dvc"),
    Dossier("S1", "1.001193", "online", None, submitted=L(1, 9), site="dvc"),
    Dossier("S2", "1.001193", "online", None, submitted=L(2, 9), site="dvc"),
    Dossier("S3", "1.000894", "online", None, submitted=L(3, 9), site="dvc"),  # level 3
    Dossier("S4", "2.000635", "online", None, submitted=L(4, 9), site="dvc"),  # level 4
    Dossier("S5", "9.999999", "online", None, submitted=L(5, 9), site="dvc"),  # unknown
]
#: DVC pageviews: 40 in the period (two at 23:50 on the last day), 1 just after, 10 before.
PAGEVIEWS = (
    [L(1 + i % 7, 10) for i in range(38)]
    + [L(7, 23, 50)] * 2
    + [L(8, 0, 10)]
    + [L(22 + i % 7, 10, month=2) for i in range(10)]
)

CATALOG_V1 = [
    CatalogRow(2, "Service 4a", 4, "", "", "P4a"),
    CatalogRow(3, "Service 4b", 4, "", "", "P4b"),
    CatalogRow(4, "Service 4c", 4, "", "", "P4c"),
    CatalogRow(5, "Service 3a", 3, "", "", "P3a"),
    CatalogRow(6, "Service 3b", 3, "", "", "P3b"),
    CatalogRow(7, "Service 0", 0, "", "", "P0"),
]
DVC_CATALOG = [
    CatalogRow(2, "Khai sinh", 4, "", "1.001193", "1.001193"),
    CatalogRow(3, "Kết hôn", 3, "", "1.000894", "1.000894"),
    CatalogRow(4, "Trích lục", 4, "", "2.000635", "2.000635"),
    CatalogRow(5, "Hộ kinh doanh", 4, "", "2.000720", "2.000720"),
    CatalogRow(6, "Xây dựng", 3, "", "1.009972", "1.009972"),
    CatalogRow(7, "Đất đai", 3, "", "1.004227", "1.004227"),
    CatalogRow(8, "Báo cáo viên", 0, "", "", "2.000930"),
]


def _events(d: Dossier) -> list[DossierEvent]:
    out: list[DossierEvent] = []

    def add(status: S, ts: int, **fields: Any) -> None:
        out.append(
            DossierEvent(
                event_id=f"{d.site}-{d.code}-{status.value}", site=d.site, dossier_code=d.code,
                procedure_code=d.proc, status=status, ts=ts, local_ms=ts + 7 * H,
                received_ms=ts, **fields,
            )
        )  # fmt: skip

    if d.submitted is not None:
        add(S.SUBMITTED, d.submitted, channel=d.channel, source="dvc_portal",
            submitted_by="citizen", submitted_at=d.submitted)  # fmt: skip
    if d.received is not None:
        add(S.RECEIVED, d.received, channel=d.channel, due_at=d.due or 0,
            admin_level=d.admin_level, agency=d.agency)  # fmt: skip
    if d.payment_requested:
        add(S.PAYMENT_REQUESTED, (d.received or 0) + H)
    if d.withdrawn is not None:
        add(S.WITHDRAWN, d.withdrawn)
    if d.resolved is not None:
        add(S.RESOLVED, d.resolved, fee_paid_online=d.fee)
    if d.returned is not None:
        add(S.RETURNED, d.returned)
    return out


def _store(db: Database, dossiers: list[Dossier]) -> None:
    events = [e for d in dossiers for e in _events(d)]
    random.Random(7).shuffle(events)
    origin = Origin("emc.dossiers", 0, 0)
    half = len(events) // 2
    # late and twice: the second half first, then everything again (a replay)
    for part in (events[half:], events[:half], events):
        db.insert("dossier_events", [dossier_row(e, origin) for e in part], DOSSIER_COLUMNS)


def _pageviews(db: Database) -> None:
    rows = []
    for n, ts in enumerate(PAGEVIEWS):
        hit = EnrichedHit(
            event_id=f"pv{n}", site="dvc", ts=ts, local_ms=ts + 7 * H, received_ms=ts,
            type=HitType.PAGEVIEW, url="https://dvc.gov.vn/", visitor_id=f"v{n}",
        )  # fmt: skip
        rows.append(hit_row(hit, Origin("t", 0, n))[1])
    # a visitor with an event and no pageview on 2 March: a visitor (II.8), not a viewer
    event = EnrichedHit(
        event_id="ev1", site="dvc", ts=L(2, 11), local_ms=L(2, 11) + 7 * H, received_ms=L(2, 11),
        type=HitType.EVENT, name="click", url="https://dvc.gov.vn/", visitor_id="e1",
    )  # fmt: skip
    rows.append(hit_row(event, Origin("t", 0, len(PAGEVIEWS)))[1])
    db.insert("pageviews", rows, COLUMNS["pageviews"])


@pytest_asyncio.fixture(loop_scope="session")
async def env(
    clickhouse_engine: Any, ch_database: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    for site, kind in [("mc", "onestop"), ("dvc", "dvc"), ("empty", "onestop")]:
        db.command(
            "INSERT INTO sites (id, name, type, updated_at) VALUES "
            f"('{site}', '{site}', '{kind}', now64())"
        )
    catalog.import_catalog(db, "mc", CATALOG_V1, file_name="v1", sha256="", make_default=True)
    catalog.import_catalog(db, "dvc", DVC_CATALOG, file_name="d", sha256="", make_default=True)
    _store(db, MC + DVC)
    _pageviews(db)
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, db


async def _get(api: httpx.AsyncClient, path: str, **params: str) -> Any:
    response = await api.get(path, params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def _values(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: m["value"] for k, m in metrics.items()}


async def test_onestop_overview(env: tuple[httpx.AsyncClient, Database]) -> None:
    api, _ = env
    answer = await _get(api, "/api/v1/onestop/overview", site="mc", **PERIOD)
    assert answer["compare"] == {"from": "2026-02-22", "to": "2026-02-28"}
    assert _values(answer["metrics"]) == {
        "submitted": 3,  # A1, A3, A8 (A4 was submitted in February)
        "received_online": 5,  # A1, A3, A4, A8, A10
        # III.3 (seed 000): received "từ tất cả các nguồn trực tuyến" — online or from a named
        # online source: A1, A3, A4, A8, A10 (not the direct A2, A9, A11 nor the postal A6)
        "received_total": 5,
        # every channel, III.5's base: A1-A4, A6, A8-A11 (not A5: February; not A7: 8 March local)
        "received_all_channels": 9,
        "services_online_pct": 66.7,  # online {P4a,P4b,P3a,PX} / any {+P3b,P0}
        "online_rate_pct": 55.6,  # 5 / 9
        "avg_processing_time_s": 271800.0,  # (54 + 96 + 120 + 32) h / 4: A1, A2, A5, A9
        # III.9-10: over every service with dossiers {P4a, P4b, P3a, P3b, PX, P0}
        "l4_services_online_pct": 33.3,  # {P4a, P4b} / 6
        "l3_services_online_pct": 16.7,  # {P3a} / 6
        "l4_online_rate_pct": 75.0,  # A1, A3, A10 / A1, A2, A3, A10
        "l3_online_rate_pct": 33.3,  # A4 / A4, A6, A11
        "resolved": 4,  # A1, A2, A5 (received in February), A9
        "returned_on_time": 2,  # A1, A9 (exactly at its due time)
        "on_time_rate_pct": 50.0,
        "overdue_open": 1,  # A4 (A10 is withdrawn, A3/A6/A11 are due later)
    }
    m = answer["metrics"]
    # previous period: A4 + B1 submitted, A5 + B1 received (B1 online), B1 resolved on time,
    # and A5 overdue on 1 March
    assert m["submitted"] == {
        "value": 3, "previous": 2, "change_pct": 50.0,
        # all three pushed with their submission time under mc itself; no DVC site links here
        "sources": {"own": 3, "by_code": 0, "by_agency": 0},
    }  # fmt: skip
    assert m["received_total"] == {"value": 5, "previous": 1, "change_pct": 400.0}  # B1
    assert m["received_all_channels"] == {"value": 9, "previous": 2, "change_pct": 350.0}
    assert m["online_rate_pct"] == {
        "value": 55.6, "previous": 50.0, "change_pp": 5.6, "numerator": 5, "denominator": 9,
    }  # fmt: skip
    assert m["on_time_rate_pct"] == {"value": 50.0, "previous": 100.0, "change_pp": -50.0}
    assert m["avg_processing_time_s"]["previous"] == 86400.0
    assert m["l3_online_rate_pct"]["previous"] == 0.0  # A5 direct / A5
    assert m["overdue_open"]["previous"] == 1
    assert answer["resolved_without_due"] == 0
    assert answer["unknown_procedures"] == [
        {"site": "mc", "procedure_code": "PX", "procedure_name": "", "dossiers": 1}
    ]


async def test_dvc_overview(env: tuple[httpx.AsyncClient, Database]) -> None:
    api, _ = env
    answer = await _get(api, "/api/v1/dvc/overview", site="dvc", **PERIOD)
    m = answer["metrics"]
    assert _values(m) == {
        "pageviews": 40,  # 38 + the two at 23:50 on the last day; not 00:10 after it
        "submissions": 5,  # S1-S5
        "submissions_l4": 3,  # S1, S2 (1.001193), S4 (2.000635)
        "submissions_l3": 1,  # S3
        "submissions_per_pageview_pct": 12.5,  # 5 / 40
        "l4_services_with_dossiers": 2,
        "l3_services_with_dossiers": 1,
        "l4_services_with_dossiers_pct": 66.7,  # 2 of 3 level-4 services
        "l4_services_pct": 42.9,  # 3 of 7 services
        "l3_services_with_dossiers_pct": 33.3,  # 1 of 3
        "l3_services_pct": 42.9,
    }
    assert m["pageviews"] == {"value": 40, "previous": 10, "change_pct": 300.0}
    assert m["submissions"] == {
        "value": 5, "previous": 1, "change_pct": 400.0,
        # no tracker submission events here: every submission came from the push alone
        "sources": {"both": 0, "pushed_only": 5, "tracker_only": 0},
    }  # fmt: skip
    assert m["submissions_per_pageview_pct"] == {"value": 12.5, "previous": 10.0, "change_pp": 2.5}
    assert m["l4_services_pct"]["change_pp"] == 0.0  # the catalog ratio uses today's catalog
    assert answer["catalog"]["services"] == 7
    assert [u["procedure_code"] for u in answer["unknown_procedures"]] == ["9.999999"]
    # CSV of the same answer
    csv_text = (
        await api.get("/api/v1/dvc/overview", params={"site": "dvc", **PERIOD, "format": "csv"},
                      headers=AUTH)
    ).content.decode("utf-8-sig")  # fmt: skip
    assert "submissions,5,1,400.0," in csv_text


async def test_dvc_viewers_and_visitors_per_day(env: tuple[httpx.AsyncClient, Database]) -> None:
    """Seed 000, Phụ lục 2, II.8 "Biểu đồ lượt xem và lượt truy cập theo khoảng thời gian":
    "Hiện thị biểu đồ dạng cột trình diễn tổng số người xem và người truy cập theo từng ngày" —
    people, not pageviews. By construction: 38 pageviews at 10:00 on days 1 + i % 7 (6 on the
    1st-3rd, 5 on the 4th-7th) and 2 at 23:50 on the 7th, each by its own visitor; visitor e1
    only sends an event on the 2nd (a visitor, not a viewer); the pageview of 8 March 00:10 is
    after the period."""
    api, _ = env
    answer = await _get(api, "/api/v1/dvc/timeseries", site="dvc", **PERIOD)
    points = answer["points"]
    assert [p["t"] for p in points] == [f"2026-03-0{d}" for d in range(1, 8)]
    assert [p["viewers"] for p in points] == [6, 6, 6, 5, 5, 5, 7]
    assert [p["visitors"] for p in points] == [6, 7, 6, 5, 5, 5, 7]
    assert [p["pageviews"] for p in points] == [6, 6, 6, 5, 5, 5, 7]  # extra: the portal's
    assert answer["period_cut"] == {"partial": False, "cut": None}
    csv_text = (
        await api.get("/api/v1/dvc/timeseries", params={"site": "dvc", **PERIOD, "format": "csv"},
                      headers=AUTH)
    ).content.decode("utf-8-sig")  # fmt: skip
    assert csv_text.splitlines()[:3] == [
        "t,viewers,visitors,pageviews,visits", "2026-03-01,6,6,6,0", "2026-03-02,6,7,6,0",
    ]  # fmt: skip


async def test_empty_denominators_are_null(env: tuple[httpx.AsyncClient, Database]) -> None:
    api, _ = env
    onestop = await _get(api, "/api/v1/onestop/overview", site="empty", **PERIOD)
    values = _values(onestop["metrics"])
    assert values["received_total"] == 0
    for key in ("services_online_pct", "online_rate_pct", "avg_processing_time_s",
                "l4_online_rate_pct", "on_time_rate_pct"):  # fmt: skip
        assert values[key] is None, key
    assert onestop["metrics"]["received_total"]["change_pct"] is None  # previous 0
    dvc = await _get(api, "/api/v1/dvc/overview", site="empty", **PERIOD)
    assert _values(dvc["metrics"])["submissions_per_pageview_pct"] is None
    assert _values(dvc["metrics"])["l4_services_pct"] is None  # no catalog


async def test_top_services_and_by_level(env: tuple[httpx.AsyncClient, Database]) -> None:
    api, _ = env
    l4 = await _get(api, "/api/v1/onestop/top-services", site="mc", level="4", **PERIOD)
    assert l4["ranked_by"] == "online_dossiers"
    assert [(s["procedure_code"], s["online_dossiers"], s["dossiers"]) for s in l4["services"]] == [
        ("P4b", 2, 2),  # A3, A10
        ("P4a", 1, 2),  # A1 online, A2 direct
    ]
    assert l4["services"][0]["name"] == "Service 4b"
    l3 = await _get(api, "/api/v1/onestop/top-services", site="mc", level="3", limit="1", **PERIOD)
    assert [(s["procedure_code"], s["dossiers"]) for s in l3["services"]] == [("P3b", 2)]
    levels = await _get(api, "/api/v1/onestop/by-level", site="mc", **PERIOD)
    assert levels["levels"] == [
        {"admin_level": "central", "received": 1, "resolved": 0, "resolved_on_time": 0,
         "on_time_rate_pct": None},  # A10
        {"admin_level": "province", "received": 2, "resolved": 1, "resolved_on_time": 0,
         "on_time_rate_pct": 0.0},  # A3, A4 received; A5 resolved late
        {"admin_level": "district", "received": 2, "resolved": 1, "resolved_on_time": 0,
         "on_time_rate_pct": 0.0},  # A2, A8; A2 late
        {"admin_level": "commune", "received": 3, "resolved": 1, "resolved_on_time": 1,
         "on_time_rate_pct": 100.0},  # A1, A6, A11; A1 on time
        {"admin_level": "unknown", "received": 1, "resolved": 1, "resolved_on_time": 1,
         "on_time_rate_pct": 100.0},  # A9
    ]  # fmt: skip


async def test_numbers_follow_the_default_catalog(env: tuple[httpx.AsyncClient, Database]) -> None:
    api, db = env
    v2 = [replace(r, level=3) if r.id_mcdt == "P4a" else r for r in CATALOG_V1]
    catalog.import_catalog(db, "mc", v2, file_name="v2", sha256="", make_default=False)
    before = _values((await _get(api, "/api/v1/onestop/overview", site="mc", **PERIOD))["metrics"])
    assert before["l4_online_rate_pct"] == 75.0  # v2 is imported but not the default
    catalog.set_default(db, "mc", 2)
    after = _values((await _get(api, "/api/v1/onestop/overview", site="mc", **PERIOD))["metrics"])
    assert after["l4_online_rate_pct"] == 100.0  # A3, A10 / A3, A10
    assert after["l3_online_rate_pct"] == 40.0  # A1, A4 / A1, A2, A4, A6, A11
    assert after["l4_services_online_pct"] == 16.7  # {P4b} / 6 services with dossiers
    assert after["l3_services_online_pct"] == 33.3  # {P4a, P3a} / 6
    catalog.set_default(db, "mc", 1)
    back = _values((await _get(api, "/api/v1/onestop/overview", site="mc", **PERIOD))["metrics"])
    assert back == before


async def test_quarterly_report(env: tuple[httpx.AsyncClient, Database]) -> None:
    api, _ = env
    report = await _get(api, "/api/v1/reports/quarterly", site="mc", year="2026", quarter="1")
    assert report["period"] == {"from": "2026-01-01", "to": "2026-03-31"}
    assert {k: report[k] for k in (
        "received", "received_online", "resolved", "full_process_online_rate_pct",
        "partial_online_rate_pct", "online_services", "online_services_with_dossiers",
        "services_with_online_dossiers", "services_with_online_dossiers_pct",
        "procedures_with_fees",
        "procedures_with_online_payment", "procedures_with_online_payment_pct",
        "on_time_rate_pct",
    )} == {
        "received": 12,  # A1-A11 and B1
        "received_online": 7,  # A1, A3, A4, A7, A8, A10, B1
        "resolved": 5,  # A1, A2, A5, A9, B1
        "full_process_online_rate_pct": 80.0,  # A1, B1, A3, A10 / + A2
        "partial_online_rate_pct": 40.0,  # A4, A7 / A4, A5, A6, A7, A11
        "online_services": 5,  # P4a, P4b, P4c, P3a, P3b
        "online_services_with_dossiers": 4,  # 6.2.1: P4a, P4b, P3a, P3b (any channel)
        "services_with_online_dossiers": 4,  # 6.2.2: the same four, each with an online one
        "services_with_online_dossiers_pct": 100.0,  # 6.2 = 6.2.2 / 6.2.1 (not / 5 online)
        "procedures_with_fees": 2,  # P4a (A1, A2 report a fee), P4b (A3 payment requested)
        "procedures_with_online_payment": 1,  # P4a (A1)
        "procedures_with_online_payment_pct": 50.0,
        "on_time_rate_pct": 60.0,  # A1, A9, B1 / 5
    }  # fmt: skip
    province = next(r for r in report["by_admin_level"] if r["admin_level"] == "province")
    assert province == {"admin_level": "province", "received": 4, "resolved": 2,
                        "resolved_on_time": 1, "on_time_rate_pct": 50.0}  # fmt: skip
    # the dossiers' own agency field (A1, A2), over every site (agency= is a registered
    # agency's subtree, as on every other endpoint: test_rankings_dossiers)
    agency = await _get(
        api, "/api/v1/reports/quarterly", dossier_agency="UBND-Q1", year="2026", quarter="1"
    )
    assert (agency["received"], agency["resolved"], agency["on_time_rate_pct"]) == (2, 2, 50.0)
    assert agency["full_process_online_rate_pct"] == 50.0  # A1 online, A2 direct
    assert (agency["agency"], agency["dossier_agency"]) == (None, "UBND-Q1")
    assert agency["unit"] == "Hồ sơ của cơ quan UBND-Q1"  # the forms' reporting-unit line
    assert sorted(agency["sites"]) == ["dvc", "empty", "mc"]
    xlsx = await api.get(
        "/api/v1/reports/quarterly",
        params={"site": "mc", "year": "2026", "quarter": "1", "format": "xlsx"},
        headers=AUTH,
    )
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "TÊN ĐƠN VỊ BÁO CÁO: mc"
    head = rows.index(("STT", "Chỉ tiêu thống kê", "Đơn vị tính", "Số liệu", "Ghi chú"))
    by_code = {r[0]: r[3] for r in rows[head + 1 : head + 17]}
    assert by_code["6.3"] == 80.0  # the full-process online rate (seed 004, 6.3)
    assert by_code["6.3.1"] == 5  # A1, A2, A3, A10, B1


# Site ``q`` (one-stop, UTC+7): the known answers of issue 16 over the first quarter of 2026,
# with dossiers on both sides of its edges. Default catalog: Q4a, Q4b, Q4c, Q4d level 4; Q3a,
# Q3b, Q3c level 3; Q0 level 0 (7 online services, 8 services). QX is in no catalog.
Q_CATALOG = [
    CatalogRow(2, "Q 4a", 4, "", "", "Q4a"),
    CatalogRow(3, "Q 4b", 4, "", "", "Q4b"),
    CatalogRow(4, "Q 4c", 4, "", "", "Q4c"),
    CatalogRow(5, "Q 4d", 4, "", "", "Q4d"),
    CatalogRow(6, "Q 3a", 3, "", "", "Q3a"),
    CatalogRow(7, "Q 3b", 3, "", "", "Q3b"),
    CatalogRow(8, "Q 3c", 3, "", "", "Q3c"),
    CatalogRow(9, "Q 0", 0, "", "", "Q0"),
]


def LY(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> int:
    """Epoch ms of a local (UTC+7) time."""
    return int((datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7))
               .timestamp() * 1000)  # fmt: skip


Q = [
    # Q4a: online (00:10 local on 1 January = 31 December 17:10 UTC: in the quarter) and direct
    Dossier("D1", "Q4a", "online", LY(2026, 1, 1, 0, 10), site="q"),
    Dossier("D2", "Q4a", "direct", LY(2026, 2, 10), site="q"),
    # Q4b: direct at 23:50 local on 31 March (in); its online dossier came at 00:10 local on
    # 1 April (the same UTC date: out), so in the quarter Q4b has dossiers, none online
    Dossier("D3", "Q4b", "direct", LY(2026, 3, 31, 23, 50), site="q"),
    Dossier("D4", "Q4b", "online", LY(2026, 4, 1, 0, 10), site="q"),
    # Q4c: no dossier at all; Q4d: one online at 23:50 local on 31 December 2025 (out)
    Dossier("D5", "Q4d", "online", LY(2025, 12, 31, 23, 50), site="q"),
    # Q3a online; Q3b direct and online; Q3c submitted online in March, received 1 April (out)
    Dossier("D6", "Q3a", "online", LY(2026, 3, 15), site="q"),
    Dossier("D7", "Q3b", "direct", LY(2026, 1, 20), site="q"),
    Dossier("D8", "Q3b", "online", LY(2026, 3, 1), site="q"),
    Dossier("D9", "Q3c", "online", LY(2026, 4, 1, 8), submitted=LY(2026, 3, 31, 20), site="q"),
    # a level-0 service (direct) and a procedure missing from the catalog (online)
    Dossier("D10", "Q0", "direct", LY(2026, 2, 2), site="q"),
    Dossier("D11", "QX", "online", LY(2026, 2, 3), site="q"),
]  # fmt: skip
Q1 = {"from": "2026-01-01", "to": "2026-03-31"}


def _quarter_site(db: Database) -> None:
    db.command(
        "INSERT INTO sites (id, name, type, updated_at) VALUES ('q', 'q', 'onestop', now64())"
    )
    catalog.import_catalog(db, "q", Q_CATALOG, file_name="q", sha256="", make_default=True)
    _store(db, Q)


async def test_onestop_l4_l3_services_online_share_every_service_with_dossiers(
    env: tuple[httpx.AsyncClient, Database],
) -> None:
    """III.9–10 (seed 000, Phụ lục 2, III. Hệ thống thông tin một cửa điện tử):

    9 "Tỷ lệ DVC mức 4 phát sinh HS trực tuyến — Tỷ lệ tính bằng (Tổng số DVC mức 4 có phát
    sinh HS trực tuyến)/(tổng số DVC có phát sinh hồ sơ)"; 10 the same for "mức 3".
    (The share of level-4 (level-3) services with online dossiers = level-4 (level-3)
    services with an online dossier / every service with a dossier, of any level and channel.)

    Not over the same-level services with dossiers: here every level-3 service with dossiers
    has an online one (2 / 2 = 100 %), but they are 2 of the 6 services with dossiers.
    """
    api, db = env
    _quarter_site(db)
    answer = await _get(api, "/api/v1/onestop/overview", site="q", compare="none", **Q1)
    m = answer["metrics"]
    # services with a dossier received in Q1: Q4a (D1, D2), Q4b (D3), Q3a (D6), Q3b (D7, D8),
    # Q0 (D10), QX (D11) = 6; not Q4c (none), Q4d (D5: 2025), Q3c (D9: April)
    assert m["l4_services_online_pct"] == {
        "value": 16.7, "previous": None, "change_pp": None, "numerator": 1, "denominator": 6,
    }  # Q4a (D1); Q4b's only online dossier (D4) is April's  # fmt: skip
    assert m["l3_services_online_pct"] == {
        "value": 33.3, "previous": None, "change_pp": None, "numerator": 2, "denominator": 6,
    }  # Q3a (D6), Q3b (D8)  # fmt: skip
    assert m["services_online_pct"]["value"] == 66.7  # III.4: Q4a, Q3a, Q3b, QX / the same 6


async def test_quarterly_6_2_online_services_with_online_dossiers(
    env: tuple[httpx.AsyncClient, Database],
) -> None:
    """Quarterly 6.2 (seed 004, section 6 "Cung cấp DVC trực tuyến"):

    6.2 "Tỷ lệ DVC có phát sinh hồ sơ nộp trực tuyến (toàn trình + một phần)" (%) = 6.2.2 / 6.2.1;
    6.2.1 "Tổng số DVCTT có phát sinh hồ sơ (gồm các DVCTT có phát sinh hồ sơ trực tuyến hoặc
    trực tiếp hoặc cả 2 hình thức)" (DVC); 6.2.2 "Số DVCTT có phát sinh hồ sơ trực tuyến" (DVC).
    (Share of online services with online dossiers = online services — full-process and
    partial, levels 4 and 3 — with an online dossier / online services with any dossier, online
    or direct or both.) The seed's province files 359 / 359 = 100 %, not 359 / 812 (every
    online service in its catalog).
    """
    api, db = env
    _quarter_site(db)
    report = await _get(api, "/api/v1/reports/quarterly", site="q", year="2026", quarter="1")
    assert report["period"] == Q1
    assert {k: report[k] for k in (
        "online_services", "online_services_with_dossiers", "services_with_online_dossiers",
        "services_with_online_dossiers_pct", "received", "received_online",
    )} == {
        "online_services": 7,  # the catalog: Q4a-Q4d, Q3a-Q3c
        # 6.2.1: Q4a (D1, D2), Q4b (D3 direct), Q3a (D6), Q3b (D7, D8); not Q4c (none), Q4d
        # (D5: 2025), Q3c (D9 received in April), Q0 (level 0), QX (no catalog level)
        "online_services_with_dossiers": 4,
        "services_with_online_dossiers": 3,  # 6.2.2: Q4a (D1), Q3a (D6), Q3b (D8); not Q4b
        "services_with_online_dossiers_pct": 75.0,  # 6.2 = 3 / 4 (was 3 / 7 = 42.9)
        "received": 8,  # D1, D2, D3, D6, D7, D8, D10, D11
        "received_online": 4,  # D1, D6, D8, D11
    }  # fmt: skip
    xlsx = await api.get(
        "/api/v1/reports/quarterly",
        params={"site": "q", "year": "2026", "quarter": "1", "format": "xlsx"},
        headers=AUTH,
    )
    rows = list(load_workbook(io.BytesIO(xlsx.content)).worksheets[0].iter_rows(values_only=True))
    by_code = {r[0]: r for r in rows}
    assert [by_code[c][3] for c in ("6.2.1", "6.2.2", "6.2")] == [4, 3, 75.0]
    assert str(by_code["6.2"][1]).startswith("Tỷ lệ DVC có phát sinh hồ sơ nộp trực tuyến")


async def test_accounts_summary(env: tuple[httpx.AsyncClient, Database]) -> None:
    api, db = env
    rows = [
        AccountRow(2, "u-0001", "QG-1", 2, datetime(2025, 11, 2, 9), datetime(2026, 3, 1, 8)),
        AccountRow(3, "u-0002", "", 2, datetime(2026, 1, 10), None),
        AccountRow(4, "u-0003", "QG-3", 1, datetime(2026, 2, 15), datetime(2026, 3, 2, 10)),
        AccountRow(5, "cb-0001", "", 3, datetime(2024, 6, 1), datetime(2026, 2, 28, 23, 59)),
        AccountRow(6, "u-0004", "QG-4", 2, datetime(2026, 3, 7, 23, 30), datetime(2026, 3, 8)),
    ]
    accounts.import_accounts(db, "mc", rows[:2], file_name="old", sha256="")
    accounts.import_accounts(db, "mc", rows, file_name="new", sha256="")  # the latest counts
    answer = await _get(api, "/api/v1/accounts/summary", site="mc", **PERIOD)
    assert answer["accounts"] == 5
    assert answer["by_type"] == {"business": 1, "individual": 3, "onestop_officer": 1}
    assert (answer["linked_national"], answer["linked_national_pct"]) == (3, 60.0)
    assert answer["metrics"] == {
        "new_in_period": {"value": 1, "previous": 0, "change_pct": None},  # u-0004 (7 Mar)
        "active_in_period": {"value": 2, "previous": 1, "change_pct": 100.0},  # u-0001, u-0003
    }


async def test_parameter_errors(env: tuple[httpx.AsyncClient, Database]) -> None:
    api, _ = env
    cases = [
        ("/api/v1/onestop/overview", {"site": "mc", "from": "2026-03-01"}, 400, "to:"),
        ("/api/v1/onestop/overview", {"site": "nope", **PERIOD}, 404, "site:"),
        ("/api/v1/dvc/overview", {"site": "dvc", **PERIOD, "compare": "x"}, 400, "compare:"),
        ("/api/v1/onestop/top-services", {"site": "mc", **PERIOD, "level": "2"}, 400, "level:"),
        ("/api/v1/onestop/top-services", {"site": "mc", **PERIOD, "limit": "0"}, 400, "limit:"),
        ("/api/v1/reports/quarterly", {"site": "mc", "year": "2026", "quarter": "5"}, 400,
         "quarter:"),
        ("/api/v1/reports/quarterly", {"year": "2026", "quarter": "1"}, 400, "site:"),
        ("/api/v1/reports/quarterly", {"site": "mc", "quarter": "1"}, 400, "year:"),
        ("/api/v1/accounts/summary", {"site": "mc", **PERIOD, "format": "pdf"}, 400, "format:"),
    ]  # fmt: skip
    for path, params, status, start in cases:
        response = await api.get(path, params=params, headers=AUTH)
        assert response.status_code == status, (path, params, response.text)
        assert response.json()["error"].startswith(start), (path, response.json())
    assert (
        await api.get("/api/v1/onestop/overview", params={"site": "mc", **PERIOD})
    ).status_code == 401
