"""``emc api`` builds the query API without a sink, ``emc sink`` only the probes and
``/metrics`` (``api.warehouse.build_app``); no database is touched to build either."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.warehouse import Role, build_app
from core.settings import Settings

TOKEN = "admin-secret"


class _PingOnly:
    """A database that answers the readiness ping and nothing else."""

    database = "emc"

    def ping(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was used ({name})")


def _settings() -> Settings:
    return Settings(admin_token=TOKEN, clickhouse_url="http://ch:8123")  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_api_replica_has_every_route_and_no_sink() -> None:
    app, _ = build_app(_settings(), _PingOnly(), Role.API)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as c:
        ready = await c.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ok"}
        # query routes are there (the guard answers before any database call)
        assert (await c.post("/api/v1/sql", json={"sql": "SELECT 1"})).status_code == 401
        metrics = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert metrics.status_code == 200
        assert "emc_sink_" not in metrics.text


@pytest.mark.asyncio
async def test_sink_process_serves_probes_and_metrics_only() -> None:
    app, _ = build_app(_settings(), _PingOnly(), Role.SINK)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.get("/readyz")).status_code == 200
        assert (await c.post("/api/v1/sql", json={"sql": "SELECT 1"})).status_code == 404
        metrics = await c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert metrics.status_code == 200
