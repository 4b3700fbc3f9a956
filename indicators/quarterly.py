"""The provincial quarterly statistics of online public services (báo cáo quý): JSON, and an
xlsx laid out like the official table (STT | Chỉ tiêu | Đơn vị | Giá trị).

Why its own module: the report mixes catalog numbers, dossier numbers and per-level on-time
rates into one fixed layout that people file; keeping the layout here keeps it stable.
Definitions (README "Quarterly report"):
- full-process online rate (tỷ lệ hồ sơ trực tuyến toàn trình) = online dossiers received for
  level-4 services / all dossiers received for level-4 services;
- partial online rate (tỷ lệ hồ sơ trực tuyến một phần) = the same for level 3;
- 6.2 "Tỷ lệ DVC có phát sinh hồ sơ nộp trực tuyến (toàn trình + một phần)" (seed 004,
  section 6) = 6.2.2 "Số DVCTT có phát sinh hồ sơ trực tuyến" (online services — level 3 or 4
  in the default catalog — that received an online dossier in the quarter) / 6.2.1 "Tổng số
  DVCTT có phát sinh hồ sơ (gồm các DVCTT có phát sinh hồ sơ trực tuyến hoặc trực tiếp hoặc
  cả 2 hình thức)" (online services that received any dossier in it, whatever the channel);
  not over every online service in the catalog (``online_services``, shown apart);
- procedures with fees = services whose dossiers report a fee (fee_paid_online known, or a
  payment request); accepting online payment = of those, services with a fee paid online;
- on-time rate by administrative level = resolved on or before the due time / resolved with a
  known due time.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from clickhouse.client import Database
from indicators.change import percent
from indicators.dossiers import by_level, catalog_counts, period_numbers
from indicators.periods import Period
from indicators.quarterly_rows import section6_rows


def quarter_period(year: int, quarter: int) -> Period:
    """The inclusive dates of ``quarter`` (1–4) of ``year``."""
    first_month = 3 * (quarter - 1) + 1
    start = date(year, first_month, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, first_month + 3, 1)
    return Period(start, date.fromordinal(end.toordinal() - 1))


def quarterly(
    db: Database,
    sites: Sequence[str],
    tzs: Mapping[str, str],
    year: int,
    quarter: int,
    *,
    dossier_agency: str = "",
    agency: str = "",
) -> dict[str, Any]:
    """The quarterly report of ``sites`` (only dossiers whose own ``agency`` field is
    ``dossier_agency`` when given). ``agency`` is the registered agency whose subtree the
    sites are, printed on the report; it does not filter."""
    period = quarter_period(year, quarter)
    n = {k: (v or 0) for k, v in period_numbers(db, sites, tzs, period, dossier_agency).items()}
    catalog = catalog_counts(db, sites)
    online_services = catalog["l4_services"] + catalog["l3_services"]
    # 6.2.1: online services with a dossier received in the quarter, any channel
    with_any = n.get("l4_services_received", 0) + n.get("l3_services_received", 0)
    # 6.2.2: of those, the ones with an online dossier
    with_dossiers = n.get("l4_services_received_online", 0) + n.get(
        "l3_services_received_online", 0
    )
    levels = by_level(db, sites, tzs, period, dossier_agency)
    return {
        "sites": list(sites),
        "agency": agency or None,
        "dossier_agency": dossier_agency or None,
        "year": year,
        "quarter": quarter,
        "period": period.as_json(),
        "rows": section6_rows(n, catalog),  # the official rows (seed 004, section 6)
        "received": int(n.get("received", 0)),
        "received_online": int(n.get("received_online", 0)),
        "resolved": int(n.get("resolved", 0)),
        "full_process_online_rate_pct": percent(
            n.get("received_online_l4", 0), n.get("received_l4", 0), 1
        ),
        "partial_online_rate_pct": percent(
            n.get("received_online_l3", 0), n.get("received_l3", 0), 1
        ),
        "online_services": online_services,
        "online_services_with_dossiers": int(with_any),  # 6.2.1
        "services_with_online_dossiers": int(with_dossiers),  # 6.2.2
        "services_with_online_dossiers_pct": percent(with_dossiers, with_any, 1),  # 6.2
        "procedures_with_fees": int(n.get("services_with_fees", 0)),
        "procedures_with_online_payment": int(n.get("services_paid_online", 0)),
        "procedures_with_online_payment_pct": percent(
            n.get("services_paid_online", 0), n.get("services_with_fees", 0), 1
        ),
        "on_time_rate_pct": percent(n.get("resolved_on_time", 0), n.get("resolved_with_due", 0), 1),
        "by_admin_level": levels,
    }


_LEVEL_VI = {
    "central": "Cấp trung ương",
    "province": "Cấp tỉnh",
    "district": "Cấp huyện",
    "commune": "Cấp xã",
    "unknown": "Không rõ cấp",
}


def report_rows(report: Mapping[str, Any]) -> list[list[Any]]:
    """The official table's rows: STT, indicator (Vietnamese — English), unit, value."""
    rows: list[list[Any]] = [
        ["1", "Số hồ sơ tiếp nhận — dossiers received", "hồ sơ", report["received"]],
        ["2", "Số hồ sơ tiếp nhận trực tuyến — received online", "hồ sơ",
         report["received_online"]],
        ["3", "Số hồ sơ đã giải quyết — dossiers resolved", "hồ sơ", report["resolved"]],
        ["4", "Tỷ lệ hồ sơ trực tuyến toàn trình — full-process online rate", "%",
         report["full_process_online_rate_pct"]],
        ["5", "Tỷ lệ hồ sơ trực tuyến một phần — partial online rate", "%",
         report["partial_online_rate_pct"]],
        ["6", "Số DVC trực tuyến — online services in the catalog", "dịch vụ",
         report["online_services"]],
        ["7", "Tổng số DVCTT có phát sinh hồ sơ (trực tuyến hoặc trực tiếp hoặc cả 2 hình "
         "thức) — online services with any dossier (6.2.1)", "dịch vụ",
         report["online_services_with_dossiers"]],
        ["8", "Số DVCTT có phát sinh hồ sơ trực tuyến — online services with online dossiers "
         "(6.2.2)", "dịch vụ", report["services_with_online_dossiers"]],
        ["9", "Tỷ lệ DVC có phát sinh hồ sơ nộp trực tuyến (toàn trình + một phần) — online "
         "services with online dossiers / with any dossier (6.2)", "%",
         report["services_with_online_dossiers_pct"]],
        ["10", "Số TTHC có phí, lệ phí — procedures with fees", "thủ tục",
         report["procedures_with_fees"]],
        ["11", "Số TTHC có phí triển khai thanh toán trực tuyến — with online payment",
         "thủ tục", report["procedures_with_online_payment"]],
        ["12", "Tỷ lệ TTHC thanh toán trực tuyến — share with online payment", "%",
         report["procedures_with_online_payment_pct"]],
        ["13", "Tỷ lệ giải quyết đúng hạn — on-time resolution rate", "%",
         report["on_time_rate_pct"]],
    ]  # fmt: skip
    for index, level in enumerate(report["by_admin_level"], start=1):
        name = _LEVEL_VI.get(level["admin_level"], level["admin_level"])
        rows += [
            [f"14.{index}", f"{name}: tiếp nhận — received", "hồ sơ", level["received"]],
            [f"14.{index}", f"{name}: đã giải quyết — resolved", "hồ sơ", level["resolved"]],
            [f"14.{index}", f"{name}: đúng hạn — resolved on time", "hồ sơ",
             level["resolved_on_time"]],
            [f"14.{index}", f"{name}: tỷ lệ đúng hạn — on-time rate", "%",
             level["on_time_rate_pct"]],
        ]  # fmt: skip
    return rows


def report_xlsx(report: Mapping[str, Any]) -> bytes:
    """The report as an xlsx: a title block, then the table with its header row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = f"Q{report['quarter']}-{report['year']}"
    who = ", ".join(report["sites"])
    if report["agency"]:
        who += f" (agency {report['agency']})"
    if report.get("dossier_agency"):
        who += f" (dossiers of {report['dossier_agency']})"
    sheet.append(
        [f"BÁO CÁO THỐNG KÊ DỊCH VỤ CÔNG TRỰC TUYẾN QUÝ {report['quarter']}/{report['year']}"]
    )
    sheet.append([f"Đơn vị — sites: {who}"])
    sheet.append([f"Kỳ báo cáo — period: {report['period']['from']} … {report['period']['to']}"])
    sheet.append([])
    sheet.append(["STT", "Chỉ tiêu — indicator", "Đơn vị — unit", "Giá trị — value"])
    for cell in sheet[1] + sheet[5]:
        cell.font = Font(bold=True)
    for row in report_rows(report):
        sheet.append(row)
    sheet.column_dimensions["B"].width = 80
    sheet.column_dimensions["C"].width = 14
    sheet.column_dimensions["D"].width = 14
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
