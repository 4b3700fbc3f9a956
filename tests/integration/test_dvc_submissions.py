"""DVC online submissions (EMC II.2–4) counted once from the pushed dossiers and the tracker's
submission events, on the real ClickHouse engine, against the known answer below.

Seed 000, Phụ lục 2, II.2 "Tổng lượt nộp hồ sơ trực tuyến": "Tổng số lần người dùng thực hiện
chức năng nộp hồ sơ trực tuyến trên Cổng dịch vụ công trực tuyến"; II.3 / II.4 the same "đối
với các dịch vụ công trực tuyến mức độ 4 (3)". The matching rule is
``indicators.submissions``'s: a coded event is the pushed dossier with its code (once), a coded
event never pushed is tracker-only (once per code), uncoded events pair with the pushed
dossiers of their procedure not matched by code, as far as there are such.

Site ``dvc`` (UTC+7); period 1–7 March 2026, previous 22–28 February.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from clickhouse import catalog
from clickhouse.client import Database
from core.settings import Settings
from schemas.hits import EnrichedHit, HitType
from schemas.workbooks import CatalogRow
from sink.rows import COLUMNS, Origin, hit_row
from tests.integration.test_dossier_api import AUTH, PERIOD, TOKEN, Dossier, L, _store

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

H = 3_600_000
CATALOG = [
    CatalogRow(2, "Khai sinh", 4, "", "1.001193", "1.001193"),
    CatalogRow(3, "Kết hôn", 3, "", "1.000894", "1.000894"),
    CatalogRow(4, "Trích lục", 4, "", "2.000635", "2.000635"),
    CatalogRow(5, "Hộ kinh doanh", 4, "", "2.000720", "2.000720"),
]
PUSHED = [
    Dossier("SP", "1.001193", "online", None, submitted=L(25, 9, month=2), site="dvc"),
    # S0 submitted 10 minutes into the period; its tracker event came at 23:50 the day before
    Dossier("S0", "1.001193", "online", None, submitted=L(1, 0, 10), site="dvc"),
    Dossier("S1", "1.001193", "online", None, submitted=L(1, 9), site="dvc"),
    Dossier("S2", "1.001193", "online", None, submitted=L(2, 9), site="dvc"),
    Dossier("S3", "1.000894", "online", None, submitted=L(3, 9), site="dvc"),
    Dossier("S4", "2.000635", "online", None, submitted=L(4, 9), site="dvc"),
]
EVENTS = [
    ("e-s0", L(28, 23, 50, month=2), "dvc/submit/1.001193/S0"),  # S0's, in February
    ("e-s1a", L(1, 8, 59), "dvc/submit/1.001193/S1"),  # S1 submitted twice (double click):
    ("e-s1b", L(1, 8, 59), "dvc/submit/1.001193/S1"),  # one submission, the pushed S1
    ("e-u1", L(2, 8, 59), "dvc/submit/1.001193"),  # uncoded: pairs with a pushed 1.001193
    ("e-u2", L(5, 10), "dvc/submit/1.001193"),  # uncoded
    ("e-u3", L(5, 11), "dvc/submit/1.001193"),  # uncoded
    ("e-t9", L(3, 10), "dvc/submit/1.000894/T9"),  # coded, never pushed: tracker only
    ("e-t10", L(6, 10), "dvc/submit/2.000720/T10"),  # a procedure only the tracker saw
    ("e-t11", L(6, 11), "dvc/submit/9.999999/T11"),  # in no catalog
    ("e-s4", L(4, 8, 59), "dvc/submit/2.000635/S4"),  # S4's
    ("e-view", L(2, 10), "dvc/view/1.001193"),  # not a submission
    ("e-late", L(8, 0, 10), "dvc/submit/1.001193"),  # 8 March: after the period
]


def _events(db: Database) -> None:
    rows = []
    for n, (event_id, ts, name) in enumerate([*EVENTS, EVENTS[3]]):  # e-u1 stored twice
        hit = EnrichedHit(
            event_id=event_id, site="dvc", ts=ts, local_ms=ts + 7 * H, received_ms=ts,
            type=HitType.EVENT, name=name, url="https://dvc.gov.vn/nop", visitor_id=f"v{n}",
        )  # fmt: skip
        rows.append(hit_row(hit, Origin("t", 0, n))[1])
    db.insert("pageviews", rows, COLUMNS["pageviews"])


@pytest_asyncio.fixture(loop_scope="session")
async def api(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    db.command(
        "INSERT INTO sites (id, name, type, updated_at) VALUES ('dvc', 'dvc', 'dvc', now64())"
    )
    catalog.import_catalog(db, "dvc", CATALOG, file_name="d", sha256="", make_default=True)
    _store(db, PUSHED)
    _events(db)
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_each_submission_counts_once_with_its_source(api: httpx.AsyncClient) -> None:
    """1.001193 (level 4): pushed S0, S1, S2; events S1 (twice, = S1), three uncoded: two
    pair with S0 and S2, one is tracker-only -> 4. 1.000894 (level 3): pushed S3, event T9 never
    pushed -> 2. 2.000635: S4 and its event -> 1. 2.000720: T10 only -> 1. 9.999999: T11 -> 1."""
    response = await api.get("/api/v1/dvc/overview", params={"site": "dvc", **PERIOD},
                             headers=AUTH)  # fmt: skip
    assert response.status_code == 200, response.text
    m = response.json()["metrics"]
    assert m["submissions"]["value"] == 9
    assert m["submissions"]["sources"] == {"both": 4, "pushed_only": 1, "tracker_only": 4}
    assert m["submissions_l4"]["value"] == 6
    assert m["submissions_l4"]["sources"] == {"both": 4, "pushed_only": 0, "tracker_only": 2}
    assert m["submissions_l3"]["value"] == 2
    assert m["submissions_l3"]["sources"] == {"both": 0, "pushed_only": 1, "tracker_only": 1}
    # previous period: SP only; S0's February event belongs to S0, submitted in March
    assert (m["submissions"]["previous"], m["submissions"]["change_pct"]) == (1, 800.0)
    assert m["l4_services_with_dossiers"]["value"] == 3  # 1.001193, 2.000635, 2.000720
    assert m["l3_services_with_dossiers"]["value"] == 1
    assert m["l4_services_with_dossiers_pct"]["value"] == 100.0  # 3 of the 3 level-4 services
    unknown = response.json()["unknown_procedures"]
    assert [(u["procedure_code"], u["dossiers"]) for u in unknown] == [("9.999999", 1)]


async def test_the_february_event_of_a_march_dossier_counts_in_march_only(
    api: httpx.AsyncClient,
) -> None:
    feb = {"from": "2026-02-22", "to": "2026-02-28"}
    response = await api.get(
        "/api/v1/dvc/overview", params={"site": "dvc", "compare": "none", **feb}, headers=AUTH
    )
    m = response.json()["metrics"]
    assert m["submissions"]["value"] == 1  # SP; not S0's event (S0 was submitted in March)
    assert m["submissions"]["sources"] == {"both": 0, "pushed_only": 1, "tracker_only": 0}
