"""HTTP of e-mailed reports, agency contacts and the connection letter (issue 18 items 5, 6).

Scheduled reports (an agency's subtree or one site; ``period`` weekly|monthly|quarterly):
- ``GET /api/v1/report-schedules`` (``TOKEN``: the schedules of the token's subtree);
- ``POST /api/v1/report-schedules`` ``{"agency_id"|"site", "period", "recipients", "forms"?,
  "timezone"?, "id"?}`` and ``DELETE /api/v1/report-schedules/{id}`` (``EDITOR``: the admin,
  or an editor token whose subtree holds the agency or site);
- ``GET /api/v1/report-schedules/{id}`` (``TOKEN``);
- ``POST /api/v1/report-schedules/{id}/send-now`` ``{"day"?: "YYYY-MM-DD"}`` (``EDITOR``): the
  period that holds ``day`` (default: the last closed one) mailed at once; 503 naming
  ``EMC_SMTP_URL`` when e-mail is off;
- ``GET /api/v1/report-deliveries?schedule=&limit=`` (``TOKEN``): the outbox as a log (status,
  attempts, last error), reports and silence alerts of the token's subtree.

Contacts and lost connections, per agency:
- ``GET /api/v1/agencies/{id}/contacts`` (``TOKEN``), ``POST`` ``{"email", "name"?, "title"?,
  "silence_alerts"?, "id"?}`` (create or replace by id) and ``DELETE …/contacts/{contact_id}``
  (``EDITOR``);
- ``GET /api/v1/agencies/{id}/silence-alerts`` (``TOKEN``): the silence episodes alerted;
- ``GET /api/v1/agencies/{id}/connection-letter.docx`` (``TOKEN``): the draft letter in the
  layout of seed 000 about the subtree's silent and never-seen sites.

Any id outside the caller's subtree answers 404 like an unknown one. Bad bodies answer 422
naming the field (``recipients[2]: 'x' is not an e-mail address``).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import letter
from api.guard import Access, Handler, context, error, principal, route
from api.mailer import Mailer, connection_letter
from api.params import parse_date, parse_int
from api.routes.sql import json_body
from clickhouse import agencies, agency_tree, mail_store, registry
from clickhouse.client import Database
from clickhouse.mail_store import Contact, Schedule
from core.mail import MailOff
from indicators import schedules
from indicators.access import Principal, in_subtree, site_in_subtree, visible_sites
from indicators.errors import NotFound, ParamError
from indicators.schedules import BadField


class Conflict(ParamError):
    status = 409


_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def _json(handler: Callable[[Request], Awaitable[Any]]) -> Handler:
    """``handler``'s answer as JSON (a ``Response`` passes as it is), ``ParamError`` as its
    status, ``MailOff`` as 503."""

    async def answer_of(request: Request) -> Response:
        try:
            answer = await handler(request)
        except ParamError as exc:
            return error(exc.status, str(exc))
        except ValueError as exc:  # a body that is not JSON
            return error(400, str(exc))
        except MailOff as exc:
            return error(503, str(exc))
        return answer if isinstance(answer, Response) else JSONResponse(answer)

    answer_of.__name__ = handler.__name__
    return answer_of


async def _object(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise BadField("body: expected a JSON object")
    return body


def _new_id(body: dict[str, Any]) -> str:
    value = body.get("id") or uuid.uuid4().hex[:12]
    if not isinstance(value, str) or not _ID.match(value):
        raise BadField("id: 1-64 letters, digits, '.', '_' or '-'")
    return value


def _who(request: Request) -> str:
    who = principal(request)
    return "admin" if who.is_admin else f"agency:{who.agency_id}"


def _visible(db: Database, who: Principal, schedule: Schedule) -> bool:
    if schedule.agency_id:
        return in_subtree(db, who, schedule.agency_id)
    return site_in_subtree(db, who, schedule.site)


def _schedule_of(db: Database, who: Principal, schedule_id: str) -> Schedule:
    found = mail_store.get_schedule(db, schedule_id)
    if found is None or not _visible(db, who, found):
        raise NotFound(f"schedule {schedule_id!r} does not exist")
    return found


def _scope(db: Database, who: Principal) -> tuple[set[str] | None, set[str] | None]:
    """(agency ids, site ids) ``who`` sees; (None, None) for the admin."""
    if who.agency_id is None:
        return None, None
    return agency_tree.subtree(agencies.list_agencies(db), who.agency_id), visible_sites(db, who)


# ------------------------------------------------------------------ schedules
async def list_schedules(request: Request) -> Any:
    db, who = context(request).db, principal(request)

    def work() -> list[dict[str, Any]]:
        found = mail_store.list_schedules(db)
        scope, sites = _scope(db, who)
        if scope is not None and sites is not None:
            found = [s for s in found if s.agency_id in scope or s.site in sites]
        return [s.as_json() for s in found]

    return await asyncio.to_thread(work)


def _check_scope(db: Database, who: Principal, body: dict[str, Any]) -> tuple[str, str, str]:
    """(agency id, site id, default timezone) of a new schedule; 404 outside the subtree."""
    agency_id, site = body.get("agency_id") or "", body.get("site") or ""
    if bool(agency_id) == bool(site):
        raise BadField("agency_id: give exactly one of agency_id or site")
    if not isinstance(agency_id, str) or not isinstance(site, str):
        raise BadField("agency_id: agency_id and site are strings")
    if agency_id:
        if not in_subtree(db, who, agency_id):
            raise NotFound(f"agency_id: agency {agency_id!r} is not registered")
        return agency_id, "", schedules.DEFAULT_TIMEZONE
    found = registry.get_site(db, site)
    if found is None or not site_in_subtree(db, who, site):
        raise NotFound(f"site: site {site!r} is not registered")
    return "", site, found.timezone


async def create_schedule(request: Request) -> Any:
    ctx, who = context(request), principal(request)
    body = await _object(request)
    period = schedules.check_period(body.get("period"))
    recipients = schedules.check_recipients(body.get("recipients"))
    forms = schedules.check_forms(body.get("forms"), period)
    schedule_id = _new_id(body)

    def work() -> Schedule:
        agency_id, site, zone = _check_scope(ctx.db, who, body)
        timezone = schedules.check_timezone(body.get("timezone"), zone)
        existing = mail_store.get_schedule(ctx.db, schedule_id)
        if existing is not None and not _visible(ctx.db, who, existing):
            raise Conflict(f"id: schedule {schedule_id!r} already exists")
        created = existing.created_at if existing else datetime.fromtimestamp(ctx.clock(), UTC)
        schedule = Schedule(
            schedule_id, agency_id, site, period, recipients, forms, timezone, _who(request),
            created,
        )  # fmt: skip
        return mail_store.save_schedule(ctx.db, schedule)

    stored = await asyncio.to_thread(work)
    return JSONResponse(stored.as_json(), status_code=201)


async def get_schedule(request: Request) -> Any:
    db, who = context(request).db, principal(request)
    schedule_id = request.path_params["schedule_id"]
    found = await asyncio.to_thread(_schedule_of, db, who, schedule_id)
    return found.as_json()


async def delete_schedule(request: Request) -> Any:
    db, who = context(request).db, principal(request)
    schedule_id = request.path_params["schedule_id"]

    def work() -> None:
        _schedule_of(db, who, schedule_id)
        mail_store.delete_schedule(db, schedule_id)

    await asyncio.to_thread(work)
    return {"deleted": schedule_id}


async def send_now(request: Request) -> Any:
    """Mail one period of a schedule now; the delivery as it stands after the attempt."""
    ctx, who = context(request), principal(request)
    schedule_id = request.path_params["schedule_id"]
    raw = await request.body()
    body = await _object(request) if raw.strip() else {}
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    mailer: Mailer = ctx.extra["mailer"]

    def work() -> dict[str, Any]:
        schedule = _schedule_of(ctx.db, who, schedule_id)
        if body.get("day"):
            day = parse_date(str(body["day"]), "day")
            period = schedules.period_containing(schedule.period, day)
        else:
            period = schedules.last_closed(schedule.period, now, schedule.timezone)
        return mailer.send_now(schedule, period, now).as_json()

    return await asyncio.to_thread(work)


async def list_deliveries(request: Request) -> Any:
    db, who = context(request).db, principal(request)
    query = request.query_params
    limit = parse_int(query, "limit", 100, 1, 1000)
    schedule_id = (query.get("schedule") or "").strip()

    def work() -> list[dict[str, Any]]:
        if schedule_id:
            _schedule_of(db, who, schedule_id)
        scope, sites = _scope(db, who)
        found = mail_store.list_deliveries(
            db,
            agency_ids=None if scope is None else sorted(scope),
            sites=None if sites is None else sorted(sites),
            schedule_id=schedule_id,
            limit=limit,
        )
        return [d.as_json() for d in found]

    return await asyncio.to_thread(work)


# ------------------------------------------------------------------ contacts, letter
def _agency_of(db: Database, who: Principal, agency_id: str) -> str:
    if not in_subtree(db, who, agency_id):
        raise NotFound(f"agency {agency_id!r} is not registered")
    return agency_id


async def list_contacts(request: Request) -> Any:
    db, who = context(request).db, principal(request)
    agency_id = request.path_params["agency_id"]

    def work() -> list[dict[str, Any]]:
        _agency_of(db, who, agency_id)
        return [c.as_json() for c in mail_store.list_contacts(db, [agency_id])]

    return await asyncio.to_thread(work)


async def save_contact(request: Request) -> Any:
    db, who = context(request).db, principal(request)
    agency_id = request.path_params["agency_id"]
    body = await _object(request)
    email = schedules.check_email(body.get("email"), "email")
    name, title = body.get("name") or "", body.get("title") or ""
    if not isinstance(name, str) or not isinstance(title, str):
        raise BadField("name: name and title are strings")
    alerts = body.get("silence_alerts", True)
    if not isinstance(alerts, bool):
        raise BadField("silence_alerts: true or false")
    contact = Contact(agency_id, _new_id(body), name.strip(), email, title.strip(), alerts)

    def work() -> Contact:
        _agency_of(db, who, agency_id)
        return mail_store.save_contact(db, contact)

    stored = await asyncio.to_thread(work)
    return JSONResponse(stored.as_json(), status_code=201)


async def delete_contact(request: Request) -> Any:
    db, who = context(request).db, principal(request)
    agency_id, contact_id = request.path_params["agency_id"], request.path_params["contact_id"]

    def work() -> None:
        _agency_of(db, who, agency_id)
        if not mail_store.delete_contact(db, agency_id, contact_id):
            raise NotFound(f"contact {contact_id!r} does not exist")

    await asyncio.to_thread(work)
    return {"deleted": contact_id}


async def silence_alerts(request: Request) -> Any:
    db, who = context(request).db, principal(request)
    agency_id = request.path_params["agency_id"]

    def work() -> list[dict[str, Any]]:
        _agency_of(db, who, agency_id)
        scope = agency_tree.subtree(agencies.list_agencies(db), agency_id)
        sites = [s.id for s in registry.list_sites(db) if s.agency_id in scope]
        return mail_store.silence_alerts(db, sites)

    return await asyncio.to_thread(work)


async def connection_letter_docx(request: Request) -> Any:
    ctx, who = context(request), principal(request)
    agency_id = request.path_params["agency_id"]
    now = datetime.fromtimestamp(ctx.clock(), UTC)

    def work() -> tuple[bytes, str]:
        _agency_of(ctx.db, who, agency_id)
        drafted = connection_letter(ctx.settings, ctx.db, agency_id, now)
        return letter.to_docx(drafted), drafted.filename

    body, filename = await asyncio.to_thread(work)
    headers = {"Content-Disposition": f'attachment; filename="{filename}.docx"'}
    return Response(body, media_type=letter.DOCX_MEDIA, headers=headers)


SCHEDULES = "/api/v1/report-schedules"
AGENCY = "/api/v1/agencies/{agency_id}"
ROUTES: list[Route] = [
    route(SCHEDULES, _json(list_schedules), methods=["GET"], access=Access.TOKEN),
    route(SCHEDULES, _json(create_schedule), methods=["POST"], access=Access.EDITOR),
    route(SCHEDULES + "/{schedule_id}", _json(get_schedule), methods=["GET"], access=Access.TOKEN),
    route(
        SCHEDULES + "/{schedule_id}",
        _json(delete_schedule),
        methods=["DELETE"],
        access=Access.EDITOR,
    ),
    route(
        SCHEDULES + "/{schedule_id}/send-now",
        _json(send_now),
        methods=["POST"],
        access=Access.EDITOR,
    ),
    route(
        "/api/v1/report-deliveries", _json(list_deliveries), methods=["GET"], access=Access.TOKEN
    ),
    route(AGENCY + "/contacts", _json(list_contacts), methods=["GET"], access=Access.TOKEN),
    route(AGENCY + "/contacts", _json(save_contact), methods=["POST"], access=Access.EDITOR),
    route(
        AGENCY + "/contacts/{contact_id}",
        _json(delete_contact),
        methods=["DELETE"],
        access=Access.EDITOR,
    ),
    route(AGENCY + "/silence-alerts", _json(silence_alerts), methods=["GET"], access=Access.TOKEN),
    route(
        AGENCY + "/connection-letter.docx",
        _json(connection_letter_docx),
        methods=["GET"],
        access=Access.TOKEN,
    ),
]
