"""The official forms' pure parts: section 6 against the numbers seed 004 itself files, the
before/on/after split, and the Vietnamese number text of the DOCX."""

from __future__ import annotations

from typing import Any

from api.form_files import vi_number
from indicators.forms import period_text
from indicators.quarterly_rows import section6_rows
from indicators.reports import by_source, report_period, resolution


def test_section_6_reproduces_the_seed_004_province() -> None:
    """Seed 004 (Bắc Giang, Quý I/2024), Phụ lục II section 6: 6.1.2 "Số lượng DVCTT toàn
    trình" 812; 6.2.1 359, 6.2.2 359, 6.2 100; 6.3.1 29140, 6.3.2 28295, 6.3 "97,1"; 6.4.1
    73846, 6.4.2 73698, 6.4 "99,8". 6.1.1 and 6.5.x are filed by hand (812; 537 / 537)."""
    numbers = {
        "l4_services_received": 200, "l3_services_received": 159,
        "l4_services_received_online": 200, "l3_services_received_online": 159,
        "received_l4": 29140, "received_online_l4": 28295,
        "received_l3": 73846, "received_online_l3": 73698,
    }  # fmt: skip
    rows = {r["code"]: r for r in section6_rows(numbers, {"l4_services": 812})}
    assert rows["6.1.2"]["value"] == 812
    assert [rows[c]["value"] for c in ("6.2", "6.2.1", "6.2.2")] == [100.0, 359, 359]
    assert [rows[c]["value"] for c in ("6.3", "6.3.1", "6.3.2")] == [97.1, 29140, 28295]
    assert [rows[c]["value"] for c in ("6.4", "6.4.1", "6.4.2")] == [99.8, 73846, 73698]
    assert [c for c, r in rows.items() if r["manual"]] == ["6.1", "6.1.1", "6.5", "6.5.1", "6.5.2"]
    assert all(rows[c]["value"] is None for c in ("6.1", "6.1.1", "6.5", "6.5.1", "6.5.2"))
    assert [vi_number(rows[c]["value"]) for c in ("6.3", "6.3.1")] == ["97,1", "29.140"]


def test_no_dossiers_give_zero_counts_and_no_rates() -> None:
    rows = {r["code"]: r for r in section6_rows({}, {})}
    assert rows["6.3.1"]["value"] == 0 and rows["6.3"]["value"] is None
    assert (rows["6.3"]["numerator"], rows["6.3"]["denominator"]) == (0, 0)


def _row(level: str, **counts: int) -> dict[str, Any]:
    base = dict.fromkeys(
        ("received", "received_online", "online_by_citizen", "online_by_officer", "resolved",
         "resolved_online", "resolved_before", "resolved_on_day", "resolved_late"), 0,
    )  # fmt: skip
    return {"site": "s", "procedure_code": "P", "admin_level": level, "source": "other",
            "level": 4, "name": "", "url": "", "agencies": [], **base, **counts}  # fmt: skip


def test_resolution_rate_divides_by_every_result_as_footnote_5() -> None:
    """Seed 004 footnote 5: "Cấp tỉnh tiếp nhận 45827 hồ sơ, đã giải quyết 41426 hồ sơ, trong
    đó giải quyết trước và đúng hạn 31264 hồ sơ (tỷ lệ 75,47%)": 31264 / 41426."""
    rows = [_row("province", received=45827, resolved=41426, resolved_before=30000,
                 resolved_on_day=1264, resolved_late=10000)]  # fmt: skip
    province = next(r for r in resolution(rows) if r["admin_level"] == "province")
    assert province["in_time_rate_pct"] == 75.47
    assert province["resolved_without_due"] == 162  # 41426 - 31264 - 10000
    assert [r["admin_level"] for r in resolution([_row("unknown", received=1)])] == [
        "central", "province", "district", "commune", "unknown", "total"]  # fmt: skip


def test_sources_share_of_everything_received() -> None:
    """Seed 000, Phụ lục 2, III.3: "Tổng số hồ sơ mà Hệ thống thông tin một cửa điện tử tiếp nhận
    từ tất cả các nguồn trực tuyến (Cổng dịch vụ công trực tuyến, Cổng dịch vụ công quốc gia, và
    các Hệ thống thông tin khác)". By construction: 3 from the DVC portal (online), 1 from the
    national portal received at the counter, 2 online from another system, 1 from another system
    at the counter, 1 with no source online and 1 with no source at the counter: III.3
    (``online_sources``) = 3 + 1 + 2 + 1 = 7 of the 9 received."""
    rows = [{**_row("province", received=3, received_online=3), "source": "dvc_portal"},
            {**_row("province", received=1), "source": "national_portal"},
            {**_row("province", received=3, received_online=2), "source": "other"},
            {**_row("province", received=2, received_online=1), "source": "unknown"}]  # fmt: skip
    shares = {s["source"]: (s["received"], s["share_pct"]) for s in by_source(rows)}
    assert shares == {"dvc_portal": (3, 33.3), "national_portal": (1, 11.1), "other": (3, 33.3),
                      "unknown": (2, 22.2), "online_sources": (7, 77.8),
                      "total": (9, 100.0)}  # fmt: skip


def test_periods_and_vietnamese_numbers() -> None:
    q4 = report_period(2026, 4)
    assert (q4.start.isoformat(), q4.end.isoformat()) == ("2026-10-01", "2026-12-31")
    assert report_period(2024, None).days == 366
    text = period_text(q4.as_json(), 2026, 4)
    assert text == "Kỳ báo cáo: Quý IV năm 2026 (từ ngày 01/10/2026 đến ngày 31/12/2026)"
    assert [vi_number(v) for v in (None, 0, 1234567, 75.47, 100.0, 0.5, "x")] == [
        "", "0", "1.234.567", "75,47", "100", "0,5", "x"]  # fmt: skip
