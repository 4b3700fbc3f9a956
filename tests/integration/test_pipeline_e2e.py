"""End to end on the real parts: collector → Kafka → Faust worker → sink → ClickHouse (chDB).

The collector and the sink run in this process (the sink shares the session's chDB engine), the
Faust worker runs as a subprocess exactly as in production. Inputs are the known-answer scenario
of ``tests/integration/scenario.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from broker.lag import group_lag
from broker.topics import ensure_topics
from core.settings import Settings
from schemas.sites import Site, SiteType
from tests.conftest import free_port
from tests.integration import scenario

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 20)


@dataclass
class Stack:
    settings: Settings
    collector_url: str
    db: Any
    token: str

    async def post_hits(self, lines: list[dict[str, Any]]) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.collector_url, timeout=30) as client:
            return await client.post(
                "/v1/hits",
                content=b"\n".join(orjson.dumps(line) for line in lines),
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/x-ndjson",
                },
            )

    def scalar(self, sql: str) -> Any:
        return self.db.query(sql).result_rows[0][0]

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.db.query(sql).result_rows]

    async def drained(self, timeout_s: float = 90.0) -> None:
        """Wait until the streams and sink groups have committed everything produced so far."""
        s = self.settings
        groups = {
            f"{s.consumer_group_prefix}-streams": [s.topics.hits_raw, s.topics.dossiers_raw],
            f"{s.consumer_group_prefix}-sink": [
                s.topics.pageviews,
                s.topics.sessions,
                s.topics.dossiers,
            ],
        }
        deadline = time.monotonic() + timeout_s
        stable = 0
        while time.monotonic() < deadline:
            lags = [await group_lag(s.bootstrap_servers, g, t) for g, t in groups.items()]
            stable = stable + 1 if sum(lags) == 0 else 0
            if stable >= 2:
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"pipeline not drained within {timeout_s} s (lags {lags})")


def _build_geoip(path: Path) -> Path:
    from tests.mmdb_builder import build_country_mmdb

    return build_country_mmdb(path, scenario.GEO_NETWORKS, "flat")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(
    kafka_bootstrap: str, clickhouse_engine: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    from clickhouse.client import Database
    from clickhouse.migrate import migrate
    from ingest.app import create_app
    from ingest.sites import SiteCache
    from sink.sink import Sink

    tmp = tmp_path_factory.mktemp("e2e")
    run = uuid.uuid4().hex[:8]
    database = f"e2e_{run}"
    clickhouse_engine.command(f"CREATE DATABASE {database}")
    migrate(clickhouse_engine, database)
    env = {
        "EMC_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "EMC_TOPIC_PREFIX": f"e2e{run}.",
        "EMC_CONSUMER_GROUP_PREFIX": f"e2e{run}",
        "EMC_DATA_DIR": str(tmp / "data"),
        "EMC_GEOIP_DB": str(_build_geoip(tmp / "geo.mmdb")),
        "EMC_CLICKHOUSE_DATABASE": database,
        "EMC_COLLECTOR_PORT": str(free_port()),
        "EMC_STREAMS_WEB_PORT": str(free_port()),
        "EMC_SINK_FLUSH_INTERVAL_MS": "200",
        "EMC_ADMIN_TOKEN": "e2e-token",
        "EMC_SECRET_KEY": "e2e-secret",
        "EMC_LOG_LEVEL": "WARNING",
    }
    settings = Settings(**{k[4:].lower(): v for k, v in env.items()})  # type: ignore[arg-type]
    await ensure_topics(settings.bootstrap_servers, settings.topics.specs())

    worker = subprocess.Popen(
        [sys.executable, "-m", "streams"],
        env={**os.environ, **env},
        cwd=REPO,
        stdout=(tmp / "streams.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    db = Database(clickhouse_engine, database)
    sink = Sink(settings, db)
    stop = asyncio.Event()
    sink_task = asyncio.create_task(sink.run(stop))
    site = Site(id=scenario.SITE, name="E2E", type=SiteType.PORTAL, domains=(scenario.DOMAIN,))
    app = create_app(settings, sites=SiteCache.static([site]))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=settings.collector_port, log_level="warning")
    )
    server_task = asyncio.create_task(server.serve())
    url = f"http://127.0.0.1:{settings.collector_port}"
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    break
            await asyncio.sleep(0.1)
    try:
        yield Stack(settings, url, db, "e2e-token")
    finally:
        server.should_exit = True
        await server_task
        stop.set()
        await asyncio.wait_for(sink_task, timeout=60)
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {database} SYNC")


def _day_numbers(stack: Stack) -> dict[str, Any]:
    site, d = scenario.SITE, DAY.isoformat()
    visits = stack.rows(
        f"SELECT sum(visits), sum(pageviews), sum(bounces), sum(duration_ms) FROM visits_hourly "
        f"WHERE site = '{site}' AND toDate(hour) = '{d}'"
    )[0]
    return {
        "visits": visits[0],
        "visit_pageviews": visits[1],
        "bounces": visits[2],
        "duration_s": visits[3] / 1000,
        "pageviews_by_hit_time": stack.scalar(
            f"SELECT count() FROM pageviews FINAL WHERE site = '{site}' AND type = 'pageview' "
            f"AND toDate(local_ts) = '{d}'"
        ),
        "unique_visitors": stack.scalar(
            f"SELECT uniqExact(visitor_id) FROM pageviews FINAL WHERE site = '{site}' "
            f"AND toDate(local_ts) = '{d}'"
        ),
        "bot_hits": stack.scalar(f"SELECT count() FROM bot_hits WHERE site = '{site}'"),
    }


@pytest.mark.asyncio(loop_scope="session")
async def test_known_scenario_gives_exact_numbers(stack: Stack) -> None:
    response = await stack.post_hits(scenario.hits())
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": len(scenario.hits()), "rejected": []}
    await stack.drained()

    assert _day_numbers(stack) == scenario.EXPECTED_DAY
    # the rollup agrees with the truth recomputed from the raw sessions table
    raw = stack.rows(
        f"SELECT sum(sign), sum(sign * pageviews), sum(sign * is_bounce) FROM sessions "
        f"WHERE site = '{scenario.SITE}' AND toDate(start_local) = '{DAY.isoformat()}'"
    )[0]
    assert raw == (6, 9, 3)
    countries = dict(
        stack.rows(
            f"SELECT key, sum(visits) FROM visits_by_dim_daily WHERE site = '{scenario.SITE}' "
            f"AND dim = 'country' AND date = '{DAY.isoformat()}' GROUP BY key"
        )
    )
    assert countries == scenario.EXPECTED_COUNTRY_VISITS
    devices = dict(
        stack.rows(
            f"SELECT key, sum(visits) FROM visits_by_dim_daily WHERE site = '{scenario.SITE}' "
            f"AND dim = 'device' AND date = '{DAY.isoformat()}' GROUP BY key"
        )
    )
    assert devices == scenario.EXPECTED_DEVICE_VISITS
    # the visit across midnight counts on its first day only; its last pageview on the next day
    next_day = stack.rows(
        f"SELECT sum(visits) FROM visits_hourly WHERE site = '{scenario.SITE}' "
        f"AND toDate(hour) = '2026-11-21'"
    )[0][0]
    assert next_day in (0, None)
    assert (
        stack.scalar(
            f"SELECT count() FROM pageviews WHERE site = '{scenario.SITE}' "
            f"AND toDate(local_ts) = '2026-11-21'"
        )
        == 1
    )
    # the raw IP never reaches ClickHouse
    leaked = stack.scalar(
        "SELECT count() FROM pageviews WHERE position(visitor_id, '14.160') > 0 "
        "OR position(url, '14.160.1.1') > 0"
    )
    assert leaked == 0


@pytest.mark.asyncio(loop_scope="session")
async def test_the_same_hits_sent_again_change_no_number(stack: Stack) -> None:
    await stack.drained()
    before = _day_numbers(stack)
    response = await stack.post_hits(scenario.hits())
    assert response.status_code == 202
    await stack.drained()
    assert _day_numbers(stack) == before == scenario.EXPECTED_DAY


@pytest.mark.asyncio(loop_scope="session")
async def test_bad_lines_are_reported_and_good_lines_kept(stack: Stack) -> None:
    good = {
        "site": scenario.SITE,
        "url": f"https://{scenario.DOMAIN}/ok",
        "ts": "2026-11-19T10:00:00+07:00",
        "ip": "27.64.9.9",
        "ua": scenario.UA_CHROME,
        "event_id": "e2e-mixed-ok",
    }
    lines = [
        good,
        {**good, "event_id": "e2e-bad-ts", "ts": "yesterday"},
        {**good, "event_id": "e2e-unknown-site", "site": "nope"},
        {**good, "event_id": "e2e-foreign", "url": "https://evil.example.com/"},
    ]
    response = await stack.post_hits(lines)
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 1
    rejected = {r["line"]: r for r in body["rejected"]}
    assert set(rejected) == {2, 3, 4}
    assert rejected[2]["field"] == "ts"
    await stack.drained()
    assert stack.scalar("SELECT count() FROM pageviews WHERE event_id = 'e2e-mixed-ok'") == 1


@pytest.mark.asyncio(loop_scope="session")
async def test_dossier_events_reach_clickhouse(stack: Stack) -> None:
    events = [
        {
            "event_id": f"e2e-d-{i}",
            "site": scenario.SITE,
            "dossier_code": "H26-0001",
            "procedure_code": "1.004227",
            "status": status,
            "ts": f"2026-11-20T{8 + i:02d}:00:00+07:00",
            "channel": "online",
            "received_at": "2026-11-20T09:00:00+07:00",
            "due_at": "2026-11-25T17:00:00+07:00",
        }
        for i, status in enumerate(["submitted", "received", "resolved"])
    ]
    async with httpx.AsyncClient(base_url=stack.collector_url, timeout=30) as client:
        response = await client.post(
            "/v1/dossiers",
            json=[*events, {**events[0], "status": "lost"}],
            headers={"Authorization": f"Bearer {stack.token}"},
        )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 3
    assert response.json()["rejected"][0]["field"] == "status"
    await stack.drained()
    stored = stack.rows(
        f"SELECT status, toHour(local_ts) FROM dossier_events FINAL WHERE site = '{scenario.SITE}' "
        "ORDER BY ts"
    )
    assert stored == [("submitted", 8), ("received", 9), ("resolved", 10)]


@pytest.mark.asyncio(loop_scope="session")
async def test_garbage_on_the_raw_topic_goes_to_dead_letters(stack: Stack) -> None:
    s = stack.settings
    producer = AIOKafkaProducer(bootstrap_servers=s.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(s.topics.hits_raw, b"{not json", key=b"e2e|garbage")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        s.topics.deadletters,
        bootstrap_servers=s.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while not found and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                found += [
                    orjson.loads(r.value) for r in records if r.value and b"{not json" in r.value
                ]
    finally:
        await consumer.stop()
    assert found, "no dead letter for the garbage message"
    letter = found[0]
    assert letter["source_topic"] == s.topics.hits_raw
    assert letter["payload"] == "{not json"
    assert letter["reason"]
