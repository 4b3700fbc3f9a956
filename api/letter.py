"""The letter that chases a lost connection (issue 18 item 6), in the layout of seed 000
("V/v đôn đốc kết nối Hệ thống thu thập, đánh giá việc sử dụng thông tin và dịch vụ công trực
tuyến"): a two-column heading (issuing body, number and subject line on the left; the national
heading and place and date on the right), "Kính gửi", the body, the table of gaps (one row per
silent or never-seen site: its last event in the site's local time, hours silent, the gaps of
the last 30 days), the closing, "Nơi nhận" and the signature block.

``connection_letter`` is pure (connection reports of ``indicators.connections`` + the sites →
``Letter``); ``to_docx`` writes it with python-docx. A draft: number and signer are left for the
issuing office to fill, as in the seed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from api.form_files import DOCX_MEDIA, MOTTO, NATION, vi_number

__all__ = ["DOCX_MEDIA", "Letter", "connection_letter", "to_docx"]
SUBJECT = (
    "V/v đôn đốc kết nối Hệ thống thu thập, đánh giá việc sử dụng thông tin và dịch vụ công "
    "trực tuyến"
)
HEADER = (
    "STT", "Hệ thống (mã)", "Tên miền", "Dữ liệu nhận lần cuối", "Số giờ mất kết nối",
    "Các khoảng thiếu dữ liệu (30 ngày gần nhất)",
)  # fmt: skip
MAX_GAPS_LISTED = 6


@dataclass(frozen=True, slots=True)
class Letter:
    issuer: str
    place_date: str
    recipient: str
    paragraphs: Sequence[str]
    caption: str
    rows: Sequence[Sequence[str]]
    closing: Sequence[str]
    copies: Sequence[str]
    signer: tuple[str, str]
    filename: str


def _local(iso: str, zone: str, with_minutes: bool = True) -> str:
    moment = datetime.fromisoformat(iso).astimezone(ZoneInfo(zone))
    return moment.strftime("%H:%M %d/%m/%Y" if with_minutes else "%Hh %d/%m")


def _gaps(gaps: Sequence[Mapping[str, Any]], zone: str) -> str:
    shown = [
        f"{_local(g['from'], zone, False)} – {_local(g['to'], zone, False)} ({g['hours']} giờ)"
        for g in gaps[-MAX_GAPS_LISTED:]
    ]
    more = len(gaps) - len(shown)
    return "; ".join(([f"… và {more} khoảng trước đó"] if more > 0 else []) + shown) or "—"


def letter_rows(
    reports: Sequence[Mapping[str, Any]], sites: Mapping[str, Mapping[str, Any]]
) -> list[list[str]]:
    """One row per site of ``reports`` (silent or never seen), in the order given."""
    rows = []
    for number, report in enumerate(reports, start=1):
        site = sites[report["site"]]
        zone = site.get("timezone") or "Asia/Ho_Chi_Minh"
        if report["last_event"] is None:
            last, hours = "Chưa từng nhận dữ liệu", "—"
        else:
            last = _local(report["last_event"], zone)
            hours = vi_number(int(report["seconds_since_last_event"]) // 3600)
        rows.append([
            str(number), f"{site.get('name') or report['site']} ({report['site']})",
            ", ".join(site.get("domains") or ()) or "—", last, hours,
            _gaps(report["gaps"], zone),
        ])  # fmt: skip
    return rows


def connection_letter(
    agency: Mapping[str, Any],
    reports: Sequence[Mapping[str, Any]],
    sites: Mapping[str, Mapping[str, Any]],
    now: datetime,
    issuer: str,
    place: str,
) -> Letter:
    """The draft letter to ``agency`` about its sites in ``reports`` (the caller keeps the
    silent and never-seen ones). Place and date in Vietnam's time."""
    today = now.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    place_date = f"{place}, ngày {today:%d} tháng {today:%m} năm {today:%Y}"
    paragraphs = [
        f"Thực hiện nhiệm vụ giám sát, đo lường mức độ cung cấp và sử dụng dịch vụ Chính phủ "
        f"số, {issuer} theo dõi kết nối giữa Cổng thông tin điện tử, Cổng dịch vụ công trực "
        "tuyến và Hệ thống thông tin một cửa điện tử của các bộ, ngành, địa phương với Hệ "
        "thống EMC.",
        f"Qua theo dõi, {issuer} nhận thấy kết nối giữa các hệ thống thông tin dưới đây của "
        "Quý Cơ quan với Hệ thống EMC bị ngắt trong thời gian vừa qua. Số liệu trong khoảng "
        "thời gian này sẽ không được ghi nhận.",
    ]
    closing = [
        "Đề nghị Quý Cơ quan kiểm tra, khôi phục kết nối của các hệ thống nêu trên và gửi lại "
        "số liệu của các khoảng thời gian bị thiếu (nếu có).",
        "Trân trọng cảm ơn sự hợp tác của Quý Cơ quan./.",
    ]
    return Letter(
        issuer=issuer,
        place_date=place_date,
        recipient=f"Kính gửi: {agency['name']}",
        paragraphs=paragraphs,
        caption=f"BẢNG CÁC HỆ THỐNG MẤT KẾT NỐI (tính đến {today:%H:%M} ngày {today:%d/%m/%Y})",
        rows=letter_rows(reports, sites),
        closing=closing,
        copies=["- Như trên;", "- Lưu: VT."],
        signer=("THỦ TRƯỞNG ĐƠN VỊ", "(Ký tên, đóng dấu)"),
        filename=f"don-doc-ket-noi-{agency['id']}-{today:%Y%m%d}",
    )


def to_docx(letter: Letter) -> bytes:
    """The letter as a Word document (python-docx), portrait A4-like page."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = Document()
    document.styles["Normal"].font.name = "Times New Roman"
    document.styles["Normal"].font.size = Pt(13)
    heading = document.add_table(rows=3, cols=2)
    heading.cell(0, 0).paragraphs[0].add_run(letter.issuer.upper()).bold = True
    heading.cell(0, 1).paragraphs[0].add_run(NATION).bold = True
    heading.cell(1, 0).text = "Số: ……/……"
    heading.cell(1, 1).paragraphs[0].add_run(MOTTO).bold = True
    heading.cell(2, 0).text = SUBJECT
    heading.cell(2, 1).paragraphs[0].add_run(letter.place_date).italic = True
    for row in heading.rows:
        for cell in row.cells:
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    recipient = document.add_paragraph()
    recipient.alignment = WD_ALIGN_PARAGRAPH.CENTER
    recipient.add_run(letter.recipient).bold = True
    for text in letter.paragraphs:
        document.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    caption = document.add_paragraph()
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption.add_run(letter.caption).bold = True
    table = document.add_table(rows=1, cols=len(HEADER))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, HEADER, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(text).bold = True
    for values in letter.rows:
        for cell, value in zip(table.add_row().cells, values, strict=True):
            cell.text = value
    for text in letter.closing:
        document.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    signature = document.add_table(rows=3, cols=2)
    signature.cell(0, 0).paragraphs[0].add_run("Nơi nhận:").bold = True
    signature.cell(1, 0).text = "\n".join(letter.copies)
    signature.cell(0, 1).paragraphs[0].add_run(letter.signer[0]).bold = True
    signature.cell(1, 1).paragraphs[0].add_run(letter.signer[1]).italic = True
    signature.cell(0, 1).paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    signature.cell(1, 1).paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
