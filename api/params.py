"""Query-string conventions shared by every indicator endpoint (portal, dossiers, …).

Why one module: every indicator answers "for these sites, between these local dates, compared
with that period", and analysts must meet the same rules and the same error messages whichever
endpoint they call. The functions here are pure (no database, no Starlette), so they are
unit-tested on their own; the periods and errors they build live in ``indicators``.

Conventions (DESIGN §2):
- ``site=a`` or ``site=a,b,c`` (several sites: numbers are computed over their union);
- ``from`` / ``to`` are inclusive local dates ``YYYY-MM-DD`` in each site's timezone;
  the range may not exceed ``EMC_API_MAX_RANGE_DAYS``;
- ``compare=previous|year|none`` (default ``previous``): ``previous`` = the same number of days
  just before ``from``; ``year`` = the same dates a year earlier (29 February → 28 February, so
  that period can be one day shorter or longer than the current one);
- a period that contains now is cut by the endpoints, not here (``indicators.periods.cuts``
  needs each site's timezone and the app's clock);
- ``filter=DIM:V1|V2`` / ``DIM!:V`` / ``DIM~:TEXT``, repeatable (ANDed): report filters, parsed
  by ``indicators.filters.parse_filters`` (issue 17);
- a bad value raises ``indicators.errors.ParamError`` (HTTP 400) with a message that starts
  with the parameter's name; an unknown site raises ``NotFound`` (HTTP 404).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from indicators.access import Selection
from indicators.errors import ParamError
from indicators.filters import Filters, parse_filters
from indicators.periods import CompareMode, Period

_SITE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
#: Most sites in one multi-site query (a ministry with its departments fits easily).
MAX_SITES = 1000


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


def parse_selection(
    query: Mapping[str, str], param: str = "site", max_sites: int = MAX_SITES
) -> Selection:
    """``site=a,b`` or ``agency=X`` (exactly one of them); pure, no database."""
    site_value, agency_value = query.get(param), query.get("agency")
    has_site = bool(site_value and site_value.strip())
    has_agency = bool(agency_value and agency_value.strip())
    if has_site and has_agency:
        raise ParamError(f"{param}: give either {param}= or agency=, not both")
    if has_agency:
        agency = parse_sites(agency_value, "agency", max_sites=1)[0]
        return Selection("agency", agency=agency)
    if not has_site:
        raise ParamError(
            f"{param}: required, a site id or several separated by commas (or agency=ID)"
        )
    return Selection(param, sites=tuple(parse_sites(site_value, param, max_sites)))


def query_list(query: Mapping[str, str], param: str) -> list[str]:
    """Every value of a repeatable parameter (Starlette's ``QueryParams.getlist``; a plain
    mapping holds at most one)."""
    getlist = getattr(query, "getlist", None)
    if callable(getlist):
        return [str(v) for v in getlist(param)]
    value = query.get(param)
    return [] if value is None else [value]


def parse_filter_params(query: Mapping[str, str], param: str = "filter") -> Filters:
    """The report filters of every ``filter=`` value (ANDed); none = ``Filters()``."""
    return parse_filters(query_list(query, param), param)
