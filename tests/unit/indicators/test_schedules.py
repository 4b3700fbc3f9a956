"""When reports are due and who hears of a silent site (``indicators.schedules``), pure."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from clickhouse.mail_store import Schedule
from indicators import schedules as s
from indicators.periods import Period

VN = "Asia/Ho_Chi_Minh"


def _schedule(period: str, created: datetime, zone: str = VN) -> Schedule:
    return Schedule("x", "p", "", period, ("a@b.vn",), ("sources",), zone, "admin", created)


def test_periods_containing_a_day() -> None:
    # 2026-12-05 is a Saturday: its week runs Monday 30 November – Sunday 6 December
    assert s.period_containing("weekly", date(2026, 12, 5)) == Period(
        date(2026, 11, 30), date(2026, 12, 6)
    )
    assert s.period_containing("monthly", date(2024, 2, 10)) == Period(
        date(2024, 2, 1), date(2024, 2, 29)
    )
    assert s.period_containing("quarterly", date(2026, 12, 31)) == Period(
        date(2026, 10, 1), date(2026, 12, 31)
    )
    assert s.previous_period("monthly", Period(date(2026, 1, 1), date(2026, 1, 31))) == Period(
        date(2025, 12, 1), date(2025, 12, 31)
    )


def test_the_last_closed_period_is_local() -> None:
    # 16:30 UTC on 31 March is 23:30 in Vietnam: Q1 still open there, closed in UTC
    moment = datetime(2026, 3, 31, 17, 30, tzinfo=UTC)  # 00:30 on 1 April in Vietnam
    assert s.last_closed("quarterly", moment, VN).start == date(2026, 1, 1)
    before = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)
    assert s.last_closed("quarterly", before, VN).start == date(2025, 10, 1)
    assert s.last_closed("quarterly", before, "UTC").start == date(2025, 10, 1)
    assert s.closes_at(Period(date(2026, 1, 1), date(2026, 3, 31)), VN) == datetime(
        2026, 3, 31, 17, 0, tzinfo=UTC
    )


def test_due_periods_start_after_creation_and_catch_up_four() -> None:
    created = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)  # Wednesday
    weekly = _schedule("weekly", created)
    # the week of 2 March closed on 9 March (local midnight), after the creation: due
    assert s.due_periods(weekly, datetime(2026, 3, 9, 1, 0, tzinfo=UTC)) == [
        Period(date(2026, 3, 2), date(2026, 3, 8))
    ]
    # a week earlier nothing had closed since the creation
    assert s.due_periods(weekly, datetime(2026, 3, 8, 1, 0, tzinfo=UTC)) == []
    # down for ten weeks: the last four, oldest first
    found = s.due_periods(weekly, datetime(2026, 5, 20, tzinfo=UTC))
    assert [p.start for p in found] == [
        date(2026, 4, 20), date(2026, 4, 27), date(2026, 5, 4), date(2026, 5, 11)
    ]  # fmt: skip
    known = {s.report_id("x", found[0]), s.report_id("x", found[1])}
    due = s.due_reports([weekly], datetime(2026, 5, 20, tzinfo=UTC), known)
    assert [d[2] for d in due] == ["report:x:2026-05-04", "report:x:2026-05-11"]


def test_period_names_and_slugs() -> None:
    week = Period(date(2025, 3, 10), date(2025, 3, 16))
    assert (s.period_name("weekly", week), s.period_slug("weekly", week)) == (
        "Tuần 11 năm 2025", "2025-W11")  # fmt: skip
    q4 = Period(date(2026, 10, 1), date(2026, 12, 31))
    assert (s.period_name("quarterly", q4), s.period_slug("quarterly", q4)) == (
        "Quý IV năm 2026", "2026-Q4")  # fmt: skip
    month = Period(date(2026, 2, 1), date(2026, 2, 28))
    assert (s.period_name("monthly", month), s.period_slug("monthly", month)) == (
        "Tháng 2 năm 2026", "2026-02")  # fmt: skip


def test_input_checks_name_the_field() -> None:
    assert s.check_recipients("a@b.vn, c@d.vn ,a@b.vn") == ("a@b.vn", "c@d.vn")
    with pytest.raises(s.BadField, match=r"recipients\[1\]: 'x@' is not an e-mail address"):
        s.check_recipients(["a@b.vn", "x@"])
    with pytest.raises(s.BadField, match="recipients: required"):
        s.check_recipients([])
    assert s.check_forms(None, "weekly") == s.DEFAULT_FORMS
    assert s.check_forms(["quarterly", "sources"], "quarterly") == ("quarterly", "sources")
    with pytest.raises(s.BadField, match=r"forms\[1\]: 'nope'"):
        s.check_forms(["sources", "nope"], "monthly")
    with pytest.raises(s.BadField, match="period"):
        s.check_period("daily")
    assert s.check_timezone(None, VN) == VN
    with pytest.raises(s.BadField, match="timezone"):
        s.check_timezone("Nowhere/City", VN)
    assert s.BadField.status == 422


def test_silence_episodes_and_who_is_told() -> None:
    reports = [
        {"site": "a", "status": "silent", "last_event": "2025-04-18T11:05:00+00:00"},
        {"site": "b", "status": "connected", "last_event": "2025-04-20T11:05:00+00:00"},
        {"site": "c", "status": "never_seen", "last_event": None},
        {"site": "d", "status": "silent", "last_event": "2025-04-01T00:00:00+00:00"},
    ]
    known = {s.silence_id("d", "2025-04-01T00:00:00+00:00")}
    assert [r["site"] for r in s.silence_episodes(reports, known)] == ["a"]
    parents = {"commune": "district", "district": "province", "province": None}
    contacts = {"province": ["p@x.vn"], "district": []}
    assert s.alert_contacts("commune", parents, contacts) == ("province", ("p@x.vn",))
    assert s.alert_contacts("province", parents, {}) == ("", ())
    # a cycle written by hand cannot loop
    assert s.alert_contacts("a", {"a": "b", "b": "a"}, {}) == ("", ())
