"""HTTP routes of connection monitoring (``GET /api/v1/connections``) and rankings
(``GET /api/v1/rankings``).

Connections honour agency tokens like every indicator: ``agency=``/``site=`` resolve to the
visible sites, and without either an agency token gets its own subtree (the admin: every site).
Rankings compare every ministry or province with the others, which an agency token must not see:
admin token only (403 otherwise).
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
from clickhouse import registry
from clickhouse.client import Database
from indicators import connections, rankings
from indicators.access import Principal, resolve_sites, visible_sites
from indicators.errors import ParamError
from indicators.periods import comparison_period
from indicators.tables import Table


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


async def get_rankings(request: Request) -> Response:
    """``GET /api/v1/rankings``: every province or ministry ranked by one indicator."""
    ctx, query = context(request), request.query_params
    try:
        fmt = parse_format(query)
        if not query.get("metric"):
            raise ParamError(f"metric: required, one of {', '.join(rankings.METRICS)}")
        metric = parse_choice(query, "metric", rankings.METRICS, "")
        if not query.get("group"):
            raise ParamError(f"group: required, one of {', '.join(rankings.GROUPS)}")
        group = parse_choice(query, "group", tuple(rankings.GROUPS), "")
        period = parse_period(query, ctx.max_days)
        previous = comparison_period(period, parse_compare(query))
        order = parse_choice(query, "order", ("desc", "asc"), "desc")
        limit = parse_int(query, "limit", 10, 1, 1000)
        answer = await asyncio.to_thread(
            rankings.rankings, ctx.db, metric, group, period, previous, order == "desc", limit
        )
    except ParamError as exc:
        return error(exc.status, str(exc))
    return respond(answer, rankings.rankings_table(answer), fmt, "rankings")


ROUTES: list[Route] = [
    route("/api/v1/connections", list_connections, methods=["GET"], access=Access.TOKEN),
    route(
        "/api/v1/rankings",
        get_rankings,
        methods=["GET"],
        access=Access.ADMIN,
        reason="rankings compare every agency: they need the admin token",
    ),
]
