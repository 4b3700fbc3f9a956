"""What the e-mails say (issue 18 items 5, 6): subjects and Vietnamese bodies, pure.

- ``key_numbers`` sums the report's numbers from what the official forms already computed (the
  ``report_dossiers`` rows of ``indicators.reports``) and the portal totals
  (``indicators.portal.totals``): visits and pageviews (I.1, lượt truy cập / lượt xem trang),
  dossiers received (III.3 all channels, tổng số hồ sơ tiếp nhận), received online (III.2),
  online rate (III.5 = online / received), resolved, resolved on or before the due time, and
  the on-time rate (seed 004 footnote 5: before-or-on / resolved). Rates from summed parts,
  ``None`` when the base is 0 (printed "không có số liệu").
- ``report_mail`` / ``silence_mail`` give (subject, body).

Why in ``api``: the bodies print numbers the way the DOCX forms do (``api.form_files.vi_number``:
29.140; 97,1), and these e-mails carry those forms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from api.form_files import vi_number
from indicators.change import percent

FORM_TITLES = {
    "online-services": "Mẫu báo cáo số liệu phát triển Chính phủ điện tử, mục VII (PL3A.2, PL3A.3)",
    "resolution": "Kết quả tiếp nhận, giải quyết hồ sơ thủ tục hành chính theo cấp",
    "sources": "Tổng số hồ sơ tiếp nhận theo nguồn (III.3)",
    "quarterly": "Thống kê số liệu chuyên đề, mục 6: cung cấp DVC trực tuyến",
}
#: (key, label) of the body's lines, in order.
NUMBER_LINES = (
    ("visits", "Lượt truy cập (visits)"),
    ("pageviews", "Lượt xem trang (pageviews)"),
    ("received", "Tổng số hồ sơ tiếp nhận (dossiers received, all channels)"),
    ("received_online", "Hồ sơ tiếp nhận trực tuyến (received online)"),
    ("online_rate_pct", "Tỷ lệ hồ sơ trực tuyến, % (online rate)"),
    ("resolved", "Hồ sơ đã giải quyết (resolved)"),
    ("resolved_in_time", "Giải quyết trước và đúng hạn (resolved on time)"),
    ("in_time_rate_pct", "Tỷ lệ giải quyết đúng hạn, % (on-time rate)"),
)
SUBJECT_PREFIX = "[OpenEMC]"


def key_numbers(
    dossier_rows: Sequence[Mapping[str, Any]], visits: int, pageviews: int
) -> dict[str, Any]:
    """The body's numbers (see the module doc)."""
    received = sum(int(r["received"]) for r in dossier_rows)
    online = sum(int(r["received_online"]) for r in dossier_rows)
    resolved = sum(int(r["resolved"]) for r in dossier_rows)
    in_time = sum(int(r["resolved_before"]) + int(r["resolved_on_day"]) for r in dossier_rows)
    return {
        "visits": visits,
        "pageviews": pageviews,
        "received": received,
        "received_online": online,
        "online_rate_pct": percent(online, received, 1),
        "resolved": resolved,
        "resolved_in_time": in_time,
        "in_time_rate_pct": percent(in_time, resolved, 1),
    }


def _shown(value: Any) -> str:
    return "không có số liệu" if value is None else vi_number(value)


def report_mail(
    unit: str,
    period_name: str,
    period: Mapping[str, str],
    numbers: Mapping[str, Any],
    forms: Sequence[str],
    dashboard_url: str,
) -> tuple[str, str]:
    """(subject, body) of a scheduled report."""
    name = period_name[:1].lower() + period_name[1:]  # "quý I năm 2026"
    subject = f"{SUBJECT_PREFIX} Báo cáo {name}: {unit}"
    first = "/".join(reversed(period["from"].split("-")))
    last = "/".join(reversed(period["to"].split("-")))
    lines = [
        f"Kính gửi: {unit}",
        "",
        f"Hệ thống OpenEMC gửi số liệu {name} (từ ngày {first} đến ngày {last}):",
        "",
        *[f"- {label}: {_shown(numbers[key])}" for key, label in NUMBER_LINES],
        "",
        "Biểu mẫu kèm theo (attached forms, XLSX and DOCX):",
        *[f"- {FORM_TITLES.get(f, f)}" for f in forms],
        "",
        f"Xem chi tiết: {dashboard_url}",
        "",
        "Thư này được gửi tự động theo lịch báo cáo định kỳ; để ngừng nhận, đề nghị liên hệ "
        "quản trị viên hệ thống.",
    ]
    return subject, "\n".join(lines) + "\n"


def silence_mail(
    agency_name: str,
    site: Mapping[str, Any],
    last_event_local: str,
    silent_hours: int,
    dashboard_url: str,
) -> tuple[str, str]:
    """(subject, body) of a lost-connection alert for one site."""
    name = site.get("name") or site["id"]
    subject = f"{SUBJECT_PREFIX} Mất kết nối: {name} không gửi dữ liệu từ {last_event_local}"
    lines = [
        f"Kính gửi: {agency_name}",
        "",
        f"Hệ thống OpenEMC không nhận được dữ liệu từ {name} (mã {site['id']}) từ "
        f"{last_event_local}, đã {vi_number(silent_hours)} giờ, lâu hơn khoảng lặng thông "
        "thường của hệ thống này. Số liệu trong khoảng thời gian mất kết nối sẽ không được "
        "ghi nhận.",
        "",
        "Đề nghị Quý Cơ quan kiểm tra và khôi phục kết nối. Kèm theo thư này là dự thảo văn "
        "bản đôn đốc kết nối với bảng các khoảng mất dữ liệu (DOCX).",
        "",
        f"Theo dõi kết nối: {dashboard_url}",
    ]
    return subject, "\n".join(lines) + "\n"
