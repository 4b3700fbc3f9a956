"""The target formulas of ``indicators.targets`` (issue 18 item 4) with an injected ``now``:
progress = actual ÷ target, the year-end forecast from the pace so far (a count × days in
the year ÷ elapsed days, a rate as it is), and the laggards, worst first."""

from __future__ import annotations

from datetime import datetime

from clickhouse.targets import Target
from indicators import targets as t

# 11 March 2026 00:00 local: 69 days of 2026 have passed (31 + 28 + 10); 2026 has 365 days
NOW = datetime(2026, 3, 11)


def test_elapsed_days_and_the_period_so_far() -> None:
    assert t.elapsed_days(2026, NOW) == 69.0
    assert t.elapsed_days(2026, datetime(2026, 3, 11, 12)) == 69.5
    assert t.elapsed_days(2025, NOW) == 365.0 and t.elapsed_days(2027, NOW) == 0.0
    assert t.days_in_year(2028) == 366
    period = t.year_period(2026, NOW)
    assert period is not None and (period.start.isoformat(), period.end.isoformat()) == (
        "2026-01-01", "2026-03-11",
    )  # fmt: skip
    past = t.year_period(2025, NOW)
    assert past is not None and past.end.isoformat() == "2025-12-31"
    assert t.year_period(2027, NOW) is None


def test_forecast_of_a_count_a_rate_a_past_and_a_future_year() -> None:
    assert t.forecast("received_all_channels", 3, 2026, NOW) == 15.9  # 3 × 365 / 69
    assert t.forecast("visits", 690, 2026, NOW) == 3650.0
    assert t.forecast("online_dossier_rate", 66.7, 2026, NOW) == 66.7
    assert t.forecast("received_all_channels", 40, 2025, NOW) == 40.0
    assert t.forecast("received_all_channels", 40, 2027, NOW) is None
    assert t.forecast("received_all_channels", None, 2026, NOW) is None
    # before one whole day has passed the pace is not yet a pace
    assert t.forecast("received_all_channels", 2, 2026, datetime(2026, 1, 1, 20)) is None


def test_progress_and_on_track_respect_the_direction() -> None:
    assert t.progress_pct("online_dossier_rate", 33.3, 60) == 55.5
    assert t.progress_pct("online_dossier_rate", 33.3, 0) is None
    # a ceiling: 36 h average processing against a 48 h target is 133.3 % of the way
    assert t.progress_pct("avg_processing_time_s", 36, 48) == 133.3
    assert t.on_track("avg_processing_time_s", 36, 48) is True
    assert t.on_track("online_dossier_rate", 49.9, 50) is False
    assert t.on_track("online_dossier_rate", None, 50) is None


def test_laggards_are_worst_first() -> None:
    rows = [
        t.target_row(Target("b", "received_all_channels", 2026, 20), "B", 3, NOW),  # 79.5 %
        t.target_row(Target("a", "online_dossier_rate", 2026, 60), "A", 33.3, NOW),  # 55.5 %
        t.target_row(Target("c", "online_dossier_rate", 2026, 50), "C", 66.7, NOW),  # on track
        t.target_row(Target("d", "online_dossier_rate", 2026, 50), "D", None, NOW),  # no data
    ]
    assert [(r["agency"], r["forecast_pct"]) for r in t.laggards(rows)] == [
        ("a", 55.5), ("b", 79.5),
    ]  # fmt: skip
    assert rows[3]["on_track"] is None and rows[2]["on_track"] is True
