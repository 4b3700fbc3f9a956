"""``POST /api/v1/sql``: read-only SQL for every token (``indicators.scoped_sql``).

The body is ``{"sql": "…", "format": "json|csv|tsv", "max_rows": N, "timeout_s": S}``; the
statement is checked on its syntax tree, run on the SQL pool's own connections with the token's
limits (an agency token: its subtree's rows only), and answered as JSON or delimited text.
Refusals are 403, malformed statements 400, a token's concurrency limit 429 and a full pool
503 (both with ``Retry-After``).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from api.auth import bearer_token
from api.endpoints import sql_error
from api.guard import Access, context, error, principal, route
from clickhouse.client import Database
from indicators import scoped_sql
from indicators.sql import limits_for, result_json, to_delimited
from indicators.sql_pool import SQL_ERRORS, token_key

_FORMATS = {"json", "tsv", "csv"}


class _OrjsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def json_body(request: Request) -> Any:
    """The decoded JSON body; raises ValueError with a message for the client."""
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"body: not valid JSON ({exc})") from exc


async def run_sql(request: Request) -> Response:
    """Read-only SQL: everything for the admin token, the rows of its subtree for an
    agency token (``indicators.scoped_sql``)."""
    ctx, who = context(request), principal(request)
    settings = ctx.settings
    try:
        body = await json_body(request)
    except ValueError as exc:
        return error(400, str(exc))
    if not isinstance(body, dict):
        return error(400, "body: expected a JSON object with a 'sql' field")
    query = body.get("sql")
    fmt = body.get("format", "json")
    max_rows = body.get("max_rows")
    timeout_s = body.get("timeout_s")
    if not isinstance(query, str):
        return error(400, "sql: required, a string")
    if fmt not in _FORMATS:
        return error(400, f"format: one of {', '.join(sorted(_FORMATS))}")
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int)):
        return error(400, "max_rows: must be an integer")
    if timeout_s is not None and (
        isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float)
    ):
        return error(400, "timeout_s: must be a number of seconds")
    agency = who.agency_id
    per_token = (
        settings.sql_admin_concurrency if agency is None else settings.sql_agency_concurrency
    )
    try:
        limits = limits_for(settings, agency is None).lowered(max_rows, timeout_s)

        def work(conn: Database, tag: str) -> dict[str, Any]:
            return result_json(scoped_sql.run_sql(conn, agency, query, limits, tag))

        result = await ctx.sql_pool().run(
            token_key(bearer_token(request)), per_token, work, request.is_disconnected
        )
    except SQL_ERRORS as exc:
        return sql_error(exc)
    if fmt == "json":
        return _OrjsonResponse(result)
    delimiter = "\t" if fmt == "tsv" else ","
    media = "text/tab-separated-values" if fmt == "tsv" else "text/csv"
    return PlainTextResponse(to_delimited(result, delimiter), media_type=media)


ROUTES: list[Route] = [route("/api/v1/sql", run_sql, methods=["POST"], access=Access.TOKEN)]
