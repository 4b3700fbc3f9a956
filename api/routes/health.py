"""Probes: ``GET /healthz`` (the process answers) and ``GET /readyz`` (ClickHouse answers and
the sink runs; 503 naming what is not ready). Public: load balancers and ``emc up`` call them.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.guard import Access, context, route

_READY_TIMEOUT_S = 5.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    ctx = context(request)
    try:
        ok = await asyncio.wait_for(asyncio.to_thread(ctx.db.ping), _READY_TIMEOUT_S)
    except TimeoutError:
        ok = False
    if not ok:
        return JSONResponse({"status": "unavailable", "error": "ClickHouse does not answer"}, 503)
    sink = ctx.extra.get("sink")
    if sink is not None and not sink.running:
        reason = f"sink is not running ({sink.error!r})" if sink.error else "sink is not running"
        return JSONResponse({"status": "unavailable", "error": reason}, 503)
    return JSONResponse({"status": "ok"})


ROUTES: list[Route] = [
    route("/healthz", healthz, methods=["GET"], access=Access.PUBLIC),
    route("/readyz", readyz, methods=["GET"], access=Access.PUBLIC),
]
