"""Local wall-clock time "written as if UTC": the representation every ``local_ms`` /
``local_ts`` column uses, so ClickHouse buckets local dates and hours with a constant timezone.

``local_ms(ts, tz)`` = ``ts`` + the UTC offset of ``tz`` at ``ts``. ZoneInfo objects are cached
(there are a few dozen timezones at most, and ``ZoneInfo()`` reads a file).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class UnknownTimezone(ValueError):
    """``tz`` is not an IANA timezone name this machine knows."""


@lru_cache(maxsize=256)
def zone(tz: str) -> ZoneInfo:
    """The cached ZoneInfo of ``tz``; raises ``UnknownTimezone`` naming it."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimezone(f"tz: unknown IANA timezone {tz!r}") from exc


def local_ms(ts_ms: int, tz: str) -> int:
    """Epoch milliseconds ``ts_ms`` as the wall clock of ``tz``, expressed as if it were UTC.

    Example: 2026-11-20T03:00Z in Asia/Ho_Chi_Minh (UTC+7) gives the epoch ms of
    2026-11-20T10:00Z. Raises ``UnknownTimezone``.
    """
    offset = datetime.fromtimestamp(ts_ms / 1000, zone(tz)).utcoffset()
    if offset is None:  # pragma: no cover - ZoneInfo always answers for an aware datetime
        return ts_ms
    return ts_ms + (offset.days * 86_400 + offset.seconds) * 1000
