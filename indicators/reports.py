"""The numbers of the official forms beyond the quarterly section 6 (issue 16, item 2): seed
003 section VII per administrative level with the per-service lists PL3A.2 (level 3) and PL3A.3
(level 4), resolution before / on / after the due date per level (seed 004 footnote 5), and
dossiers received per source (seed 000 III.3).

Why its own module: one named query (``report_dossiers``) gives per (site, procedure,
administrative level, source) rows and every table here is a pure sum over them, so the tables
agree with each other and are tested without a database. Rules:
- a dossier counts in the period of its reception (received, online, who filed it, source) or
  of its result (resolved, before / on / after), as in ``dossier_procedures``;
- a service is a (site, procedure code) pair, its level the site's default catalog's; a
  procedure missing from the catalog has no level and is in no level's row or list;
- rates from summed numerators and denominators, ``None`` when the denominator is 0, with both
  parts in the answer;
- what the data does not hold (eligibility, digital signatures, https …) is ``manual``: value
  ``None``, never guessed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from clickhouse import named
from clickhouse.client import Database
from indicators.change import percent
from indicators.dossiers import bounds
from indicators.periods import Period

#: Columns of the per-level tables: the total, then each administrative level.
LEVEL_KEYS = ("total", "central", "province", "district", "commune")
SOURCES = ("dvc_portal", "national_portal", "other", "unknown")
_COUNTS = (
    "received", "received_online", "online_by_citizen", "online_by_officer", "resolved",
    "resolved_online", "resolved_before", "resolved_on_day", "resolved_late",
)  # fmt: skip


def report_period(year: int, quarter: int | None) -> Period:
    """The inclusive dates of ``quarter`` (1–4) of ``year``, or of the whole year."""
    if quarter is None:
        return Period(date(year, 1, 1), date(year, 12, 31))
    first = 3 * (quarter - 1) + 1
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, first + 3, 1)
    return Period(date(year, first, 1), date.fromordinal(end.toordinal() - 1))


def dossier_rows(
    db: Database,
    sites: Sequence[str],
    tzs: Mapping[str, str],
    period: Period,
    agency: str = "",
) -> list[dict[str, Any]]:
    """The rows of ``report_dossiers`` over ``sites``: one query per timezone (local dates of
    the due and result times need a constant zone in ClickHouse)."""
    by_zone: dict[str, list[str]] = defaultdict(list)
    for site in sites:
        by_zone[tzs[site]].append(site)
    rows: list[dict[str, Any]] = []
    for zone, members in sorted(by_zone.items()):
        params = {**bounds(members, tzs, period), "agency": agency, "tz": zone}
        rows += named.rows(db, "report_dossiers", params)
    for row in rows:
        row["admin_level"] = row["admin_level"] or "unknown"
        row["source"] = row["source"] or "unknown"
    return rows


def _level_keys(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The table's columns: the total, the four levels, and "unknown" when some dossier did
    not say its level."""
    unknown = any(r["admin_level"] == "unknown" for r in rows)
    return [*LEVEL_KEYS, *(["unknown"] if unknown else [])]


def _sums(rows: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per column (total and each administrative level) the summed counts of ``rows``."""
    out = {key: dict.fromkeys(_COUNTS, 0) for key in keys}
    for row in rows:
        for column in ("total", row["admin_level"]):
            for count in _COUNTS:
                out[column][count] += int(row[count])
    return out


def _services_online(rows: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> dict[str, int]:
    """Per column, the services ((site, procedure) pairs) with an online dossier received:
    distinct within each column, so the total is not the sum of the levels."""
    seen: dict[str, set[tuple[str, str]]] = {key: set() for key in keys}
    for row in rows:
        if row["received_online"] > 0 and row["procedure_code"]:
            service = (row["site"], row["procedure_code"])
            seen["total"].add(service)
            seen[row["admin_level"]].add(service)
    return {key: len(found) for key, found in seen.items()}


def _rate(numerators: Mapping[str, int], denominators: Mapping[str, int]) -> dict[str, Any]:
    return {
        "values": {k: percent(numerators[k], denominators[k], 1) for k in denominators},
        "parts": {
            k: {"numerator": numerators[k], "denominator": denominators[k]} for k in denominators
        },
    }


_MANUAL = "manual"
_HEADING = "heading"
_NOTE = "note"
#: Seed 003 section VII: (code, label, unit, what fills it). Codes of the dash items are ours
#: (the form numbers only 1, 1.1, 2 … 6).
_VII: list[tuple[str, str, str, str]] = [
    ("1", "Thông tin về thủ tục hành chính và cổng dịch vụ công", "", _HEADING),
    ("1.1", "Tổng số thủ tục hành chính của đơn vị", "thủ tục", "catalog:services"),
    ("1.2", "Trong đó: Số lượng thủ tục hành chính có nhu cầu sử dụng dữ liệu từ CSDL đăng ký "
     "doanh nghiệp", "thủ tục", _MANUAL),
    ("2", "Tổng số dịch vụ công trực tuyến mức độ 1, 2", "dịch vụ", _MANUAL),
    *[row for level in (3, 4) for row in (
        (f"{level}", f"Dịch vụ công trực tuyến (DVCTT) mức độ {level}", "", _HEADING),
        (f"{level}.1", f"Tổng số dịch vụ công trực tuyến mức độ {level}", "dịch vụ",
         f"catalog:l{level}_services"),
        (f"{level}.2", "Tổng số hồ sơ đã được tiếp nhận, giải quyết trực tuyến (hồ sơ trực "
         f"tuyến) qua các DVCTT mức độ {level} trong kỳ", "hồ sơ", f"l{level}:received_online"),
        (f"{level}.3", f"Tổng số DVCTT mức độ {level} có phát sinh hồ sơ trực tuyến trong kỳ",
         "dịch vụ", f"l{level}:services_online"),
        (f"{level}.4", f"Tổng số hồ sơ của các DVCTT mức độ {level} vẫn được người dân, doanh "
         "nghiệp gửi xử lý trực tiếp (hồ sơ không trực tuyến) trong kỳ", "hồ sơ",
         f"l{level}:received_offline"),
        (f"{level}.5", "Tỉ lệ hồ sơ trực tuyến do người dân, doanh nghiệp tự khai báo", "%",
         f"l{level}:citizen_pct"),
        (f"{level}.6", "Tỉ lệ hồ sơ trực tuyến do CBCCVC (tại bộ phận một cửa, trung tâm hành "
         "chính công,...) khai báo thay người dân, doanh nghiệp", "%", f"l{level}:officer_pct"),
        *([(f"{level}.7", "Số lượng DVCTT mức độ 4 có thanh toán điện tử", "dịch vụ", _MANUAL)]
          if level == 4 else []),
        (f"{level}.{level + 4}", f"Số lượng DVCTT mức độ {level} có sử dụng chữ ký số, ứng dụng "
         "di động định danh cá nhân (Mobile ID) để xác thực", "dịch vụ", _MANUAL),
        (f"{level}.{level + 5}", f"Số lượng DVCTT mức độ {level} công khai thời gian xử lý cho "
         "người dân, doanh nghiệp", "dịch vụ", _MANUAL),
        (f"{level}.{level + 6}", f"Số lượng DVCTT mức độ {level} có biểu mẫu điện tử tự động "
         "nhập các thông tin mà người dân, doanh nghiệp đã khai báo", "dịch vụ", _MANUAL),
        (f"{level}.{level + 7}", f"Số lượng DVCTT mức độ {level} đã kết nối và sử dụng dữ liệu "
         "từ CSDL đăng ký doanh nghiệp", "dịch vụ", _MANUAL),
        (f"{level}.{level + 8}", f"Danh sách các dịch vụ công trực tuyến mức độ {level}: bảng "
         f"\"PL3A.{level - 1}\"", "", _NOTE),
    )],
    ("5", "Tổng số DVCTT có hỗ trợ hướng dẫn sử dụng, giải đáp thắc mắc cho người dân và "
     "doanh nghiệp", "dịch vụ", _MANUAL),
    ("5.1", "Số lượng DVCTT mức độ 1, 2 có hỗ trợ", "dịch vụ", _MANUAL),
    ("5.2", "Số lượng DVCTT mức độ 3 có hỗ trợ", "dịch vụ", _MANUAL),
    ("5.3", "Số lượng DVCTT mức độ 4 có hỗ trợ", "dịch vụ", _MANUAL),
    ("6", "Sử dụng giao thức https", "", _HEADING),
    ("6.1", "Số lượng Website/Portal cung cấp dịch vụ công trực tuyến mức độ 3, 4 sử dụng giao "
     "thức https", "Website/Portal", _MANUAL),
    ("6.2", "Tỷ lệ Website/Portal cung cấp dịch vụ công trực tuyến mức độ 3, 4 sử dụng giao "
     "thức https", "%", _MANUAL),
]  # fmt: skip


def _level_metrics(
    rows: Sequence[Mapping[str, Any]], level: int, keys: Sequence[str]
) -> dict[str, dict[str, Any]]:
    mine = [r for r in rows if r["level"] == level]
    sums = _sums(mine, keys)
    received = {k: sums[k]["received"] for k in keys}
    online = {k: sums[k]["received_online"] for k in keys}
    return {
        "received_online": {"values": online},
        "services_online": {"values": _services_online(mine, keys)},
        "received_offline": {"values": {k: received[k] - online[k] for k in keys}},
        "citizen_pct": _rate({k: sums[k]["online_by_citizen"] for k in keys}, online),
        "officer_pct": _rate({k: sums[k]["online_by_officer"] for k in keys}, online),
    }


def section_vii(rows: Sequence[Mapping[str, Any]], catalog: Mapping[str, int]) -> dict[str, Any]:
    """Seed 003 section VII, one value per column (total and administrative level). Catalog
    counts (1.1, 3.1, 4.1) are the default catalog's and have no level: total column only.
    The filer rates (x.5, x.6) divide by every online dossier, so dossiers whose sender did not
    say who filed them (``online_not_reported``) leave the two rates short of 100 %."""
    keys = _level_keys(rows)
    metrics = {f"l{lv}": _level_metrics(rows, lv, keys) for lv in (3, 4)}
    out = []
    for code, label, unit, fill in _VII:
        entry: dict[str, Any] = {"code": code, "label": label, "unit": unit or None,
                                 "manual": fill == _MANUAL, "heading": fill == _HEADING,
                                 "values": dict.fromkeys(keys)}  # fmt: skip
        if fill.startswith("catalog:"):
            entry["values"]["total"] = int(catalog.get(fill.split(":")[1], 0))
        elif ":" in fill:
            group, name = fill.split(":")
            entry.update(metrics[group][name])
        elif fill == _NOTE:
            entry["note"] = f"Xem bảng PL3A.{int(code[0]) - 1}"
        out.append(entry)
    unreported = {
        f"l{lv}": sum(
            int(r["received_online"]) - int(r["online_by_citizen"]) - int(r["online_by_officer"])
            for r in rows
            if r["level"] == lv
        )
        for lv in (3, 4)
    }
    return {"columns": keys, "rows": out, "online_not_reported": unreported}


#: PL3A groups: A = provincial (and central) bodies, B = district, C = commune, D = unknown.
_GROUPS = (
    ("A", "DỊCH VỤ CÔNG TRỰC TUYẾN MÀ THỦ TỤC HÀNH CHÍNH ĐƯỢC THỰC HIỆN TẠI CQNN CẤP TỈNH",
     ("province", "central")),
    ("B", "DỊCH VỤ CÔNG TRỰC TUYẾN MÀ THỦ TỤC HÀNH CHÍNH ĐƯỢC THỰC HIỆN TẠI UBND CẤP HUYỆN",
     ("district",)),
    ("C", "DỊCH VỤ CÔNG TRỰC TUYẾN MÀ THỦ TỤC HÀNH CHÍNH ĐƯỢC THỰC HIỆN TẠI UBND CẤP XÃ",
     ("commune",)),
    ("D", "DỊCH VỤ CÔNG TRỰC TUYẾN KHÔNG RÕ CẤP THỰC HIỆN (hồ sơ không ghi cấp hành chính)",
     ("unknown",)),
)  # fmt: skip


def service_list(rows: Sequence[Mapping[str, Any]], level: int) -> list[dict[str, Any]]:
    """PL3A.2 (level 3) or PL3A.3 (level 4): per group, one line per service with dossiers —
    column 5 = the agencies that received its dossiers (district and commune groups only),
    7 = online dossiers resolved, 8 = dossiers received (online or not); columns 2 (service
    group) and 6 (share of the district or commune councils) are not in the data."""
    groups = []
    for letter, title, levels in _GROUPS:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for r in rows:
            if r["level"] != level or r["admin_level"] not in levels or not r["procedure_code"]:
                continue
            key = (r["site"], r["procedure_code"])
            line = found.setdefault(key, {
                "site": r["site"], "procedure_code": r["procedure_code"], "name": r["name"],
                "url": r["url"] or None, "agencies": set(), "online_resolved": 0, "received": 0,
            })  # fmt: skip
            line["agencies"].update(r["agencies"])
            line["online_resolved"] += int(r["resolved_online"])
            line["received"] += int(r["received"])
        lines = sorted(found.values(), key=lambda s: (-s["received"], s["name"], s["site"],
                                                      s["procedure_code"]))  # fmt: skip
        for line in lines:
            agencies = line.pop("agencies")
            line["agencies"] = len(agencies) if letter in ("B", "C") else None
        if lines or letter in ("A", "B"):
            groups.append({"group": letter, "title": title, "services": lines})
    return groups


def resolution(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Seed 004 footnote 5 per administrative level and in total: received, resolved, resolved
    before / on / after the due date, before-or-on together, and the rate "tỷ lệ" =
    (before + on) / resolved — the footnote's own division (Bắc Giang, provincial level:
    31264 / 41426 = 75,47 %); results without a due time are ``resolved_without_due``."""
    keys = _level_keys(rows)
    sums = _sums(rows, keys)
    out = []
    for key in [*keys[1:], "total"]:
        s = sums[key]
        in_time = s["resolved_before"] + s["resolved_on_day"]
        out.append({
            "admin_level": key, "received": s["received"], "resolved": s["resolved"],
            "resolved_before": s["resolved_before"], "resolved_on_day": s["resolved_on_day"],
            "resolved_in_time": in_time, "resolved_late": s["resolved_late"],
            "resolved_without_due": s["resolved"] - in_time - s["resolved_late"],
            "in_time_rate_pct": percent(in_time, s["resolved"], 2),
            "numerator": in_time, "denominator": s["resolved"],
        })  # fmt: skip
    return out


def by_source(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """III.3 broken down by source: dossiers received from the provincial (or ministerial) DVC
    portal, the national portal, other systems, and those whose sender named no source; each
    with its online ones and its share of everything received (sums over every row); then
    ``online_sources`` = III.3 (the online sources only, issue 16) and ``total`` = every
    dossier received, any channel."""
    received = dict.fromkeys(SOURCES, 0)
    online = dict.fromkeys(SOURCES, 0)
    for r in rows:
        received[r["source"]] += int(r["received"])
        online[r["source"]] += int(r["received_online"])
    total = sum(received.values())
    out = [
        {"source": s, "received": received[s], "received_online": online[s],
         "share_pct": percent(received[s], total, 1)}
        for s in SOURCES
    ]  # fmt: skip
    # III.3 itself (seed 000: "từ tất cả các nguồn trực tuyến"), as the one-stop overview's
    # received_total counts it: every dossier from the DVC or national portal, and the online
    # ones of other systems or of no named source
    portals = received["dvc_portal"] + received["national_portal"]
    iii3 = portals + online["other"] + online["unknown"]
    out.append(
        {
            "source": "online_sources",
            "received": iii3,
            "received_online": sum(online.values()),
            "share_pct": percent(iii3, total, 1),
        }
    )
    out.append({"source": "total", "received": total, "received_online": sum(online.values()),
                "share_pct": percent(total, total, 1)})  # fmt: skip
    return out
