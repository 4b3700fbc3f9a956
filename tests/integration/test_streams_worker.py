"""The Faust worker as in production: ``python -m streams`` in a subprocess against the session
broker. Raw hits, a bot, garbage and a dossier event in; the exact messages out.

"Exact": the worker's output must equal, message by message, what the pure handlers produce
for the same input (tests/unit pin those down rule by rule), plus hand-checked visit numbers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from core.settings import Settings
from schemas.topics import hit_key
from streams.app import DossierHandler, HitHandler, Incoming
from streams.enrich.geoip import GeoIP
from streams.enrich.metrics import StreamCounters
from streams.enrich.pipeline import build_pipeline
from streams.enrich.useragent import UserAgentParser
from tests.integration import scenario
from tests.integration.worker_env import settings_of, worker_env
from tests.mmdb_builder import build_country_mmdb

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MIN = 60_000
T0 = 1_795_000_000_000  # 2026-11-18T…Z
TZ = "Asia/Ho_Chi_Minh"


async def _ensure_topics(settings: Settings) -> None:
    try:
        from broker.topics import ensure_topics
    except ImportError:  # pragma: no cover - fallback while broker.topics is missing
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic

        admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics(
                [NewTopic(s.name, s.partitions, 1) for s in settings.topics.specs()]
            )
        finally:
            await admin.close()
        return
    await ensure_topics(settings.bootstrap_servers, settings.topics.specs())


@dataclass
class Worker:
    settings: Settings
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path


def _raw(event_id: str, visitor: str, ts: int, **changes: Any) -> tuple[bytes, bytes]:
    hit = {
        "event_id": event_id,
        "site": "w1",
        "tz": TZ,
        "ts": ts,
        "received_ms": ts + 20,
        "type": "pageview",
        "url": f"https://w1.gov.vn/{event_id}?x=1",
        "referrer": "",
        "ip": "14.160.1.1",
        "ua": scenario.UA_CHROME,
        "visitor_id": f"vid-{visitor}",
        "source": "server",
        **changes,
    }
    return hit_key("w1", f"vk-{visitor}"), orjson.dumps(hit)


def _inputs() -> list[tuple[bytes, bytes]]:
    return [
        _raw("a1", "A", T0),
        _raw("a2", "A", T0 + 10 * MIN, referrer="https://www.google.com/"),
        _raw("b1", "B", T0, ip="8.8.8.8", ua=scenario.UA_IPHONE),
        _raw("b2", "B", T0 + 31 * MIN, ip="8.8.8.8", ua=scenario.UA_IPHONE),  # 31-min gap
        _raw("bot1", "bot", T0, ua=scenario.UA_CURL),
        (b"w1|garbage", b"{not json"),
    ]


_DOSSIER = orjson.dumps(
    {
        "event_id": "wd1",
        "site": "w1",
        "dossier_code": "H1",
        "status": "received",
        "ts": T0,
        "tz": TZ,
        "received_ms": T0 + 1,
        "channel": "online",
    }
)


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "streams"],
        # PYTHONFAULTHANDLER: every thread's stack in the log if the worker is aborted
        env={**os.environ, **env, "PYTHONFAULTHANDLER": "1"},
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    tmp = tmp_path_factory.mktemp("streams")
    env = worker_env(
        kafka_bootstrap,
        "sw",
        tmp / "data",
        build_country_mmdb(tmp / "geo.mmdb", scenario.GEO_NETWORKS),
    )
    settings = settings_of(env)
    asyncio.run(_ensure_topics(settings))
    log = tmp / "streams.log"
    process = _start(env, log)
    try:
        yield Worker(settings, env, process, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def _produce(settings: Settings, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _consume(
    settings: Settings, topics: list[str], count: int, timeout_s: float, worker: Worker | None
) -> list[Any]:
    """The first ``count`` records of ``topics`` (fewer when the time is up or the worker died)."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            if worker is not None and worker.process.poll() is not None:
                break
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


async def _diagnose(worker: Worker) -> str:
    """What a stuck worker was doing: its counters, then every thread's stack (faulthandler
    dumps them on SIGABRT into the log), then the log's tail. Ends the worker."""
    import httpx

    port = worker.env["EMC_STREAMS_WEB_PORT"]
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            stats = (await client.get(f"http://127.0.0.1:{port}/stats/")).text
    except httpx.HTTPError as exc:
        stats = f"no answer on /stats/: {exc!r}"
    code = worker.process.poll()
    if code is None:
        worker.process.send_signal(signal.SIGABRT)
        code = await asyncio.to_thread(worker.process.wait, 30)
    return f"exit {code}; stats {stats}\n{worker.log.read_text()[-6000:]}"


def _expected(settings: Settings, tmp: Path) -> list[tuple[str, bytes | None, dict[str, Any]]]:
    """What the pure handlers produce for the same input, in order."""
    counters = StreamCounters()
    geo = GeoIP(build_country_mmdb(tmp / "geo.mmdb", scenario.GEO_NETWORKS))
    hits = HitHandler(settings, build_pipeline(geo, UserAgentParser(), counters), counters)
    table: dict[bytes, Any] = {}
    out: list[tuple[str, bytes | None, dict[str, Any]]] = []
    for offset, (key, value) in enumerate(_inputs()):
        outcome = hits.handle(
            Incoming(settings.topics.hits_raw, 0, offset, key, value), table.get(key), 0
        )
        if outcome.state is not None:
            table[key] = outcome.state
        out += [(m.topic, m.key, orjson.loads(m.value)) for m in outcome.messages]
    dossier = DossierHandler(settings, counters).handle(
        Incoming(settings.topics.dossiers_raw, 0, 0, b"w1|H1", _DOSSIER), 0
    )
    out += [(m.topic, m.key, orjson.loads(m.value)) for m in dossier]
    return out


def _comparable(topic: str, value: dict[str, Any]) -> dict[str, Any]:
    if "failed_ms" in value:  # a dead letter: time and position differ by nature
        return {k: v for k, v in value.items() if k not in ("failed_ms", "partition", "offset")}
    return value


@pytest.mark.asyncio(loop_scope="session")
async def test_worker_emits_exactly_what_the_pure_handlers_emit(
    worker: Worker, tmp_path: Path
) -> None:
    s = worker.settings
    await _produce(s, s.topics.hits_raw, _inputs())
    await _produce(s, s.topics.dossiers_raw, [(b"w1|H1", _DOSSIER)])
    expected = _expected(s, tmp_path)
    outputs = [s.topics.pageviews, s.topics.sessions, s.topics.dossiers, s.topics.deadletters]
    records = await _consume(s, outputs, len(expected), timeout_s=120, worker=worker)
    if len(records) < len(expected):
        pytest.fail(f"{len(records)}/{len(expected)} messages:\n{await _diagnose(worker)}")
    got = sorted(
        (
            r.topic,
            r.key,
            orjson.dumps(_comparable(r.topic, orjson.loads(r.value)), option=orjson.OPT_SORT_KEYS),
        )
        for r in records
    )
    want = sorted(
        (t, k, orjson.dumps(_comparable(t, v), option=orjson.OPT_SORT_KEYS)) for t, k, v in expected
    )
    assert got == want, worker.log.read_text()[-3000:]

    # and the numbers by hand: A one visit of 2 pageviews, B two bounced visits, the bot apart
    sessions = [orjson.loads(r.value) for r in records if r.topic == s.topics.sessions]
    final = {u["cur"]["session_id"]: u["cur"] for u in sessions}
    by_visitor = sorted(
        (row["visitor_id"], row["pageviews"], row["is_bounce"]) for row in final.values()
    )
    assert by_visitor == [("vid-A", 2, False), ("vid-B", 1, True), ("vid-B", 1, True)]
    pageviews = [orjson.loads(r.value) for r in records if r.topic == s.topics.pageviews]
    bots = [p for p in pageviews if p["is_bot"]]
    assert [(b["event_id"], b["bot_reason"], b["session_id"]) for b in bots] == [
        ("bot1", "script:curl", "")
    ]
    assert {p["country"] for p in pageviews if p["visitor_id"] == "vid-B"} == {"US"}
    (letter,) = [orjson.loads(r.value) for r in records if r.topic == s.topics.deadletters]
    assert (letter["reason"], letter["payload"], letter["stage"]) == (
        "invalid_json",
        "{not json",
        "streams.hits",
    )
    assert letter["source_topic"] == s.topics.hits_raw
    # every output keeps the input's key, hence its partition (same partition count)
    partitions: dict[bytes, set[int]] = {}
    for r in records:
        if r.topic in (s.topics.pageviews, s.topics.sessions):
            partitions.setdefault(r.key, set()).add(r.partition)
    assert all(len(p) == 1 for p in partitions.values())


@pytest.mark.asyncio(loop_scope="session")
async def test_worker_serves_its_counters_and_stops_cleanly_on_sigterm(worker: Worker) -> None:
    import httpx

    port = worker.env["EMC_STREAMS_WEB_PORT"]
    async with httpx.AsyncClient(timeout=10) as client:
        stats: dict[str, Any] = {}
        for _ in range(60):
            stats = (await client.get(f"http://127.0.0.1:{port}/stats/")).json()
            if stats["messages"].get("hits", 0) >= 6:
                break
            await asyncio.sleep(0.5)
    assert stats["messages"]["hits"] >= 6
    assert stats["flagged"] == {"script:curl": 1}
    assert stats["dead_letters"] == {"streams.hits/invalid_json": 1}
    assert stats["sessionizer"]["applied"] == 4

    worker.process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(worker.process.wait, 60)
    assert code == 0, worker.log.read_text()[-3000:]
    log = worker.log.read_text()
    assert "Traceback" not in log, log[-3000:]


@pytest.mark.asyncio(loop_scope="session")
async def test_visitor_state_survives_a_restart(worker: Worker) -> None:
    """The table is rebuilt from its changelog: a hit after the restart continues A's visit."""
    assert worker.process.poll() is not None, "the previous test stops the first worker"
    s = worker.settings
    before = await _consume(s, [s.topics.sessions], 4, timeout_s=30, worker=None)
    assert len(before) == 4
    await _produce(s, s.topics.hits_raw, [_raw("a3", "A", T0 + 15 * MIN)])
    restarted = Worker(s, worker.env, _start(worker.env, worker.log), worker.log)
    records = await _consume(
        s, [s.topics.sessions], len(before) + 1, timeout_s=120, worker=restarted
    )
    if len(records) != len(before) + 1:
        pytest.fail(f"no session update after the restart:\n{await _diagnose(restarted)}")
    restarted.process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(restarted.process.wait, 60) == 0
    latest = [orjson.loads(r.value) for r in records if r.key == hit_key("w1", "vk-A")][-1]
    assert latest["prev"]["version"] == 2
    assert (latest["cur"]["version"], latest["cur"]["pageviews"]) == (3, 3)
    assert latest["cur"]["session_id"] == latest["prev"]["session_id"]
    assert latest["cur"]["end_ms"] - latest["cur"]["start_ms"] == 15 * MIN
