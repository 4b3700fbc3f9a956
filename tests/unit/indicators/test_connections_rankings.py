"""Connection status and gaps, and competition ranks, against hand-made histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from indicators.connections import assess, expected_hours_of_day, gaps, usual_gap_hours
from indicators.rankings import competition_ranks

NOW = datetime(2025, 3, 11, 12, 30, tzinfo=UTC)


def H(day: int, hour: int) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=UTC)


# A site that sends every hour from 08:00 to 11:00 UTC on the 9th, 10th and 11th.
OFFICE = [H(d, h) for d in (9, 10, 11) for h in (8, 9, 10, 11)]


def test_usual_gap_is_the_longest_run_between_hours_with_data() -> None:
    assert usual_gap_hours(OFFICE) == 21  # 11:00 → 08:00 next day
    assert usual_gap_hours([H(9, 8)]) == 24
    assert usual_gap_hours([]) == 24


def test_connected_within_its_usual_gap_and_silent_after() -> None:
    report = assess("s", OFFICE, H(11, 11) + timedelta(minutes=59), NOW)
    assert report["status"] == "connected"
    assert report["seconds_since_last_event"] == 31 * 60
    # the same history, but nothing since the 10th at 11:59: 24.5 h > 21 + 1 h
    silent = assess("s", OFFICE[:8], H(10, 11) + timedelta(minutes=59), NOW)
    assert silent["status"] == "silent" and silent["usual_gap_hours"] == 21
    # exactly at the threshold still counts as connected
    edge = assess("s", OFFICE, NOW - timedelta(hours=22), NOW)
    assert edge["status"] == "connected"
    assert assess("s", OFFICE, NOW - timedelta(hours=22, seconds=1), NOW)["status"] == "silent"


def test_never_seen() -> None:
    report = assess("s", [], None, NOW)
    assert report["status"] == "never_seen" and report["gaps"] == []


def test_gaps_are_expected_hours_without_data() -> None:
    # the 10th lost 09:00 and 10:00; 12:00 on the 11th is the current hour (not judged yet)
    history = [h for h in OFFICE if h not in (H(10, 9), H(10, 10))]
    assert expected_hours_of_day(history, NOW) == {8, 9, 10, 11}
    assert gaps(history, NOW) == [
        {"from": H(10, 9).isoformat(), "to": H(10, 11).isoformat(), "hours": 2}
    ]
    # hours the site never uses (nights) are not gaps
    assert gaps(OFFICE, NOW) == []


def test_an_hour_seen_on_fewer_than_half_of_the_days_is_not_expected() -> None:
    history = [*OFFICE, H(9, 20)]
    assert 20 not in expected_hours_of_day(history, NOW)


def test_a_gap_open_until_now() -> None:
    # every hour of the 10th and of the 11th until 05:00, then nothing
    history = [H(10, h) for h in range(24)] + [H(11, h) for h in range(6)]
    found = gaps(history, NOW)
    assert found == [{"from": H(11, 6).isoformat(), "to": H(11, 12).isoformat(), "hours": 6}]


def test_competition_ranks() -> None:
    assert competition_ranks([9, 7, 7, 3]) == [1, 2, 2, 4]
    assert competition_ranks([]) == []
    assert competition_ranks([1, 1, 1]) == [1, 1, 1]
