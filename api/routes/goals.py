"""Events, goals and funnels over HTTP (issue 17 items 3 and 4).

Reports (``Access.TOKEN``, the portal conventions of ``api/routes/portal.py``: ``site=``/
``agency=``, ``from``/``to``, ``compare=``, a period that contains now cut at the same elapsed
part as its comparison period, ``format=csv|xlsx``):
- ``GET /api/v1/portal/events?by=event|event_property|outbound|download|search|title`` (also
  answered by ``/portal/breakdown`` with the same ``by``); ``by=event_property`` needs
  ``event=NAME&property=KEY``;
- ``GET /api/v1/portal/goals?site=ID`` — conversions of the site's goals (``by=goal`` of
  ``/portal/breakdown`` answers the same); one site, since goals belong to a site;
- ``GET /api/v1/portal/funnel?site=…&step=page:/thu-tuc/*&step=event:start&step=goal:submit``
  — 2 to 8 ordered steps of a visit, counted by ClickHouse's ``windowFunnel``.

Goal management, per site: ``GET /api/v1/sites/{site}/goals`` (``TOKEN``: a site outside an
agency token's subtree answers 404 like an unknown one), ``POST`` (create or replace by ``id``)
and ``DELETE /api/v1/sites/{site}/goals/{id}`` with the rule of the other per-site writes an
agency may do itself (catalogs, domains; issue 18): ``Access.EDITOR``, the admin or an editor
token whose subtree holds the site (another site answers 404 like an unknown one).

These reports take no ``filter=`` yet: a filter is refused with a 400 naming it rather than
silently ignored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.endpoints import Built, endpoint
from api.guard import Access, Context, context, error, principal, route
from api.params import (
    parse_choice,
    parse_compare,
    parse_int,
    parse_period,
    parse_selection,
    parse_sites,
    query_list,
)
from api.routes.sql import json_body
from clickhouse import goals as goal_store
from indicators import events as events_data
from indicators import goals as goals_data
from indicators.access import Principal, Selection, check_sites_known, resolve_sites
from indicators.errors import ParamError
from indicators.periods import comparison_period, cuts

MAX_LIMIT = 1000
DEFAULT_LIMIT = 10
#: ``by=`` values of ``/portal/breakdown`` answered here.
BREAKDOWNS = (*events_data.KINDS, "goal")


def _no_filters(query: Mapping[str, str]) -> None:
    given = query_list(query, "filter")
    if given:
        raise ParamError(
            f"filter: not supported by the events, goals and funnel reports yet ({given[0]!r})"
        )


def events(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
    selection, period = parse_selection(query), parse_period(query, ctx.max_days)
    mode = parse_compare(query)
    compare = comparison_period(period, mode)
    if not query.get("by"):
        raise ParamError(f"by: required, one of {', '.join(events_data.KINDS)}")
    by = parse_choice(query, "by", events_data.KINDS, "")
    limit = parse_int(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    _no_filters(query)
    event = prop = ""
    if by == "event_property":
        event, prop = (query.get("event") or "").strip(), (query.get("property") or "").strip()
        if not event:
            raise ParamError("event: required with by=event_property (the event's name)")
        if not prop:
            raise ParamError("property: required with by=event_property (the property's key)")

    def work() -> Built:
        sites = resolve_sites(ctx.db, selection, who)
        tzs = check_sites_known(ctx.db, sites)
        cut, compare_cut = cuts(period, compare, mode, sites, tzs, ctx.clock())
        answer = events_data.breakdown(
            ctx.db, sites, period, compare, by, limit, cut, compare_cut, event, prop
        )
        return answer, events_data.breakdown_table(answer)

    return work


def goals(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
    site = _one_site(query)
    period = parse_period(query, ctx.max_days)
    mode = parse_compare(query)
    compare = comparison_period(period, mode)
    _no_filters(query)

    def work() -> Built:
        sites = resolve_sites(ctx.db, Selection("site", sites=(site,)), who)
        tzs = check_sites_known(ctx.db, sites)
        cut, compare_cut = cuts(period, compare, mode, sites, tzs, ctx.clock())
        saved = goal_store.list_goals(ctx.db, sites)
        answer = goals_data.conversions(ctx.db, site, saved, period, compare, cut, compare_cut)
        return answer, goals_data.conversions_table(answer)

    return work


def _one_site(query: Mapping[str, str]) -> str:
    sites = parse_sites(query.get("site"), "site")
    if len(sites) != 1:
        raise ParamError("site: goals belong to one site; give exactly one site id")
    return sites[0]


def breakdown(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
    """``/portal/breakdown`` for ``by=`` one of ``BREAKDOWNS`` (called by the portal route)."""
    return goals(ctx, query, who) if query.get("by") == "goal" else events(ctx, query, who)


def funnel(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
    selection, period = parse_selection(query), parse_period(query, ctx.max_days)
    mode = parse_compare(query)
    compare = comparison_period(period, mode)
    steps = goals_data.parse_steps(query_list(query, "step"))
    _no_filters(query)

    def work() -> Built:
        sites = resolve_sites(ctx.db, selection, who)
        tzs = check_sites_known(ctx.db, sites)
        cut, compare_cut = cuts(period, compare, mode, sites, tzs, ctx.clock())
        saved = (
            goal_store.list_goals(ctx.db, sites) if any(isinstance(s, str) for s in steps) else []
        )
        matchers = goals_data.resolve_steps(steps, saved)
        answer = goals_data.funnel(ctx.db, sites, matchers, period, compare, cut, compare_cut)
        return answer, goals_data.funnel_table(answer)

    return work


# --- goal management --------------------------------------------------------------------


def _visible(ctx: Context, site: str, who: Principal) -> None:
    resolve_sites(ctx.db, Selection("site", sites=(site,)), who)


async def list_site_goals(request: Request) -> Response:
    ctx, site = context(request), request.path_params["site_id"]

    def work() -> list[dict[str, object]]:
        _visible(ctx, site, principal(request))
        return [goals_data.goal_json(g) for g in goal_store.list_goals(ctx.db, [site])]

    try:
        return JSONResponse(await asyncio.to_thread(work))
    except ParamError as exc:
        return error(exc.status, str(exc))


async def post_goal(request: Request) -> Response:
    ctx, site = context(request), request.path_params["site_id"]
    try:
        body = await json_body(request)
    except ValueError as exc:
        return error(400, str(exc))

    def work() -> dict[str, object]:
        _visible(ctx, site, principal(request))
        goal = goals_data.parse_goal(site, body)
        known = goal_store.list_goals(ctx.db, [site])
        if goal.id not in {g.id for g in known} and len(known) >= goals_data.MAX_GOALS_PER_SITE:
            raise goals_data.InvalidGoal(
                f"id: site {site!r} has {len(known)} goals, at most "
                f"{goals_data.MAX_GOALS_PER_SITE}; delete one first"
            )
        return goals_data.goal_json(goal_store.upsert_goal(ctx.db, goal))

    try:
        return JSONResponse(await asyncio.to_thread(work), status_code=201)
    except ParamError as exc:
        return error(exc.status, str(exc))


async def delete_goal(request: Request) -> Response:
    ctx, site = context(request), request.path_params["site_id"]
    goal_id = request.path_params["goal_id"]

    def work() -> bool:
        _visible(ctx, site, principal(request))
        return goal_store.delete_goal(ctx.db, site, goal_id)

    try:
        deleted = await asyncio.to_thread(work)
    except ParamError as exc:
        return error(exc.status, str(exc))
    if not deleted:
        return error(404, f"goal {goal_id!r} of site {site!r} does not exist")
    return JSONResponse({"deleted": goal_id, "site": site})


def _report(name: str, build: Callable[..., Callable[[], Built]]) -> Route:
    return route(
        f"/api/v1/portal/{name}", endpoint(name, build), methods=["GET"], access=Access.TOKEN
    )


GOALS = "/api/v1/sites/{site_id}/goals"
ROUTES: list[Route] = [
    _report("events", events),
    _report("goals", goals),
    _report("funnel", funnel),
    route(GOALS, list_site_goals, methods=["GET"], access=Access.TOKEN),
    route(GOALS, post_goal, methods=["POST"], access=Access.EDITOR),
    route(GOALS + "/{goal_id}", delete_goal, methods=["DELETE"], access=Access.EDITOR),
]
