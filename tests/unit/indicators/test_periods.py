"""Cuts of periods that contain now (issue 16), against known answers.

The rule: per site, in its own timezone, a period that contains the local now counts up to now
rounded down to the hour; its comparison period up to the same elapsed part (``previous``: the
same offset from its start; ``year``: the same wall-clock moment a year earlier). A period
already over is whole on both sides.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from indicators.periods import (
    CompareMode,
    Period,
    after,
    comparison_end,
    comparison_period,
    cuts,
    elapsed_end,
)

HCM = "Asia/Ho_Chi_Minh"
TZS = {"hcm": HCM, "hn": HCM, "bkk": "Asia/Bangkok", "la": "America/Los_Angeles"}


def at(zone: str, y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> float:
    """Epoch seconds of a local wall-clock time in ``zone``."""
    return datetime(y, mo, d, h, mi, s, tzinfo=ZoneInfo(zone)).timestamp()


def test_today_at_ten_is_compared_with_yesterday_until_ten() -> None:
    today = Period(date(2026, 3, 4), date(2026, 3, 4))
    compare = comparison_period(today, CompareMode.PREVIOUS)
    cut, prev = cuts(
        today, compare, CompareMode.PREVIOUS, ["hcm"], TZS, at(HCM, 2026, 3, 4, 10, 37)
    )
    assert cut.ends == (datetime(2026, 3, 4, 10),)
    assert prev is not None and prev.ends == (datetime(2026, 3, 3, 10),)
    assert cut.as_json() == {"partial": True, "cut": "2026-03-04T10:00+07:00", "precision": "hour"}
    assert prev.as_json() == {"partial": True, "cut": "2026-03-03T10:00+07:00", "precision": "hour"}


def test_midnight_edges() -> None:
    today = Period(date(2026, 3, 4), date(2026, 3, 4))
    compare = comparison_period(today, CompareMode.PREVIOUS)
    # exactly midnight: nothing of today has happened, nothing of yesterday is compared
    cut, prev = cuts(today, compare, CompareMode.PREVIOUS, ["hcm"], TZS, at(HCM, 2026, 3, 4, 0, 0))
    assert cut.ends == (datetime(2026, 3, 4, 0),) and cut.partial
    assert prev is not None and prev.ends == (datetime(2026, 3, 3, 0),) and prev.partial
    # one second before midnight: the day's last hour still runs, cut at 23:00
    cut, prev = cuts(
        today, compare, CompareMode.PREVIOUS, ["hcm"], TZS, at(HCM, 2026, 3, 4, 23, 59, 59)
    )
    assert cut.ends == (datetime(2026, 3, 4, 23),)
    assert prev is not None and prev.ends == (datetime(2026, 3, 3, 23),)
    # the next midnight: the period is over, both whole (unchanged behaviour)
    cut, prev = cuts(today, compare, CompareMode.PREVIOUS, ["hcm"], TZS, at(HCM, 2026, 3, 5, 0, 0))
    assert not cut.partial and prev is not None and not prev.partial
    assert cut.as_json() == {"partial": False, "cut": None}
    assert compare is not None and prev.ends == (after(compare),)


def test_a_period_ending_today_keeps_the_offset_from_the_comparison_start() -> None:
    month = Period(date(2026, 3, 1), date(2026, 3, 4))  # 4 days, 1st..4th, now the 4th 10:20
    compare = comparison_period(month, CompareMode.PREVIOUS)
    assert compare == Period(date(2026, 2, 25), date(2026, 2, 28))
    cut, prev = cuts(
        month, compare, CompareMode.PREVIOUS, ["hcm"], TZS, at(HCM, 2026, 3, 4, 10, 20)
    )
    assert cut.ends == (datetime(2026, 3, 4, 10),)
    assert prev is not None and prev.ends == (datetime(2026, 2, 28, 10),)  # 3 days 10 h in
    # the whole month, now the 4th: 3 days 10 h from the comparison period's start
    whole_month = Period(date(2026, 3, 1), date(2026, 3, 31))
    compare = comparison_period(whole_month, CompareMode.PREVIOUS)
    assert compare == Period(date(2026, 1, 29), date(2026, 2, 28))
    assert comparison_end(whole_month, compare, CompareMode.PREVIOUS, datetime(2026, 3, 4, 10)) == (
        datetime(2026, 2, 1, 10)
    )


def test_a_period_ended_before_today_is_not_cut() -> None:
    week = Period(date(2026, 2, 22), date(2026, 2, 28))
    compare = comparison_period(week, CompareMode.PREVIOUS)
    cut, prev = cuts(week, compare, CompareMode.PREVIOUS, ["hcm"], TZS, at(HCM, 2026, 3, 4, 10))
    assert cut.ends == (datetime(2026, 3, 1),) and not cut.partial
    assert prev is not None and prev.ends == (datetime(2026, 2, 22),) and not prev.partial


def test_year_is_the_same_wall_clock_moment_a_year_earlier() -> None:
    days = Period(date(2028, 2, 27), date(2028, 2, 29))
    compare = comparison_period(days, CompareMode.YEAR)
    assert compare == Period(date(2027, 2, 27), date(2027, 2, 28))
    cut, prev = cuts(days, compare, CompareMode.YEAR, ["hcm"], TZS, at(HCM, 2028, 2, 28, 15, 5))
    assert prev is not None and prev.ends == (datetime(2027, 2, 28, 15),)
    # on 29 February: 28 February a year earlier, same hour
    cut, prev = cuts(days, compare, CompareMode.YEAR, ["hcm"], TZS, at(HCM, 2028, 2, 29, 8, 0))
    assert cut.ends == (datetime(2028, 2, 29, 8),)
    assert prev is not None and prev.ends == (datetime(2027, 2, 28, 8),)


def test_no_comparison() -> None:
    today = Period(date(2026, 3, 4), date(2026, 3, 4))
    cut, prev = cuts(today, None, CompareMode.NONE, ["hcm"], TZS, at(HCM, 2026, 3, 4, 9, 1))
    assert cut.ends == (datetime(2026, 3, 4, 9),) and prev is None


def test_each_site_is_cut_in_its_own_timezone() -> None:
    # 2026-03-04 01:30 UTC: 08:30 on the 4th in Hồ Chí Minh City, 17:30 on the 3rd in Los Angeles
    now = datetime(2026, 3, 4, 1, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    day = Period(date(2026, 3, 3), date(2026, 3, 3))
    compare = comparison_period(day, CompareMode.PREVIOUS)
    cut, prev = cuts(day, compare, CompareMode.PREVIOUS, ["hcm", "la"], TZS, now)
    # the 3rd is over in HCM (whole), running in LA (cut at 17:00 local)
    assert cut.ends == (datetime(2026, 3, 4), datetime(2026, 3, 3, 17))
    assert prev is not None and prev.ends == (datetime(2026, 3, 3), datetime(2026, 3, 2, 17))
    assert prev.as_json() == {
        "partial": True,
        "cut": None,
        "cuts": {"hcm": "2026-03-03T00:00+07:00", "la": "2026-03-02T17:00-08:00"},
        "precision": "hour",
    }
    # the 4th has not begun in LA: cut at its start on both sides (nothing against nothing)
    day = Period(date(2026, 3, 4), date(2026, 3, 4))
    compare = comparison_period(day, CompareMode.PREVIOUS)
    cut, prev = cuts(day, compare, CompareMode.PREVIOUS, ["hcm", "la"], TZS, now)
    assert cut.ends == (datetime(2026, 3, 4, 8), datetime(2026, 3, 4))
    assert prev is not None and prev.ends == (datetime(2026, 3, 3, 8), datetime(2026, 3, 3))


def test_sites_with_the_same_offset_share_one_cut() -> None:
    day = Period(date(2026, 3, 4), date(2026, 3, 4))
    cut, _ = cuts(day, None, CompareMode.NONE, ["hcm", "bkk"], TZS, at(HCM, 2026, 3, 4, 11, 59))
    assert cut.as_json() == {"partial": True, "cut": "2026-03-04T11:00+07:00", "precision": "hour"}


def test_a_period_wholly_in_the_future_is_whole() -> None:
    day = Period(date(2026, 3, 6), date(2026, 3, 6))
    compare = comparison_period(day, CompareMode.PREVIOUS)
    cut, prev = cuts(day, compare, CompareMode.PREVIOUS, ["hcm"], TZS, at(HCM, 2026, 3, 4, 10))
    assert not cut.partial and prev is not None and not prev.partial


def test_elapsed_end_is_kept_within_the_period() -> None:
    day = Period(date(2026, 3, 4), date(2026, 3, 4))
    assert elapsed_end(day, datetime(2026, 3, 1, 12)) == datetime(2026, 3, 4)
    assert elapsed_end(day, datetime(2026, 3, 9, 12)) == datetime(2026, 3, 5)
