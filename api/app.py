"""The warehouse's Starlette app: every route of ``api/routes/`` behind ``api.guard``.

Each route declares its access (public, any token, admin, metrics) where it is listed; the guard
checks it before the handler runs (``tests/unit/api/test_routes_access.py`` fails on a route
without a rule). Every 4xx answer is JSON ``{"error": message}`` naming what to fix. Handlers
share one ``Context`` (settings, database, clock, SQL pool, sink) on ``app.state.ctx``; database
calls run in worker threads (the ``Database`` lock serialises them with the sink), free SQL on
its own pool.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from api.guard import Context, error
from api.mailer import Mailer
from api.routes import (
    agencies,
    dashboard,
    email,
    goals,
    health,
    me,
    monitor,
    portal,
    public_services,
    queries,
    sites,
    sql,
    targets,
)
from clickhouse.client import Database
from core.settings import Settings
from indicators.sql_pool import LazySqlPool, SqlPool
from sink.sink import Sink

#: Every route of the warehouse API, in matching order.
ROUTES: list[BaseRoute] = [
    *health.ROUTES,
    *sql.ROUTES,
    *sites.ROUTES,
    *queries.ROUTES,
    *portal.ROUTES,
    *goals.ROUTES,
    *agencies.ROUTES,
    *email.ROUTES,
    *me.ROUTES,
    *monitor.ROUTES,
    *dashboard.ROUTES,
    *public_services.ROUTES,
    *targets.ROUTES,
]


def create_app(
    settings: Settings,
    db: Database,
    sink: Sink | None = None,
    sql_runner: SqlPool | None = None,
    clock: Callable[[], float] = time.time,
    routes: Sequence[BaseRoute] | None = None,
    mailer: Mailer | None = None,
) -> Starlette:
    """The Starlette app. ``sink`` (when given) is reported by ``/readyz``; free SQL and named
    queries run on ``sql_runner`` (default: ``EMC_SQL_WORKERS`` connections of their own);
    ``clock`` (epoch seconds) is "now" for realtime numbers and connections; ``routes``
    (default ``ROUTES``) is what it serves (``emc sink``: the probes only); ``mailer`` sends
    the e-mails of ``send-now`` (default: one of its own, ``api.mailer``)."""

    async def not_found(request: Request, exc: Exception) -> Response:
        return error(404, f"no route {request.method} {request.url.path}")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return error(405, f"method {request.method} not allowed on {request.url.path}")

    app = Starlette(
        routes=list(ROUTES if routes is None else routes),
        exception_handlers={404: not_found, 405: not_allowed},
    )
    app.state.ctx = Context(
        settings,
        db,
        clock=clock,
        sql=LazySqlPool(settings, db, sql_runner),
        extra={"sink": sink} if sink is not None else {},
    )
    if mailer is not None or routes is None:
        app.state.ctx.extra["mailer"] = mailer or Mailer(settings, db, clock)
    return app
