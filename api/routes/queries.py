"""HTTP access to the named queries (``clickhouse/queries/*.sql``).

``GET /api/v1/queries`` lists them with their header comment and parameters;
``POST /api/v1/queries/{name}`` with ``{"params": {"k": "v", …}}`` runs one. Parameter values
may be strings as typed on a command line (``"a,b"`` for ``Array(String)``, ``YYYY-MM-DD`` for
``Date``) or JSON values of the right type. This is what ``emc sql --query NAME --param k=v``
calls while the warehouse runs (in embedded mode only this process may open the database).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.auth import bearer_token
from api.endpoints import sql_error
from clickhouse import named
from clickhouse.client import Database
from core.settings import Settings
from indicators.access import Principal
from indicators.queries import run_named
from indicators.sql import limits_for
from indicators.sql_pool import SQL_ERRORS, SqlPool, token_key

#: Resolves a request's bearer token (None: missing, wrong or revoked).
PrincipalOf = Callable[[Request], Awaitable[Principal | None]]


def list_handler(principal_of: PrincipalOf) -> Any:
    """``GET /api/v1/queries``: the catalogue, for any valid token."""

    async def handler(request: Request) -> Response:
        if await principal_of(request) is None:
            return JSONResponse(
                {"error": "missing or wrong bearer token (Authorization: Bearer …)"}, 401
            )
        queries = [named.load(n) for n in named.names()]
        return JSONResponse(
            [{"name": q.name, "params": q.params, "description": q.description} for q in queries]
        )

    return handler


def run_handler(settings: Settings, principal_of: PrincipalOf, pool: Callable[[], SqlPool]) -> Any:
    """``POST /api/v1/queries/{name}``: any token; an agency token reads its subtree only. Runs
    in the SQL pool (``indicators.sql_pool``) with the token's limits."""

    async def handler(request: Request) -> Response:
        principal = await principal_of(request)
        if principal is None:
            return JSONResponse(
                {"error": "missing or wrong bearer token (Authorization: Bearer …)"}, 401
            )
        name = request.path_params["name"]
        try:
            body = orjson.loads(await request.body() or b"{}")
        except orjson.JSONDecodeError as exc:
            return JSONResponse({"error": f"body: not valid JSON ({exc})"}, 400)
        params = body.get("params", {}) if isinstance(body, dict) else None
        if not isinstance(params, dict):
            return JSONResponse({"error": "params: expected a JSON object"}, 400)
        agency = principal.agency_id
        limits = limits_for(settings, agency is None)
        per_token = (
            settings.sql_admin_concurrency if agency is None else settings.sql_agency_concurrency
        )

        def work(db: Database, tag: str) -> dict[str, Any]:
            return run_named(db, name, params, agency, limits, tag)

        try:
            answer = await pool().run(
                token_key(bearer_token(request)), per_token, work, request.is_disconnected
            )
        except named.UnknownQuery as exc:
            return JSONResponse({"error": str(exc)}, 404)
        except named.BadParameters as exc:
            return JSONResponse({"error": f"params: {exc}"}, 400)
        except SQL_ERRORS as exc:
            return sql_error(exc)
        except Exception as exc:  # ClickHouse refused the values (type mismatch, …)
            return JSONResponse({"error": f"params: ClickHouse refused them: {exc}"}, 400)
        return Response(orjson.dumps(answer), media_type="application/json")

    return handler
