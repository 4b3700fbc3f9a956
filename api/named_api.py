"""HTTP access to the named queries (``clickhouse/queries/*.sql``).

``GET /api/v1/queries`` lists them with their header comment and parameters;
``POST /api/v1/queries/{name}`` with ``{"params": {"k": "v", …}}`` runs one. Parameter values
may be strings as typed on a command line (``"a,b"`` for ``Array(String)``, ``YYYY-MM-DD`` for
``Date``) or JSON values of the right type. This is what ``emc sql --query NAME --param k=v``
calls while the warehouse runs (in embedded mode only this process may open the database).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import scoped_sql
from api.access import Principal
from api.sql import SqlFailed, SqlRefused
from clickhouse import named
from clickhouse.client import Database

#: Resolves a request's bearer token (None: missing, wrong or revoked).
PrincipalOf = Callable[[Request], Awaitable[Principal | None]]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def result_json(result: Any) -> dict[str, Any]:
    """A clickhouse-connect result as ``{"columns", "rows"}`` with JSON-ready values."""
    return {
        "columns": list(result.column_names),
        "rows": [[_plain(v) for v in row] for row in result.result_rows],
    }


def run_named(
    db: Database, name: str, raw: dict[str, Any], agency_id: str | None = None
) -> dict[str, Any]:
    """Run ``name`` with command-line style ``raw`` params; raises ``named.UnknownQuery`` /
    ``named.BadParameters``. ``agency_id`` (an agency token) restricts the rows read to its
    subtree (``api.scoped_sql``)."""
    query = named.load(name)
    strings = {k: v for k, v in raw.items() if isinstance(v, str)}
    params = {**raw, **named.convert(query, strings)}
    if agency_id is not None:
        return result_json(scoped_sql.run_named(db, agency_id, name, params))
    return result_json(named.run(db, name, params))


def list_handler(db: Database, principal_of: PrincipalOf) -> Any:
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


def run_handler(db: Database, principal_of: PrincipalOf) -> Any:
    """``POST /api/v1/queries/{name}``: any token; an agency token reads its subtree only."""

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
        try:
            answer = await asyncio.to_thread(run_named, db, name, params, principal.agency_id)
        except named.UnknownQuery as exc:
            return JSONResponse({"error": str(exc)}, 404)
        except named.BadParameters as exc:
            return JSONResponse({"error": f"params: {exc}"}, 400)
        except (SqlRefused, SqlFailed) as exc:
            status = 403 if isinstance(exc, scoped_sql.OutOfScope) else 400
            return JSONResponse({"error": str(exc)}, status)
        except Exception as exc:  # ClickHouse refused the values (type mismatch, …)
            return JSONResponse({"error": f"params: ClickHouse refused them: {exc}"}, 400)
        return Response(orjson.dumps(answer), media_type="application/json")

    return handler
