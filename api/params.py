"""Query-string conventions shared by every indicator endpoint (portal, dossiers, …).

Why one module: every indicator answers "for these sites, between these local dates, compared
with that period", and analysts must meet the same rules and the same error messages whichever
endpoint they call. The functions here are pure (no database, no Starlette) except
``check_sites_known``, so they are unit-tested on their own.

Conventions (DESIGN §2):
- ``site=a`` or ``site=a,b,c`` (several sites: numbers are computed over their union);
- ``from`` / ``to`` are inclusive local dates ``YYYY-MM-DD`` in each site's timezone;
  the range may not exceed ``EMC_API_MAX_RANGE_DAYS``;
- ``compare=previous|year|none`` (default ``previous``): ``previous`` = the same number of days
  just before ``from``; ``year`` = the same dates a year earlier (29 February → 28 February, so
  that period can be one day shorter or longer than the current one);
- a bad value raises ``ParamError`` with status 400 and a message that starts with the
  parameter's name; an unknown site raises ``ParamError`` with status 404.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from clickhouse.client import Database

_SITE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
#: Most sites in one multi-site query (a ministry with its departments fits easily).
MAX_SITES = 1000


class ParamError(ValueError):
    """A query parameter the endpoint cannot use. ``status`` is the HTTP status to answer
    (400 bad value, 404 unknown site); the message names the parameter first."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


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


def parse_date(value: str | None, param: str) -> date:
    """A ``YYYY-MM-DD`` date; ``ParamError`` naming ``param`` otherwise."""
    if value is None or not value.strip():
        raise ParamError(f"{param}: required, a local date YYYY-MM-DD")
    text = value.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ParamError(f"{param}: {text!r} is not a date YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ParamError(f"{param}: {text!r} is not a valid date ({exc})") from exc


def parse_period(
    query: Mapping[str, str], max_days: int, from_param: str = "from", to_param: str = "to"
) -> Period:
    """The inclusive period of ``from``/``to``: both required, ``to`` not before ``from``, at
    most ``max_days`` days."""
    start = parse_date(query.get(from_param), from_param)
    end = parse_date(query.get(to_param), to_param)
    if end < start:
        raise ParamError(f"{to_param}: {end} is before {from_param} {start}")
    period = Period(start, end)
    if period.days > max_days:
        raise ParamError(
            f"{to_param}: the range {start} … {end} has {period.days} days; "
            f"at most {max_days} are allowed (EMC_API_MAX_RANGE_DAYS)"
        )
    return period


def parse_sites(value: str | None, param: str = "site", max_sites: int = MAX_SITES) -> list[str]:
    """Site ids of ``a`` or ``a,b,c``: order kept, duplicates dropped, each id checked."""
    if value is None or not value.strip():
        raise ParamError(f"{param}: required, a site id or several separated by commas")
    sites: list[str] = []
    for raw in value.split(","):
        site = raw.strip()
        if not site:
            raise ParamError(f"{param}: empty site id in {value!r}")
        if not _SITE_ID.match(site):
            raise ParamError(f"{param}: {site!r} is not a site id (letters, digits, . _ -)")
        if site not in sites:
            sites.append(site)
    if len(sites) > max_sites:
        raise ParamError(f"{param}: at most {max_sites} sites per query, got {len(sites)}")
    return sites


def parse_choice(
    query: Mapping[str, str], param: str, choices: tuple[str, ...], default: str
) -> str:
    """One of ``choices`` (default when absent); the message lists them."""
    value = query.get(param)
    if value is None or value == "":
        return default
    if value not in choices:
        raise ParamError(f"{param}: {value!r} is not one of {', '.join(choices)}")
    return value


def parse_int(query: Mapping[str, str], param: str, default: int, low: int, high: int) -> int:
    """An integer in ``low`` … ``high`` (default when absent)."""
    value = query.get(param)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ParamError(f"{param}: {value!r} is not an integer") from exc
    if not low <= number <= high:
        raise ParamError(f"{param}: {number} is not between {low} and {high}")
    return number


def parse_compare(query: Mapping[str, str], param: str = "compare") -> CompareMode:
    """``compare=previous|year|none``, default ``previous``."""
    return CompareMode(parse_choice(query, param, tuple(m.value for m in CompareMode), "previous"))


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


def check_sites_known(db: Database, sites: list[str], param: str = "site") -> dict[str, str]:
    """The timezone of each site; ``ParamError`` 404 naming the first unregistered one."""
    rows = db.query(
        "SELECT id, timezone FROM sites FINAL WHERE deleted = 0 AND id IN {ids:Array(String)}",
        parameters={"ids": sites},
    ).result_rows
    known = {str(r[0]): str(r[1]) for r in rows}
    for site in sites:
        if site not in known:
            raise ParamError(f"{param}: site {site!r} is not registered", status=404)
    return known
