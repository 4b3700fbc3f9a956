"""Visitor ids: daily salts in the site's timezone, previous-day ids, explicit ids."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from ingest.visitor import daily_salt, local_date, visitor_ids, visitor_key

SECRET = b"s3cret"
HCM = "Asia/Ho_Chi_Minh"


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _expected(day: str, message: str) -> str:
    salt = hmac.new(SECRET, day.encode(), hashlib.sha256).digest()
    return hmac.new(salt, message.encode(), hashlib.sha256).digest()[:16].hex()


def test_visitor_id_is_hmac_of_daily_salt_of_local_date() -> None:
    # 2026-03-01 18:30 UTC is 2026-03-02 01:30 in Ho Chi Minh City (UTC+7)
    ids = visitor_ids(
        SECRET, site="a", ip="1.2.3.4", ua="UA", ts_ms=_ms("2026-03-01T18:30:00+00:00"), tz=HCM
    )
    assert ids.visitor_id == _expected("2026-03-02", "a|1.2.3.4|UA")
    assert ids.prev_visitor_id == _expected("2026-03-01", "a|1.2.3.4|UA")
    assert len(ids.visitor_id) == 32
    assert not ids.explicit


def test_ids_change_at_local_midnight_not_utc_midnight() -> None:
    before = visitor_ids(
        SECRET, site="a", ip="ip", ua="ua", ts_ms=_ms("2026-03-01T16:59:59+00:00"), tz=HCM
    )
    after = visitor_ids(
        SECRET, site="a", ip="ip", ua="ua", ts_ms=_ms("2026-03-01T17:00:00+00:00"), tz=HCM
    )
    utc_midnight = visitor_ids(
        SECRET, site="a", ip="ip", ua="ua", ts_ms=_ms("2026-03-02T00:00:00+00:00"), tz=HCM
    )
    assert before.visitor_id != after.visitor_id
    assert after.prev_visitor_id == before.visitor_id  # the visit can continue across midnight
    assert utc_midnight.visitor_id == after.visitor_id
    assert before.visitor_key == after.visitor_key == utc_midnight.visitor_key


def test_timezone_of_site_decides_the_day() -> None:
    ts = _ms("2026-03-01T20:00:00+00:00")
    assert local_date(ts, HCM).isoformat() == "2026-03-02"
    assert local_date(ts, "UTC").isoformat() == "2026-03-01"
    assert local_date(ts, "America/New_York").isoformat() == "2026-03-01"


def test_visitor_key_is_salt_independent_hmac() -> None:
    expected = hmac.new(SECRET, b"key|a|ip|ua", hashlib.sha256).digest()[:16].hex()
    assert visitor_key(SECRET, "a", "ip", "ua") == expected
    assert visitor_key(SECRET, "b", "ip", "ua") != expected


def test_explicit_visitor_id_wins() -> None:
    ids = visitor_ids(
        SECRET,
        site="a",
        ip="ip",
        ua="ua",
        ts_ms=_ms("2026-03-01T00:00:00+00:00"),
        tz=HCM,
        explicit_id="user-7",
    )
    expected = hmac.new(SECRET, b"explicit|a|user-7", hashlib.sha256).digest()[:16].hex()
    assert ids.visitor_id == ids.visitor_key == expected
    assert ids.explicit
    assert ids.prev_visitor_id == ""
    other_ip = visitor_ids(
        SECRET,
        site="a",
        ip="ip2",
        ua="ua2",
        ts_ms=_ms("2026-05-01T00:00:00+00:00"),
        tz=HCM,
        explicit_id="user-7",
    )
    assert other_ip.visitor_id == expected


def test_different_secret_different_ids() -> None:
    ts = _ms("2026-03-01T00:00:00+00:00")
    a = visitor_ids(SECRET, site="a", ip="ip", ua="ua", ts_ms=ts, tz=HCM)
    b = visitor_ids(b"other", site="a", ip="ip", ua="ua", ts_ms=ts, tz=HCM)
    assert a.visitor_id != b.visitor_id
    assert daily_salt(SECRET, datetime(2026, 3, 1, tzinfo=UTC).date()) != daily_salt(
        b"other", datetime(2026, 3, 1, tzinfo=UTC).date()
    )
