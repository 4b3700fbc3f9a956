"""The warehouse HTTP API: health, read-only SQL and the site registry.

Every ``/api/`` route needs ``Authorization: Bearer <EMC_ADMIN_TOKEN>``. Every 4xx answer is
JSON ``{"error": message}`` naming what to fix. Database calls run in worker threads (the
``Database`` lock serialises them with the sink).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from api import endpoints
from api.auth import bearer_token, is_admin
from api.endpoints import UNAUTHORIZED, error
from api.routes.dashboard import routes as dashboard_routes
from api.routes.me import routes as me_routes
from api.routes.monitor import routes as monitor_routes
from api.routes.portal import routes as portal_routes
from api.routes.public_services import routes as public_service_routes
from api.routes.queries import list_handler, run_handler
from api.routes.registry import routes as registry_routes
from clickhouse import registry
from clickhouse.client import Database
from core.settings import Settings
from indicators import scoped_sql, sql_pool
from indicators.access import Principal, authenticate
from indicators.sql import limits_for, result_json, to_delimited
from schemas.common import describe
from schemas.sites import Site
from sink.sink import Sink

_Handler = Callable[[Request], Awaitable[Response]]
_READY_TIMEOUT_S = 5.0
_FORMATS = {"json", "tsv", "csv"}


class _OrjsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def _json_body(request: Request) -> Any:
    """The decoded JSON body; raises ValueError with a message for the client."""
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"body: not valid JSON ({exc})") from exc


def create_app(
    settings: Settings,
    db: Database,
    sink: Sink | None = None,
    sql_runner: sql_pool.SqlPool | None = None,
) -> Starlette:
    """The Starlette app. ``sink`` (when given) is reported by ``/readyz``; free SQL and named
    queries run on ``sql_runner`` (default: ``EMC_SQL_WORKERS`` connections of their own)."""
    admin_token = settings.admin_token.get_secret_value()
    pool = sql_pool.LazySqlPool(settings, db, sql_runner)

    async def principal_of(request: Request) -> Principal | None:
        return await endpoints.principal_of(db, admin_token, request)

    def admin(handler: _Handler) -> _Handler:
        async def guarded(request: Request) -> Response:
            if not is_admin(request, admin_token):
                return error(401, UNAUTHORIZED)
            return await handler(request)

        return guarded

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            ok = await asyncio.wait_for(asyncio.to_thread(db.ping), _READY_TIMEOUT_S)
        except TimeoutError:
            ok = False
        if not ok:
            return JSONResponse(
                {"status": "unavailable", "error": "ClickHouse does not answer"}, 503
            )
        if sink is not None and not sink.running:
            reason = (
                f"sink is not running ({sink.error!r})" if sink.error else "sink is not running"
            )
            return JSONResponse({"status": "unavailable", "error": reason}, 503)
        return JSONResponse({"status": "ok"})

    async def sql(request: Request) -> Response:
        """Read-only SQL: everything for the admin token, the rows of its subtree for an
        agency token (``indicators.scoped_sql``)."""
        principal = await asyncio.to_thread(authenticate, db, bearer_token(request), admin_token)
        if principal is None:
            return error(401, UNAUTHORIZED)
        try:
            body = await _json_body(request)
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
        agency = principal.agency_id
        per_token = (
            settings.sql_admin_concurrency if agency is None else settings.sql_agency_concurrency
        )
        try:
            limits = limits_for(settings, agency is None).lowered(max_rows, timeout_s)

            def work(conn: Database, tag: str) -> dict[str, Any]:
                return result_json(scoped_sql.run_sql(conn, agency, query, limits, tag))

            result = await pool.get().run(
                sql_pool.token_key(bearer_token(request)), per_token, work, request.is_disconnected
            )
        except sql_pool.SQL_ERRORS as exc:
            return endpoints.sql_error(exc)
        if fmt == "json":
            return _OrjsonResponse(result)
        delimiter = "\t" if fmt == "tsv" else ","
        media = "text/tab-separated-values" if fmt == "tsv" else "text/csv"
        return PlainTextResponse(to_delimited(result, delimiter), media_type=media)

    async def list_sites(request: Request) -> Response:
        sites = await asyncio.to_thread(registry.list_sites, db)
        return JSONResponse([s.model_dump(mode="json") for s in sites])

    async def get_site(request: Request) -> Response:
        site_id = request.path_params["site_id"]
        site = await asyncio.to_thread(registry.get_site, db, site_id)
        if site is None:
            return error(404, f"site {site_id!r} is not registered")
        return JSONResponse(site.model_dump(mode="json"))

    async def put_site(request: Request) -> Response:
        site_id = request.path_params["site_id"]
        try:
            body = await _json_body(request)
        except ValueError as exc:
            return error(400, str(exc))
        if not isinstance(body, dict):
            return error(422, "body: expected a JSON object (a site)")
        if body.setdefault("id", site_id) != site_id:
            return error(422, f"id: {body['id']!r} differs from the URL's {site_id!r}")
        try:
            site = Site.model_validate(body)
        except ValidationError as exc:
            return error(422, describe(exc))
        await asyncio.to_thread(registry.upsert_site, db, site)
        return JSONResponse(site.model_dump(mode="json"))

    async def delete_site(request: Request) -> Response:
        site_id = request.path_params["site_id"]
        if request.query_params.get("force") != "1":  # removal guard (issue 5)
            blockers = await asyncio.to_thread(registry.removal_blockers, db, site_id)
            if blockers:
                return error(409, f"site {site_id!r}: {'; '.join(blockers)} (add ?force=1)")
        if not await asyncio.to_thread(registry.delete_site, db, site_id):
            return error(404, f"site {site_id!r} is not registered")
        return JSONResponse({"deleted": site_id})

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/api/v1/sql", sql, methods=["POST"]),
        Route("/api/v1/sites", admin(list_sites), methods=["GET"]),
        Route("/api/v1/sites/{site_id}", admin(get_site), methods=["GET"]),
        Route("/api/v1/sites/{site_id}", admin(put_site), methods=["PUT"]),
        Route("/api/v1/sites/{site_id}", admin(delete_site), methods=["DELETE"]),
        Route("/api/v1/queries", list_handler(principal_of), methods=["GET"]),
        Route(
            "/api/v1/queries/{name}",
            run_handler(settings, principal_of, pool.get),
            methods=["POST"],
        ),
        *portal_routes(settings, db),
        *registry_routes(settings, db),
        *me_routes(settings, db),
        *monitor_routes(settings, db),
        *dashboard_routes(),
        *public_service_routes(settings, db),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return error(404, f"no route {request.method} {request.url.path}")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return error(405, f"method {request.method} not allowed on {request.url.path}")

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
