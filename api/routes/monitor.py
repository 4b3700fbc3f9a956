"""HTTP routes of connection monitoring (``GET /api/v1/connections``) and rankings
(``GET /api/v1/rankings``, ``GET /api/v1/rankings/own``).

Connections honour agency tokens like every indicator: ``agency=``/``site=`` resolve to the
visible sites, and without either an agency token gets its own subtree (the admin: every site).

Rankings (issue 18): ``group=ministries|provinces`` compares every ministry or province, which
only the admin may see (an agency token is answered 403); ``agency=ID`` ranks the children of
``ID`` (``kind=`` keeps one kind, e.g. ``department`` or ``commune``), for any token whose
subtree holds ``ID`` (outside: 404 like an unknown agency; an agency token without ``agency=``
or ``group=`` ranks its own agency's children). ``/rankings/own`` gives a token its own agency's
rank among its peers (``agency=`` a sub-agency instead; the admin must name one) without any
peer's name or value (``indicators.rankings.own_rank``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.export import parse_format, respond
from api.guard import Access, context, error, principal, route
from api.params import parse_choice, parse_compare, parse_int, parse_period, parse_selection
from clickhouse import agencies, registry
from clickhouse.client import Database
from indicators import connections, rankings
from indicators.access import Principal, in_subtree, resolve_sites, visible_sites
from indicators.errors import NotFound, ParamError
from indicators.periods import comparison_period
from indicators.tables import Table
from schemas.agencies import Agency, AgencyKind


def connections_table(answer: dict[str, Any]) -> Table:
    columns = ["site", "status", "last_event", "seconds_since_last_event", "usual_gap_hours"]
    rows = [[s[c] for c in columns] + [len(s["gaps"])] for s in answer["sites"]]
    return Table([*columns, "gaps"], rows)


def connection_sites(db: Database, query: Mapping[str, str], principal: Principal) -> list[str]:
    if query.get("site") or query.get("agency"):
        return resolve_sites(db, parse_selection(query), principal)
    allowed = visible_sites(db, principal)
    if allowed is None:
        return [s.id for s in registry.list_sites(db)]
    return sorted(allowed)


async def list_connections(request: Request) -> Response:
    """``GET /api/v1/connections``: the sites the token sees, connected, silent or never seen."""
    ctx, who = context(request), principal(request)
    db, query = ctx.db, request.query_params
    now = datetime.fromtimestamp(ctx.clock(), tz=UTC)
    try:
        fmt = parse_format(query)
        status = parse_choice(query, "status", ("all", "connected", "silent", "never_seen"), "all")

        def work() -> dict[str, Any]:
            sites = connection_sites(db, query, who)
            found = connections.fetch(db, sites, now) if sites else []
            if status != "all":
                found = [s for s in found if s["status"] == status]
            return {"now": now.isoformat(), "sites": found}

        answer = await asyncio.to_thread(work)
    except ParamError as exc:
        return error(exc.status, str(exc))
    return respond(answer, connections_table(answer), fmt, "connections")


def _metric(query: Mapping[str, str]) -> str:
    if not query.get("metric"):
        raise ParamError(f"metric: required, one of {', '.join(rankings.METRICS)}")
    return parse_choice(query, "metric", rankings.METRICS, "")


def visible_agency(db: Database, who: Principal, agency_id: str) -> Agency:
    """The agency ``agency_id`` when ``who`` may see it (else ``NotFound``, the same answer
    as for an unknown id)."""
    found = agencies.get_agency(db, agency_id)
    if found is None or not in_subtree(db, who, agency_id):
        raise NotFound(f"agency: agency {agency_id!r} is not registered")
    return found


async def get_rankings(request: Request) -> Response:
    """``GET /api/v1/rankings``: every province or ministry (admin), or the children of an
    agency of the token's subtree, ranked by one indicator."""
    ctx, query, who = context(request), request.query_params, principal(request)
    try:
        fmt = parse_format(query)
        metric = _metric(query)
        group, agency_id = query.get("group", ""), query.get("agency", "")
        if group and agency_id:
            raise ParamError("group: give either group= or agency=, not both")
        if group:
            group = parse_choice(query, "group", tuple(rankings.GROUPS), "")
            if not who.is_admin:
                return error(
                    403,
                    "group: ranking every ministry or province needs the admin token; "
                    "use agency= for your own agency's children",
                )
        elif not agency_id:
            if who.agency_id is None:
                raise ParamError(
                    f"group: required, one of {', '.join(rankings.GROUPS)}"
                    " (or agency=ID to rank its children)"
                )
            agency_id = who.agency_id
        kind_value = parse_choice(query, "kind", tuple(k.value for k in AgencyKind), "")
        kind = AgencyKind(kind_value) if kind_value else None
        period = parse_period(query, ctx.max_days)
        previous = comparison_period(period, parse_compare(query))
        descending = parse_choice(query, "order", ("desc", "asc"), "desc") == "desc"
        limit = parse_int(query, "limit", 10, 1, 1000)

        def work() -> dict[str, Any]:
            if group:
                return rankings.rankings(ctx.db, metric, group, period, previous, descending, limit)
            parent = visible_agency(ctx.db, who, agency_id)
            return rankings.children_rankings(
                ctx.db, metric, parent, kind, period, previous, descending, limit
            )

        answer = await asyncio.to_thread(work)
    except ParamError as exc:
        return error(exc.status, str(exc))
    return respond(answer, rankings.rankings_table(answer), fmt, "rankings")


async def get_own_rank(request: Request) -> Response:
    """``GET /api/v1/rankings/own``: the token's agency's rank among its peers."""
    ctx, query, who = context(request), request.query_params, principal(request)
    try:
        fmt = parse_format(query)
        metric = _metric(query)
        agency_id = query.get("agency", "") or who.agency_id
        if not agency_id:
            raise ParamError("agency: required with the admin token (the agency to place)")
        period = parse_period(query, ctx.max_days)
        previous = comparison_period(period, parse_compare(query))
        descending = parse_choice(query, "order", ("desc", "asc"), "desc") == "desc"

        def work() -> dict[str, Any]:
            agency = visible_agency(ctx.db, who, agency_id)
            return rankings.own_rank(ctx.db, metric, agency, period, previous, descending)

        answer = await asyncio.to_thread(work)
    except ParamError as exc:
        return error(exc.status, str(exc))
    return respond(answer, rankings.own_rank_table(answer), fmt, "rank")


ROUTES: list[Route] = [
    route("/api/v1/connections", list_connections, methods=["GET"], access=Access.TOKEN),
    route("/api/v1/rankings", get_rankings, methods=["GET"], access=Access.TOKEN),
    route("/api/v1/rankings/own", get_own_rank, methods=["GET"], access=Access.TOKEN),
]
