"""HTTP endpoints of the portal indicators (DESIGN §3.I) under ``/api/v1/portal/``.

Why a module of its own: ``api/app.py`` stays the warehouse's core (health, SQL, sites); this
module parses and validates the query string with the shared conventions of ``api/params.py``
(400 naming the parameter, 404 unknown site), runs ``indicators/portal.py`` in a worker thread
(database calls block) and answers JSON, or CSV/XLSX (``format=``) for table-shaped answers.
Every route needs a bearer token: the admin token sees every site; an agency-scoped token sees
its agency's subtree only (``indicators/access.py``: ``site=``/``agency=`` resolve to visible
sites, an
invisible one answers 404 like an unknown one). Named queries are free SQL: admin token only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from starlette.requests import Request
from starlette.routing import Route

from api import endpoints
from api.endpoints import Build, Built, Handler
from api.params import (
    parse_choice,
    parse_compare,
    parse_int,
    parse_period,
    parse_selection,
    parse_sites,
)
from clickhouse.client import Database
from core.settings import Settings
from indicators import portal as portal_data
from indicators.access import Principal, Selection, resolve_sites
from indicators.errors import ParamError
from indicators.periods import comparison_period

MAX_LIMIT = 1000
DEFAULT_LIMIT = 10
MAX_COMPARE_SITES = 10


def routes(settings: Settings, db: Database, clock: Callable[[], float] = time.time) -> list[Route]:
    """The portal and named-query routes. ``clock`` (epoch seconds) is what "now" means for
    ``realtime``; tests pass a fixed one."""
    admin_token = settings.admin_token.get_secret_value()
    max_days = settings.api_max_range_days

    async def principal_of(request: Request) -> Principal | None:
        return await endpoints.principal_of(db, admin_token, request)

    def endpoint(name: str, build: Build) -> Handler:
        return endpoints.endpoint(db, admin_token, name, build)

    def overview(query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
        selection, period = parse_selection(query), parse_period(query, max_days)
        compare = comparison_period(period, parse_compare(query))

        def work() -> Built:
            sites = resolve_sites(db, selection, who)
            answer = portal_data.overview(db, sites, period, compare)
            return answer, portal_data.overview_table(answer)

        return work

    def timeseries(query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
        selection, period = parse_selection(query), parse_period(query, max_days)
        compare = comparison_period(period, parse_compare(query))
        hourly = parse_choice(query, "interval", ("day", "hour"), "day") == "hour"

        def work() -> Built:
            sites = resolve_sites(db, selection, who)
            answer = portal_data.timeseries(db, sites, period, compare, hourly)
            return answer, portal_data.timeseries_table(answer)

        return work

    def breakdown(query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
        selection, period = parse_selection(query), parse_period(query, max_days)
        compare = comparison_period(period, parse_compare(query))
        if not query.get("by"):
            raise ParamError(f"by: required, one of {', '.join(portal_data.BREAKDOWNS)}")
        by = parse_choice(query, "by", portal_data.BREAKDOWNS, "")
        limit = parse_int(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)

        def work() -> Built:
            sites = resolve_sites(db, selection, who)
            answer = portal_data.breakdown(db, sites, period, compare, by, limit)
            return answer, portal_data.breakdown_table(answer)

        return work

    def realtime(query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
        selection = parse_selection(query)

        def work() -> Built:
            sites = resolve_sites(db, selection, who)
            answer = portal_data.realtime(db, sites, int(clock() * 1000))
            return answer, portal_data.realtime_table(answer)

        return work

    def compare(query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
        sites = parse_sites(query.get("sites"), "sites", max_sites=MAX_COMPARE_SITES)
        if len(sites) < 2:
            raise ParamError("sites: give at least two different site ids, e.g. sites=a,b")
        period = parse_period(query, max_days)
        mode = comparison_period(period, parse_compare(query))
        limit = parse_int(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)

        def work() -> Built:
            resolve_sites(db, Selection("sites", sites=tuple(sites)), who)
            answer = portal_data.compare_sites(db, sites, period, mode, limit)
            return answer, portal_data.compare_table(answer)

        return work

    base = "/api/v1/portal"
    return [
        Route(f"{base}/overview", endpoint("overview", overview), methods=["GET"]),
        Route(f"{base}/timeseries", endpoint("timeseries", timeseries), methods=["GET"]),
        Route(f"{base}/breakdown", endpoint("breakdown", breakdown), methods=["GET"]),
        Route(f"{base}/realtime", endpoint("realtime", realtime), methods=["GET"]),
        Route(f"{base}/compare", endpoint("compare", compare), methods=["GET"]),
    ]
