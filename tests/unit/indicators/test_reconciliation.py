"""``indicators.reconciliation.differences`` (issue 18 item 6): an agency's own totals per
procedure and month against ours per day; a differing month is drilled down to its days."""

from __future__ import annotations

from datetime import UTC, date, datetime

from clickhouse.reconciliation import DayCount, Reported
from indicators.reconciliation import differences, month_days

AT = datetime(2026, 4, 1, tzinfo=UTC)
MARCH = date(2026, 3, 1)


def test_a_missing_day_shows_in_the_differing_month() -> None:
    reported = [
        Reported("mc", "R", MARCH, 4, 1, "u1", AT),  # their books: 4 received
        Reported("mc", "Q", MARCH, 1, 0, "u1", AT),
    ]
    ours = [
        DayCount("mc", "R", date(2026, 3, 2), 1, 0),
        DayCount("mc", "R", date(2026, 3, 3), 1, 1),
        DayCount("mc", "R", date(2026, 3, 5), 1, 0),
        DayCount("mc", "Q", date(2026, 3, 3), 1, 0),
        DayCount("mc", "P", date(2026, 3, 6), 2, 0),  # not reported by the agency
        DayCount("mc", "R", date(2026, 4, 1), 5, 0),  # a month nobody reported: ignored
    ]
    answer = differences(reported, ours)
    rows = {r["procedure"]: r for r in answer["rows"]}
    assert [r["procedure"] for r in answer["rows"]] == ["P", "Q", "R"]
    assert (rows["R"]["received"], rows["R"]["received_diff"], rows["R"]["resolved_diff"]) == (
        3, 1, 0,
    )  # fmt: skip
    days = {d["date"]: d["received"] for d in rows["R"]["days"]}
    assert days["2026-03-04"] == 0 and days["2026-03-05"] == 1 and len(days) == 31
    assert rows["P"]["reported_received"] is None and rows["P"]["received_diff"] is None
    assert "days" not in rows["Q"] and "days" not in rows["P"]
    [site_month] = answer["site_days"]
    totals = {d["date"]: d["received"] for d in site_month["days"]}
    assert totals["2026-03-03"] == 2 and totals["2026-03-06"] == 2 and totals["2026-03-04"] == 0
    assert answer["totals"] == {"received_diff": 1, "resolved_diff": 0, "differing_rows": 1}


def test_month_days_know_february() -> None:
    assert len(month_days(date(2028, 2, 1))) == 29 and len(month_days(date(2026, 2, 1))) == 28
