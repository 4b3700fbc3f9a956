"""Every route of the warehouse declares its access rule (``api.guard``), and the guard
enforces it before any handler runs: a route added without a rule, or made another way, fails
here."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route

from api.app import create_app
from api.guard import Access, GuardedRoute
from api.ops import instrument
from core.settings import Settings

TOKEN = "admin-secret"


class _NoDatabase:
    """Stands where the database would: a guarded route must refuse before touching it."""

    database = "emc"

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was used ({name}) before the access check")


def _app() -> Any:
    settings = Settings(admin_token=TOKEN)  # type: ignore[arg-type]
    app = create_app(settings, _NoDatabase())  # type: ignore[arg-type]
    instrument(app, None, settings)
    return app


def test_every_route_declares_its_access() -> None:
    app = _app()
    undeclared = [
        f"{sorted(r.methods or [])} {r.path}"
        for r in app.router.routes
        if isinstance(r, Route | Mount) and not isinstance(r, GuardedRoute)
    ]
    assert undeclared == []
    rules = {(r.path, tuple(sorted(r.methods or []))): r.access for r in app.router.routes}
    assert all(isinstance(a, Access) for a in rules.values())
    # a few rules that must not drift
    assert rules[("/healthz", ("GET", "HEAD"))] is Access.PUBLIC
    assert rules[("/api/v1/sites", ("GET", "HEAD"))] is Access.ADMIN
    assert rules[("/api/v1/tokens", ("POST",))] is Access.EDITOR  # viewer tokens below (issue 18)
    assert rules[("/api/v1/agencies/load", ("POST",))] is Access.ADMIN
    assert rules[("/api/v1/sql", ("POST",))] is Access.TOKEN
    assert rules[("/metrics", ("GET", "HEAD"))] is Access.METRICS
    # the official forms: scoped to the token's subtree; rankings compare every agency
    for form in ("quarterly", "online-services", "resolution", "sources"):
        assert rules[(f"/api/v1/reports/{form}", ("GET", "HEAD"))] is Access.TOKEN
    assert rules[("/api/v1/reports/rankings", ("GET", "HEAD"))] is Access.ADMIN
    assert rules[("/api/v1/scorecard", ("GET", "HEAD"))] is Access.TOKEN
    assert len(rules) >= 45


@pytest.mark.parametrize(
    "route",
    [
        r
        for r in _app().router.routes
        if isinstance(r, GuardedRoute) and r.access in (Access.TOKEN, Access.EDITOR, Access.ADMIN)
    ],
    ids=lambda r: f"{sorted(r.methods)[0]} {r.path}",
)
async def test_token_routes_refuse_without_a_token_before_the_handler(route: GuardedRoute) -> None:
    app = _app()
    path = route.path.replace("{path:path}", "x").replace("{", "").replace("}", "")
    method = sorted(route.methods or ["GET"])[0]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.request(method, path)
    assert response.status_code == 401, (method, path, response.text)
    assert "bearer token" in response.json()["error"]
