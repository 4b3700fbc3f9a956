"""HTTP endpoints of the portal indicators (DESIGN §3.I) under ``/api/v1/portal/``, and the
named-query endpoints under ``/api/v1/queries``.

Why a module of its own: ``api/app.py`` stays the warehouse's core (health, SQL, sites); this
module parses and validates the query string with the shared conventions of ``api/params.py``
(400 naming the parameter, 404 unknown site), runs ``api/portal_data.py`` in a worker thread
(database calls block) and answers JSON, or CSV/XLSX (``format=``) for table-shaped answers.
Every route needs the admin bearer token (agency-scoped tokens come with the registry).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import named_api, portal_data
from api.auth import is_admin
from api.export import Table, parse_format, respond
from api.params import (
    ParamError,
    check_sites_known,
    comparison_period,
    parse_choice,
    parse_compare,
    parse_int,
    parse_period,
    parse_sites,
)
from clickhouse.client import Database
from emc.settings import Settings

_Handler = Callable[[Request], Awaitable[Response]]
#: What an endpoint computes in its worker thread: (JSON answer, table for CSV/XLSX).
_Built = tuple[dict[str, Any], Table | None]
MAX_LIMIT = 1000
DEFAULT_LIMIT = 10
MAX_COMPARE_SITES = 10


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def routes(settings: Settings, db: Database, clock: Callable[[], float] = time.time) -> list[Route]:
    """The portal and named-query routes. ``clock`` (epoch seconds) is what "now" means for
    ``realtime``; tests pass a fixed one."""
    admin_token = settings.admin_token.get_secret_value()
    max_days = settings.api_max_range_days

    def endpoint(name: str, build: Callable[[Mapping[str, str]], Callable[[], _Built]]) -> _Handler:
        """Validate with ``build`` (raises ParamError), run what it returns in a thread."""

        async def handler(request: Request) -> Response:
            if not is_admin(request, admin_token):
                return _error(401, "missing or wrong bearer token (Authorization: Bearer …)")
            query = request.query_params
            try:
                fmt = parse_format(query)
                work = build(query)
                answer, table = await asyncio.to_thread(work)
            except ParamError as exc:
                return _error(exc.status, str(exc))
            return respond(answer, table, fmt, name)

        return handler

    def sites_of(query: Mapping[str, str], param: str = "site") -> list[str]:
        return parse_sites(query.get(param), param)

    def overview(query: Mapping[str, str]) -> Callable[[], _Built]:
        sites, period = sites_of(query), parse_period(query, max_days)
        compare = comparison_period(period, parse_compare(query))

        def work() -> _Built:
            check_sites_known(db, sites)
            answer = portal_data.overview(db, sites, period, compare)
            return answer, portal_data.overview_table(answer)

        return work

    def timeseries(query: Mapping[str, str]) -> Callable[[], _Built]:
        sites, period = sites_of(query), parse_period(query, max_days)
        compare = comparison_period(period, parse_compare(query))
        hourly = parse_choice(query, "interval", ("day", "hour"), "day") == "hour"

        def work() -> _Built:
            check_sites_known(db, sites)
            answer = portal_data.timeseries(db, sites, period, compare, hourly)
            return answer, portal_data.timeseries_table(answer)

        return work

    def breakdown(query: Mapping[str, str]) -> Callable[[], _Built]:
        sites, period = sites_of(query), parse_period(query, max_days)
        compare = comparison_period(period, parse_compare(query))
        if not query.get("by"):
            raise ParamError(f"by: required, one of {', '.join(portal_data.BREAKDOWNS)}")
        by = parse_choice(query, "by", portal_data.BREAKDOWNS, "")
        limit = parse_int(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)

        def work() -> _Built:
            check_sites_known(db, sites)
            answer = portal_data.breakdown(db, sites, period, compare, by, limit)
            return answer, portal_data.breakdown_table(answer)

        return work

    def realtime(query: Mapping[str, str]) -> Callable[[], _Built]:
        sites = sites_of(query)

        def work() -> _Built:
            check_sites_known(db, sites)
            answer = portal_data.realtime(db, sites, int(clock() * 1000))
            return answer, portal_data.realtime_table(answer)

        return work

    def compare(query: Mapping[str, str]) -> Callable[[], _Built]:
        sites = parse_sites(query.get("sites"), "sites", max_sites=MAX_COMPARE_SITES)
        if len(sites) < 2:
            raise ParamError("sites: give at least two different site ids, e.g. sites=a,b")
        period = parse_period(query, max_days)
        mode = comparison_period(period, parse_compare(query))
        limit = parse_int(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)

        def work() -> _Built:
            check_sites_known(db, sites, "sites")
            answer = portal_data.compare_sites(db, sites, period, mode, limit)
            return answer, portal_data.compare_table(answer)

        return work

    def guarded(handler: _Handler) -> _Handler:
        async def checked(request: Request) -> Response:
            if not is_admin(request, admin_token):
                return _error(401, "missing or wrong bearer token (Authorization: Bearer …)")
            return await handler(request)

        return checked

    base = "/api/v1/portal"
    return [
        Route(f"{base}/overview", endpoint("overview", overview), methods=["GET"]),
        Route(f"{base}/timeseries", endpoint("timeseries", timeseries), methods=["GET"]),
        Route(f"{base}/breakdown", endpoint("breakdown", breakdown), methods=["GET"]),
        Route(f"{base}/realtime", endpoint("realtime", realtime), methods=["GET"]),
        Route(f"{base}/compare", endpoint("compare", compare), methods=["GET"]),
        Route("/api/v1/queries", guarded(named_api.list_handler(db)), methods=["GET"]),
        Route("/api/v1/queries/{name}", guarded(named_api.run_handler(db)), methods=["POST"]),
    ]
