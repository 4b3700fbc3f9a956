"""The official forms (issue 16, item 2) over the warehouse API on real chDB, against a dataset
generated below from ``SPEC``: every expected number is counted by hand from that table (the
comments say which lines make it), so the answers are known by construction.

Province ``p-bg`` ("Tỉnh Bắc Giang") owns one-stop site ``bg`` (UTC+7). Default catalog: T4-01 …
T4-06 level 4, T3-01 … T3-04 level 3, T0-01 level 0 (11 services); TX is in no catalog.
Quarter: 2026 Q1. Events are stored shuffled and twice (late, out of order, duplicated).
"""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from docx import Document
from openpyxl import load_workbook

from api.app import create_app
from clickhouse import agencies, catalog, registry, tokens
from clickhouse.client import Database
from core.settings import Settings
from schemas.agencies import Agency, AgencyKind
from schemas.dossiers import DossierEvent
from schemas.dossiers import DossierStatus as S
from schemas.sites import Site, SiteType
from schemas.workbooks import CatalogRow
from sink.rows import DOSSIER_COLUMNS, Origin, dossier_row

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "forms-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
H = 3_600_000
Q1 = {"year": "2026", "quarter": "1"}


def L(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2026) -> int:
    """Epoch ms of a local (UTC+7) time."""
    local = datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)
    return int(local.timestamp() * 1000)


#: outcome → (due time, result time)
OUTCOMES: dict[str, tuple[int | None, int | None]] = {
    "before": (L(2, 20, 17), L(2, 18, 10)),
    # result 23:50 local on the 19th, due 06:00 local on the 20th: the same UTC date (the
    # 19th), different local dates: before
    "before_edge": (L(2, 20, 6), L(2, 19, 23, 50)),
    "on": (L(2, 20, 17), L(2, 20, 16)),
    # due 23:30, result 00:30 local on the same day: different UTC dates, the same local one
    "on_edge": (L(2, 20, 23, 30), L(2, 20, 0, 30)),
    "late": (L(2, 20, 17), L(2, 20, 18)),  # on the due day but after the due time
    "open": (L(3, 20, 17), None),
    "nodue": (None, L(2, 12, 10)),
}

# procedure, administrative level, channel, how many, source, filed by, outcome, received at,
# fee paid online (-1 unknown), agencies (cycled)
SPEC: list[tuple[str, str, str, int, str, str, str, int, int, tuple[str, ...]]] = [
    ("T4-01", "province", "online", 3, "dvc_portal", "citizen", "before", L(2, 10), 1, ()),
    ("T4-01", "province", "online", 2, "national_portal", "officer", "on", L(2, 10), -1, ()),
    ("T4-01", "province", "direct", 2, "other", "", "late", L(2, 10), -1, ()),
    # received 23:50 local on 31 December 2025 (out), resolved in Q1 (in)
    ("T4-01", "province", "online", 1, "dvc_portal", "citizen", "before",
     L(12, 31, 23, 50, year=2025), -1, ()),
    ("T4-02", "district", "direct", 3, "other", "", "open", L(2, 10), -1,
     ("UBND-H1", "UBND-H2")),
    ("T4-03", "commune", "online", 4, "dvc_portal", "citizen", "on_edge", L(2, 10), -1,
     ("UBND-X1",)),
    # received at 00:05 local on 1 January (31 December 17:05 UTC): in
    ("T4-06", "province", "direct", 1, "", "", "nodue", L(1, 1, 0, 5), -1, ()),
    # received at 00:10 local on 1 April: out
    ("T4-05", "province", "online", 1, "dvc_portal", "citizen", "open", L(4, 1, 0, 10), -1,
     ()),
    ("T3-01", "province", "online", 1, "dvc_portal", "citizen", "before", L(2, 10), -1, ()),
    ("T3-01", "province", "online", 1, "dvc_portal", "officer", "late", L(2, 10), -1, ()),
    ("T3-01", "province", "direct", 6, "other", "", "before_edge", L(2, 10), 0, ()),
    ("T3-02", "district", "online", 1, "national_portal", "", "open", L(2, 10), -1, ()),
    ("T3-03", "commune", "direct", 3, "other", "", "late", L(2, 10), -1, ()),
    ("T0-01", "commune", "direct", 2, "", "", "on", L(2, 10), -1, ()),
    ("TX", "district", "online", 1, "dvc_portal", "citizen", "before", L(2, 10), -1, ()),
]  # fmt: skip

CATALOG = [
    *[CatalogRow(1 + i, f"Dịch vụ 4-{i:02}", 4, f"https://dvc.bg/{i}", "", f"T4-{i:02}")
      for i in range(1, 7)],
    *[CatalogRow(10 + i, f"Dịch vụ 3-{i:02}", 3, "", "", f"T3-{i:02}") for i in range(1, 5)],
    CatalogRow(20, "Dịch vụ 0", 0, "", "", "T0-01"),
]  # fmt: skip


def _events(site: str, spec: list[Any]) -> list[DossierEvent]:
    out = []
    for line, (proc, level, channel, n, source, by, outcome, received, fee, agents) in enumerate(
        spec
    ):
        due, result = OUTCOMES[outcome]
        for i in range(n):
            code = f"{proc}-{line}-{i}"

            def add(status: S, ts: int, code: str = code, proc: str = proc, **fields: Any) -> None:
                out.append(DossierEvent(
                    event_id=f"{site}-{code}-{status.value}", site=site, dossier_code=code,
                    procedure_code=proc, status=status, ts=ts, local_ms=ts + 7 * H,
                    received_ms=ts, **fields,
                ))  # fmt: skip

            add(S.RECEIVED, received + i * 60_000, channel=channel, source=source,
                submitted_by=by, admin_level=level, due_at=due or 0,
                agency=agents[i % len(agents)] if agents else "")  # fmt: skip
            if result is not None:
                add(S.RESOLVED, result, fee_paid_online=fee)
    return out


def _store(db: Database, events: list[DossierEvent]) -> None:
    random.Random(16).shuffle(events)
    origin = Origin("emc.dossiers", 0, 0)
    half = len(events) // 2
    for part in (events[half:], events[:half], events):
        db.insert("dossier_events", [dossier_row(e, origin) for e in part], DOSSIER_COLUMNS)


HN = [("T4-01", "province", "online", 1, "dvc_portal", "citizen", "open", L(3, 1), -1, ()),
      ("T4-01", "province", "direct", 1, "other", "", "open", L(3, 1), -1, ())]  # fmt: skip


@pytest_asyncio.fixture(loop_scope="session")
async def env(
    clickhouse_engine: Any, ch_database: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    agencies.load(db, [
        Agency(id="p-bg", name="Tỉnh Bắc Giang", kind=AgencyKind.PROVINCE),
        Agency(id="p-hn", name="Hà Nội", kind=AgencyKind.PROVINCE),
        Agency(id="p-x", name="Tỉnh không có hồ sơ", kind=AgencyKind.PROVINCE),
        Agency(id="m-a", name="Bộ A", kind=AgencyKind.MINISTRY),
    ])  # fmt: skip
    for site, agency in (("bg", "p-bg"), ("hn", "p-hn"), ("x", "p-x"), ("ma", "m-a")):
        registry.upsert_site(
            db, Site(id=site, name=f"Một cửa {site}", type=SiteType.ONESTOP, agency_id=agency)
        )
    catalog.import_catalog(db, "bg", CATALOG, file_name="c", sha256="", make_default=True)
    catalog.import_catalog(db, "hn", CATALOG, file_name="c", sha256="", make_default=True)
    _store(db, _events("bg", SPEC) + _events("hn", HN))
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, db


async def _get(api: httpx.AsyncClient, path: str, **params: str) -> Any:
    response = await api.get(path, params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response


def _xlsx_rows(body: bytes) -> list[tuple[Any, ...]]:
    return list(load_workbook(io.BytesIO(body)).worksheets[0].iter_rows(values_only=True))


def _docx_tables(body: bytes) -> list[list[list[str]]]:
    document = Document(io.BytesIO(body))
    return [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]


async def test_quarterly_section_6_rows_equal_the_hand_count(
    env: tuple[httpx.AsyncClient, Database],
) -> None:
    """Seed 004, Phụ lục II, section 6 "Cung cấp DVC trực tuyến": 6.1 "Tỷ lệ DVCTT toàn trình
    đủ điều kiện" (6.1.1 "Tổng số DVC đủ điều kiện lên trực tuyến toàn trình", 6.1.2 "Số lượng
    DVCTT toàn trình"); 6.2 "Tỷ lệ DVC có phát sinh hồ sơ nộp trực tuyến (toàn trình + một
    phần)" = 6.2.2 "Số DVCTT có phát sinh hồ sơ trực tuyến" / 6.2.1 "Tổng số DVCTT có phát sinh
    hồ sơ (gồm các DVCTT có phát sinh hồ sơ trực tuyến hoặc trực tiếp hoặc cả 2 hình thức)";
    6.3 "Tỷ lệ hồ sơ trực tuyến toàn trình" = 6.3.2 "Số hồ sơ nộp trực tuyến của các DVCTT toàn
    trình" / 6.3.1 "Tổng số hồ sơ của DVCTT toàn trình (gồm hồ sơ nộp trực tuyến + trực tiếp)";
    6.4 the same "một phần"; 6.5 "Tỷ lệ TTHC được tích hợp, triển khai thanh toán trực tuyến"
    = 6.5.2 / 6.5.1 "Tổng số TTHC có yêu cầu nghĩa vụ tài chính". Eligibility (6.1.1) and the
    fee properties of procedures (6.5.x) are not in the data: manual, never a number."""
    api, _ = env
    answer = (await _get(api, "/api/v1/reports/quarterly", agency="p-bg", **Q1)).json()
    got = {r["code"]: r for r in answer["rows"]}
    assert list(got) == ["6", "6.1", "6.1.1", "6.1.2", "6.2", "6.2.1", "6.2.2", "6.3", "6.3.1",
                         "6.3.2", "6.4", "6.4.1", "6.4.2", "6.5", "6.5.1", "6.5.2"]  # fmt: skip
    values = {code: (r["value"], r["manual"]) for code, r in got.items()}
    assert values == {
        "6": (None, False),  # the heading
        "6.1": (None, True),
        "6.1.1": (None, True),
        "6.1.2": (6, False),  # T4-01 … T4-06 in the catalog
        "6.2": (57.1, False),  # 4 / 7
        # T4-01, T4-02, T4-03, T4-06, T3-01, T3-02, T3-03 (not T4-05: April; not T0-01, TX)
        "6.2.1": (7, False),
        "6.2.2": (4, False),  # T4-01, T4-03, T3-01, T3-02
        "6.3": (60.0, False),  # 9 / 15
        "6.3.1": (15, False),  # T4-01 7 (not December's), T4-02 3, T4-03 4, T4-06 1
        "6.3.2": (9, False),  # T4-01 3 + 2, T4-03 4
        "6.4": (25.0, False),  # 3 / 12
        "6.4.1": (12, False),  # T3-01 8, T3-02 1, T3-03 3
        "6.4.2": (3, False),  # T3-01 2, T3-02 1
        "6.5": (None, True),
        "6.5.1": (None, True),
        "6.5.2": (None, True),
    }
    assert (got["6.3"]["numerator"], got["6.3"]["denominator"]) == (9, 15)
    assert (got["6.2"]["numerator"], got["6.2"]["denominator"]) == (4, 7)
    assert got["6.1"]["numerator"] == 6 and got["6.1"]["denominator"] is None
    # lower bounds seen in the quarter's dossiers: T4-01 (paid online) and T3-01 (paid, not
    # online) reported a fee; only T4-01 was paid online
    assert (got["6.5.1"]["observed"], got["6.5.2"]["observed"]) == (2, 1)
    assert [got[c]["unit"] for c in ("6.1.1", "6.2", "6.3.1", "6.5.1")] == [
        "DVC", "%", "Hồ sơ", "Thủ tục"]  # fmt: skip
    assert got["6.3.1"]["label"].startswith("Tổng số hồ sơ của DVCTT toàn trình")
    assert answer["unit"] == "Tỉnh Bắc Giang"

    xlsx = await _get(api, "/api/v1/reports/quarterly", agency="p-bg", format="xlsx", **Q1)
    assert 'filename="quarterly-2026-Q1.xlsx"' in xlsx.headers["content-disposition"]
    rows = _xlsx_rows(xlsx.content)
    assert rows[0][0] == "TÊN ĐƠN VỊ BÁO CÁO: Tỉnh Bắc Giang"
    assert rows[0][4] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert rows[4][0] == "Kỳ báo cáo: Quý I năm 2026 (từ ngày 01/01/2026 đến ngày 31/03/2026)"
    head = rows.index(("STT", "Chỉ tiêu thống kê", "Đơn vị tính", "Số liệu", "Ghi chú"))
    table = {r[0]: r for r in rows[head + 1 : head + 17]}
    assert table["6.3"][1:4] == ("Tỷ lệ hồ sơ trực tuyến toàn trình", "%", 60.0)
    assert table["6.3.1"][3] == 15 and table["6.2.1"][3] == 7
    assert table["6.1.1"][3] is None and str(table["6.1.1"][4]).startswith("Nhập thủ công")
    assert rows[-2][0] == "NGƯỜI LẬP BIỂU" and rows[-2][4] == "THỦ TRƯỞNG ĐƠN VỊ"

    docx = await _get(api, "/api/v1/reports/quarterly", agency="p-bg", format="docx", **Q1)
    assert docx.headers["content-type"].startswith("application/vnd.openxmlformats")
    heading, grid, signature = _docx_tables(docx.content)
    assert heading[0] == [
        "TÊN ĐƠN VỊ BÁO CÁO: Tỉnh Bắc Giang",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    ]
    assert grid[0] == ["STT", "Chỉ tiêu thống kê", "Đơn vị tính", "Số liệu", "Ghi chú"]
    by_code = {r[0]: r for r in grid[1:]}
    assert by_code["6.2"][3] == "57,1" and by_code["6.3.1"][3] == "15"
    assert by_code["6.5.1"][3] == "" and "cận dưới): 2" in by_code["6.5.1"][4]
    assert signature[1] == ["NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ"]
    paragraphs = [p.text for p in Document(io.BytesIO(docx.content)).paragraphs]
    assert "Kỳ báo cáo: Quý I năm 2026 (từ ngày 01/01/2026 đến ngày 31/03/2026)" in paragraphs


async def test_resolution_before_on_after_the_due_date_per_level(
    env: tuple[httpx.AsyncClient, Database],
) -> None:
    """Seed 004, footnote 5: "Cấp tỉnh tiếp nhận 45827 hồ sơ, đã giải quyết 41426 hồ sơ, trong
    đó giải quyết trước và đúng hạn 31264 hồ sơ (tỷ lệ 75,47%)" — received, resolved, resolved
    before or on time, rate = before-or-on-time / resolved (31264 / 41426 = 75,47 %). Before
    and on are told apart by the local date of the due time (UTC+7 edges in ``OUTCOMES``)."""
    api, _ = env
    answer = (await _get(api, "/api/v1/reports/resolution", site="bg", **Q1)).json()
    levels = {r["admin_level"]: r for r in answer["levels"]}
    assert list(levels) == ["central", "province", "district", "commune", "total"]
    keys = ("received", "resolved", "resolved_before", "resolved_on_day", "resolved_in_time",
            "resolved_late", "resolved_without_due", "in_time_rate_pct")  # fmt: skip
    assert {k: tuple(r[k] for k in keys) for k, r in levels.items()} == {
        "central": (0, 0, 0, 0, 0, 0, 0, None),
        # received: T4-01 7, T4-06 1, T3-01 8; resolved also December's T4-01 (before);
        # before: T4-01 3 + 1, T3-01 1 + 6 (edge); on: T4-01 2; late: T4-01 2, T3-01 1;
        # without due: T4-06
        "province": (16, 17, 11, 2, 13, 3, 1, 76.47),
        "district": (5, 1, 1, 0, 1, 0, 0, 100.0),  # T4-02 3, T3-02 1 open; TX before
        "commune": (9, 9, 0, 6, 6, 3, 0, 66.67),  # T4-03 4 on (edge), T0-01 2 on; T3-03 late
        "total": (30, 27, 12, 8, 20, 6, 1, 74.07),
    }
    xlsx = await _get(api, "/api/v1/reports/resolution", site="bg", format="xlsx", **Q1)
    rows = _xlsx_rows(xlsx.content)
    head = next(i for i, r in enumerate(rows) if r[0] == "STT")
    assert rows[head][1:4] == ("Cấp", "Số hồ sơ tiếp nhận", "Số hồ sơ đã giải quyết")
    assert rows[head + 2][1:] == ("Cấp tỉnh", 16, 17, 11, 2, 13, 3, 1, 76.47)
    assert rows[head + 5][1] == "Tổng" and rows[head + 5][9] == 74.07
    grid = _docx_tables(
        (await _get(api, "/api/v1/reports/resolution", site="bg", format="docx", **Q1)).content
    )[1]
    assert grid[2][1:] == ["Cấp tỉnh", "16", "17", "11", "2", "13", "3", "1", "76,47"]


async def test_sources_and_section_vii_with_the_service_lists(
    env: tuple[httpx.AsyncClient, Database],
) -> None:
    """Seed 000 III.3 "Tổng số hồ sơ tiếp nhận … từ tất cả các nguồn trực tuyến (Cổng dịch vụ
    công trực tuyến, Cổng dịch vụ công quốc gia, và các Hệ thống thông tin khác)", per source;
    seed 003 section VII: "Tổng số hồ sơ đã được tiếp nhận, giải quyết trực tuyến (hồ sơ trực
    tuyến) qua các DVCTT mức độ 3/4", "Tổng số DVCTT mức độ 3/4 có phát sinh hồ sơ trực tuyến",
    "… vẫn được … gửi xử lý trực tiếp (hồ sơ không trực tuyến)", "Tỉ lệ hồ sơ trực tuyến do
    người dân, doanh nghiệp tự khai báo" / "do CBCCVC … khai báo thay", per level; PL3A.2/3A.3
    one line per service."""
    api, _ = env
    sources = (await _get(api, "/api/v1/reports/sources", site="bg", **Q1)).json()["sources"]
    assert [(s["source"], s["received"], s["received_online"], s["share_pct"])
            for s in sources] == [
        ("dvc_portal", 10, 10, 33.3),  # T4-01 3, T4-03 4, T3-01 2, TX 1
        ("national_portal", 3, 3, 10.0),  # T4-01 2, T3-02 1
        ("other", 14, 0, 46.7),  # T4-01 2, T4-02 3, T3-01 6, T3-03 3
        ("unknown", 3, 0, 10.0),  # T4-06 1, T0-01 2
        # III.3 (issue 16: online sources only): both portals' 13, no online "other"/"unknown"
        ("online_sources", 13, 13, 43.3),
        ("total", 30, 13, 100.0),
    ]  # fmt: skip
    answer = (await _get(api, "/api/v1/reports/online-services", site="bg", **Q1)).json()
    vii = answer["section_vii"]
    assert vii["columns"] == ["total", "central", "province", "district", "commune"]
    rows = {r["code"]: r["values"] for r in vii["rows"]}
    assert rows["1.1"]["total"] == 11 and rows["1.1"]["province"] is None
    z = {"central": 0}
    assert rows["3.2"] == {"total": 3, **z, "province": 2, "district": 1, "commune": 0}
    assert rows["3.3"] == {"total": 2, **z, "province": 1, "district": 1, "commune": 0}
    assert rows["3.4"] == {"total": 9, **z, "province": 6, "district": 0, "commune": 3}
    n = {"central": None}
    assert rows["3.5"] == {"total": 33.3, **n, "province": 50.0, "district": 0.0, "commune": None}
    assert rows["3.6"] == {"total": 33.3, **n, "province": 50.0, "district": 0.0, "commune": None}
    assert rows["4.2"] == {"total": 9, **z, "province": 5, "district": 0, "commune": 4}
    assert rows["4.4"] == {"total": 6, **z, "province": 3, "district": 3, "commune": 0}
    assert rows["4.5"] == {"total": 77.8, **n, "province": 60.0, "district": None,
                           "commune": 100.0}  # fmt: skip
    assert vii["online_not_reported"] == {"l3": 1, "l4": 0}  # T3-02
    manual = {r["code"] for r in vii["rows"] if r["manual"]}
    assert {"1.2", "2", "3.7", "4.7", "5", "6.1"} <= manual
    assert all(v is None for r in vii["rows"] if r["manual"] for v in r["values"].values())
    pl = {g["group"]: g["services"] for g in answer["pl3a3"]}
    assert [(s["procedure_code"], s["received"], s["online_resolved"], s["agencies"])
            for s in pl["A"]] == [("T4-01", 7, 6, None), ("T4-06", 1, 0, None)]  # fmt: skip
    assert [(s["procedure_code"], s["agencies"]) for s in pl["B"]] == [("T4-02", 2)]
    assert [(s["procedure_code"], s["agencies"]) for s in pl["C"]] == [("T4-03", 1)]
    assert pl["A"][0]["url"] == "https://dvc.bg/1"
    xlsx = _xlsx_rows(
        (await _get(api, "/api/v1/reports/online-services", site="bg", format="xlsx", **Q1)).content
    )
    head = next(i for i, r in enumerate(xlsx) if r[0] == "STT")
    assert xlsx[head][:8] == ("STT", "Nội dung/tiêu chí", "Đơn vị tính", "Tổng",
                              "Cấp trung ương", "Cấp tỉnh", "Cấp huyện", "Cấp xã")  # fmt: skip
    line = next(r for r in xlsx if r[0] == "4.2")
    assert line[3:8] == (9, 0, 5, 0, 4)
    assert any(r[0] == "BẢNG PL3A.3: DANH SÁCH CÁC DỊCH VỤ CÔNG TRỰC TUYẾN MỨC ĐỘ 4" for r in xlsx)
    docx = (
        await _get(api, "/api/v1/reports/online-services", site="bg", format="docx", **Q1)
    ).content
    tables = _docx_tables(docx)
    assert len(tables) == 5  # heading, VII, PL3A.2, PL3A.3, signature
    pl3a3 = tables[3]
    assert pl3a3[1] == [f"({i})" for i in range(1, 10)]
    assert pl3a3[3][2:4] == ["Dịch vụ 4-01", "https://dvc.bg/1"]
    # group A's title spans columns (2) … (9), as on the form
    assert pl3a3[2][0] == "A"
    assert set(pl3a3[2][1:]) == {
        "DỊCH VỤ CÔNG TRỰC TUYẾN MÀ THỦ TỤC HÀNH CHÍNH ĐƯỢC THỰC HIỆN TẠI CQNN CẤP TỈNH"
    }


async def test_rankings_tables_and_access(env: tuple[httpx.AsyncClient, Database]) -> None:
    """Seed 002, Bảng 4 "Tỷ lệ hồ sơ trực tuyến của các địa phương": highest and lowest side
    by side; provinces ranked by received online / received (Hà Nội 1 / 2, Bắc Giang 13 / 30);
    a province without dossiers has no rate and is not ranked."""
    api, db = env
    answer = (await _get(api, "/api/v1/reports/rankings", **Q1)).json()
    table4 = answer["tables"][3]
    assert (table4["metric"], table4["group"]) == ("online_dossier_rate", "provinces")
    assert [(r["agency"], r["rank"], r["value"]) for r in table4["top"]] == [
        ("p-hn", 1, 50.0), ("p-bg", 2, 43.3)]  # fmt: skip
    assert table4["bottom"] == table4["top"]  # two ranked provinces: both ends show both
    docx = (await _get(api, "/api/v1/reports/rankings", format="docx", **Q1)).content
    tables = _docx_tables(docx)
    assert tables[4][1] == ["1", "Hà Nội", "50", "Hà Nội", "50"]
    # an agency token: 403, like /api/v1/rankings
    _, secret = tokens.create_token(db, "p-bg", "forms test")
    refused = await api.get("/api/v1/reports/rankings", params=Q1,
                            headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    assert refused.status_code == 403
    # … which sees its own province's forms, and 404 for another's
    mine = await api.get("/api/v1/reports/sources", params={**Q1, "agency": "p-bg"},
                         headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    assert mine.status_code == 200 and mine.json()["sources"][-1]["received"] == 30
    other = await api.get("/api/v1/reports/sources", params={**Q1, "agency": "p-hn"},
                          headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    assert other.status_code == 404


async def test_form_parameter_errors(env: tuple[httpx.AsyncClient, Database]) -> None:
    api, _ = env
    cases = [
        ("/api/v1/reports/sources", {"site": "bg"}, "year:"),
        ("/api/v1/reports/sources", {"site": "bg", "year": "2026", "quarter": "5"}, "quarter:"),
        ("/api/v1/reports/quarterly", {"site": "bg", "year": "2026"}, "quarter:"),
        ("/api/v1/reports/resolution", {"year": "2026"}, "site:"),
        ("/api/v1/reports/resolution", {"site": "bg", "year": "2026", "format": "pdf"},
         "format:"),
        ("/api/v1/reports/rankings", {"year": "2026", "top": "0"}, "top:"),
    ]  # fmt: skip
    for path, params, start in cases:
        response = await api.get(path, params=params, headers=AUTH)
        assert response.status_code == 400, (path, params, response.text)
        assert response.json()["error"].startswith(start), (path, response.json())
    # without a quarter a form covers the year
    year = (await _get(api, "/api/v1/reports/sources", site="bg", year="2026")).json()
    assert year["period"] == {"from": "2026-01-01", "to": "2026-12-31"}
    assert year["sources"][-1]["received"] == 31  # and T4-05 of 1 April


async def test_sites_in_two_timezones_and_an_empty_quarter(
    env: tuple[httpx.AsyncClient, Database],
) -> None:
    """Before / on the due date is decided by each site's own local date: a Tokyo site (UTC+9)
    is queried with its own zone. Its dossier is resolved at 00:30 Tokyo time on the due day
    (due 23:00 that day): "on" in Tokyo, though 15:30 UTC of the previous day. A quarter
    without dossiers gives zero counts, no rates, and files that still open."""
    api, db = env
    registry.upsert_site(
        db,
        Site(id="tk", name="Tokyo", type=SiteType.ONESTOP, agency_id="p-x", timezone="Asia/Tokyo"),
    )
    tokyo = 9 * H
    due = int(datetime(2026, 2, 20, 23, 0, tzinfo=UTC).timestamp() * 1000) - tokyo
    result = int(datetime(2026, 2, 20, 0, 30, tzinfo=UTC).timestamp() * 1000) - tokyo
    received = int(datetime(2026, 2, 2, 9, 0, tzinfo=UTC).timestamp() * 1000) - tokyo
    events = [
        DossierEvent(event_id="tk-1-r", site="tk", dossier_code="tk-1", procedure_code="T",
                     status=S.RECEIVED, ts=received, local_ms=received + tokyo,
                     received_ms=received, channel="direct", admin_level="province",
                     due_at=due),
        DossierEvent(event_id="tk-1-x", site="tk", dossier_code="tk-1", procedure_code="T",
                     status=S.RESOLVED, ts=result, local_ms=result + tokyo, received_ms=result),
    ]  # fmt: skip
    _store(db, events)
    answer = (await _get(api, "/api/v1/reports/resolution", site="bg,tk", **Q1)).json()
    province = next(r for r in answer["levels"] if r["admin_level"] == "province")
    # bg's province line (16, 17, 11, 2 …) plus tk's dossier, on its due day
    assert (province["received"], province["resolved"]) == (17, 18)
    assert (province["resolved_before"], province["resolved_on_day"]) == (11, 3)
    empty = (
        await _get(api, "/api/v1/reports/quarterly", site="bg", year="2025", quarter="2")
    ).json()
    rows = {r["code"]: r for r in empty["rows"]}
    assert (rows["6.3.1"]["value"], rows["6.3"]["value"], rows["6.2"]["value"]) == (0, None, None)
    docx = await _get(api, "/api/v1/reports/quarterly", site="bg", year="2025", quarter="2",
                      format="docx")  # fmt: skip
    grid = _docx_tables(docx.content)[1]
    assert next(r for r in grid if r[0] == "6.3")[3] == ""
