"""The shared shape of an indicator endpoint: validate, compute, answer (``api.guard`` has
already authenticated the caller).

Why a module of its own: the portal (``api/routes/portal.py``) and dossier
(``api/routes/dossiers.py``)
endpoints all do the same four steps, and a fix to one of them (the 401 message, how a
``ParamError`` becomes a JSON 4xx, running the database work off the event loop) must reach
every endpoint at once. An endpoint supplies only a *build* function: it parses the query string
(raising ``ParamError`` naming the parameter) and returns the work to run in a worker thread,
which yields the JSON answer and, for table-shaped answers, the table behind ``format=csv|xlsx``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from api.export import parse_format, respond
from api.guard import Context, Handler, context, error, principal
from indicators import sql_pool
from indicators.access import Principal
from indicators.errors import ParamError
from indicators.sql_guard import Refused
from indicators.tables import Table

#: What an endpoint computes in its worker thread: (JSON answer, table for CSV/XLSX).
Built = tuple[dict[str, Any], Table | None]
#: Validates the query string for the caller; returns the blocking work (or raises ParamError).
Build = Callable[[Context, Mapping[str, str], Principal], Callable[[], Built]]


def endpoint(name: str, build: Build) -> Handler:
    """A handler (behind a ``TOKEN`` route) that answers ``ParamError`` as its JSON 4xx, and
    otherwise ``build``'s answer as JSON or CSV/XLSX (``format=``, files named ``name``)."""

    async def handler(request: Request) -> Response:
        query = request.query_params
        try:
            fmt = parse_format(query)
            work = build(context(request), query, principal(request))
            answer, table = await asyncio.to_thread(work)
        except ParamError as exc:
            return error(exc.status, str(exc))
        return respond(answer, table, fmt, name)

    handler.__name__ = name
    return handler


def sql_error(exc: Exception) -> Response:
    """The answer for a refused, failed, throttled or queued statement."""
    if isinstance(exc, sql_pool.TooMany | sql_pool.Busy):
        status = 429 if isinstance(exc, sql_pool.TooMany) else 503
        response = error(status, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    return error(403 if isinstance(exc, Refused) else 400, str(exc))
