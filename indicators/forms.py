"""The official forms as documents-to-be: each report answer (JSON) becomes a ``Form`` — the
reporting unit, the period, the title, one or more tables in the official layout (columns,
row numbers and labels in Vietnamese) and notes — that ``api.form_files`` writes as XLSX or
DOCX with the signature block.

Why a model between the numbers and the files: the two file formats must show the same cells
in the same places, and tests read them back; building the cells once, as plain values, keeps
the layout in one pure place (no openpyxl or python-docx here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

LEVEL_VI = {
    "total": "Tổng",
    "central": "Cấp trung ương",
    "province": "Cấp tỉnh",
    "district": "Cấp huyện",
    "commune": "Cấp xã",
    "unknown": "Không rõ cấp",
}
SOURCE_VI = {
    "dvc_portal": "Cổng dịch vụ công trực tuyến của tỉnh, bộ",
    "national_portal": "Cổng dịch vụ công quốc gia",
    "other": "Hệ thống thông tin khác (trực tiếp, bưu chính…)",
    "unknown": "Không rõ nguồn (hệ thống gửi không ghi)",
    "online_sources": "Tiếp nhận từ các nguồn trực tuyến (chỉ tiêu III.3)",
    "total": "Tổng số hồ sơ tiếp nhận (mọi hình thức: trực tuyến, trực tiếp, bưu chính)",
}
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


@dataclass(frozen=True, slots=True)
class Section:
    """One table: an optional caption line, the header row, the rows (plain values; ``None``
    is an empty cell), which rows are headings (printed bold) and which are group titles (their
    second cell spans the rest of the row, as the A / B lines of PL3A.2/3A.3)."""

    caption: str
    header: Sequence[str]
    rows: Sequence[Sequence[Any]]
    bold: frozenset[int] = frozenset()
    spans: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Form:
    """A whole document: ``filename`` without extension, the reporting unit, the title lines,
    the period line, the tables and the notes printed under them."""

    filename: str
    unit: str
    title: str
    subtitle: str
    period: str
    sections: Sequence[Section]
    notes: Sequence[str] = field(default_factory=tuple)


def period_text(
    period: Mapping[str, str], year: int, quarter: int | None, name: str | None = None
) -> str:
    """ "Kỳ báo cáo: Quý I năm 2026 (từ ngày 01/01/2026 đến ngày 31/03/2026)"; ``name``
    replaces the quarter or year (an e-mailed weekly or monthly report: "Tuần 48 năm 2026")."""

    def vi(day: str) -> str:
        return date.fromisoformat(day).strftime("%d/%m/%Y")

    if not name:
        name = f"Quý {_ROMAN[quarter]} năm {year}" if quarter else f"Năm {year}"
    return f"Kỳ báo cáo: {name} (từ ngày {vi(period['from'])} đến ngày {vi(period['to'])})"


def _stem(kind: str, year: int, quarter: int | None) -> str:
    return f"{kind}-{year}" + (f"-Q{quarter}" if quarter else "")


def quarterly_form(answer: Mapping[str, Any], unit: str) -> Form:
    """Seed 004, Phụ lục II, section 6: STT | Chỉ tiêu thống kê | Đơn vị tính | Số liệu |
    Ghi chú."""
    rows = [[r["code"], r["label"], r["unit"], r["value"], r.get("note")] for r in answer["rows"]]
    bold = frozenset(i for i, r in enumerate(answer["rows"]) if r.get("heading"))
    section = Section("", ["STT", "Chỉ tiêu thống kê", "Đơn vị tính", "Số liệu", "Ghi chú"],
                      rows, bold)  # fmt: skip
    return Form(
        _stem("quarterly", answer["year"], answer["quarter"]),
        unit,
        "THỐNG KÊ SỐ LIỆU CHUYÊN ĐỀ VỀ XÂY DỰNG VÀ PHÁT TRIỂN CHÍNH PHỦ ĐIỆN TỬ, CHÍNH PHỦ SỐ",
        "Mục 6. Cung cấp DVC trực tuyến (Sử dụng trong kỳ báo cáo hàng quý, 6 tháng, năm)",
        period_text(answer["period"], answer["year"], answer["quarter"], answer.get("period_name")),
        [section],
        ['Ô để trống có ghi chú "Nhập thủ công": đơn vị điền theo số liệu của mình.'],
    )


_PL_HEADER = [
    "TT", "Nhóm dịch vụ", "Tên dịch vụ", "Địa chỉ đăng tải dịch vụ",
    "Số lượng UBND (cấp huyện hoặc cấp xã) đã triển khai, sử dụng",
    "Tỷ lệ UBND (cấp huyện hoặc cấp xã) đã triển khai, sử dụng",
    "Số lượng hồ sơ trực tuyến đã giải quyết",
    "Tổng số hồ sơ đã tiếp nhận dưới cả hình thức trực tuyến và không trực tuyến",
]  # fmt: skip


def _service_section(table: str, level: int, groups: Sequence[Mapping[str, Any]]) -> Section:
    last = "Ghi chú" if level == 3 else "Hình thức thanh toán"
    rows: list[list[Any]] = [[f"({i})" for i in range(1, 10)]]
    bold, spans = {0}, set()
    for group in groups:
        bold.add(len(rows))
        spans.add(len(rows))
        rows.append([group["group"], group["title"], *[None] * 7])
        for i, s in enumerate(group["services"], start=1):
            rows.append([i, None, s["name"], s["url"], s["agencies"], None,
                         s["online_resolved"], s["received"], None])  # fmt: skip
    caption = f"BẢNG {table}: DANH SÁCH CÁC DỊCH VỤ CÔNG TRỰC TUYẾN MỨC ĐỘ {level}"
    return Section(caption, [*_PL_HEADER, last], rows, frozenset(bold), frozenset(spans))


def online_services_form(answer: Mapping[str, Any], unit: str) -> Form:
    """Seed 003 section VII (one value column per administrative level) and the tables
    PL3A.2 / PL3A.3."""
    vii = answer["section_vii"]
    columns = vii["columns"]
    header = ["STT", "Nội dung/tiêu chí", "Đơn vị tính", *[LEVEL_VI[c] for c in columns],
              "Ghi chú"]  # fmt: skip
    rows, bold = [], set()
    for i, r in enumerate(vii["rows"]):
        note = "Nhập thủ công" if r["manual"] else r.get("note")
        rows.append([r["code"], r["label"], r["unit"], *[r["values"][c] for c in columns], note])
        if r["heading"]:
            bold.add(i)
    return Form(
        _stem("online-services", answer["year"], answer["quarter"]),
        unit,
        "MẪU BÁO CÁO SỐ LIỆU PHÁT TRIỂN CHÍNH PHỦ ĐIỆN TỬ",
        "VII. Dịch vụ công trực tuyến (theo cấp hành chính của hồ sơ)",
        period_text(answer["period"], answer["year"], answer["quarter"], answer.get("period_name")),
        [
            Section("", header, rows, frozenset(bold)),
            _service_section("PL3A.2", 3, answer["pl3a2"]),
            _service_section("PL3A.3", 4, answer["pl3a3"]),
        ],
        [
            "Số dịch vụ (1.1, 3.1, 4.1) theo danh mục mặc định của hệ thống, không chia theo cấp.",
            "Tỉ lệ tự khai báo / khai báo thay = hồ sơ trực tuyến theo người nộp / tổng số hồ sơ "
            "trực tuyến; hồ sơ không ghi người nộp: mức độ 3: "
            f"{vii['online_not_reported']['l3']}, mức độ 4: {vii['online_not_reported']['l4']}.",
            "Cột (5) = số cơ quan đã tiếp nhận hồ sơ của dịch vụ trong kỳ; cột (2), (6) nhập thủ "
            "công.",
        ],
    )


def resolution_form(answer: Mapping[str, Any], unit: str) -> Form:
    """Seed 004 footnote 5 per administrative level."""
    header = ["STT", "Cấp", "Số hồ sơ tiếp nhận", "Số hồ sơ đã giải quyết",
              "Giải quyết trước hạn", "Giải quyết đúng hạn", "Giải quyết trước và đúng hạn",
              "Giải quyết quá hạn", "Không có hạn giải quyết",
              "Tỷ lệ giải quyết trước và đúng hạn (%)"]  # fmt: skip
    rows = []
    for i, r in enumerate(answer["levels"], start=1):
        total = r["admin_level"] == "total"
        rows.append([None if total else i, LEVEL_VI[r["admin_level"]], r["received"],
                     r["resolved"], r["resolved_before"], r["resolved_on_day"],
                     r["resolved_in_time"], r["resolved_late"], r["resolved_without_due"],
                     r["in_time_rate_pct"]])  # fmt: skip
    return Form(
        _stem("resolution", answer["year"], answer["quarter"]),
        unit,
        "KẾT QUẢ TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ THỦ TỤC HÀNH CHÍNH THEO CẤP",
        "Giải quyết trước hạn, đúng hạn, quá hạn",
        period_text(answer["period"], answer["year"], answer["quarter"], answer.get("period_name")),
        [Section("", header, rows, frozenset({len(rows) - 1}))],
        ["Tỷ lệ = số hồ sơ giải quyết trước và đúng hạn / số hồ sơ đã giải quyết.",
         "Trước hạn: trả kết quả trước ngày hẹn trả; đúng hạn: trong ngày hẹn trả, không muộn "
         "hơn giờ hẹn; quá hạn: sau thời điểm hẹn trả."],
    )  # fmt: skip


def sources_form(answer: Mapping[str, Any], unit: str) -> Form:
    """III.3 by source."""
    header = ["STT", "Nguồn hồ sơ", "Số hồ sơ tiếp nhận", "Trong đó: tiếp nhận trực tuyến",
              "Tỷ lệ trên tổng số (%)"]  # fmt: skip
    rows = []
    for i, r in enumerate(answer["sources"], start=1):
        total = r["source"] in ("total", "online_sources")
        rows.append([None if total else i, SOURCE_VI[r["source"]], r["received"],
                     r["received_online"], r["share_pct"]])  # fmt: skip
    return Form(
        _stem("sources", answer["year"], answer["quarter"]),
        unit,
        "TỔNG SỐ HỒ SƠ TIẾP NHẬN THEO NGUỒN",
        "Hệ thống thông tin một cửa điện tử, chỉ tiêu III.3",
        period_text(answer["period"], answer["year"], answer["quarter"], answer.get("period_name")),
        [Section("", header, rows, frozenset({len(rows) - 1}))],
    )


def rankings_form(answer: Mapping[str, Any], unit: str) -> Form:
    """Seed 002, Bảng 1–4: most and least side by side."""
    sections = []
    for table in answer["tables"]:
        unit_label = "(lượt)" if table["metric"] == "visits" else "(%)"
        header = ["STT", table["top_label"], f"Tổng số {unit_label}" if unit_label == "(lượt)"
                  else "Tỷ lệ", table["bottom_label"],
                  f"Tổng số {unit_label}" if unit_label == "(lượt)" else "Tỷ lệ"]  # fmt: skip
        rows = []
        for i in range(max(len(table["top"]), len(table["bottom"]))):
            top = table["top"][i] if i < len(table["top"]) else None
            bottom = table["bottom"][i] if i < len(table["bottom"]) else None
            rows.append([i + 1, top and top["name"], top and top["value"],
                         bottom and bottom["name"], bottom and bottom["value"]])  # fmt: skip
        sections.append(Section(f"Bảng {table['table']} — {table['title']}", header, rows))
    return Form(
        _stem("rankings", answer["year"], answer["quarter"]),
        unit,
        "BÁO CÁO CHUYÊN ĐỀ: XẾP HẠNG CÁC BỘ, NGÀNH, ĐỊA PHƯƠNG",
        "Mức độ truy cập Cổng thông tin điện tử và tỷ lệ hồ sơ trực tuyến",
        period_text(answer["period"], answer["year"], answer["quarter"], answer.get("period_name")),
        sections,
        ["Tỷ lệ hồ sơ trực tuyến = số hồ sơ tiếp nhận trực tuyến / tổng số hồ sơ tiếp nhận "
         "(Hệ thống thông tin một cửa điện tử)."],
    )  # fmt: skip
