"""Section 6 "Cung cấp DVC trực tuyến" of the quarterly report (seed 004, Phụ lục II), one row
per official row (6, 6.1, 6.1.1 … 6.5.2) with its code, Vietnamese label and unit.

Why apart from ``indicators.quarterly``: the row list is the form's contract (codes, labels and
units exactly as filed) and a pure function of the period's dossier totals and the catalog
counts, so it is tested against hand-computed numbers without a database.

Definitions (seed 004, section 6; "DVCTT" = online service = level 3 or 4 in the default
catalog):
- 6.1 = 6.1.2 / 6.1.1. 6.1.1 "Tổng số DVC đủ điều kiện lên trực tuyến toàn trình" (eligible
  for full-process) is a legal judgement no event carries: manual, and 6.1 with it.
  6.1.2 "Số lượng DVCTT toàn trình" = level-4 services of the default catalog (today's default:
  the catalog keeps no validity dates).
- 6.2 = 6.2.2 / 6.2.1: online services with an online dossier received in the quarter /
  online services with any dossier received in it (online, direct or both).
- 6.3 = 6.3.2 / 6.3.1: online dossiers received for level-4 services / all their dossiers
  received; 6.4 the same for level 3.
- 6.5 = 6.5.2 / 6.5.1: 6.5.1 "Tổng số TTHC có yêu cầu nghĩa vụ tài chính (tất cả các TTHC có
  phát sinh phí, lệ phí,...)" and 6.5.2 "Số TTHC đã được tích hợp, triển khai thanh toán trực
  tuyến trên Cổng DVC quốc gia hoặc trên Cổng DVC của tỉnh" are properties of the procedures
  (every procedure that carries a fee; integrated with online payment), not of the quarter's
  dossiers, and the catalog has no fee or payment column: manual. What the dossiers show is
  given beside them as ``observed`` (procedures whose dossiers in the quarter reported a fee /
  had a fee paid online): lower bounds, since a procedure without dossiers in the quarter
  shows nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from indicators.change import percent

MANUAL_NOTE = "Nhập thủ công: dữ liệu của hệ thống không có chỉ tiêu này"


def _row(
    code: str, label: str, unit: str | None, value: Any = None, **extra: Any
) -> dict[str, Any]:
    return {"code": code, "label": label, "unit": unit, "value": value, "manual": False, **extra}


def _manual(code: str, label: str, unit: str, **extra: Any) -> dict[str, Any]:
    return {**_row(code, label, unit, None, note=MANUAL_NOTE), "manual": True, **extra}


def _rate(code: str, label: str, numerator: int, denominator: int) -> dict[str, Any]:
    return _row(code, label, "%", percent(numerator, denominator, 1),
                numerator=numerator, denominator=denominator)  # fmt: skip


def section6_rows(numbers: Mapping[str, Any], catalog: Mapping[str, int]) -> list[dict[str, Any]]:
    """The rows of section 6 from ``indicators.dossiers.totals`` of the quarter and
    ``catalog_counts`` of the sites."""
    n = {k: int(v or 0) for k, v in numbers.items()}
    l4 = int(catalog.get("l4_services", 0))
    with_any = n.get("l4_services_received", 0) + n.get("l3_services_received", 0)
    with_online = n.get("l4_services_received_online", 0) + n.get("l3_services_received_online", 0)
    fees, paid = n.get("services_with_fees", 0), n.get("services_paid_online", 0)
    observed = "Quan sát từ hồ sơ trong kỳ (cận dưới): {} thủ tục"
    return [
        _row("6", "Cung cấp DVC trực tuyến", None, heading=True),
        _manual("6.1", "Tỷ lệ DVCTT toàn trình đủ điều kiện", "%", numerator=l4,
                denominator=None),
        _manual("6.1.1", "Tổng số DVC đủ điều kiện lên trực tuyến toàn trình", "DVC"),
        _row("6.1.2", "Số lượng DVCTT toàn trình", "DVC", l4),
        _rate("6.2", "Tỷ lệ DVC có phát sinh hồ sơ nộp trực tuyến (toàn trình + một phần)",
              with_online, with_any),
        _row("6.2.1", "Tổng số DVCTT có phát sinh hồ sơ (gồm các DVCTT có phát sinh hồ sơ trực "
             "tuyến hoặc trực tiếp hoặc cả 2 hình thức)", "DVC", with_any),
        _row("6.2.2", "Số DVCTT có phát sinh hồ sơ trực tuyến", "DVC", with_online),
        _rate("6.3", "Tỷ lệ hồ sơ trực tuyến toàn trình", n.get("received_online_l4", 0),
              n.get("received_l4", 0)),
        _row("6.3.1", "Tổng số hồ sơ của DVCTT toàn trình (gồm hồ sơ nộp trực tuyến + trực "
             "tiếp)", "Hồ sơ", n.get("received_l4", 0)),
        _row("6.3.2", "Số hồ sơ nộp trực tuyến của các DVCTT toàn trình", "Hồ sơ",
             n.get("received_online_l4", 0)),
        _rate("6.4", "Tỷ lệ hồ sơ trực tuyến một phần", n.get("received_online_l3", 0),
              n.get("received_l3", 0)),
        _row("6.4.1", "Tổng số hồ sơ của DVCTT một phần (gồm hồ sơ nộp trực tuyến + trực "
             "tiếp)", "Hồ sơ", n.get("received_l3", 0)),
        _row("6.4.2", "Số hồ sơ nộp trực tuyến của các DVCTT một phần", "Hồ sơ",
             n.get("received_online_l3", 0)),
        _manual("6.5", "Tỷ lệ TTHC được tích hợp, triển khai thanh toán trực tuyến", "%",
                numerator=None, denominator=None),
        _manual("6.5.1", "Tổng số TTHC có yêu cầu nghĩa vụ tài chính (tất cả các TTHC có phát "
                "sinh phí, lệ phí,...)", "Thủ tục", observed=fees,
                note=f"{MANUAL_NOTE}. {observed.format(fees)}"),
        _manual("6.5.2", "Số TTHC đã được tích hợp, triển khai thanh toán trực tuyến trên Cổng "
                "DVC quốc gia hoặc trên Cổng DVC của tỉnh", "Thủ tục", observed=paid,
                note=f"{MANUAL_NOTE}. {observed.format(paid)}"),
    ]  # fmt: skip
