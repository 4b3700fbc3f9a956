"""HTTP endpoints of the portal indicators (DESIGN §3.I) under ``/api/v1/portal/``.

Handlers are module-level *build* functions (``api.endpoints.endpoint`` runs them): each parses
and validates the query string with the shared conventions of ``api/params.py`` (400 naming the
parameter, 404 unknown site) and returns the work that ``indicators/portal.py`` does in a worker
thread; the answer is JSON, or CSV/XLSX (``format=``) for table-shaped answers. Every route is
``Access.TOKEN``: the admin token sees every site; an agency token sees its agency's subtree only
(``indicators/access.py``: ``site=``/``agency=`` resolve to visible sites, an invisible one
answers 404 like an unknown one).

Every endpoint but realtime reads "now" from ``ctx.clock``: a period that contains a site's
local now is cut there, and its comparison period at the same elapsed part
(``indicators.periods.cuts``, issue 16); the answer's ``period_cut`` / ``compare_cut`` say where.

Every route takes ``filter=`` (repeatable, ANDed; ``api.params.parse_filter_params``, issue 17):
parsed before any database work, so a bad filter is a 400 naming it; the answer's ``filters``
echoes what was applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.routing import Route

from api.endpoints import Build, Built, endpoint
from api.guard import Access, Context, route
from api.params import (
    parse_choice,
    parse_compare,
    parse_filter_params,
    parse_int,
    parse_period,
    parse_selection,
    parse_sites,
)
from api.routes import goals as events_goals
from indicators import portal as portal_data
from indicators.access import Principal, Selection, check_sites_known, resolve_sites
from indicators.channels import with_tree
from indicators.errors import ParamError
from indicators.goals import with_goals
from indicators.periods import comparison_period, cuts

MAX_LIMIT = 1000
DEFAULT_LIMIT = 10
MAX_COMPARE_SITES = 10


def overview(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
    selection, period = parse_selection(query), parse_period(query, ctx.max_days)
    mode = parse_compare(query)
    compare = comparison_period(period, mode)
    given = parse_filter_params(query)

    def work() -> Built:
        sites = resolve_sites(ctx.db, selection, who)
        tzs = check_sites_known(ctx.db, sites)
        filters = with_tree(ctx.db, sites, with_goals(ctx.db, sites, given))
        cut, compare_cut = cuts(period, compare, mode, sites, tzs, ctx.clock())
        answer = portal_data.overview(ctx.db, sites, period, compare, cut, compare_cut, filters)
        return answer, portal_data.overview_table(answer)

    return work


def timeseries(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
    selection, period = parse_selection(query), parse_period(query, ctx.max_days)
    mode = parse_compare(query)
    compare = comparison_period(period, mode)
    hourly = parse_choice(query, "interval", ("day", "hour"), "day") == "hour"
    given = parse_filter_params(query)

    def work() -> Built:
        sites = resolve_sites(ctx.db, selection, who)
        tzs = check_sites_known(ctx.db, sites)
        filters = with_tree(ctx.db, sites, with_goals(ctx.db, sites, given))
        cut, compare_cut = cuts(period, compare, mode, sites, tzs, ctx.clock())
        answer = portal_data.timeseries(
            ctx.db, sites, period, compare, hourly, cut, compare_cut, filters
        )
        return answer, portal_data.timeseries_table(answer)

    return work


def breakdown(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
    selection, period = parse_selection(query), parse_period(query, ctx.max_days)
    mode = parse_compare(query)
    compare = comparison_period(period, mode)
    choices = (*portal_data.BREAKDOWNS, *events_goals.BREAKDOWNS)  # issue 17 items 3, 4
    if not query.get("by"):
        raise ParamError(f"by: required, one of {', '.join(choices)}")
    by = parse_choice(query, "by", choices, "")
    if by in events_goals.BREAKDOWNS:
        return events_goals.breakdown(ctx, query, who)
    limit = parse_int(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    given = parse_filter_params(query)

    def work() -> Built:
        sites = resolve_sites(ctx.db, selection, who)
        tzs = check_sites_known(ctx.db, sites)
        filters = with_tree(ctx.db, sites, with_goals(ctx.db, sites, given))
        cut, compare_cut = cuts(period, compare, mode, sites, tzs, ctx.clock())
        answer = portal_data.breakdown(
            ctx.db, sites, period, compare, by, limit, filters, cut, compare_cut
        )
        return answer, portal_data.breakdown_table(answer)

    return work


def realtime(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
    selection = parse_selection(query)
    given = parse_filter_params(query)

    def work() -> Built:
        sites = resolve_sites(ctx.db, selection, who)
        filters = with_tree(ctx.db, sites, with_goals(ctx.db, sites, given))
        answer = portal_data.realtime(ctx.db, sites, int(ctx.clock() * 1000), filters)
        return answer, portal_data.realtime_table(answer)

    return work


def compare(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
    sites = parse_sites(query.get("sites"), "sites", max_sites=MAX_COMPARE_SITES)
    if len(sites) < 2:
        raise ParamError("sites: give at least two different site ids, e.g. sites=a,b")
    period = parse_period(query, ctx.max_days)
    mode = parse_compare(query)
    compare_period = comparison_period(period, mode)
    limit = parse_int(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    given = parse_filter_params(query)

    def work() -> Built:
        resolve_sites(ctx.db, Selection("sites", sites=tuple(sites)), who)
        tzs = check_sites_known(ctx.db, sites)
        filters = with_tree(ctx.db, sites, with_goals(ctx.db, sites, given))
        cut, compare_cut = cuts(period, compare_period, mode, sites, tzs, ctx.clock())
        answer = portal_data.compare_sites(
            ctx.db, sites, period, compare_period, limit, filters, cut, compare_cut
        )
        return answer, portal_data.compare_table(answer)

    return work


BASE = "/api/v1/portal"


def _indicator(name: str, build: Build) -> Route:
    return route(f"{BASE}/{name}", endpoint(name, build), methods=["GET"], access=Access.TOKEN)


ROUTES: list[Route] = [
    _indicator("overview", overview),
    _indicator("timeseries", timeseries),
    _indicator("breakdown", breakdown),
    _indicator("realtime", realtime),
    _indicator("compare", compare),
]
