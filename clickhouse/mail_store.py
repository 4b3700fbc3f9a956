"""Storage of e-mail schedules, the outbox, send claims, agency contacts and alerted silence
episodes (migrations 0091, 0092; issue 18 items 5 and 6).

Contract:
- Schedules and contacts are versioned like the site registry (a change is a newer row, a
  delete a newer row with ``deleted = 1``, reads use ``FINAL``).
- The outbox (``mail_outbox``) holds one row per e-mail owed, keyed by a deterministic id;
  ``write`` appends a state whose ``version`` (attempts × 10 + rank of the status) only grows,
  so the row read with ``FINAL`` is the most advanced state whatever order two writers used.
  ``add_pending`` never lowers a row that exists.
- ``claim`` decides who sends attempt n of a delivery among pollers that may run at once (two
  API processes, a poller and a ``send-now``): each appends a claim and reads the claims back
  after ``settle_s``; the earliest (time, claimant) wins. ClickHouse has no row locks or
  transactions: this is the "first writer wins" that an append-only table allows, exact as
  long as a claim becomes visible within ``settle_s`` of being written.
Why here: this is the only module that reads or writes these tables.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from clickhouse.client import Database

#: Rank of each outbox status inside one attempt (see the module doc and migration 0091).
RANK = {"pending": 0, "sending": 1, "retry": 2, "sent": 8, "failed": 9}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_clock_guard = threading.Lock()
_last_ms = [0]


def _next_version() -> datetime:
    """A strictly increasing millisecond time in this process."""
    with _clock_guard:
        _last_ms[0] = max(int(time.time() * 1000), _last_ms[0] + 1)
        return datetime.fromtimestamp(_last_ms[0] / 1000, tz=UTC)


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# ------------------------------------------------------------------ schedules
@dataclass(frozen=True, slots=True)
class Schedule:
    """A stored schedule: exactly one of ``agency_id`` / ``site``; ``period`` weekly,
    monthly or quarterly; ``forms`` the official forms attached."""

    id: str
    agency_id: str
    site: str
    period: str
    recipients: tuple[str, ...]
    forms: tuple[str, ...]
    timezone: str
    created_by: str
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agency_id": self.agency_id or None,
            "site": self.site or None,
            "period": self.period,
            "recipients": list(self.recipients),
            "forms": list(self.forms),
            "timezone": self.timezone,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


_SCHEDULE_COLUMNS = (
    "id", "agency_id", "site", "period", "recipients", "forms", "timezone", "created_by",
    "created_at", "updated_at", "deleted",
)  # fmt: skip
_SCHEDULE_SELECT = (
    "SELECT id, agency_id, site, period, recipients, forms, timezone, created_by, created_at "
    "FROM report_schedules FINAL WHERE deleted = 0"
)


def _schedule(row: Any) -> Schedule:
    return Schedule(
        str(row[0]), str(row[1]), str(row[2]), str(row[3]), tuple(row[4]), tuple(row[5]),
        str(row[6]), str(row[7]), _utc(row[8]),
    )  # fmt: skip


def list_schedules(db: Database) -> list[Schedule]:
    """Every live schedule, by id."""
    rows = db.query(f"{_SCHEDULE_SELECT} ORDER BY id").result_rows
    return [_schedule(r) for r in rows]


def get_schedule(db: Database, schedule_id: str) -> Schedule | None:
    rows = db.query(
        f"{_SCHEDULE_SELECT} AND id = {{id:String}}", parameters={"id": schedule_id}
    ).result_rows
    return _schedule(rows[0]) if rows else None


def _schedule_row(s: Schedule, deleted: int) -> list[Any]:
    return [
        s.id, s.agency_id, s.site, s.period, list(s.recipients), list(s.forms), s.timezone,
        s.created_by, s.created_at, _next_version(), deleted,
    ]  # fmt: skip


def save_schedule(db: Database, schedule: Schedule) -> Schedule:
    db.insert("report_schedules", [_schedule_row(schedule, 0)], _SCHEDULE_COLUMNS)
    return schedule


def delete_schedule(db: Database, schedule_id: str) -> bool:
    """Mark a schedule deleted; False when there was none. Its outbox rows stay (the log)."""
    found = get_schedule(db, schedule_id)
    if found is None:
        return False
    db.insert("report_schedules", [_schedule_row(found, 1)], _SCHEDULE_COLUMNS)
    return True


# ------------------------------------------------------------------ contacts
@dataclass(frozen=True, slots=True)
class Contact:
    """An address of an agency; ``silence_alerts`` False keeps it off the lost-connection
    e-mails."""

    agency_id: str
    id: str
    name: str
    email: str
    title: str = ""
    silence_alerts: bool = True
    created_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "agency_id": self.agency_id,
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "title": self.title,
            "silence_alerts": self.silence_alerts,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


_CONTACT_COLUMNS = (
    "agency_id", "id", "name", "email", "title", "silence_alerts", "created_at", "updated_at",
    "deleted",
)  # fmt: skip
_CONTACT_SELECT = (
    "SELECT agency_id, id, name, email, title, silence_alerts, created_at "
    "FROM agency_contacts FINAL WHERE deleted = 0"
)


def _contact(row: Any) -> Contact:
    return Contact(
        str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), bool(row[5]),
        _utc(row[6]),
    )  # fmt: skip


def list_contacts(db: Database, agency_ids: list[str] | None = None) -> list[Contact]:
    """The live contacts of ``agency_ids`` (None: of every agency), by agency and id."""
    where = "" if agency_ids is None else " AND agency_id IN {ids:Array(String)}"
    params = {} if agency_ids is None else {"ids": agency_ids}
    rows = db.query(f"{_CONTACT_SELECT}{where} ORDER BY agency_id, id", parameters=params)
    return [_contact(r) for r in rows.result_rows]


def get_contact(db: Database, agency_id: str, contact_id: str) -> Contact | None:
    rows = db.query(
        f"{_CONTACT_SELECT} AND agency_id = {{a:String}} AND id = {{id:String}}",
        parameters={"a": agency_id, "id": contact_id},
    ).result_rows
    return _contact(rows[0]) if rows else None


def _contact_row(c: Contact, deleted: int) -> list[Any]:
    version = _next_version()
    return [
        c.agency_id, c.id, c.name, c.email, c.title, int(c.silence_alerts),
        c.created_at or version, version, deleted,
    ]  # fmt: skip


def save_contact(db: Database, contact: Contact) -> Contact:
    """Store ``contact`` (an existing one keeps its creation time)."""
    existing = get_contact(db, contact.agency_id, contact.id)
    stored = replace(contact, created_at=existing.created_at if existing else contact.created_at)
    stored = replace(stored, created_at=stored.created_at or _next_version())
    db.insert("agency_contacts", [_contact_row(stored, 0)], _CONTACT_COLUMNS)
    return stored


def delete_contact(db: Database, agency_id: str, contact_id: str) -> bool:
    found = get_contact(db, agency_id, contact_id)
    if found is None:
        return False
    db.insert("agency_contacts", [_contact_row(found, 1)], _CONTACT_COLUMNS)
    return True


# ------------------------------------------------------------------ outbox
@dataclass(frozen=True, slots=True)
class Delivery:
    """One e-mail owed (``kind`` report or silence) and where it stands."""

    id: str
    kind: str
    recipients: tuple[str, ...]
    schedule_id: str = ""
    agency_id: str = ""
    site: str = ""
    period_from: date = date(1970, 1, 1)
    period_to: date = date(1970, 1, 1)
    payload: str = "{}"
    subject: str = ""
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime = EPOCH
    claimed_by: str = ""
    lease_until: datetime = EPOCH
    last_error: str = ""
    created_at: datetime = EPOCH
    sent_at: datetime | None = None

    @property
    def version(self) -> int:
        return self.attempts * 10 + RANK[self.status]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "schedule_id": self.schedule_id or None,
            "agency_id": self.agency_id or None,
            "site": self.site or None,
            "period": None
            if self.kind != "report"
            else {"from": self.period_from.isoformat(), "to": self.period_to.isoformat()},
            "recipients": list(self.recipients),
            "subject": self.subject,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.status == "retry" else None,
            "last_error": self.last_error or None,
            "created_at": self.created_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }


_OUTBOX_FIELDS = (
    "id", "kind", "schedule_id", "agency_id", "site", "period_from", "period_to", "payload",
    "recipients", "subject", "status", "attempts", "next_attempt_at", "claimed_by",
    "lease_until", "last_error", "created_at", "sent_at",
)  # fmt: skip
_OUTBOX_COLUMNS = (*_OUTBOX_FIELDS, "version", "updated_at")
_OUTBOX_SELECT = f"SELECT {', '.join(_OUTBOX_FIELDS)} FROM mail_outbox FINAL"


def _delivery(row: Any) -> Delivery:
    values = dict(zip(_OUTBOX_FIELDS, row, strict=True))
    values["recipients"] = tuple(values["recipients"])
    for key in ("next_attempt_at", "lease_until", "created_at", "sent_at"):
        values[key] = _utc(values[key])
    values["attempts"] = int(values["attempts"])
    return Delivery(**values)


def write(db: Database, delivery: Delivery) -> Delivery:
    """Append ``delivery``'s state (the most advanced version is what ``FINAL`` reads)."""
    row = [getattr(delivery, f) for f in _OUTBOX_FIELDS]
    db.insert("mail_outbox", [[*row, delivery.version, _next_version()]], _OUTBOX_COLUMNS)
    return delivery


def get_delivery(db: Database, delivery_id: str) -> Delivery | None:
    rows = db.query(
        f"{_OUTBOX_SELECT} WHERE id = {{id:String}}", parameters={"id": delivery_id}
    ).result_rows
    return _delivery(rows[0]) if rows else None


def add_pending(db: Database, delivery: Delivery) -> Delivery:
    """The outbox row of ``delivery.id``: the existing one, else ``delivery`` stored as
    pending. A pending row written late by another poller has the lowest version and never
    hides a more advanced state."""
    found = get_delivery(db, delivery.id)
    return found if found is not None else write(db, delivery)


def known_ids(db: Database, prefix: str) -> set[str]:
    """Every outbox id starting with ``prefix`` (``report:``, ``silence:``)."""
    rows = db.query(
        "SELECT DISTINCT id FROM mail_outbox WHERE startsWith(id, {p:String})",
        parameters={"p": prefix},
    ).result_rows
    return {str(r[0]) for r in rows}


def workable(db: Database, now: datetime) -> list[Delivery]:
    """Deliveries to (re)try at ``now``: pending, retry whose wait is over, and sending whose
    sender's lease ran out (it died mid-send), oldest first."""
    rows = db.query(
        f"SELECT * FROM ({_OUTBOX_SELECT}) WHERE status = 'pending'"
        " OR (status = 'retry' AND next_attempt_at <= {now:DateTime64(3, 'UTC')})"
        " OR (status = 'sending' AND lease_until <= {now:DateTime64(3, 'UTC')})"
        " ORDER BY created_at, id",
        parameters={"now": now},
    ).result_rows
    return [_delivery(r) for r in rows]


def list_deliveries(
    db: Database,
    *,
    agency_ids: list[str] | None = None,
    sites: list[str] | None = None,
    schedule_id: str = "",
    limit: int = 100,
) -> list[Delivery]:
    """The log, newest first: deliveries of ``agency_ids`` or ``sites`` (None: all), of one
    schedule when given."""
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    if agency_ids is not None or sites is not None:
        where.append("(agency_id IN {a:Array(String)} OR site IN {s:Array(String)})")
        params.update({"a": agency_ids or [], "s": sites or []})
    if schedule_id:
        where.append("schedule_id = {sid:String}")
        params["sid"] = schedule_id
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = db.query(
        f"{_OUTBOX_SELECT}{clause} ORDER BY created_at DESC, id LIMIT {{limit:UInt32}}",
        parameters=params,
    ).result_rows
    return [_delivery(r) for r in rows]


def claim(
    db: Database, delivery_id: str, attempt: int, claimant: str, now: datetime, settle_s: float
) -> bool:
    """True when ``claimant`` may make ``attempt`` of ``delivery_id`` (see the module doc)."""
    db.insert(
        "mail_claims",
        [[delivery_id, attempt, claimant, now]],
        ("delivery_id", "attempt", "claimant", "claimed_at"),
    )
    if settle_s > 0:
        time.sleep(settle_s)
    rows = db.query(
        "SELECT claimant FROM mail_claims WHERE delivery_id = {id:String}"
        " AND attempt = {n:UInt16} ORDER BY claimed_at, claimant LIMIT 1",
        parameters={"id": delivery_id, "n": attempt},
    ).result_rows
    return bool(rows) and str(rows[0][0]) == claimant


# ------------------------------------------------------------------ silence episodes
def record_silence(
    db: Database,
    site: str,
    last_event: datetime,
    agency_id: str,
    delivery_id: str,
    recipients: tuple[str, ...],
    now: datetime,
) -> None:
    db.insert(
        "silence_alerts",
        [[site, last_event, agency_id, delivery_id, list(recipients), now]],
        ("site", "last_event", "agency_id", "delivery_id", "recipients", "detected_at"),
    )


def silence_alerts(db: Database, sites: list[str]) -> list[dict[str, Any]]:
    """Alerted silence episodes of ``sites``, newest first."""
    rows = db.query(
        "SELECT site, last_event, agency_id, delivery_id, recipients, detected_at"
        " FROM silence_alerts FINAL WHERE site IN {s:Array(String)}"
        " ORDER BY detected_at DESC, site",
        parameters={"s": sites},
    ).result_rows
    return [
        {
            "site": str(r[0]),
            "last_event": _utc(r[1]).isoformat(),
            "agency_id": str(r[2]),
            "delivery_id": str(r[3]),
            "recipients": list(r[4]),
            "detected_at": _utc(r[5]).isoformat(),
        }
        for r in rows
    ]
