"""Idle visitor state is evicted by the worker's timer in a real Faust worker: the entry leaves
the table, a tombstone reaches the changelog, and the visitor's next hit opens a new visit.

The worker runs ``streams.worker.run_worker`` in a subprocess with a 2 s session timeout, no
eviction margin and a 0.5 s timer (production: 30 min, +10 min, 60 s) so the test takes
seconds. Eviction needs both processing-time idleness and the partition's event-time
watermark past the visit (``sessionize.expire``): visitor C's hit one hour later in event time,
on the same partition, moves the watermark; C itself stays.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.topics import hit_key
from tests.integration.worker_env import settings_of, worker_env

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
T0 = 1_795_000_000_000
HOUR = 3_600_000
_RUNNER = """
import functools
import streams.app
from core.settings import load_settings
from streams.worker import run_worker

streams.app.create_app = functools.partial(
    streams.app.create_app, evict_interval_s=0.5, eviction_margin_s=0
)
run_worker(load_settings().model_copy(update={"session_timeout_s": 2}))
"""
UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def _hit(event_id: str, visitor: str, ts: int) -> tuple[bytes, bytes]:
    value = {
        "event_id": event_id,
        "site": "ev",
        "tz": "Asia/Ho_Chi_Minh",
        "ts": ts,
        "received_ms": ts,
        "type": "pageview",
        "url": f"https://ev.gov.vn/{event_id}",
        "ip": "14.160.1.1",
        "ua": UA,
        "visitor_id": f"vid-{visitor}",
        "source": "server",
    }
    return hit_key("ev", f"vk-{visitor}"), orjson.dumps(value)


async def _produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in messages:  # one partition: one watermark for every visitor
            await producer.send_and_wait(topic, value, key=key, partition=0)
    finally:
        await producer.stop()


async def _records(bootstrap: str, topic: str, count: int, timeout_s: float) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            for part in (await consumer.getmany(timeout_ms=300)).values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


async def _stats_until(port: str, evicted: int, timeout_s: float) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                stats = (await client.get(f"http://127.0.0.1:{port}/stats/")).json()
            except httpx.HTTPError:
                stats = {}
            if stats.get("sessionizer", {}).get("evicted", 0) >= evicted:
                break
            await asyncio.sleep(0.3)
    return stats


@pytest.mark.asyncio(loop_scope="session")
async def test_idle_state_is_evicted_with_a_tombstone_and_the_next_hit_opens_a_visit(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    from broker.topics import ensure_topics

    env = worker_env(kafka_bootstrap, "ev", tmp_path / "data", tmp_path / "missing.mmdb")
    settings = settings_of(env)
    topics = settings.topics
    await ensure_topics(kafka_bootstrap, topics.specs())
    log = tmp_path / "streams.log"
    process = subprocess.Popen(
        [sys.executable, "-c", _RUNNER],
        env={**os.environ, **env},
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        await _produce(
            kafka_bootstrap, topics.hits_raw, [_hit("a1", "A", T0), _hit("c1", "C", T0 + HOUR)]
        )
        first = await _records(kafka_bootstrap, topics.sessions, 2, timeout_s=90)
        assert len(first) == 2, log.read_text()[-3000:]
        stats = await _stats_until(env["EMC_STREAMS_WEB_PORT"], evicted=1, timeout_s=30)
        assert stats["sessionizer"]["evicted"] >= 1, (stats, log.read_text()[-3000:])

        # 1 s after A's first hit by event time: it would have joined A's visit
        await _produce(kafka_bootstrap, topics.hits_raw, [_hit("a2", "A", T0 + 1000)])
        updates = await _records(kafka_bootstrap, topics.sessions, 3, timeout_s=60)
        assert len(updates) == 3, log.read_text()[-3000:]
        changelog = f"{settings.consumer_group_prefix}-streams-visitors-changelog"
        entries = await _records(kafka_bootstrap, changelog, 4, timeout_s=30)
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 60)
    assert code == 0, log.read_text()[-3000:]

    by_key = {r.key: orjson.loads(r.value) for r in updates[:2]}
    last = orjson.loads(updates[2].value)
    assert updates[2].key == hit_key("ev", "vk-A")
    assert last["prev"] is None  # the state was gone: a new visit, not version 2 of A's
    assert last["cur"]["session_id"] != by_key[hit_key("ev", "vk-A")]["cur"]["session_id"]
    assert (last["cur"]["start_ms"], last["cur"]["version"]) == (T0 + 1000, 1)

    tombstones = [r.key for r in entries if r.value is None]
    assert hit_key("ev", "vk-A") in tombstones  # changelog replay will not bring A back
    assert hit_key("ev", "vk-C") not in tombstones  # the watermark is C's own time: C stays
    assert "Traceback" not in log.read_text()
