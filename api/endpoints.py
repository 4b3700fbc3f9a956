"""The shared shape of an indicator endpoint: authenticate, validate, compute, answer.

Why a module of its own: the portal (``api/portal.py``) and dossier (``api/dossier_api.py``)
endpoints all do the same four steps, and a fix to one of them (the 401 message, how a
``ParamError`` becomes a JSON 4xx, running the database work off the event loop) must reach
every endpoint at once. An endpoint supplies only a *build* function: it parses the query string
(raising ``ParamError`` naming the parameter) and returns the work to run in a worker thread,
which yields the JSON answer and, for table-shaped answers, the table behind ``format=csv|xlsx``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.access import Principal, authenticate
from api.auth import bearer_token
from api.export import Table, parse_format, respond
from api.params import ParamError
from clickhouse.client import Database

Handler = Callable[[Request], Awaitable[Response]]
#: What an endpoint computes in its worker thread: (JSON answer, table for CSV/XLSX).
Built = tuple[dict[str, Any], Table | None]
#: Validates the query string for the caller; returns the blocking work (or raises ParamError).
Build = Callable[[Mapping[str, str], Principal], Callable[[], Built]]
UNAUTHORIZED = "missing or wrong bearer token (Authorization: Bearer …)"


def error(status: int, message: str) -> JSONResponse:
    """A 4xx answer in the API's convention: ``{"error": message}``."""
    return JSONResponse({"error": message}, status_code=status)


def describe(exc: ValidationError, prefix: str = "") -> str:
    """A pydantic validation error as one line naming each field: ``prefix`` + ``loc: msg``."""
    parts = []
    for problem in exc.errors(include_url=False):
        where = ".".join(str(p) for p in problem.get("loc", ())) or "(body)"
        parts.append(f"{prefix}{where}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts)


async def principal_of(db: Database, admin_token: str, request: Request) -> Principal | None:
    """Who sent ``request`` (None: no, wrong or revoked token); the lookup runs in a thread."""
    return await asyncio.to_thread(authenticate, db, bearer_token(request), admin_token)


def endpoint(db: Database, admin_token: str, name: str, build: Build) -> Handler:
    """A handler that answers 401 without a valid token, ``ParamError`` as its JSON 4xx, and
    otherwise ``build``'s answer as JSON or CSV/XLSX (``format=``, files named ``name``)."""

    async def handler(request: Request) -> Response:
        principal = await principal_of(db, admin_token, request)
        if principal is None:
            return error(401, UNAUTHORIZED)
        query = request.query_params
        try:
            fmt = parse_format(query)
            work = build(query, principal)
            answer, table = await asyncio.to_thread(work)
        except ParamError as exc:
            return error(exc.status, str(exc))
        return respond(answer, table, fmt, name)

    return handler
