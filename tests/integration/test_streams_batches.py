"""The stream worker processes raw hits in batches (``streams.batches``): killed (SIGKILL) in
the middle of a batch, it has committed no offset past a hit whose outputs are not committed
with it, nothing of the batch in progress; stopped (SIGTERM) in the middle of a batch, it
finishes and commits that batch and exits 0. Either way, after a restart every hit is output
exactly once and every visit is built exactly once.

The worker runs as in production (``streams.worker.run_worker`` in a subprocess) with three
test hooks (``_RUNNER``): batches of at most 100 hits, each hit's handling slowed down, and a
pause after each Kafka record batch of a batch's outputs, and it writes its progress
(``begin``/``hit``/``handled``/``submitted``/``sent``) to a file. The test freezes the worker
(SIGSTOP) until the progress shows the wanted moment — halfway through handling a batch, or
halfway through sending its outputs (some of its record batches already in the open
transaction) — and then signals it, so the moment of the stop is known, not hoped for.

Each of 900 visitors sends three hits within ten minutes: one visit each, whose session
snapshots must come out as versions 1, 2, 3 exactly once; hits of one visitor often share a
batch (one changelog record for several hits).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
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
MIN = 60_000
VISITORS = 900
HITS_PER_VISITOR = 3

_RUNNER = """
import asyncio, time
import faust.transport.consumer
import streams.app, streams.eos
from core.settings import load_settings
from streams import batches
from streams.worker import run_worker

PROGRESS = open({progress!r}, "a", buffering=1)
HIT_PAUSE_S, SEND_PAUSE_S = {hit_pause_s!r}, {send_pause_s!r}
batches.BatchingConsumer.max_batch_records = 100

real_handle_hit_batch = streams.app.handle_hit_batch
real_produce_batch = streams.app.produce_batch
real_submit = streams.eos._submit
real_commit = faust.transport.consumer.TransactionManager.commit

def handle_hit_batch(handler, messages, store, changelog, *args):
    first, last = messages[0], messages[-1]
    PROGRESS.write(f"begin {{first.partition}} {{first.offset}} {{last.offset}}\\n")
    real = handler.handle
    def slow(message, state, now_ms):
        time.sleep(HIT_PAUSE_S)
        outcome = real(message, state, now_ms)
        PROGRESS.write(f"hit {{message.partition}} {{message.offset}}\\n")
        return outcome
    handler.handle = slow
    try:
        return real_handle_hit_batch(handler, messages, store, changelog, *args)
    finally:
        del handler.handle
        PROGRESS.write("handled\\n")

async def produce_batch(sender, topic, partition, messages, *args):
    sent = await real_produce_batch(sender, topic, partition, messages, *args)
    PROGRESS.write(f"sent {{partition}} {{sent}}\\n")
    return sent

async def submit(txn_producer, builder, topic, partition):
    future = await real_submit(txn_producer, builder, topic, partition)
    future.add_done_callback(lambda _f: PROGRESS.write("acked\\n"))
    PROGRESS.write(f"submitted {{topic}} {{partition}}\\n")
    await asyncio.sleep(SEND_PAUSE_S)
    return future

async def commit(self, *args, **kwargs):
    PROGRESS.write("commit\\n")
    try:
        return await real_commit(self, *args, **kwargs)
    finally:
        PROGRESS.write("committed\\n")

faust.transport.consumer.TransactionManager.commit = commit
streams.app.handle_hit_batch = handle_hit_batch
streams.app.produce_batch = produce_batch
streams.eos._submit = submit
run_worker(load_settings())
"""


def _hits() -> list[tuple[bytes, bytes]]:
    """Three hits per visitor, visitors interleaved at random, each visitor's in time order."""
    rng = random.Random(14)
    order = [v for v in range(VISITORS) for _ in range(HITS_PER_VISITOR)]
    rng.shuffle(order)
    seen: Counter[int] = Counter()
    out = []
    for visitor in order:
        n = seen[visitor]
        seen[visitor] += 1
        hit = {
            "event_id": f"v{visitor}-{n}",
            "site": "bt",
            "tz": "Asia/Ho_Chi_Minh",
            "ts": T0 + visitor * 1000 + n * 5 * MIN,
            "received_ms": T0 + visitor * 1000 + n * 5 * MIN + 20,
            "type": "pageview",
            "url": f"https://bt.gov.vn/p{n}",
            "ip": "14.160.1.1",
            "ua": scenario.UA_CHROME,
            "visitor_id": f"vid-{visitor}",
            "source": "server",
        }
        out.append((hit_key("bt", f"vk-{visitor}"), orjson.dumps(hit)))
    return out


@dataclass
class Progress:
    """Where the worker was in its current batch when it was frozen."""

    partition: int = -1
    first: int = -1
    last: int = -1
    stage: str = "idle"  # handling, handled, sending, idle
    hits: int = 0  # hits of the batch handled
    submitted: int = 0  # record batches of the batch's outputs handed to the producer
    committing: bool = False  # Faust's commit runs
    acked_since_commit: int = 0  # record batches Kafka took since the last commit ended


def _progress(path: Path) -> Progress:
    state = Progress()
    committing, acked = False, 0
    for line in path.read_text().splitlines():
        word, *rest = line.split()
        if word == "begin":
            state = Progress(int(rest[0]), int(rest[1]), int(rest[2]), "handling")
        elif word == "commit":
            committing = True
        elif word == "committed":
            committing, acked = False, 0
        elif word == "acked":
            acked += 1
        elif word == "hit":
            state.hits += 1
        elif word == "handled":
            state.stage = "handled"
        elif word == "submitted":
            state.stage, state.submitted = "sending", state.submitted + 1
        elif word == "sent":
            state = Progress()
    state.committing, state.acked_since_commit = committing, acked
    return state


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        env={**os.environ, **env},
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def _committed(settings: Settings) -> dict[int, int]:
    group = f"{settings.consumer_group_prefix}-streams"
    rows = await measure(
        settings.bootstrap_servers, {group: [settings.topics.hits_raw]}, with_seconds=False
    )
    return {row.partition: max(row.committed, 0) for row in rows}


async def _stats(env: dict[str, str]) -> Any:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=5) as client:
            url = f"http://127.0.0.1:{env['EMC_STREAMS_WEB_PORT']}/stats/"
            return (await client.get(url)).json()
    except httpx.HTTPError as exc:
        return repr(exc)


async def _read_all(bootstrap: str, topic: str, isolation: str) -> list[Any]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level=isolation
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(HIT_PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        deadline = time.monotonic() + 30
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            assert time.monotonic() < deadline, f"{topic} not read to its end"
            for part in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(part)
        return records
    finally:
        await consumer.stop()


async def _freeze_at(
    worker: subprocess.Popen[bytes], progress: Path, stage: str, log: Path
) -> Progress:
    """Freeze the worker (SIGSTOP) at ``stage`` of a batch — at least one hit handled and one
    to go, or at least one record batch of its outputs handed to the producer — with no
    commit running and Kafka holding outputs of its open transactions (a record batch
    acknowledged since the last commit ended). Returns where it is, still frozen."""
    deadline = time.monotonic() + 120
    while True:
        assert time.monotonic() < deadline, f"never caught at {stage} (see {log})"
        assert worker.poll() is None, "the worker stopped"
        worker.send_signal(signal.SIGSTOP)
        at = _progress(progress)
        size = at.last - at.first + 1
        midway = (stage == "handling" and 0 < at.hits < size) or (
            stage == "sending" and at.submitted > 0
        )
        if at.stage == stage and midway and at.acked_since_commit and not at.committing:
            return at
        worker.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.02)


async def _check_committed_prefix(
    settings: Settings, raw: list[Any], at: Progress
) -> dict[int, int]:
    """After the stop: no offset committed past a hit whose pageview is not committed, outputs
    of a prefix of each partition only, each once. Returns the committed offsets."""
    bootstrap, topics = settings.bootstrap_servers, settings.topics
    deadline = time.monotonic() + 20
    while True:  # a commit accepted before the kill may still be landing its markers
        committed = await _committed(settings)
        pageviews = await _read_all(bootstrap, topics.pageviews, "read_committed")
        visible = Counter(orjson.loads(r.value)["event_id"] for r in pageviews)
        problems = []
        if set(visible.values()) - {1}:
            problems.append("a pageview twice")
        for partition in range(HIT_PARTITIONS):
            inputs = sorted((r for r in raw if r.partition == partition), key=lambda r: r.offset)
            done = [orjson.loads(r.value)["event_id"] in visible for r in inputs]
            prefix = done.index(False) if False in done else len(done)
            if any(done[prefix:]):
                problems.append(f"partition {partition}: a gap in the outputs")
            if committed[partition] > prefix:
                problems.append(
                    f"partition {partition}: committed {committed[partition]} > {prefix}"
                )
        if not problems or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert not problems, (problems, committed, at)
    assert sum(committed.values()) > 0, "stopped before any commit: nothing was tested"
    return committed


@pytest.mark.parametrize(
    ("stage", "stop"),
    [("handling", signal.SIGKILL), ("sending", signal.SIGKILL), ("sending", signal.SIGTERM)],
    ids=["killed-handling", "killed-sending", "terminated-sending"],
)
@pytest.mark.asyncio(loop_scope="session")
async def test_stopped_mid_batch_no_offset_passes_an_unprocessed_hit_and_restart_outputs_once(
    kafka_bootstrap: str, tmp_path: Path, stage: str, stop: signal.Signals
) -> None:
    """SIGKILL: the batch in progress is neither committed nor half committed, nor is any
    batch sent since the last commit. SIGTERM (``emc`` stopping the worker): the batch in
    progress is finished and committed, and the worker exits 0."""
    env = worker_env(
        kafka_bootstrap,
        "bk",
        tmp_path / "data",
        build_country_mmdb(tmp_path / "geo.mmdb", scenario.GEO_NETWORKS),
    )
    settings = settings_of(env)
    topics = settings.topics
    bootstrap = settings.bootstrap_servers
    await ensure_topics(bootstrap, topics.specs())
    hits = _hits()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for key, value in hits:
            await producer.send(topics.hits_raw, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()
    raw = await _read_all(bootstrap, topics.hits_raw, "read_uncommitted")
    assert len(raw) == len(hits)

    log, progress = tmp_path / "streams.log", tmp_path / "progress.txt"
    progress.touch()
    pauses = {"hit_pause_s": 0.004, "send_pause_s": 0.2 if stage == "sending" else 0.0}
    runner = _RUNNER.format(progress=str(progress), **pauses)
    worker = _start([sys.executable, "-c", runner], env, log)
    try:
        deadline = time.monotonic() + 120
        while not sum((await _committed(settings)).values()):  # a first commit, then the stop
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            assert worker.poll() is None, log.read_text()[-3000:]
            await asyncio.sleep(0.2)
        at = await _freeze_at(worker, progress, stage, log)
        worker.send_signal(stop)
        worker.send_signal(signal.SIGCONT)
        code = await asyncio.to_thread(worker.wait, 60)
        committed = await _check_committed_prefix(settings, raw, at)
        assert sum(committed.values()) < len(hits)
        written = await _read_all(bootstrap, topics.pageviews, "read_uncommitted")
        shown = await _read_all(bootstrap, topics.pageviews, "read_committed")
        if stop == signal.SIGKILL:
            # the batch in progress was never committed, not even in part
            assert committed[at.partition] <= at.first, (committed, at)
            # the killed transactions had written more, which no read_committed reader sees
            assert len(written) > len(shown)
        else:
            assert code == 0, log.read_text()[-3000:]
            assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
            # the batch in progress was finished and committed with everything before it
            assert committed[at.partition] > at.last, (committed, at)
            assert len(written) == len(shown)

        # restarted as in production: every hit out exactly once, every visit exactly once
        worker = _start([sys.executable, "-m", "streams"], env, log)
        deadline = time.monotonic() + 120
        while sum((now := await _committed(settings)).values()) < len(hits):
            assert time.monotonic() < deadline, (now, committed, at, await _stats(env))
            assert worker.poll() is None, log.read_text()[-3000:]
            await asyncio.sleep(0.5)
        everyone = Counter(orjson.loads(value)["event_id"] for _key, value in hits)
        deadline = time.monotonic() + 20
        while True:  # the last commit's markers may still be landing
            pageviews = await _read_all(bootstrap, topics.pageviews, "read_committed")
            out = Counter(orjson.loads(r.value)["event_id"] for r in pageviews)
            if out == everyone or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert out == everyone, (everyone - out, out - everyone)
        # the sessions topic's markers land apart from the pageviews topic's: wait for them too
        deadline = time.monotonic() + 20
        while True:
            sessions = await _read_all(bootstrap, topics.sessions, "read_committed")
            visits: dict[bytes, list[dict[str, Any]]] = defaultdict(list)
            for record in sessions:
                visits[record.key].append(orjson.loads(record.value))
            settled = len(sessions) == VISITORS * 3
            if settled or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert len(visits) == VISITORS
        for key, updates in visits.items():
            versions = sorted(u["cur"]["version"] for u in updates)
            assert versions == [1, 2, 3], (key, versions)
            chain = sorted(updates, key=lambda u: u["cur"]["version"])
            assert chain[0]["prev"] is None
            assert all(b["prev"] == a["cur"] for a, b in itertools.pairwise(chain))
            assert chain[-1]["cur"]["pageviews"] == HITS_PER_VISITOR
            assert len({u["cur"]["session_id"] for u in updates}) == 1
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGCONT)
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
