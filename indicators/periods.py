"""Periods of local dates and the period each is compared with (DESIGN §2).

``compare=previous`` is the same number of days just before the period; ``year`` the same dates
a year earlier (29 February → 28 February, so that period can be one day shorter or longer).
Pure: the query-string parsing that builds these lives in ``api.params``.

A period that contains now (issue 16) is cut: ``cuts`` gives, per site and in the site's own
timezone, where the period's numbers stop (now, rounded down to the hour) and where its
comparison period stops (the same elapsed part), so that this morning is compared with
yesterday morning and not with all of yesterday. Cuts are local wall-clock times because the
rollups they are applied to (``visits_hourly``, ``hits_hourly``, ``visitors_hourly``) are keyed
by the site's local hour.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo


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


# --- periods that contain now (issue 16) ------------------------------------------------------


def midnight(day: date) -> datetime:
    """The local wall-clock midnight opening ``day`` (naive: a local time, no zone)."""
    return datetime.combine(day, time(0))


def after(period: Period) -> datetime:
    """The local midnight after the period's last day: the exclusive end of a whole period."""
    return midnight(period.end + timedelta(days=1))


def elapsed_end(period: Period, local_now: datetime) -> datetime:
    """The exclusive local wall-clock end of the part of ``period`` that has happened by
    ``local_now`` (naive local time), rounded down to the hour (the rollups are hourly), kept
    within the period: ``after(period)`` once the period is over, its first midnight while it
    lies wholly in the future."""
    floor = local_now.replace(minute=0, second=0, microsecond=0, tzinfo=None)
    return min(max(floor, midnight(period.start)), after(period))


def comparison_end(period: Period, compare: Period, mode: CompareMode, end: datetime) -> datetime:
    """Where the comparison period is cut when ``period`` is cut at ``end``: not at all when
    ``period`` is whole; ``previous``: the same elapsed wall-clock time from the comparison
    period's start; ``year``: the same local wall-clock moment a year earlier (29 February →
    28 February). Kept within the comparison period."""
    if end >= after(period):
        return after(compare)
    if mode is CompareMode.YEAR:
        moment = datetime.combine(year_earlier(end.date()), end.time())
    else:
        moment = midnight(compare.start) + (end - midnight(period.start))
    return min(max(moment, midnight(compare.start)), after(compare))


@dataclass(frozen=True, slots=True)
class Cut:
    """Where the counted part of ``period`` stops for each site (``ends`` aligned with
    ``sites``, ``zones`` their timezones): a naive local wall-clock moment, exclusive, on the
    hour; ``after(period)`` for a site whose period is over (not cut)."""

    period: Period
    sites: tuple[str, ...]
    zones: tuple[str, ...]
    ends: tuple[datetime, ...]

    @property
    def partial(self) -> bool:
        """True when some site's numbers stop before the end of the period."""
        return any(end < after(self.period) for end in self.ends)

    def only(self, site: str) -> Cut:
        """The cut of one of the sites (the compare endpoint shows each site on its own)."""
        i = self.sites.index(site)
        return Cut(self.period, (site,), (self.zones[i],), (self.ends[i],))

    def as_json(self) -> dict[str, Any]:
        """``{"partial": false, "cut": null}`` for a whole period; else ``"partial": true``,
        ``"cut"`` = the ISO local time of the cut with the site's UTC offset (on the hour:
        ``precision`` ``"hour"``), or, when the selected sites' cuts differ (timezones with
        different offsets), ``"cut": null`` and ``"cuts"`` = site → ISO local time."""
        if not self.partial:
            return {"partial": False, "cut": None}
        isos = {
            site: end.replace(tzinfo=ZoneInfo(zone)).isoformat(timespec="minutes")
            for site, zone, end in zip(self.sites, self.zones, self.ends, strict=True)
        }
        distinct = set(isos.values())
        if len(distinct) == 1:
            return {"partial": True, "cut": distinct.pop(), "precision": "hour"}
        return {"partial": True, "cut": None, "cuts": isos, "precision": "hour"}


def whole(period: Period, sites: Sequence[str], tzs: Mapping[str, str]) -> Cut:
    """``period`` not cut for any site."""
    return Cut(
        period,
        tuple(sites),
        tuple(tzs[s] for s in sites),
        tuple(after(period) for _ in sites),
    )


def cuts(
    period: Period,
    compare: Period | None,
    mode: CompareMode,
    sites: Sequence[str],
    tzs: Mapping[str, str],
    now_s: float,
) -> tuple[Cut, Cut | None]:
    """The cuts of ``period`` and of its comparison period at the moment ``now_s`` (epoch
    seconds), site by site in each site's own timezone (its local date and hour of now).

    The rule (issue 16): a period that contains the site's local now counts only up to now,
    rounded down to the hour, and its comparison period only up to the same elapsed part
    (``comparison_end``): today 00:00–10:00 against yesterday 00:00–10:00, not all of
    yesterday. Only a period that contains now for some selected site is cut: one already over
    (or wholly in the future) for every site is whole on both sides, as before. When the
    period contains now for one site but has not begun for another (a site in a later
    timezone), that other site is cut at the period's start on both sides: nothing against
    nothing, rather than nothing against a whole comparison period.
    """
    local_nows = [
        datetime.fromtimestamp(now_s, ZoneInfo(tzs[site])).replace(tzinfo=None) for site in sites
    ]
    if not any(midnight(period.start) <= now < after(period) for now in local_nows):
        return whole(period, sites, tzs), whole(compare, sites, tzs) if compare else None
    ends: list[datetime] = []
    compare_ends: list[datetime] = []
    for local_now in local_nows:
        end = elapsed_end(period, local_now)
        ends.append(end)
        if compare is not None:
            compare_ends.append(comparison_end(period, compare, mode, end))
    zones = tuple(tzs[s] for s in sites)
    current = Cut(period, tuple(sites), zones, tuple(ends))
    if compare is None:
        return current, None
    return current, Cut(compare, tuple(sites), zones, tuple(compare_ends))
