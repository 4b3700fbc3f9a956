"""A site registered through the warehouse API is accepted by the collector at once (issue 12).

The warehouse app runs on the real ClickHouse engine; the collector app runs in-process with
its real site cache, which loads the registry from that warehouse over ASGI, and the recording
producer of the unit tests (Kafka plays no part in this contract). Before the fix the
collector refused the first hits of a new site with 422 "unknown site" for up to a second:
its cache reloaded at most once a second and answered "unknown" instead of waiting.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from api.app import create_app as create_warehouse
from clickhouse.client import Database
from core.settings import Settings
from ingest.app import create_app as create_collector
from ingest.sites import MAX_UNKNOWN_WAIT_S, SiteCache
from schemas.sites import Site, SiteType
from tests.unit.ingest.test_app import FakeProducer

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ADMIN = {"Authorization": "Bearer adm"}
NDJSON = {"Content-Type": "application/x-ndjson"}


def _hit(site: str) -> bytes:
    now_ms = int(time.time() * 1000)
    line = {"site": site, "url": f"https://{site}.gov.vn/", "ts": now_ms, "ip": "203.0.113.9"}
    return orjson.dumps({**line, "ua": "Mozilla/5.0"})


async def test_a_site_registered_through_the_warehouse_is_accepted_at_once(
    clickhouse_engine: Any, ch_database: str, tmp_path: Path
) -> None:
    settings = Settings(  # type: ignore[arg-type]
        clickhouse_database=ch_database,
        admin_token="adm",
        secret_key="sk",
        data_dir=tmp_path,
        api_url="http://warehouse",
    )
    warehouse = create_warehouse(settings, Database(clickhouse_engine, ch_database))
    registry = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=warehouse), base_url="http://warehouse"
    )
    producer = FakeProducer()
    collector = create_collector(
        settings, producer=producer, sites=SiteCache(settings, client=registry)
    )
    async with collector.router.lifespan_context(collector):  # loads the (empty) registry
        transport = httpx.ASGITransport(app=collector)
        async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
            for site_id, token in (("fresh", "tok-fresh"), ("fresher", "")):
                # what `emc sites add` does: PUT on the warehouse API, then traffic at once
                site = Site(
                    id=site_id,
                    name=site_id,
                    type=SiteType.PORTAL,
                    domains=(f"{site_id}.gov.vn",),
                    ingest_token=token,
                )
                put = await registry.put(
                    f"/api/v1/sites/{site_id}", json=site.model_dump(mode="json"), headers=ADMIN
                )
                assert put.status_code == 200, put.text
                started = time.monotonic()
                auth = {"Authorization": f"Bearer {token}"} if token else ADMIN
                hit = await client.post(
                    "/v1/hits", content=_hit(site_id), headers={**auth, **NDJSON}
                )
                assert hit.status_code == 202, hit.text
                assert time.monotonic() - started <= MAX_UNKNOWN_WAIT_S + 1
            ready = await client.get("/sites/fresh/ready", headers=ADMIN)
            assert ready.status_code == 200 and ready.json()["ready"] is True
            unknown = await client.post(
                "/v1/hits", content=_hit("nope"), headers={**ADMIN, **NDJSON}
            )
            assert unknown.status_code == 422
            assert unknown.json()["rejected"][0]["reason"] == "unknown_site"
            not_ready = await client.get("/sites/nope/ready", headers=ADMIN)
            assert not_ready.status_code == 404
    assert [m["site"] for m in producer.messages()] == ["fresh", "fresher"]
