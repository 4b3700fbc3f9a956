"""E-mail bodies and the connection letter (``api.mail_text``, ``api.letter``), pure."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from docx import Document

from api import letter
from api.mail_text import key_numbers, report_mail, silence_mail


def test_key_numbers_sum_the_rows_and_divide_the_sums() -> None:
    rows = [
        {"received": 10, "received_online": 4, "resolved": 8, "resolved_before": 5,
         "resolved_on_day": 1},
        {"received": 2, "received_online": 2, "resolved": 0, "resolved_before": 0,
         "resolved_on_day": 0},
    ]  # fmt: skip
    numbers = key_numbers(rows, 12345, 67890)
    assert numbers == {
        "visits": 12345, "pageviews": 67890, "received": 12, "received_online": 6,
        "online_rate_pct": 50.0, "resolved": 8, "resolved_in_time": 6, "in_time_rate_pct": 75.0,
    }  # fmt: skip
    assert key_numbers([], 0, 0)["online_rate_pct"] is None


def test_report_body_prints_vietnamese_numbers() -> None:
    numbers = key_numbers([], 29140, 97100)
    subject, body = report_mail(
        "Tỉnh Bắc Giang", "Quý I năm 2026", {"from": "2026-01-01", "to": "2026-03-31"},
        numbers, ["resolution"], "http://emc/",
    )  # fmt: skip
    assert subject == "[OpenEMC] Báo cáo quý I năm 2026: Tỉnh Bắc Giang"
    assert "- Lượt truy cập (visits): 29.140" in body
    assert "- Tỷ lệ giải quyết đúng hạn, % (on-time rate): không có số liệu" in body
    assert "(từ ngày 01/01/2026 đến ngày 31/03/2026)" in body
    assert "Kết quả tiếp nhận, giải quyết hồ sơ" in body


def test_silence_mail() -> None:
    subject, body = silence_mail("Sở A", {"id": "s1", "name": "Cổng A"}, "18:05 ngày 18/04/2025",
                                 49, "http://emc/")  # fmt: skip
    assert subject == "[OpenEMC] Mất kết nối: Cổng A không gửi dữ liệu từ 18:05 ngày 18/04/2025"
    assert "(mã s1)" in body and "đã 49 giờ" in body


def test_letter_rows_and_docx() -> None:
    reports = [
        {"site": "a", "status": "silent", "last_event": "2025-04-18T11:05:00+00:00",
         "seconds_since_last_event": 49 * 3600 + 1500,
         "gaps": [{"from": "2025-04-19T08:00:00+00:00", "to": "2025-04-19T12:00:00+00:00",
                   "hours": 4}]},
        {"site": "b", "status": "never_seen", "last_event": None,
         "seconds_since_last_event": None, "gaps": []},
    ]  # fmt: skip
    sites = {"a": {"name": "Cổng A", "domains": ["a.gov.vn"], "timezone": "Asia/Ho_Chi_Minh"},
             "b": {"name": "Một cửa B", "domains": [], "timezone": "UTC"}}  # fmt: skip
    drafted = letter.connection_letter(
        {"id": "p", "name": "UBND tỉnh Lạng Sơn"}, reports, sites,
        datetime(2025, 4, 20, 18, 0, tzinfo=UTC), "BỘ X", "Hà Nội",
    )  # fmt: skip
    # 18:00 UTC on the 20th is already the 21st in Vietnam
    assert drafted.place_date == "Hà Nội, ngày 21 tháng 04 năm 2025"
    assert drafted.rows == [
        ["1", "Cổng A (a)", "a.gov.vn", "18:05 18/04/2025", "49", "15h 19/04 – 19h 19/04 (4 giờ)"],
        ["2", "Một cửa B (b)", "—", "Chưa từng nhận dữ liệu", "—", "—"],
    ]
    document = Document(io.BytesIO(letter.to_docx(drafted)))
    texts = [p.text for p in document.paragraphs]
    assert "Kính gửi: UBND tỉnh Lạng Sơn" in texts
    assert "Trân trọng cảm ơn sự hợp tác của Quý Cơ quan./." in texts
    heading = document.tables[0]
    assert heading.cell(2, 0).text == letter.SUBJECT
    assert len(document.tables[1].rows) == 3
