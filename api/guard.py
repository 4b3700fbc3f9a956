"""The one authentication and authorization mechanism of every warehouse route.

Every route is made with ``route(path, handler, methods=…, access=…)``: the access rule is
declared where the route is listed, and checked here before the handler runs, so no handler
checks a token itself and a route cannot be added without a rule (``tests/unit/api/
test_routes_access.py`` lists every route of the app and fails on one without).

- ``PUBLIC``: no token (health probes, the dashboard's files).
- ``TOKEN``: any valid token — the admin's, or an agency token that then reads its own subtree
  only: the handler resolves ``site=``/``agency=`` through ``indicators.access``, where an id
  outside the subtree answers 404 exactly like an unknown one.
- ``EDITOR``: the admin token or an agency token of role ``editor`` (issue 18); a viewer token
  is answered 403. The handler then checks that the object (site, agency, token) lies in the
  editor's subtree (``indicators.access.in_subtree``), answering 404 outside like for an unknown
  id, so an editor manages its own subtree and learns nothing about others.
- ``ADMIN``: the admin token only; a valid agency token is answered 403.
- ``METRICS``: the operations token (``EMC_METRICS_TOKEN``, or the admin token); open when no
  metrics token is set (a warning is logged at start; ``core.metrics_auth``).

A missing, wrong or revoked token is answered 401. Handlers are module-level functions of
``api/routes/<area>.py``: they read the process's ``Context`` (settings, database, clock, SQL
pool) with ``context(request)`` and the caller with ``principal(request)``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.auth import bearer_token
from clickhouse.client import Database
from core import metrics_auth
from core.settings import Settings
from indicators.access import Principal, authenticate
from indicators.sql_pool import LazySqlPool, SqlPool

Handler = Callable[[Request], Awaitable[Response]]
UNAUTHORIZED = "missing or wrong bearer token (Authorization: Bearer …)"


class Access(StrEnum):
    PUBLIC = "public"
    TOKEN = "token"
    EDITOR = "editor"
    ADMIN = "admin"
    METRICS = "metrics"


@dataclass
class Context:
    """What the handlers of one warehouse process share. ``clock`` (epoch seconds) is what
    "now" means (tests pass a fixed one); ``extra`` holds per-app objects (the sink)."""

    settings: Settings
    db: Database
    clock: Callable[[], float] = time.time
    sql: LazySqlPool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def sql_pool(self) -> SqlPool:
        """The connections reserved for free SQL and named queries (opened on first use)."""
        if self.sql is None:
            self.sql = LazySqlPool(self.settings, self.db, None)
        return self.sql.get()

    @property
    def admin_token(self) -> str:
        return self.settings.admin_token.get_secret_value()

    @property
    def max_days(self) -> int:
        """The longest period an indicator request may ask for (``EMC_API_MAX_RANGE_DAYS``)."""
        return self.settings.api_max_range_days


def context(request: Request) -> Context:
    """The process's ``Context`` (set on the app by ``api.app.create_app``)."""
    ctx: Context = request.app.state.ctx
    return ctx


def principal(request: Request) -> Principal:
    """The caller of a ``TOKEN``, ``EDITOR`` or ``ADMIN`` route (set by the guard before the
    handler)."""
    found: Principal = request.state.principal
    return found


def error(status: int, message: str) -> JSONResponse:
    """A 4xx/5xx answer in the API's convention: ``{"error": message}``."""
    return JSONResponse({"error": message}, status_code=status)


async def check(request: Request, access: Access, reason: str = "") -> Response | None:
    """None when ``request`` may use a route of ``access`` (``request.state.principal`` is
    then set for token routes), else the answer to send (``reason``: why a valid agency token
    is refused an admin route)."""
    if access is Access.PUBLIC:
        return None
    ctx = context(request)
    token = bearer_token(request)
    if access is Access.METRICS:
        accepted = metrics_auth.accepted_tokens(ctx.settings, admin_too=True)
        if metrics_auth.allowed(request.headers.get("authorization"), accepted):
            return None
        body = metrics_auth.unauthorized_body(admin_too=True)
        return JSONResponse(body, 401, headers=dict(metrics_auth.CHALLENGE))
    who = await asyncio.to_thread(authenticate, ctx.db, token, ctx.admin_token)
    if who is None:
        return error(401, UNAUTHORIZED)
    if access is Access.ADMIN and not who.is_admin:
        return error(403, reason or f"{request.url.path} needs the admin token")
    if access is Access.EDITOR and not who.can_edit:
        return error(403, reason or f"{request.url.path} needs an editor token (or the admin's)")
    request.state.principal = who
    return None


def guarded(handler: Handler, access: Access, reason: str = "") -> Handler:
    """``handler`` behind the access check."""

    async def checked(request: Request) -> Response:
        refusal = await check(request, access, reason)
        return refusal if refusal is not None else await handler(request)

    checked.__name__ = getattr(handler, "__name__", "handler")
    checked.__doc__ = handler.__doc__
    return checked


class GuardedRoute(Route):
    """A Starlette route that knows (and enforces) its access rule."""

    def __init__(
        self,
        path: str,
        endpoint: Handler,
        *,
        methods: Sequence[str],
        access: Access,
        reason: str = "",
    ) -> None:
        super().__init__(path, guarded(endpoint, access, reason), methods=list(methods))
        self.access = access
        self.handler = endpoint


def route(
    path: str, handler: Handler, *, methods: Sequence[str], access: Access, reason: str = ""
) -> Route:
    """The only way routes of the warehouse are made (``reason``: the 403 message for an agency
    token on an ``ADMIN`` route)."""
    return GuardedRoute(path, handler, methods=methods, access=access, reason=reason)
