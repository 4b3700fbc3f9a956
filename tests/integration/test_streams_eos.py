"""The stream worker SIGKILLed while hits flow: what a ``read_committed`` consumer sees is
exactly the outputs of the committed inputs, and after a restart every hit is out once.

This is issue 6's defect at the Kafka level, without the warehouse: before Kafka
transactions a kill could leave a hit's visitor-state changelog record in Kafka without the
hit's pageview (the hit was then lost) or its outputs without the state (counted twice).
Each visitor sends one hit, so each committed input has exactly one pageview, one session
snapshot (+1) and one changelog record, and which inputs are committed is read from the
group's committed offsets.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from broker.lag import measure
from broker.topics import ensure_topics
from core.settings import Settings
from schemas.topics import HIT_PARTITIONS, hit_key
from tests.integration import scenario
from tests.integration.worker_env import settings_of, worker_env
from tests.mmdb_builder import build_country_mmdb

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
T0 = 1_795_000_000_000
TZ = "Asia/Ho_Chi_Minh"


def _hit(n: int) -> tuple[bytes, bytes]:
    """Hit of visitor ``n`` (one hit per visitor), event id ``e<n>``."""
    hit = {
        "event_id": f"e{n}",
        "site": "x1",
        "tz": TZ,
        "ts": T0 + n,
        "received_ms": T0 + n + 20,
        "type": "pageview",
        "url": f"https://x1.gov.vn/p{n % 7}",
        "referrer": "",
        "ip": "14.160.1.1",
        "ua": scenario.UA_CHROME,
        "visitor_id": f"vid-{n}",
        "source": "server",
    }
    return hit_key("x1", f"vk-{n}"), orjson.dumps(hit)


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "streams"],
        env={**os.environ, **env},
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def _committed(settings: Settings) -> dict[int, int]:
    """The worker's committed offset per raw-hits partition (0 where none)."""
    group = f"{settings.consumer_group_prefix}-streams"
    rows = await measure(
        settings.bootstrap_servers, {group: [settings.topics.hits_raw]}, with_seconds=False
    )
    return {row.partition: max(row.committed, 0) for row in rows}


async def _read_all(bootstrap: str, topic: str, isolation: str) -> list[Any]:
    """Every record of ``topic`` up to its end (the last stable offset for read_committed)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level=isolation
    )
    await consumer.start()
    try:
        # all these topics have the raw hits' partition count (co-partitioned)
        tps = [TopicPartition(topic, p) for p in range(HIT_PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        deadline = time.monotonic() + 30
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            assert time.monotonic() < deadline, f"{topic} not read to its end"
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
        return records
    finally:
        await consumer.stop()


async def _after_kill(
    bootstrap: str, topics: Any, changelog: str, raw: list[Any], committed: dict[int, int]
) -> str | None:
    """What is wrong with the committed outputs after the kill, None when all is right: per
    partition they are the outputs of a prefix of the inputs that covers every committed input
    (a commit may also carry outputs of inputs processed while it ran, with their states: their
    replay is then dropped as a duplicate), and a hit's outputs and visitor state are visible
    together or not at all."""
    pageviews = await _read_all(bootstrap, topics.pageviews, "read_committed")
    sessions = await _read_all(bootstrap, topics.sessions, "read_committed")
    states = await _read_all(bootstrap, changelog, "read_committed")
    visible = _event_ids(pageviews)
    if set(visible.values()) - {1}:
        return "a pageview twice"
    for partition in range(HIT_PARTITIONS):
        inputs = sorted((r for r in raw if r.partition == partition), key=lambda r: r.offset)
        done = [orjson.loads(r.value)["event_id"] in visible for r in inputs]
        prefix = done.index(False) if False in done else len(done)
        if any(done[prefix:]):
            return f"partition {partition}: a gap in the outputs"
        if prefix < committed[partition]:
            return f"partition {partition}: {committed[partition]} committed, {prefix} output"
    if not 0 < sum(committed.values()) <= len(visible) < len(raw):
        return f"committed {committed}, {len(visible)} of {len(raw)} output"
    keys = {_hit(int(e[1:]))[0] for e in visible}
    if {r.key for r in sessions} != keys or len(sessions) != len(visible):
        return "session snapshots and pageviews differ"
    if {r.key for r in states} != keys or len(states) != len(visible):
        return "visitor states and pageviews differ"
    return None


async def _explain(
    bootstrap: str, changelog: str, raw: list[Any], committed: dict[int, int], missing: Any
) -> str:
    """Where the missing hits were and what the changelog holds for their visitors."""
    lines = [f"committed at the kill: {committed}"]
    everything = await _read_all(bootstrap, changelog, "read_uncommitted")
    visible = await _read_all(bootstrap, changelog, "read_committed")
    for event_id in sorted(missing):
        key = _hit(int(event_id[1:]))[0]
        where = [(r.partition, r.offset) for r in raw if r.key == key]
        states = [(r.partition, r.offset) for r in everything if r.key == key]
        shown = [(r.partition, r.offset) for r in visible if r.key == key]
        lines.append(f"{event_id}: input {where}, states written {states}, committed {shown}")
    return "\n".join(lines)


def _event_ids(records: list[Any]) -> Counter[str]:
    return Counter(orjson.loads(r.value)["event_id"] for r in records)


@pytest.mark.asyncio(loop_scope="session")
async def test_killed_worker_leaves_outputs_exactly_of_committed_inputs(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    env = worker_env(
        kafka_bootstrap,
        "eos",
        tmp_path / "data",
        build_country_mmdb(tmp_path / "geo.mmdb", scenario.GEO_NETWORKS),
    )
    # Faust's own interval (the default was this when the test was written): the kill must
    # land inside a transaction that has written outputs, which a 500 ms transaction on a
    # loaded machine sometimes has not yet (CI: 520 written, 520 committed); the guarantee
    # checked here does not depend on the interval
    env["EMC_STREAMS_COMMIT_INTERVAL_MS"] = "2800"
    settings = settings_of(env)
    topics = settings.topics
    changelog = f"{settings.consumer_group_prefix}-streams-visitors-changelog"
    bootstrap = settings.bootstrap_servers
    await ensure_topics(bootstrap, topics.specs())
    log = tmp_path / "streams.log"
    worker = _start(env, log)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    sent = 0
    try:
        # a first few hits until the worker is up and has committed some, then a flow of hits
        # while it runs inside its next transactions; killed mid-flow
        deadline = time.monotonic() + 120
        first_commit_at: float | None = None
        while first_commit_at is None or time.monotonic() < first_commit_at + 1.5:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            assert worker.poll() is None, log.read_text()[-3000:]
            if first_commit_at is not None or sent < 60:
                for _ in range(20):
                    key, value = _hit(sent)
                    await producer.send(topics.hits_raw, value, key=key)
                    sent += 1
            await asyncio.sleep(0.02)
            if first_commit_at is None and sum((await _committed(settings)).values()):
                first_commit_at = time.monotonic()
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        await producer.flush()

        committed = await _committed(settings)
        raw = await _read_all(bootstrap, topics.hits_raw, "read_uncommitted")
        assert len(raw) == sent
        # a commit the broker accepted before the kill completes afterwards, its markers
        # landing partition by partition: check until it is complete (or time is up)
        deadline = time.monotonic() + 20
        while (problem := await _after_kill(bootstrap, topics, changelog, raw, committed)) and (
            time.monotonic() < deadline
        ):
            await asyncio.sleep(0.5)
            committed = await _committed(settings)
        assert problem is None, problem
        pageviews = await _read_all(bootstrap, topics.pageviews, "read_committed")
        # the killed transaction did write more, which no read_committed consumer will see
        written = await _read_all(bootstrap, topics.pageviews, "read_uncommitted")
        assert len(written) > len(pageviews)

        # restarted: every hit out exactly once, one visit (+1) per visitor
        worker = _start(env, log)
        deadline = time.monotonic() + 90
        while sum((await _committed(settings)).values()) < sent:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            assert worker.poll() is None, log.read_text()[-3000:]
            await asyncio.sleep(0.5)
        # the last commit's markers may still be landing on the output partitions
        everyone = Counter(f"e{n}" for n in range(sent))
        deadline = time.monotonic() + 20
        while (
            missing := everyone
            - _event_ids(
                pageviews := await _read_all(bootstrap, topics.pageviews, "read_committed")
            )
        ) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        assert not missing, await _explain(bootstrap, changelog, raw, committed, missing)
        assert _event_ids(pageviews) == Counter(f"e{n}" for n in range(sent))
        sessions = await _read_all(bootstrap, topics.sessions, "read_committed")
        signs: Counter[bytes] = Counter()
        for record in sessions:
            update = orjson.loads(record.value)
            assert update["prev"] is None  # one hit per visitor: nothing to retract
            signs[record.key] += 1
        assert signs == Counter(_hit(n)[0] for n in range(sent))
    finally:
        await producer.stop()
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
