"""The mail loop of the warehouse (issue 18 items 5, 6): scheduled reports and lost-connection
alerts, through the outbox, with retries.

Each ``tick(now)`` (every ``EMC_MAIL_POLL_S``; ``0`` turns the loop off in this process):
1. adds to the outbox every report period that is due (``indicators.schedules.due_reports``)
   and every silence episode not yet alerted whose agency (or nearest ancestor) has contacts;
2. works through the outbox rows that are pending, waiting for a retry that is now due, or
   stuck in ``sending`` by a sender that died (lease over): it claims the attempt
   (``clickhouse.mail_store.claim``: one sender per attempt even with several pollers), marks
   it ``sending``, builds the e-mail *now* from the data (numbers, the official forms as XLSX and
   DOCX from ``api/routes/reports.py`` and ``api.form_files``, the connection letter of
   ``api.letter``), hands it to ``core.mail.send``, and records ``sent`` — or ``retry`` after
   ``EMC_MAIL_RETRY_BASE_S`` × 2^(attempt−1) (capped at a day), or ``failed`` after
   ``EMC_MAIL_MAX_ATTEMPTS``.
Counts (sent, failed attempts, retries, given up, by kind) are exposed on ``/metrics``.

Delivery is at least once: a crash after the server accepted a message but before ``sent`` was
recorded sends it again when the lease runs out; the Message-ID is the same
(``<delivery id@openemc>``) so mail systems can recognise the twin. ``send_now`` runs the same
path for one period at once (``POST /api/v1/report-schedules/{id}/send-now``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from api import form_files, letter
from api.mail_text import key_numbers, report_mail, silence_mail
from api.routes import reports as report_routes
from clickhouse import agencies, agency_tree, mail_store, registry
from clickhouse.client import Database
from clickhouse.mail_store import Delivery, Schedule
from core import mail
from core.settings import Settings
from indicators import connections, portal, reports, schedules
from indicators.access import ADMIN, Selection, check_sites_known
from indicators.periods import Period

log = logging.getLogger("emc.warehouse.mail")
MAX_BACKOFF_S = 86_400.0
KINDS = ("report", "silence")


def backoff_s(base_s: float, attempt: int) -> float:
    """Wait after failed attempt ``attempt`` (1-based): base × 2^(attempt−1), at most a day."""
    return float(min(MAX_BACKOFF_S, base_s * 2 ** (attempt - 1)))


def message_id(delivery_id: str) -> str:
    digest = hashlib.sha256(delivery_id.encode()).hexdigest()[:32]
    return f"<{digest}@openemc>"


def schedule_payload(schedule: Schedule, period: Period) -> str:
    """What a report delivery keeps of its schedule (a later change or delete of the schedule
    does not change an e-mail already owed)."""
    return orjson.dumps(
        {
            "period_kind": schedule.period,
            "period_name": schedules.period_name(schedule.period, period),
            "forms": list(schedule.forms),
            "timezone": schedule.timezone,
        }
    ).decode()


class Mailer:
    """The mail loop's state in one process: its claimant id, its counters, its clock."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Callable[[], float],
        *,
        settle_s: float = 0.5,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.settle_s = settle_s
        self.claimant = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.counts: dict[str, dict[str, int]] = {
            outcome: defaultdict(int, dict.fromkeys(KINDS, 0))
            for outcome in ("sent", "failed", "retried", "given_up")
        }

    # ---------------------------------------------------------------- enqueue
    def enqueue_reports(self, now: datetime) -> list[Delivery]:
        """Outbox rows for every due (schedule, period) not yet there."""
        known = mail_store.known_ids(self.db, "report:")
        added = []
        for schedule, period, delivery_id in schedules.due_reports(
            mail_store.list_schedules(self.db), now, known
        ):
            added.append(self._report_delivery(schedule, period, delivery_id, now))
        return added

    def _report_delivery(
        self, schedule: Schedule, period: Period, delivery_id: str, now: datetime
    ) -> Delivery:
        pending = Delivery(
            id=delivery_id,
            kind="report",
            recipients=schedule.recipients,
            schedule_id=schedule.id,
            agency_id=schedule.agency_id,
            site=schedule.site,
            period_from=period.start,
            period_to=period.end,
            payload=schedule_payload(schedule, period),
            created_at=now,
        )
        return mail_store.add_pending(self.db, pending)

    def enqueue_silences(self, now: datetime) -> list[Delivery]:
        """Outbox rows (and ``silence_alerts`` rows) for silence episodes not yet alerted
        whose agency, or an ancestor, has contacts."""
        sites = {s.id: s for s in registry.list_sites(self.db)}
        if not sites:
            return []
        known = mail_store.known_ids(self.db, "silence:")
        episodes = schedules.silence_episodes(connections.fetch(self.db, list(sites), now), known)
        if not episodes:
            return []
        parents = {a.id: a.parent_id or None for a in agencies.list_agencies(self.db)}
        addresses: dict[str, list[str]] = defaultdict(list)
        for contact in mail_store.list_contacts(self.db):
            if contact.silence_alerts:
                addresses[contact.agency_id].append(contact.email)
        added = []
        for report in episodes:
            site = sites[report["site"]]
            agency_id, recipients = schedules.alert_contacts(site.agency_id, parents, addresses)
            if not recipients:
                continue
            delivery_id = schedules.silence_id(site.id, report["last_event"])
            payload = {"last_event": report["last_event"], "site_agency": site.agency_id}
            pending = Delivery(
                id=delivery_id,
                kind="silence",
                recipients=recipients,
                agency_id=agency_id,
                site=site.id,
                payload=orjson.dumps(payload).decode(),
                created_at=now,
            )
            added.append(mail_store.add_pending(self.db, pending))
            last = datetime.fromisoformat(report["last_event"])
            mail_store.record_silence(
                self.db, site.id, last, agency_id, delivery_id, recipients, now
            )
        return added

    # ---------------------------------------------------------------- content
    def _dashboard(self) -> str:
        return f"{self.settings.warehouse_url}/"

    def build_report(self, delivery: Delivery) -> mail.Mail:
        """The report e-mail of ``delivery``: key numbers in the body, each form attached as
        XLSX and DOCX."""
        payload = orjson.loads(delivery.payload)
        period = Period(delivery.period_from, delivery.period_to)
        selection = (
            Selection("agency", agency=delivery.agency_id)
            if delivery.agency_id
            else Selection("site", sites=(delivery.site,))
        )
        start = period.start
        quarter = (start.month - 1) // 3 + 1 if payload["period_kind"] == "quarterly" else None
        parsed = report_routes.FormQuery(
            "xlsx", start.year, quarter, "", selection, period, payload["period_name"]
        )
        attachments: list[mail.Attachment] = []
        answers = []
        for kind in payload["forms"]:
            answer = report_routes.form_answer(self.db, kind, parsed, ADMIN)
            answers.append(answer)
            form = report_routes.form_of(kind, answer)
            stem = f"{kind}-{schedules.period_slug(payload['period_kind'], period)}"
            attachments.append(
                mail.Attachment(f"{stem}.xlsx", form_files.to_xlsx(form), mail.XLSX_MIME)
            )
            attachments.append(
                mail.Attachment(f"{stem}.docx", form_files.to_docx(form), mail.DOCX_MIME)
            )
        sites = report_routes.report_sites(self.db, selection, ADMIN)
        unit = report_routes.reporting_unit(self.db, parsed, sites)
        tzs = check_sites_known(self.db, sites)
        rows = reports.dossier_rows(self.db, sites, tzs, period)
        totals = portal.totals(self.db, sites, period)
        numbers = key_numbers(rows, totals.visits, totals.pageviews)
        subject, body = report_mail(
            unit,
            payload["period_name"],
            period.as_json(),
            numbers,
            payload["forms"],
            self._dashboard(),
        )
        return mail.Mail(
            delivery.recipients, subject, body, tuple(attachments), message_id(delivery.id)
        )

    def build_silence(self, delivery: Delivery, now: datetime) -> mail.Mail:
        """The alert of one silence episode, with the draft letter of the agency's silent
        sites attached."""
        payload = orjson.loads(delivery.payload)
        site = registry.get_site(self.db, delivery.site)
        agency = agencies.get_agency(self.db, delivery.agency_id)
        if site is None or agency is None:
            raise mail.MailError(f"site {delivery.site!r} or its agency is no longer registered")
        zone = site.timezone
        last = datetime.fromisoformat(payload["last_event"])
        hours = int((now - last).total_seconds() // 3600)
        local = last.astimezone(ZoneInfo(zone)).strftime("%H:%M ngày %d/%m/%Y")
        subject, body = silence_mail(
            agency.name, {"id": site.id, "name": site.name}, local, hours, self._dashboard()
        )
        drafted = connection_letter(self.settings, self.db, agency.id, now)
        attachment = mail.Attachment(
            f"{drafted.filename}.docx", letter.to_docx(drafted), mail.DOCX_MIME
        )
        return mail.Mail(delivery.recipients, subject, body, (attachment,), message_id(delivery.id))

    # ---------------------------------------------------------------- sending
    def attempt(self, delivery: Delivery, now: datetime) -> Delivery | None:
        """Make the next attempt of ``delivery`` (blocking); None when another poller claimed
        it. Raises ``core.mail.MailOff`` when e-mail is off."""
        target = mail.target_of(self.settings)
        number = delivery.attempts + 1
        if not mail_store.claim(self.db, delivery.id, number, self.claimant, now, self.settle_s):
            return None
        lease = now + timedelta(seconds=self.settings.smtp_timeout_s * 4 + 60)
        current = mail_store.write(
            self.db,
            replace(
                delivery,
                status="sending",
                attempts=number,
                claimed_by=self.claimant,
                lease_until=lease,
            ),
        )
        if number > 1:
            self.counts["retried"][delivery.kind] += 1
        try:
            if delivery.kind == "report":
                message = self.build_report(delivery)
            else:
                message = self.build_silence(delivery, now)
            current = replace(current, subject=message.subject)
            refused = mail.send(
                target,
                mail.compose(message, self.settings.smtp_from),
                message.recipients,
                timeout_s=self.settings.smtp_timeout_s,
                starttls=self.settings.smtp_starttls,
            )
        except Exception as exc:
            self.counts["failed"][delivery.kind] += 1
            reason = str(exc) if isinstance(exc, mail.MailError) else f"{type(exc).__name__}: {exc}"
            log.warning("e-mail %s attempt %d failed: %s", delivery.id, number, reason)
            if number >= self.settings.mail_max_attempts:
                self.counts["given_up"][delivery.kind] += 1
                return mail_store.write(
                    self.db, replace(current, status="failed", last_error=reason)
                )
            wait = backoff_s(self.settings.mail_retry_base_s, number)
            return mail_store.write(
                self.db,
                replace(
                    current,
                    status="retry",
                    last_error=reason,
                    next_attempt_at=now + timedelta(seconds=wait),
                ),
            )
        self.counts["sent"][delivery.kind] += 1
        note = "; ".join(f"refused {a}: {why}" for a, why in refused.items())
        return mail_store.write(
            self.db, replace(current, status="sent", sent_at=now, last_error=note)
        )

    def tick(self, now: datetime | None = None) -> list[Delivery]:
        """One round (blocking): enqueue what is due, then attempt what is workable."""
        now = now or datetime.fromtimestamp(self.clock(), tz=UTC)
        mail.target_of(self.settings)
        self.enqueue_reports(now)
        self.enqueue_silences(now)
        done = []
        for delivery in mail_store.workable(self.db, now):
            result = self.attempt(delivery, now)
            if result is not None:
                done.append(result)
        return done

    def send_now(self, schedule: Schedule, period: Period, now: datetime) -> Delivery:
        """Mail ``period`` of ``schedule`` at once (its own delivery id, so it does not
        replace the scheduled one); the outbox row as it stands after the attempt (``retry``
        when the server failed: the loop retries it)."""
        mail.target_of(self.settings)
        delivery_id = f"now:{schedule.id}:{period.start.isoformat()}:{uuid.uuid4().hex[:8]}"
        pending = self._report_delivery(schedule, period, delivery_id, now)
        result = self.attempt(pending, now)
        return result if result is not None else pending

    async def run(self, stop: asyncio.Event) -> None:
        """``tick`` every ``EMC_MAIL_POLL_S`` until ``stop``; failures are logged, never
        raised."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.tick)
            except Exception as exc:
                log.warning("mail round failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.mail_poll_s)


def silent_reports(db: Database, agency_id: str, now: datetime) -> tuple[list[Any], dict[str, Any]]:
    """(connection reports of the silent and never-seen sites of ``agency_id``'s subtree,
    {site id: site as JSON})."""
    scope = agency_tree.subtree(agencies.list_agencies(db), agency_id)
    sites = {
        s.id: s.model_dump(mode="json") for s in registry.list_sites(db) if s.agency_id in scope
    }
    reports = connections.fetch(db, sorted(sites), now) if sites else []
    return [r for r in reports if r["status"] in ("silent", "never_seen")], sites


def connection_letter(
    settings: Settings, db: Database, agency_id: str, now: datetime
) -> letter.Letter:
    """The draft letter to ``agency_id`` about its subtree's silent and never-seen sites."""
    found = agencies.get_agency(db, agency_id)
    if found is None:
        raise mail.MailError(f"agency {agency_id!r} is not registered")
    reports, sites = silent_reports(db, agency_id, now)
    return letter.connection_letter(
        {"id": found.id, "name": found.name},
        reports,
        sites,
        now,
        settings.letter_issuer,
        settings.letter_place,
    )


def last_closed(schedule: Schedule, now: datetime) -> Period:
    return schedules.last_closed(schedule.period, now, schedule.timezone)


def period_of(schedule: Schedule, day: date) -> Period:
    return schedules.period_containing(schedule.period, day)
