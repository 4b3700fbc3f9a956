"""HTTP routes of targets (chỉ tiêu) and reconciliation (đối soát), issue 18 items 4 and 6.

Targets: ``GET /api/v1/targets?agency=ID&year=Y[&metric=M][&format=json|csv|xlsx]`` — the
targets of the agency's subtree (default: the token's agency; the admin without ``agency=``:
every agency) for the year (default: this year), each with actual, progress and year-end
forecast, and the laggards (``indicators.targets``); ``PUT /api/v1/targets`` with
``{"agency", "metric", "year", "target"}`` or a list of them; ``DELETE /api/v1/targets?
agency=&metric=&year=``; ``POST /api/v1/targets/import`` (a workbook: Agency, Metric, Year,
Target; the export has that layout first, so it can be edited and imported back; with
``agency=ID`` of the caller's subtree, only rows strictly below ID are taken, as if ID's editor
imported the file).

Reconciliation: ``POST /api/v1/reconciliation?agency=ID`` (a workbook: Site, Procedure, Month,
Received, Resolved) stores an agency's own totals; ``GET /api/v1/reconciliation?agency=ID|
site=S[&from=YYYY-MM&to=YYYY-MM][&format=…]`` compares them with what was received.

Access (the rules of ``indicators.access``): reads are ``Access.TOKEN`` inside the token's
subtree. A target is set by an agency *above* the one it binds (a province for its departments,
districts and communes): writing needs ``Access.EDITOR`` and an agency strictly below the
editor's (the admin: any); an editor's own agency answers 403 (its targets are its parent's to
set), one outside its subtree 404 like an unknown id. Reconciliation totals are the agency's
own word: an editor uploads them for its agency or any below it. Imports keep the good rows
and report the others (row, column, problem): 201 when at least one row was stored, else 422.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.export import parse_format, respond
from api.guard import Access, Handler, context, error, principal, route
from api.params import parse_choice, parse_int, parse_selection
from api.routes.catalog import HttpError, read_upload
from clickhouse import agencies, agency_tree, tokens
from clickhouse import reconciliation as totals_storage
from clickhouse import targets as storage
from clickhouse.client import Database
from indicators import reconciliation, targets
from indicators.access import Principal, in_subtree, resolve_sites
from indicators.errors import NotFound, ParamError
from schemas.target_workbooks import YEARS, parse_month, read_targets, read_totals
from schemas.workbooks import ImportRefused, Problem


class Forbidden(ParamError):
    status = 403


class BadBody(ParamError):
    """A JSON body whose fields cannot be used (422, naming the field)."""

    status = 422


def _who(who: Principal) -> str:
    return "admin" if who.agency_id is None else f"agency:{who.agency_id} ({who.role})"


def _guarded(handler: Callable[[Request], Awaitable[Response]]) -> Handler:
    """``handler``'s domain errors as 4xx answers."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ParamError as exc:
            return error(exc.status, str(exc))
        except HttpError as exc:
            return error(exc.status, str(exc))
        except ImportRefused as exc:
            return JSONResponse(exc.report(), status_code=exc.status)

    run.__name__ = handler.__name__
    return run


def _now(request: Request) -> datetime:
    return targets.local_now(context(request).clock())


def _root(db: Database, who: Principal, agency_id: str) -> str | None:
    """The agency whose subtree is asked for (None: the admin, everything); ``NotFound`` for
    one the caller may not see."""
    chosen = agency_id or who.agency_id
    if chosen and not in_subtree(db, who, chosen):
        raise NotFound(f"agency: agency {chosen!r} is not registered")
    return chosen


# --- targets ---------------------------------------------------------------------------------


async def list_targets(request: Request) -> Response:
    ctx, who, query = context(request), principal(request), request.query_params
    fmt = parse_format(query)
    now = _now(request)
    year = parse_int(query, "year", now.year, *YEARS)
    metric = parse_choice(query, "metric", targets.METRICS, "") or None

    def work() -> dict[str, Any]:
        root = _root(ctx.db, who, query.get("agency", ""))
        scope = None if root is None else agency_tree.subtree(agencies.list_agencies(ctx.db), root)
        found = storage.list_targets(ctx.db, scope, year=year, metric=metric)
        return {"agency": root, "year": year, **targets.report(ctx.db, found, now)}

    answer = await asyncio.to_thread(work)
    return respond(answer, targets.table(answer), fmt, f"targets-{year}")


def _target(body: Any, index: int | None) -> storage.Target:
    where = "" if index is None else f"[{index}]."
    if not isinstance(body, dict):
        raise BadBody(f"body{where[:-1]}: expected a JSON object")
    agency, metric = body.get("agency"), body.get("metric")
    year, value = body.get("year"), body.get("target")
    if not isinstance(agency, str) or not agency:
        raise BadBody(f"{where}agency: required, an agency id")
    if metric not in targets.METRICS:
        raise BadBody(f"{where}metric: {metric!r} is not one of {', '.join(targets.METRICS)}")
    if isinstance(year, bool) or not isinstance(year, int) or not YEARS[0] <= year <= YEARS[1]:
        raise BadBody(f"{where}year: {year!r} is not a year {YEARS[0]}–{YEARS[1]}")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadBody(f"{where}target: {value!r} is not a number ≥ 0")
    return storage.Target(agency, str(metric), year, float(value))


async def put_targets(request: Request) -> Response:
    ctx, who = context(request), principal(request)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise ParamError(f"body: not valid JSON ({exc})") from None
    many = isinstance(body, list)
    wanted = [_target(b, i if many else None) for i, b in enumerate(body if many else [body])]
    if not wanted:
        raise ParamError("body: an empty list")

    def work() -> list[storage.Target]:
        check = targets.refuser(ctx.db, who)
        for t in wanted:
            refusal = check(t.agency)
            if refusal is not None:
                kind = Forbidden if who.agency_id == t.agency else NotFound
                raise kind(f"agency: {refusal}")
        return storage.put_targets(ctx.db, wanted, _who(who))

    stored = await asyncio.to_thread(work)
    answer = [t.as_json() for t in stored]
    return JSONResponse(answer if many else answer[0])


async def delete_target(request: Request) -> Response:
    ctx, who, query = context(request), principal(request), request.query_params
    agency = query.get("agency", "")
    if not agency:
        raise ParamError("agency: required, the agency whose target to delete")
    if not query.get("metric"):
        raise ParamError("metric: required")
    metric = parse_choice(query, "metric", targets.METRICS, "")
    if not query.get("year"):
        raise ParamError("year: required")
    year = parse_int(query, "year", 0, *YEARS)

    def work() -> bool:
        refusal = targets.refuser(ctx.db, who)(agency)
        if refusal is not None:
            raise (Forbidden if who.agency_id == agency else NotFound)(f"agency: {refusal}")
        return storage.delete_target(ctx.db, agency, metric, year, _who(who))

    if not await asyncio.to_thread(work):
        raise NotFound(f"target: agency {agency!r} has no {metric} target for {year}")
    return JSONResponse({"deleted": {"agency": agency, "metric": metric, "year": year}})


def _import_answer(stored: list[Any], problems: list[Problem], what: str) -> Response:
    ordered = sorted(problems, key=lambda p: (p.row, p.column))
    report: dict[str, Any] = {
        "imported": len(stored),
        "problem_count": len(ordered),
        "problems": [p.as_json() for p in ordered],
    }
    if not stored:
        first = ordered[0] if ordered else Problem(0, "", "nothing to import")
        message = f"{what}: nothing imported: row {first.row}: {first.problem}"
        return JSONResponse({"error": message, **report}, status_code=422)
    return JSONResponse(report, status_code=201)


async def import_targets(request: Request) -> Response:
    ctx, who = context(request), principal(request)
    data, _name, fields = await read_upload(request)
    assigner = fields.get("agency") or request.query_params.get("agency", "")

    def work() -> tuple[list[storage.Target], list[Problem]]:
        acting = who
        if assigner:  # import as that agency of the caller's subtree: rows strictly below it
            _root(ctx.db, who, assigner)
            acting = Principal(assigner, tokens.EDITOR)
        rows, problems = read_targets(data, targets.METRICS)
        check = targets.refuser(ctx.db, acting)
        good: list[storage.Target] = []
        for r in rows:
            refusal = check(r.agency)
            if refusal is None:
                good.append(storage.Target(r.agency, r.metric, r.year, r.value))
            else:
                problems.append(Problem(r.row, "Agency", refusal))
        return storage.put_targets(ctx.db, good, _who(who)), problems

    stored, problems = await asyncio.to_thread(work)
    answer = _import_answer(stored, problems, "targets")
    if stored:
        body = orjson.loads(answer.body)
        body["targets"] = [t.as_json() for t in stored]
        return JSONResponse(body, status_code=201)
    return answer


# --- reconciliation ----------------------------------------------------------------------------


async def upload_totals(request: Request) -> Response:
    ctx, who, query = context(request), principal(request), request.query_params
    data, name, fields = await read_upload(request)
    agency_id = fields.get("agency") or query.get("agency", "") or who.agency_id or ""
    if not agency_id:
        raise ParamError("agency: required with the admin token (whose totals these are)")

    def work() -> tuple[str, list[Any], list[Problem]]:
        _root(ctx.db, who, agency_id)
        own = {s.id for s in agencies.subtree_sites(ctx.db, agency_id)}
        rows, problems = read_totals(data)
        good = []
        for r in rows:
            if r.site in own:
                good.append(r)
            else:
                problems.append(
                    Problem(r.row, "Site", f"site {r.site!r} is not a registered site of "
                            f"agency {agency_id!r}")
                )  # fmt: skip
        upload_id = uuid.uuid4().hex[:12]
        totals_storage.store_totals(
            ctx.db,
            good,
            agency=agency_id,
            upload_id=upload_id,
            file_name=name,
            uploaded_by=_who(who),
            uploaded_at=datetime.now(tz=UTC),
        )
        return upload_id, good, problems

    upload_id, good, problems = await asyncio.to_thread(work)
    answer = _import_answer(good, problems, "reconciliation")
    if good:
        body = orjson.loads(answer.body)
        body.update(
            upload_id=upload_id,
            agency=agency_id,
            sha256=hashlib.sha256(data).hexdigest(),
        )
        return JSONResponse(body, status_code=201)
    return answer


def _month(query: Mapping[str, str], param: str) -> date | None:
    value = query.get(param, "")
    if not value:
        return None
    try:
        return parse_month(value)
    except ValueError as exc:
        raise ParamError(f"{param}: {exc}") from None


async def get_differences(request: Request) -> Response:
    ctx, who, query = context(request), principal(request), request.query_params
    fmt = parse_format(query)
    first, last = _month(query, "from"), _month(query, "to")
    if first and last and first > last:
        raise ParamError("from: after to")
    params = dict(query)
    if not params.get("site") and not params.get("agency"):
        if who.agency_id is None:
            raise ParamError("agency: required with the admin token (or site=)")
        params["agency"] = who.agency_id
    selection = parse_selection(params)

    def work() -> dict[str, Any]:
        sites = resolve_sites(ctx.db, selection, who)
        return {"sites": sites, **reconciliation.compare(ctx.db, sites, first, last)}

    answer = await asyncio.to_thread(work)
    return respond(answer, reconciliation.table(answer), fmt, "reconciliation")


EDITOR, TOKEN = Access.EDITOR, Access.TOKEN
ROUTES: list[Route] = [
    route("/api/v1/targets", _guarded(list_targets), methods=["GET"], access=TOKEN),
    route("/api/v1/targets", _guarded(put_targets), methods=["PUT"], access=EDITOR),
    route("/api/v1/targets", _guarded(delete_target), methods=["DELETE"], access=EDITOR),
    route("/api/v1/targets/import", _guarded(import_targets), methods=["POST"], access=EDITOR),
    route("/api/v1/reconciliation", _guarded(get_differences), methods=["GET"], access=TOKEN),
    route("/api/v1/reconciliation", _guarded(upload_totals), methods=["POST"], access=EDITOR),
]
