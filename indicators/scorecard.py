"""The provisional Decision 766/QĐ-TTg scorecard (issue 16, item 3): "Bộ chỉ số … đánh giá chất
lượng phục vụ người dân, doanh nghiệp … theo thời gian thực" per agency (the sites of its
subtree) and period.

Contract: ``measures`` turns the period's counts into (numerator, denominator) pairs and
``score`` scores them with the weights and thresholds of ``indicators/scorecard_766.toml``
(``indicators.scorecard_config``), both pure; ``scorecard`` runs the named queries. What the
data cannot support is "not measured": ``points`` null with a ``reason``, never 0 — an
indicator without a data source, or with fewer than ``min_count`` items behind it; a group
none of whose indicators is measured. Totals add only measured points and say how many points
were measurable (``measured_max``), so a partial score is never read as a full one.

Where the counts come from (the same definitions as the one-stop overview, §3.III):
resolved / on time / overdue / received / online / level 4 from the named query
``dossier_procedures`` (dossier state, default-catalog level); fees paid online from the same
rows (``paid_online`` / ``fee_reported``); the digitised flag from ``scorecard_digitized``
(migration 0055); ratings from ``scorecard_ratings`` (tracker events ``rating:<score>:…``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse import named
from clickhouse.client import Database
from indicators.dossiers import bounds, procedure_rows, totals
from indicators.periods import Period
from indicators.scorecard_config import METRICS, Config, Group, Indicator
from indicators.tables import Table


@dataclass(frozen=True, slots=True)
class Measure:
    """``numerator / denominator``; ``denominator`` counts the items behind the value."""

    numerator: float
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def measures(
    procedure_totals: Mapping[str, Any],
    fees: Mapping[str, int],
    digitized: Mapping[str, int],
    ratings: Mapping[int, int],
) -> dict[str, Measure]:
    """Every metric of ``METRICS`` from the period's counts (pure).

    ``procedure_totals``: ``indicators.dossiers.totals`` of the period; ``fees``:
    ``fee_reported``, ``paid_online``; ``digitized``: ``digitized_reported``, ``digitized``;
    ``ratings``: count per score 1-5."""
    t = {k: int(v or 0) for k, v in procedure_totals.items()}
    with_due, on_time, overdue_open = (
        t["resolved_with_due"],
        t["resolved_on_time"],
        t["overdue_open"],
    )
    return {
        "on_time_rate": Measure(on_time, t["resolved"]),  # seed 004, footnote 5
        "overdue_rate": Measure(with_due - on_time + overdue_open, with_due + overdue_open),
        "online_rate": Measure(t["received_online"], t["received"]),
        "full_process_rate": Measure(t["received_online_l4"], t["received_l4"]),
        "online_payment_rate": Measure(int(fees.get("paid_online", 0)),
                                       int(fees.get("fee_reported", 0))),
        "digitized_rate": Measure(int(digitized.get("digitized", 0)),
                                  int(digitized.get("digitized_reported", 0))),
        "satisfaction": Measure(sum(s * n for s, n in ratings.items()), sum(ratings.values())),
    }  # fmt: skip


def _clamp(x: float) -> float:
    return min(1.0, max(0.0, x))


def _indicator(ind: Indicator, found: Mapping[str, Measure]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": ind.key,
        "name_vi": ind.name_vi,
        "name_en": ind.name_en,
        "metric": ind.metric or None,
        "points_max": ind.points,
        "value": None,
        "numerator": None,
        "denominator": None,
        "points": None,
        "measured": False,
        "reason": None,
    }
    if not ind.metric:
        out["reason"] = ind.reason
        return out
    m = found[ind.metric]
    out["numerator"], out["denominator"] = m.numerator, m.denominator
    value = m.value
    if value is None or m.denominator < ind.min_count:
        noun = METRICS[ind.metric][1]
        out["reason"] = f"{m.denominator} {noun} in the period; at least {ind.min_count} needed"
        return out
    share = _clamp((value - ind.zero_at) / (ind.full_at - ind.zero_at))
    out.update(value=round(value, 4), points=round(ind.points * share, 2), measured=True)
    return out


def _group(group: Group, found: Mapping[str, Measure]) -> dict[str, Any]:
    items = [_indicator(i, found) for i in group.indicators]
    done = [i for i in items if i["measured"]]
    status = "measured" if len(done) == len(items) else "partial" if done else "not_measured"
    reasons = list(dict.fromkeys(i["reason"] for i in items if not i["measured"]))
    return {
        "key": group.key,
        "name_vi": group.name_vi,
        "name_en": group.name_en,
        "points_max": group.points,
        "status": status,
        "points": round(sum(i["points"] for i in done), 2) if done else None,
        "measured_max": float(sum(i["points_max"] for i in done)),
        "reason": "; ".join(reasons) if status == "not_measured" else None,
        "indicators": items,
    }


def score(config: Config, found: Mapping[str, Measure]) -> dict[str, Any]:
    """Groups and total of the scorecard (pure; see the module docstring)."""
    groups = [_group(g, found) for g in config.groups]
    measured = [g for g in groups if g["points"] is not None]
    points = round(sum(g["points"] for g in measured), 2)
    measured_max = sum(g["measured_max"] for g in groups)
    return {
        "provisional": config.provisional,
        "decision": config.decision,
        "version": config.version,
        "groups": groups,
        "total": {
            "points_max": sum(g.points for g in config.groups),
            "points": points if measured else None,
            "measured_max": measured_max,
            "measured_pct": round(points * 100 / measured_max, 1) if measured_max else None,
            "complete": all(g["status"] == "measured" for g in groups),
        },
    }


def scorecard(
    db: Database,
    config: Config,
    sites: Sequence[str],
    tzs: Mapping[str, str],
    period: Period,
) -> dict[str, Any]:
    """The scorecard of ``sites`` (their union) over ``period`` (inclusive local dates)."""
    rows, _ = procedure_rows(db, sites, tzs, period)
    fees = {
        "fee_reported": sum(int(r["fee_reported"] or 0) for r in rows),
        "paid_online": sum(int(r["paid_online"] or 0) for r in rows),
    }
    digit_rows = named.rows(db, "scorecard_digitized", bounds(sites, tzs, period))
    digitized = {k: int(v or 0) for k, v in (digit_rows[0] if digit_rows else {}).items()}
    rating_rows = named.rows(
        db, "scorecard_ratings", {"sites": list(sites), "from": period.start, "to": period.end}
    )
    ratings = {int(r["score"]): int(r["ratings"]) for r in rating_rows}
    found = measures(totals(rows), fees, digitized, ratings)
    return {
        "sites": list(sites),
        "period": period.as_json(),
        **score(config, found),
        "ratings": {str(s): ratings.get(s, 0) for s in range(1, 6)},
    }


def scorecard_table(answer: Mapping[str, Any]) -> Table:
    """One row per indicator (group columns repeated) for CSV/XLSX."""
    columns = [
        "group", "group_vi", "group_points", "group_points_max", "group_status", "indicator",
        "indicator_vi", "metric", "value", "numerator", "denominator", "points", "points_max",
        "reason",
    ]  # fmt: skip
    rows: list[list[Any]] = []
    for g in answer["groups"]:
        for i in g["indicators"]:
            rows.append([
                g["key"], g["name_vi"], g["points"], g["points_max"], g["status"], i["key"],
                i["name_vi"], i["metric"], i["value"], i["numerator"], i["denominator"],
                i["points"], i["points_max"], i["reason"],
            ])  # fmt: skip
    total = answer["total"]
    # the total: points over the 100 of the decision, and (points_max) how many were measurable
    rows.append([
        "total", "Tổng điểm (tạm tính)", total["points"], total["points_max"],
        "complete" if total["complete"] else "partial", None, None, None, None, None, None,
        total["points"], total["measured_max"],
        None if total["complete"] else "points_max = the points the data could measure",
    ])  # fmt: skip
    return Table(columns, rows)


def _cell_value(indicator: Mapping[str, Any]) -> Any:
    """A value as a reader expects it: rates in percent, the mean rating as is."""
    value = indicator["value"]
    if value is None:
        return None
    return value if indicator["metric"] == "satisfaction" else round(value * 100, 2)


def scorecard_xlsx(answer: Mapping[str, Any]) -> bytes:
    """The scorecard as an XLSX sheet in Vietnamese (English beside): a title block saying it is
    provisional, then one row per group and under it its indicators; "Chưa đo được" (not
    measured) with the reason where the data cannot compute a number, never 0."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "QD766"
    unit = answer.get("agency") or ", ".join(answer["sites"])
    period = answer["period"]
    sheet.append(
        [f"BỘ CHỈ SỐ PHỤC VỤ NGƯỜI DÂN, DOANH NGHIỆP (QĐ {answer['decision']}) — TẠM TÍNH"]
    )
    sheet.append([f"Đơn vị — unit: {unit}"])
    sheet.append([f"Kỳ — period: {period['from']} … {period['to']}"])
    sheet.append([f"Bản tạm tính (provisional), trọng số phiên bản {answer['version']}"])
    sheet.append([])
    header = ["Nhóm / chỉ tiêu — group / indicator", "Giá trị — value", "Tử số — numerator",
              "Mẫu số — denominator", "Điểm — points", "Điểm tối đa — max",
              "Ghi chú — note"]  # fmt: skip
    sheet.append(header)
    bold = Font(bold=True)
    for cell in sheet[1] + sheet[6]:
        cell.font = bold
    not_measured = "Chưa đo được (not measured)"
    for g in answer["groups"]:
        note = {"measured": None, "partial": "Đo được một phần (partial)"}.get(
            g["status"], f"{not_measured}: {g['reason']}"
        )
        sheet.append([g["name_vi"], None, None, None, g["points"], g["points_max"], note])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for i in g["indicators"]:
            sheet.append([
                "    " + i["name_vi"], _cell_value(i), i["numerator"], i["denominator"],
                i["points"], i["points_max"],
                None if i["measured"] else f"{not_measured}: {i['reason']}",
            ])  # fmt: skip
    total = answer["total"]
    sheet.append([
        "Tổng điểm — total", total["measured_pct"], None, None, total["points"],
        total["points_max"],
        None if total["complete"] else
        f"Đo được {total['measured_max']:g}/{total['points_max']:g} điểm; giá trị = % điểm "
        "đo được (value = percent of the measurable points)",
    ])  # fmt: skip
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    sheet.column_dimensions["A"].width = 70
    sheet.column_dimensions["G"].width = 70
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
