"""Pure parts of the dossier indicators: per-site period bounds, quarters, empty numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from indicators.dossiers import (
    _onestop_parts,
    _onestop_values,
    bounds,
    portal_links,
    totals,
    unknown_procedures,
)
from indicators.periods import Period
from indicators.quarterly import quarter_period
from schemas.sites import Site, SiteType


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp() * 1000)


def test_period_bounds_follow_each_site_timezone() -> None:
    got = bounds(
        ["hn", "tokyo"],
        {"hn": "Asia/Ho_Chi_Minh", "tokyo": "Asia/Tokyo"},
        Period(date(2026, 3, 1), date(2026, 3, 7)),
    )
    assert got == {
        "sites": ["hn", "tokyo"],
        "starts": [_ms("2026-03-01T00:00:00+07:00"), _ms("2026-03-01T00:00:00+09:00")],
        "ends": [_ms("2026-03-08T00:00:00+07:00"), _ms("2026-03-08T00:00:00+09:00")],
    }


def test_bounds_across_a_daylight_saving_change_are_local_midnights() -> None:
    got = bounds(["p"], {"p": "Europe/Paris"}, Period(date(2026, 3, 29), date(2026, 3, 29)))
    assert got["starts"] == [_ms("2026-03-29T00:00:00+01:00")]
    assert got["ends"] == [_ms("2026-03-30T00:00:00+02:00")]  # a 23-hour day


@pytest.mark.parametrize(
    ("quarter", "start", "end"),
    [(1, "2026-01-01", "2026-03-31"), (2, "2026-04-01", "2026-06-30"),
     (3, "2026-07-01", "2026-09-30"), (4, "2026-10-01", "2026-12-31")],
)  # fmt: skip
def test_quarters(quarter: int, start: str, end: str) -> None:
    period = quarter_period(2026, quarter)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


def test_no_dossiers_give_zero_counts_and_null_rates() -> None:
    values = _onestop_values({})
    assert values["received_total"] == 0 and values["resolved"] == 0
    rates = [k for k in values if k.endswith("_pct") or k == "avg_processing_time_s"]
    assert rates and all(values[k] is None for k in rates)


def _row(site: str, code: str, level: int | None, **counts: int) -> dict[str, object]:
    base = dict.fromkeys(
        ("submitted", "submitted_or_received", "received", "received_online",
         "received_online_sources", "fee_reported", "paid_online", "finished", "processing_s_total", "resolved", "resolved_on_time",
         "resolved_with_due", "overdue_open"), 0,
    )  # fmt: skip
    return {"site": site, "procedure_code": code, "level": level, "procedure_name": "",
            "catalog_name": "", **base, **counts}  # fmt: skip


def test_totals_sum_rows_and_count_services_per_site_and_level() -> None:
    rows = [
        _row("a", "P4", 4, submitted=2, received=3, received_online=1, fee_reported=1),
        _row("b", "P4", 4, received=1),  # same code on another site: another service
        _row("a", "P3", 3, received=2, received_online=2, paid_online=1, fee_reported=2),
        _row("a", "PX", None, submitted=1, submitted_or_received=1, received=1),
        _row("a", "", None, received=4, received_online=4),  # no code: dossiers, no service
        _row("a", "P0", 0, resolved=2, resolved_on_time=1, resolved_with_due=2),
    ]
    t = totals(rows)
    assert (t["submitted"], t["received"], t["received_online"]) == (3, 11, 7)
    assert (t["received_l4"], t["received_online_l4"], t["l4_services_received"]) == (4, 1, 2)
    assert (t["l4_services_received_online"], t["received_l3"], t["l3_services_received"]) == (
        1, 2, 1,
    )  # fmt: skip
    assert (t["submitted_l4"], t["l4_services_submitted"], t["submitted_unknown_procedure"]) == (
        2, 1, 1,
    )  # fmt: skip
    assert t["received_unknown_procedure"] == 5  # PX and the code-less row
    assert (t["services_received"], t["services_received_online"]) == (4, 2)  # not "" nor P0
    assert (t["services_with_fees"], t["services_paid_online"]) == (2, 1)
    assert (t["resolved"], t["resolved_on_time"]) == (2, 1)
    assert unknown_procedures(rows) == [
        {"site": "a", "procedure_code": "PX", "procedure_name": "", "dossiers": 1}
    ]


def test_l4_l3_services_online_pct_divide_by_every_service_with_dossiers() -> None:
    """III.9–10 (seed 000, Phụ lục 2, III): "Tỷ lệ DVC mức 4 phát sinh HS trực tuyến — Tỷ lệ
    tính bằng (Tổng số DVC mức 4 có phát sinh HS trực tuyến)/(tổng số DVC có phát sinh hồ sơ)",
    and the same for "mức 3" (level-4 / level-3 services with an online dossier over every
    service with a dossier, whatever its level or channel).

    The issue's example: every level-4 service with dossiers got an online one (2 / 2 = 100 %
    over the same level), but they are 2 of the 10 services with dossiers: 20 %."""
    rows = [
        _row("a", "P4a", 4, received=3, received_online=1),
        _row("a", "P4b", 4, received=1, received_online=1),
        _row("a", "P3a", 3, received=2, received_online=1),
        _row("a", "P3b", 3, received=5),  # direct only
        _row("b", "P3a", 3, received=1),  # the same code on another site: another service
        *[_row("a", f"P0{i}", 0, received=1) for i in range(4)],  # level 0, direct
        _row("a", "PX", None, received=2, received_online=2),  # not in the catalog
        _row("a", "P4c", 4, submitted=1),  # submitted, not received: no dossier here
        _row("a", "", None, received=7, received_online=7),  # no code: dossiers, no service
    ]
    numbers = totals(rows)
    values = _onestop_values(numbers)
    assert values["l4_services_online_pct"] == 20.0  # P4a, P4b / 10 services
    assert values["l3_services_online_pct"] == 10.0  # P3a of site a / 10
    assert _onestop_parts(numbers) == {
        "online_rate_pct": {"numerator": 12, "denominator": 25},  # III.5: every channel
        "l4_services_online_pct": {"numerator": 2, "denominator": 10},
        "l3_services_online_pct": {"numerator": 1, "denominator": 10},
    }


def test_portal_links_attribute_only_an_agency_with_one_onestop_site() -> None:
    """III.1 "Tổng số HS nộp trên cổng": a DVC submission that no one-stop dossier's code
    matches goes to the one-stop site of the DVC site's agency, only when it is the only one
    there (agency x has two: nobody's; a DVC site without an agency: nobody's)."""
    sites = [
        ("dvc-hn", "dvc", "hn"), ("mc-hn", "onestop", "hn"), ("dvc-x", "dvc", "x"),
        ("mc-x1", "onestop", "x"), ("mc-x2", "onestop", "x"), ("mc-y", "onestop", "y"),
        ("dvc-none", "dvc", ""), ("portal-hn", "portal", "hn"),
    ]  # fmt: skip
    registry = [Site(id=s, name=s, type=SiteType(kind), agency_id=a) for s, kind, a in sites]
    assert portal_links(registry) == {
        "dvc_sites": ["dvc-hn", "dvc-none", "dvc-x"],
        "dvc_owner": ["mc-hn", "", ""],
        "onestop_sites": ["mc-hn", "mc-x1", "mc-x2", "mc-y"],
    }


def test_on_time_rate_divides_by_every_resolved_dossier() -> None:
    """Seed 004, footnote 5: "Cấp tỉnh tiếp nhận 45827 hồ sơ, đã giải quyết 41426 hồ sơ, trong đó
    giải quyết trước và đúng hạn 31264 hồ sơ (tỷ lệ 75,47%)" — the rate is resolved before or on
    time ÷ all resolved. Dossiers resolved without a due time stay in the denominator (they are
    not known to be on time), so 9,426 of them do not lift the rate to 31264 / 32000 = 97.7 %."""
    got = _onestop_values(
        {
            "received": 45827,
            "resolved": 41426,
            "resolved_on_time": 31264,
            "resolved_with_due": 32000,
        }
    )
    assert got["on_time_rate_pct"] == pytest.approx(75.47, abs=0.01)
    assert got["resolved"] == 41426
    assert got["returned_on_time"] == 31264
    nothing = _onestop_values({"received": 3})
    assert nothing["on_time_rate_pct"] is None  # nothing resolved: no rate, never 0


def test_iii3_counts_the_online_sources_and_iii5_divides_by_every_channel() -> None:
    """Seed 000, Phụ lục 2, III.3 "Tổng số hồ sơ tiếp nhận": "Tổng số hồ sơ mà Hệ thống thông
    tin một cửa điện tử tiếp nhận từ tất cả các nguồn trực tuyến (Cổng dịch vụ công trực tuyến,
    Cổng dịch vụ công quốc gia, và các Hệ thống thông tin khác)". III.5 "Tỷ lệ HS xử lý trực
    tuyến" = "(Tổng số HS nhận trực tuyến)/(Tổng số hồ sơ tiếp nhận)", whose base is every
    dossier received, online or not (seed 004, 6.3.1: "gồm hồ sơ nộp trực tuyến + trực tiếp").

    By construction: 10 dossiers received — 6 online (III.2), 1 more marked as coming from the
    national portal but received as direct, 3 at the counter with no source. III.3 = 7 (the
    online sources), III.5 = 6 / 10 = 60 % (not 6 / 7)."""
    rows = [
        _row("a", "P4", 4, received=4, received_online=4, received_online_sources=4),
        _row("a", "P3", 3, received=6, received_online=2, received_online_sources=3),
    ]
    t = totals(rows)
    assert (t["received"], t["received_online"], t["received_online_sources"]) == (10, 6, 7)
    values = _onestop_values(t)
    assert values["received_online"] == 6  # III.2
    assert values["received_total"] == 7  # III.3: online sources only
    assert values["received_all_channels"] == 10  # III.5's base
    assert values["online_rate_pct"] == pytest.approx(60.0)
    parts = _onestop_parts(t)["online_rate_pct"]
    assert parts == {"numerator": 6, "denominator": 10}
