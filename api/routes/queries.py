"""HTTP access to the named queries (``clickhouse/queries/*.sql``).

``GET /api/v1/queries`` lists them with their header comment and parameters;
``POST /api/v1/queries/{name}`` with ``{"params": {"k": "v", …}}`` runs one. Parameter values
may be strings as typed on a command line (``"a,b"`` for ``Array(String)``, ``YYYY-MM-DD`` for
``Date``) or JSON values of the right type. This is what ``emc sql --query NAME --param k=v``
calls while the warehouse runs (in embedded mode only this process may open the database).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.auth import bearer_token
from api.endpoints import sql_error
from api.guard import Access, context, error, principal, route
from clickhouse import named
from clickhouse.client import Database
from indicators.queries import run_named
from indicators.sql import limits_for
from indicators.sql_pool import SQL_ERRORS, token_key


async def list_queries(request: Request) -> Response:
    """``GET /api/v1/queries``: the catalogue, for any valid token."""
    queries = [named.load(n) for n in named.names()]
    return JSONResponse(
        [{"name": q.name, "params": q.params, "description": q.description} for q in queries]
    )


async def run_query(request: Request) -> Response:
    """``POST /api/v1/queries/{name}``: any token; an agency token reads its subtree only. Runs
    in the SQL pool (``indicators.sql_pool``) with the token's limits."""
    ctx, who = context(request), principal(request)
    name = request.path_params["name"]
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError as exc:
        return error(400, f"body: not valid JSON ({exc})")
    params = body.get("params", {}) if isinstance(body, dict) else None
    if not isinstance(params, dict):
        return error(400, "params: expected a JSON object")
    agency = who.agency_id
    limits = limits_for(ctx.settings, agency is None)
    settings = ctx.settings
    per_token = (
        settings.sql_admin_concurrency if agency is None else settings.sql_agency_concurrency
    )

    def work(db: Database, tag: str) -> dict[str, Any]:
        return run_named(db, name, params, agency, limits, tag)

    try:
        answer = await ctx.sql_pool().run(
            token_key(bearer_token(request)), per_token, work, request.is_disconnected
        )
    except named.UnknownQuery as exc:
        return error(404, str(exc))
    except named.BadParameters as exc:
        return error(400, f"params: {exc}")
    except SQL_ERRORS as exc:
        return sql_error(exc)
    except Exception as exc:  # ClickHouse refused the values (type mismatch, …)
        return error(400, f"params: ClickHouse refused them: {exc}")
    return Response(orjson.dumps(answer), media_type="application/json")


ROUTES: list[Route] = [
    route("/api/v1/queries", list_queries, methods=["GET"], access=Access.TOKEN),
    route("/api/v1/queries/{name}", run_query, methods=["POST"], access=Access.TOKEN),
]
