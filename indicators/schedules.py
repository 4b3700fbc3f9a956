"""When e-mailed reports are due, and who hears about a silent site (issue 18 items 5, 6).

Pure functions of (schedules, contacts, connection reports, ``now``); the loop that acts on
them is ``api/mailer.py``. Rules:

- A schedule covers an agency (its subtree's sites) or one site, every ``weekly`` (Monday to
  Sunday), ``monthly`` or ``quarterly`` period in its own timezone (a site schedule: the
  site's; an agency schedule: ``Asia/Ho_Chi_Minh`` unless given).
- A period is **due** once it has closed (local midnight after its last day) and closed after
  the schedule was created: a new weekly schedule does not mail last week at once
  (``send-now`` does that). Periods missed while nothing ran are caught up, the last
  ``CATCH_UP`` of them at most.
- Each (schedule, period) has one delivery id, ``report:<schedule>:<first day>``: the outbox
  holds one row per id, so a period is mailed once across restarts and pollers.
- A **silence episode** is a site whose status is ``silent`` and the time of its last event;
  its id ``silence:<site>:<last event>`` likewise makes one alert per episode. The alert goes
  to the contacts of the site's agency that take silence alerts, else of the nearest ancestor
  that has such contacts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clickhouse.mail_store import Schedule
from indicators.errors import ParamError
from indicators.periods import Period


class BadField(ParamError):
    """A field of a request body the API cannot use (HTTP 422); the message names it."""

    status = 422


PERIODS = ("weekly", "monthly", "quarterly")
#: Forms a schedule may attach (``api/routes/reports.py``); ``quarterly`` (seed 004 section 6)
#: exists per quarter only.
FORMS = ("online-services", "resolution", "sources", "quarterly")
DEFAULT_FORMS = ("resolution", "sources")
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
CATCH_UP = 4
MAX_RECIPIENTS = 50
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def check_email(value: Any, field: str) -> str:
    """``value`` as a trimmed e-mail address, else ``BadField`` (422) naming ``field``."""
    if not isinstance(value, str) or not _EMAIL.match(value.strip()):
        raise BadField(f"{field}: {value!r} is not an e-mail address")
    return value.strip()


def check_recipients(value: Any) -> tuple[str, ...]:
    """A non-empty list of addresses (or one string split on commas), each checked; the error
    names the position of the first bad one."""
    if isinstance(value, str):
        value = [v for v in (p.strip() for p in value.split(",")) if v]
    if not isinstance(value, list) or not value:
        raise BadField("recipients: required, a list of e-mail addresses")
    if len(value) > MAX_RECIPIENTS:
        raise BadField(f"recipients: at most {MAX_RECIPIENTS} addresses")
    found = [check_email(v, f"recipients[{i}]") for i, v in enumerate(value)]
    return tuple(dict.fromkeys(found))


def check_forms(value: Any, period: str) -> tuple[str, ...]:
    """The forms to attach (default ``DEFAULT_FORMS``); ``quarterly`` only with a quarterly
    period."""
    if value is None or value == []:
        return DEFAULT_FORMS
    if isinstance(value, str):
        value = [v for v in (p.strip() for p in value.split(",")) if v]
    if not isinstance(value, list):
        raise BadField("forms: a list of form names")
    for i, form in enumerate(value):
        if form not in FORMS:
            raise BadField(f"forms[{i}]: {form!r} is not one of {', '.join(FORMS)}")
        if form == "quarterly" and period != "quarterly":
            raise BadField(
                f"forms[{i}]: the quarterly form (seed 004 section 6) needs period quarterly"
            )
    return tuple(dict.fromkeys(value))


def check_period(value: Any) -> str:
    if value not in PERIODS:
        raise BadField(f"period: required, one of {', '.join(PERIODS)}")
    return str(value)


def check_timezone(value: Any, default: str) -> str:
    if value is None or value == "":
        return default
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadField(f"timezone: {value!r} is not an IANA timezone") from exc
    return str(value)


def period_containing(kind: str, day: date) -> Period:
    """The week (Monday–Sunday), month or quarter that holds ``day``."""
    if kind == "weekly":
        start = day - timedelta(days=day.weekday())
        return Period(start, start + timedelta(days=6))
    if kind == "monthly":
        start = day.replace(day=1)
    elif kind == "quarterly":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    else:
        raise ValueError(f"period kind {kind!r}")
    months = 1 if kind == "monthly" else 3
    month = start.month - 1 + months
    following = date(start.year + month // 12, month % 12 + 1, 1)
    return Period(start, following - timedelta(days=1))


def previous_period(kind: str, period: Period) -> Period:
    return period_containing(kind, period.start - timedelta(days=1))


def last_closed(kind: str, now: datetime, timezone: str) -> Period:
    """The latest period that has ended at ``now`` in ``timezone``."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    return previous_period(kind, period_containing(kind, today))


def closes_at(period: Period, timezone: str) -> datetime:
    """The moment (UTC) the period ends: local midnight after its last day."""
    end = datetime.combine(period.end + timedelta(days=1), time(), ZoneInfo(timezone))
    return end.astimezone(UTC)


def due_periods(schedule: Schedule, now: datetime, catch_up: int = CATCH_UP) -> list[Period]:
    """The closed periods of ``schedule`` that closed after it was created, oldest first,
    the last ``catch_up`` at most."""
    found: list[Period] = []
    period = last_closed(schedule.period, now, schedule.timezone)
    while len(found) < catch_up and closes_at(period, schedule.timezone) > schedule.created_at:
        found.append(period)
        period = previous_period(schedule.period, period)
    return found[::-1]


def report_id(schedule_id: str, period: Period) -> str:
    return f"report:{schedule_id}:{period.start.isoformat()}"


def due_reports(
    schedules: Iterable[Schedule], now: datetime, known: set[str]
) -> list[tuple[Schedule, Period, str]]:
    """(schedule, period, delivery id) of every due period whose delivery is not in
    ``known`` (the outbox's ids)."""
    out = []
    for schedule in schedules:
        for period in due_periods(schedule, now):
            delivery = report_id(schedule.id, period)
            if delivery not in known:
                out.append((schedule, period, delivery))
    return out


def period_name(kind: str, period: Period) -> str:
    """ "Tuần 48 năm 2026", "Tháng 11 năm 2026", "Quý IV năm 2026" (ISO week numbers)."""
    if kind == "weekly":
        year, week, _ = period.start.isocalendar()
        return f"Tuần {week} năm {year}"
    if kind == "monthly":
        return f"Tháng {period.start.month} năm {period.start.year}"
    return f"Quý {_ROMAN[(period.start.month - 1) // 3 + 1]} năm {period.start.year}"


def period_slug(kind: str, period: Period) -> str:
    """For file names: ``2025-W11``, ``2025-03``, ``2026-Q1``."""
    if kind == "weekly":
        year, week, _ = period.start.isocalendar()
        return f"{year}-W{week:02}"
    if kind == "monthly":
        return f"{period.start:%Y-%m}"
    return f"{period.start.year}-Q{(period.start.month - 1) // 3 + 1}"


def silence_id(site: str, last_event: str) -> str:
    return f"silence:{site}:{last_event}"


def silence_episodes(
    reports: Iterable[Mapping[str, Any]], known: set[str]
) -> list[Mapping[str, Any]]:
    """The connection reports (``indicators.connections``) of silent sites whose episode is
    not in ``known`` (delivery ids already in the outbox)."""
    return [
        r
        for r in reports
        if r["status"] == "silent" and silence_id(r["site"], r["last_event"]) not in known
    ]


def alert_contacts(
    agency_id: str,
    parents: Mapping[str, str | None],
    contacts: Mapping[str, Sequence[str]],
) -> tuple[str, tuple[str, ...]]:
    """(agency whose contacts are written to, their addresses): the site's agency when it has
    contacts for silence alerts, else the nearest ancestor that has; ("", ()) when none."""
    seen: set[str] = set()
    current: str | None = agency_id
    while current and current not in seen:
        seen.add(current)
        if contacts.get(current):
            return current, tuple(contacts[current])
        current = parents.get(current)
    return "", ()
