"""Local wall-clock time written as if UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streams.enrich.localtime import UnknownTimezone, local_ms


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_ho_chi_minh_is_utc_plus_7() -> None:
    ts = _ms("2026-11-20T17:30:00+00:00")  # 00:30 on the 21st in Vietnam
    assert datetime.fromtimestamp(local_ms(ts, "Asia/Ho_Chi_Minh") / 1000, UTC) == datetime(
        2026, 11, 21, 0, 30, tzinfo=UTC
    )


def test_daylight_saving_time_is_applied_per_instant() -> None:
    summer = _ms("2026-07-01T12:00:00+00:00")
    winter = _ms("2026-01-01T12:00:00+00:00")
    assert local_ms(summer, "Europe/Paris") - summer == 2 * 3600 * 1000
    assert local_ms(winter, "Europe/Paris") - winter == 3600 * 1000


def test_milliseconds_are_kept() -> None:
    ts = _ms("2026-11-20T01:02:03.456+00:00")
    assert local_ms(ts, "UTC") == ts
    assert local_ms(ts, "Asia/Ho_Chi_Minh") % 1000 == 456


def test_unknown_timezone_is_named() -> None:
    with pytest.raises(UnknownTimezone, match="Mars/Olympus"):
        local_ms(0, "Mars/Olympus")
