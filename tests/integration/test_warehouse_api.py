"""The warehouse HTTP API on the real ClickHouse engine, and the warehouse process itself."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from clickhouse.client import Database
from core.settings import Settings
from indicators.sql import limits
from sink.sink import Sink
from tests.conftest import free_port

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

REPO = Path(__file__).resolve().parents[2]
TOKEN = "api-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest_asyncio.fixture(loop_scope="session")
async def api(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    db.command(
        "INSERT INTO sites (id, name, type, updated_at) VALUES ('a', 'A', 'portal', now64())"
    )
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_health_and_readiness(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    assert (await api.get("/readyz")).status_code == 200


async def test_readiness_fails_with_the_reason_when_the_sink_is_not_running(
    clickhouse_engine: Any, ch_database: str
) -> None:
    settings = Settings(clickhouse_database=ch_database)
    db = Database(clickhouse_engine, ch_database)
    app = create_app(settings, db, Sink(settings, db))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert "sink is not running" in response.json()["error"]


async def test_sql_runs_in_the_emc_database(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/sql", json={"sql": "SELECT count() AS n FROM sites"}, headers=AUTH
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"columns": ["n"], "types": ["UInt64"], "rows": [[1]]}


async def test_sql_returns_csv_and_tsv(api: httpx.AsyncClient) -> None:
    sql = "SELECT number AS n, toString(number) AS s FROM numbers(2)"
    csv_text = (
        await api.post("/api/v1/sql", json={"sql": sql, "format": "csv"}, headers=AUTH)
    ).text
    assert csv_text == "n,s\n0,0\n1,1\n"
    tsv = await api.post("/api/v1/sql", json={"sql": sql, "format": "tsv"}, headers=AUTH)
    assert tsv.text == "n\ts\n0\t0\n1\t1\n"


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO sites (id) VALUES ('x')",
        "DROP TABLE pageviews",
        "SELECT 1; DROP TABLE pageviews",
        "ALTER TABLE sites DELETE WHERE 1",
        "SELECT 1 INTO OUTFILE '/tmp/x.csv'",
        "  -- comment\n  TRUNCATE TABLE sites",
        # starts like a read; clickhouse-connect would route it through its insert path, which
        # on chDB would leave the shared session read-only for good (the sink could not write)
        "WITH 1 AS x INSERT INTO sites (id) SELECT toString(x)",
        "with 1 as x\ninsert  into sites (id) select 'y'",
    ],
)
async def test_sql_refuses_anything_but_reads(api: httpx.AsyncClient, sql: str) -> None:
    response = await api.post("/api/v1/sql", json={"sql": sql}, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"].startswith("sql:")
    count = await api.post("/api/v1/sql", json={"sql": "SELECT count() FROM sites"}, headers=AUTH)
    assert count.json()["rows"] == [[1]]


async def test_reads_that_look_like_writes_inside_strings_are_allowed(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/api/v1/sql", json={"sql": "SELECT 'DROP TABLE x; ok' AS s;"}, headers=AUTH
    )
    assert response.json()["rows"] == [["DROP TABLE x; ok"]]


async def test_bad_sql_answers_400_with_clickhouse_message(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/sql", json={"sql": "SELECT * FROM nope"}, headers=AUTH)
    assert response.status_code == 400
    assert "UNKNOWN_TABLE" in response.json()["error"]


async def test_row_limit_can_be_lowered_and_is_enforced(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/sql", json={"sql": "SELECT number FROM numbers(100)", "max_rows": 5}, headers=AUTH
    )
    assert response.status_code == 400
    assert "TOO_MANY_ROWS" in response.json()["error"]
    assert limits(10**9, 999.0, ceiling_rows=100_000, ceiling_s=30.0) == (100_000, 30.0)
    assert limits(5, 1.5, ceiling_rows=100_000, ceiling_s=30.0) == (5, 1.5)


async def test_readonly_queries_leave_the_engine_writable(
    api: httpx.AsyncClient, clickhouse_engine: Any, ch_database: str
) -> None:
    for sql in ["SELECT 1", "SHOW TABLES", "DESCRIBE TABLE sites", "EXPLAIN SELECT 1"]:
        response = await api.post("/api/v1/sql", json={"sql": sql}, headers=AUTH)
        assert response.status_code == 200, (sql, response.text)
    refused = await api.post(
        "/api/v1/sql", json={"sql": "WITH 1 AS x INSERT INTO sites (id) SELECT 'z'"}, headers=AUTH
    )
    assert refused.status_code == 400
    db = Database(clickhouse_engine, ch_database)
    db.command("CREATE TABLE scratch (a UInt8) ENGINE = Memory")
    assert db.query("EXISTS TABLE scratch").result_rows == [(1,)]


async def test_every_api_route_needs_the_token(api: httpx.AsyncClient) -> None:
    for method, path in [
        ("POST", "/api/v1/sql"),
        ("GET", "/api/v1/sites"),
        ("GET", "/api/v1/sites/a"),
    ]:
        for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]:
            response = await api.request(method, path, headers=headers, json={"sql": "SELECT 1"})
            assert response.status_code == 401, (method, path, headers)
            assert "bearer token" in response.json()["error"]


async def test_sites_upsert_list_get_delete(api: httpx.AsyncClient) -> None:
    site = {
        "id": "hcm",
        "name": "TP. Hồ Chí Minh",
        "type": "portal",
        "domains": ["hochiminhcity.gov.vn"],
        "timezone": "Asia/Ho_Chi_Minh",
        "ingest_token": "secret-1",
        "agency_id": "",
        "parent_site": "",
        "matomo_id": 7,
    }
    put = await api.put("/api/v1/sites/hcm", json=site, headers=AUTH)
    assert put.status_code == 200, put.text
    assert put.json() == site
    listed = (await api.get("/api/v1/sites", headers=AUTH)).json()
    assert [s["id"] for s in listed] == ["a", "hcm"]
    assert listed[1]["ingest_token"] == "secret-1"
    assert (await api.get("/api/v1/sites/hcm", headers=AUTH)).json() == site
    assert (await api.delete("/api/v1/sites/hcm", headers=AUTH)).status_code == 200
    missing = await api.get("/api/v1/sites/hcm", headers=AUTH)
    assert missing.status_code == 404
    assert "hcm" in missing.json()["error"]


async def test_an_invalid_site_answers_422_naming_the_field(api: httpx.AsyncClient) -> None:
    bad = {"name": "X", "type": "portal", "domains": ["not a domain"]}
    response = await api.put("/api/v1/sites/x", json=bad, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"].startswith("domains.0")
    other = await api.put("/api/v1/sites/x", json={**bad, "id": "y", "domains": []}, headers=AUTH)
    assert other.status_code == 422
    assert other.json()["error"].startswith("id:")
    tz = await api.put(
        "/api/v1/sites/x",
        json={"name": "X", "type": "portal", "timezone": "Mars/Base"},
        headers=AUTH,
    )
    assert tz.json()["error"].startswith("timezone")


async def test_the_warehouse_process_serves_and_stops_cleanly(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """``python -m api.warehouse`` in its own process (its own chDB folder): migrations, sink,
    API; SIGTERM stops it with exit code 0."""
    port = free_port()
    env = {
        **os.environ,
        "EMC_DATA_DIR": str(tmp_path / "data"),
        "EMC_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "EMC_TOPIC_PREFIX": f"w{uuid.uuid4().hex[:8]}.",
        "EMC_CONSUMER_GROUP_PREFIX": f"w{uuid.uuid4().hex[:8]}",
        "EMC_API_PORT": str(port),
        "EMC_ADMIN_TOKEN": TOKEN,
        "EMC_LOG_LEVEL": "WARNING",
    }
    from broker.topics import ensure_topics

    await ensure_topics(
        kafka_bootstrap, Settings(topic_prefix=env["EMC_TOPIC_PREFIX"]).topics.specs()
    )
    log_path = tmp_path / "warehouse.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.warehouse"],
        cwd=REPO,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 90
            ready = False
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    ready = (await client.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    ready = False
                if ready:
                    break
                await asyncio.sleep(0.3)
            assert ready, log_path.read_text()
            response = await client.post(
                "/api/v1/sql", json={"sql": "SELECT count() FROM pageviews"}, headers=AUTH
            )
            assert response.json()["rows"] == [[0]]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
