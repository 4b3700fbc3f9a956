"""Periods of local dates and the period each is compared with (DESIGN §2).

``compare=previous`` is the same number of days just before the period; ``year`` the same dates
a year earlier (29 February → 28 February, so that period can be one day shorter or longer).
Pure: the query-string parsing that builds these lives in ``api.params``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class CompareMode(StrEnum):
    PREVIOUS = "previous"
    YEAR = "year"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Period:
    """Inclusive local dates ``start`` … ``end``."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> Iterator[date]:
        """Every date of the period, in order."""
        for offset in range(self.days):
            yield self.start + timedelta(days=offset)

    def as_json(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def year_earlier(day: date) -> date:
    """The same date a year earlier; 29 February becomes 28 February."""
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def comparison_period(period: Period, mode: CompareMode) -> Period | None:
    """The period to compare with: ``previous`` = as many days just before, ``year`` = the
    same dates a year earlier, ``none`` = None."""
    if mode is CompareMode.NONE:
        return None
    if mode is CompareMode.PREVIOUS:
        end = period.start - timedelta(days=1)
        return Period(end - timedelta(days=period.days - 1), end)
    return Period(year_earlier(period.start), year_earlier(period.end))
