"""III.1 of one-stop systems linked to DVC portal submissions, on the real ClickHouse engine.

Seed 000, Phụ lục 2, III.1 "Tổng số HS nộp trên cổng": "Tổng số hồ sơ mà người dân nộp trên Cổng
dịch vụ công trực tuyến (nhưng chưa xác định có nộp thành công hay không)". EMC senders push
the submission under the DVC portal's site and the reception under the one-stop system's site
with the same dossier code; where the two number dossiers differently, the DVC site's agency
links them (its only one-stop site). Every expected number is counted by hand below.

Agencies: hn (dvc-hn, mc-hn), x (dvc-x, mc-x1, mc-x2: ambiguous), y (mc-y). Period 1–7 March
2026 local (UTC+7), previous 22–28 February.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from clickhouse.client import Database
from core.settings import Settings
from tests.integration.test_dossier_api import AUTH, PERIOD, TOKEN, Dossier, L, _store

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SITES = [
    ("dvc-hn", "dvc", "hn"), ("mc-hn", "onestop", "hn"), ("dvc-x", "dvc", "x"),
    ("mc-x1", "onestop", "x"), ("mc-x2", "onestop", "x"), ("mc-y", "onestop", "y"),
]  # fmt: skip
DOSSIERS = [
    # C1: submitted on the DVC portal, received by mc-hn under the same code -> by code
    Dossier("C1", "P", "online", None, submitted=L(1, 9), site="dvc-hn"),
    Dossier("C1", "P", "online", L(1, 10), site="mc-hn"),
    # C2: the one-stop system also pushed the submission time itself -> own, once
    Dossier("C2", "P", "online", None, submitted=L(2, 9), site="dvc-hn"),
    Dossier("C2", "P", "online", L(2, 10), submitted=L(2, 9), site="mc-hn"),
    # DVC-3 / MC-3: numbered differently -> DVC-3 goes to mc-hn by agency; MC-3 has no
    # submission time, so it is not counted a second time
    Dossier("DVC-3", "P", "online", None, submitted=L(3, 9), site="dvc-hn"),
    Dossier("MC-3", "P", "online", L(3, 10), site="mc-hn"),
    # C4: submitted on hn's portal for mc-y (another agency's system): mc-y's, by code
    Dossier("C4", "P", "online", None, submitted=L(4, 9), site="dvc-hn"),
    Dossier("C4", "P", "online", L(4, 10), site="mc-y"),
    # X5: agency x has two one-stop systems: not attributed to either
    Dossier("X5", "P", "online", None, submitted=L(5, 9), site="dvc-x"),
    # C6: submitted in February, received in March -> February's submission
    Dossier("C6", "P", "online", None, submitted=L(27, 9, month=2), site="dvc-hn"),
    Dossier("C6", "P", "online", L(2, 11), site="mc-hn"),
    # C7: submitted at 00:30 after the last day
    Dossier("C7", "P", "online", None, submitted=L(8, 0, 30), site="dvc-hn"),
    Dossier("C7", "P", "online", L(8, 9), site="mc-hn"),
]


@pytest_asyncio.fixture(loop_scope="session")
async def api(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    for site, kind, agency in SITES:
        db.command(
            "INSERT INTO sites (id, name, type, agency_id, updated_at) VALUES "
            f"('{site}', '{site}', '{kind}', '{agency}', now64())"
        )
    _store(db, DOSSIERS)
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _submitted(api: httpx.AsyncClient, site: str) -> dict[str, Any]:
    response = await api.get(
        "/api/v1/onestop/overview", params={"site": site, **PERIOD}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    metric: dict[str, Any] = response.json()["metrics"]["submitted"]
    return metric


async def test_portal_submissions_of_a_onestop_system(api: httpx.AsyncClient) -> None:
    """mc-hn: C1 (by code), C2 (own, once), DVC-3 (by agency) = 3; not C4 (mc-y has its code),
    not X5, not C7 (8 March). February: C6."""
    m = await _submitted(api, "mc-hn")
    assert (m["value"], m["previous"], m["change_pct"]) == (3, 1, 200.0)
    assert m["sources"] == {"own": 1, "by_code": 1, "by_agency": 1}


async def test_codes_known_elsewhere_and_ambiguous_agencies(api: httpx.AsyncClient) -> None:
    assert (await _submitted(api, "mc-y"))["sources"] == {"own": 0, "by_code": 1, "by_agency": 0}
    for site in ("mc-x1", "mc-x2"):  # two one-stop systems at agency x: X5 is nobody's
        assert (await _submitted(api, site))["value"] == 0
    both = await _submitted(api, "mc-hn,mc-y")
    assert both["value"] == 4  # C1, C2, DVC-3, C4
