"""The sink on the real broker and the real ClickHouse engine: exact counts in raw tables and
rollups, offset replay, a crash between insert and commit, and dead letters."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from broker.lag import group_lag
from broker.topics import ensure_topics
from clickhouse.client import Database
from core.settings import Settings
from schemas.dossiers import DossierEvent, DossierStatus
from schemas.hits import EnrichedHit, HitType, SessionRow, SessionUpdate
from sink.sink import Sink

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

HOUR_MS = 3_600_000
T0 = 1_795_000_000_000 // HOUR_MS * HOUR_MS  # on the hour (UTC)
LOCAL = 7 * HOUR_MS  # Asia/Ho_Chi_Minh


@dataclass
class Env:
    settings: Settings
    db: Database

    def scalar(self, sql: str) -> Any:
        return self.db.query(sql).result_rows[0][0]

    def row(self, sql: str) -> tuple[Any, ...]:
        return tuple(self.db.query(sql).result_rows[0])


@pytest_asyncio.fixture(loop_scope="session")
async def env(
    kafka_bootstrap: str, clickhouse_engine: Any, ch_database: str, topic_prefix: str
) -> AsyncIterator[Env]:
    settings = Settings(
        topic_prefix=topic_prefix,
        kafka_bootstrap=kafka_bootstrap,
        clickhouse_database=ch_database,
        sink_flush_interval_ms=200,
        consumer_group_prefix=f"g{uuid.uuid4().hex[:8]}",
    )
    await ensure_topics(settings.bootstrap_servers, settings.topics.specs())
    yield Env(settings, Database(clickhouse_engine, ch_database))


def _hit(n: int, visitor: str, session: str, **changes: Any) -> EnrichedHit:
    base = EnrichedHit(
        event_id=f"h{n}", site="s1", ts=T0 + n * 1000, local_ms=T0 + LOCAL + n * 1000,
        received_ms=T0 + n * 1000 + 5, type=HitType.PAGEVIEW, url=f"https://a.vn/p{n % 2}",
        host="a.vn", path=f"/p{n % 2}", visitor_id=visitor, session_id=session,
        session_start_ms=T0, country="VN", device="mobile", browser="Chrome", os="Android",
    )  # fmt: skip
    return base.model_copy(update=changes)


def _snapshot(session: str, version: int, pageviews: int, duration_ms: int) -> SessionRow:
    return SessionRow(
        session_id=session, site="s1", visitor_id=f"v-{session}", start_ms=T0,
        start_local_ms=T0 + LOCAL, end_ms=T0 + duration_ms, version=version, hits=version,
        pageviews=pageviews, events=0, is_bounce=pageviews == 1, country="VN",
        device="desktop" if session == "ses1" else "mobile", browser="Chrome", os="Windows",
    )  # fmt: skip


def _dossier(n: int, status: DossierStatus) -> DossierEvent:
    return DossierEvent(
        event_id=f"d{n}", site="s1", dossier_code="H1", status=status, ts=T0 + n,
        local_ms=T0 + LOCAL + n, received_ms=T0 + n, channel="online",
        received_at=T0 if status != DossierStatus.SUBMITTED else 0,
    )  # fmt: skip


Message = tuple[str, bytes, bytes]  # topic, key, value


def _known_messages(settings: Settings) -> list[Message]:
    """5 non-bot hits (4 pageviews, 1 event) of 3 visitors, 2 bot hits, 3 session updates
    (ses1 grows from a bounce to 2 pageviews in 60 s: its first snapshot is retracted; ses2
    is a bounce) and 3 dossier events."""
    t = settings.topics
    hits = [
        _hit(1, "v1", "ses1"),
        _hit(2, "v1", "ses1"),
        _hit(3, "v2", "ses2"),
        _hit(4, "v3", "ses3", type=HitType.EVENT, name="click"),
        _hit(5, "v3", "ses3"),
        _hit(6, "b1", "", is_bot=True, bot_reason="ua:curl"),
        _hit(7, "b1", "", is_bot=True, bot_reason="ua:curl"),
    ]
    sessions = [
        SessionUpdate(prev=None, cur=_snapshot("ses1", 1, 1, 0)),
        SessionUpdate(prev=_snapshot("ses1", 1, 1, 0), cur=_snapshot("ses1", 2, 2, 60_000)),
        SessionUpdate(prev=None, cur=_snapshot("ses2", 1, 1, 0)),
    ]
    dossiers = [
        _dossier(1, DossierStatus.SUBMITTED),
        _dossier(2, DossierStatus.RECEIVED),
        _dossier(3, DossierStatus.RESOLVED),
    ]
    return (
        [(t.pageviews, f"s1|{h.visitor_id}".encode(), h.model_dump_json().encode()) for h in hits]
        + [
            (t.sessions, f"s1|{u.cur.session_id}".encode(), u.model_dump_json().encode())
            for u in sessions
        ]
        + [(t.dossiers, b"s1|H1", d.model_dump_json().encode()) for d in dossiers]
    )


async def _produce(settings: Settings, messages: list[Message]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for topic, key, value in messages:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _wait_for(check: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _run_sink(sink: Sink, until: Callable[[], Awaitable[bool] | bool]) -> None:
    """Run ``sink`` until ``until()`` holds, then stop it gracefully."""
    stop = asyncio.Event()
    task = asyncio.create_task(sink.run(stop))
    try:
        deadline = time.monotonic() + 60
        while True:
            if task.done():
                task.result()
                raise AssertionError("sink ended on its own")
            result = until()
            if result if isinstance(result, bool) else await result:
                break
            if time.monotonic() > deadline:
                counters = {
                    k: v for k, v in vars(sink).items() if not k.startswith("_") and k != "error"
                }
                raise AssertionError(f"condition not reached within 60 s; sink {counters}")
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


def _sink_topics(settings: Settings) -> list[str]:
    t = settings.topics
    return [t.pageviews, t.sessions, t.dossiers]


async def _lag(settings: Settings, group: str) -> int:
    return await group_lag(settings.bootstrap_servers, group, _sink_topics(settings))


def _totals(env: Env) -> dict[str, Any]:
    return {
        "pageviews": env.scalar("SELECT count() FROM pageviews"),
        "bot_hits": env.scalar("SELECT count() FROM bot_hits"),
        "sessions": env.row("SELECT sum(sign), sum(sign * pageviews) FROM sessions"),
        "dossier_events": env.scalar("SELECT count() FROM dossier_events"),
        "visits_hourly": env.row(
            "SELECT sum(visits), sum(pageviews), sum(duration_ms), sum(bounces) FROM visits_hourly"
        ),
        "hits_hourly": env.row(
            "SELECT sum(pageviews), sum(hits), uniqMerge(visitors) FROM hits_hourly"
        ),
        "pages_daily": env.db.query(
            "SELECT path, sum(pageviews), uniqMerge(visitors) FROM pages_daily "
            "GROUP BY path ORDER BY path"
        ).result_rows,
        "device_visits": env.db.query(
            "SELECT key, sum(visits) FROM visits_by_dim_daily WHERE dim = 'device' "
            "GROUP BY key ORDER BY key"
        ).result_rows,
    }


EXPECTED = {
    "pageviews": 5,
    "bot_hits": 2,
    "sessions": (2, 3),
    "dossier_events": 3,
    "visits_hourly": (2, 3, 60_000, 1),
    "hits_hourly": (4, 5, 3),
    "pages_daily": [("/p0", 1, 1), ("/p1", 3, 3)],
    "device_visits": [("desktop", 1), ("mobile", 1)],
}


def _all_stored(env: Env) -> bool:
    return _totals(env) == EXPECTED


async def test_known_messages_give_exact_counts_and_a_replay_changes_nothing(env: Env) -> None:
    await _produce(env.settings, _known_messages(env.settings))
    sink = Sink(env.settings, env.db)

    async def drained() -> bool:
        return _all_stored(env) and await _lag(env.settings, sink.group_id) == 0

    await _run_sink(sink, drained)
    assert _totals(env) == EXPECTED
    assert sink.rows_written == {"pageviews": 5, "bot_hits": 2, "sessions": 4, "dossier_events": 3}
    assert sink.dead_letters == 0
    local_hour = env.scalar("SELECT toHour(any(hour)) FROM visits_hourly")
    assert local_hour == ((T0 + LOCAL) // HOUR_MS) % 24
    assert env.row(
        "SELECT countIf(received_at IS NULL), countIf(due_at IS NULL) FROM dossier_events"
    ) == (1, 3)

    # a new group starts from the earliest offset: every message comes again
    replay = Sink(env.settings, env.db, group_id=f"{sink.group_id}-replay")

    async def replayed() -> bool:
        return replay.skipped_messages >= 13 and await _lag(env.settings, replay.group_id) == 0

    await _run_sink(replay, replayed)
    assert replay.skipped_messages == 13
    assert sum(replay.rows_written.values()) == 0
    assert _totals(env) == EXPECTED


class _Crash(RuntimeError):
    pass


class _CrashBeforeCommit(Sink):
    """Stores the first batch, then dies before committing it."""

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        raise _Crash("killed between insert and commit")


async def test_a_crash_between_insert_and_commit_loses_and_doubles_nothing(env: Env) -> None:
    await _produce(env.settings, _known_messages(env.settings))
    crashing = _CrashBeforeCommit(env.settings, env.db)
    stop = asyncio.Event()
    task = asyncio.create_task(crashing.run(stop))
    with pytest.raises(_Crash):
        await asyncio.wait_for(task, timeout=60)
    stored_before_restart = sum(crashing.rows_written.values())
    assert stored_before_restart > 0
    assert await _lag(env.settings, crashing.group_id) == 13  # nothing committed

    restarted = Sink(env.settings, env.db)  # same group

    async def drained() -> bool:
        return _all_stored(env) and await _lag(env.settings, restarted.group_id) == 0

    await _run_sink(restarted, drained)
    assert restarted.skipped_messages > 0
    assert sum(restarted.rows_written.values()) == 14 - stored_before_restart
    assert _totals(env) == EXPECTED


async def test_a_garbage_message_goes_to_dead_letters_and_the_good_ones_are_stored(
    env: Env,
) -> None:
    t = env.settings.topics
    good = _known_messages(env.settings)[:2]  # two hits of v1, one key, one partition
    key = good[0][1]
    await _produce(env.settings, [good[0], (t.pageviews, key, b"{not json"), good[1]])
    bad_hit = orjson.loads(good[1][2])
    del bad_hit["visitor_id"]
    await _produce(env.settings, [(t.pageviews, key, orjson.dumps(bad_hit))])
    sink = Sink(env.settings, env.db)

    async def drained() -> bool:
        return sink.dead_letters == 2 and await _lag(env.settings, sink.group_id) == 0

    await _run_sink(sink, drained)
    assert env.db.query("SELECT event_id FROM pageviews ORDER BY event_id").result_rows == [
        ("h1",),
        ("h2",),
    ]
    consumer = AIOKafkaConsumer(
        t.deadletters,
        bootstrap_servers=env.settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    letters: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 30
        while len(letters) < 2 and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            letters += [orjson.loads(r.value) for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()
    assert len(letters) == 2
    garbage, invalid = letters
    assert garbage["stage"] == "sink.pageviews"
    assert garbage["reason"] == "invalid_json"
    assert garbage["payload"] == "{not json"
    assert garbage["source_topic"] == t.pageviews
    assert garbage["offset"] >= 0
    assert garbage["key"] == key.decode()
    assert invalid["reason"] == "validation"
    assert invalid["detail"].startswith("visitor_id")


class _FlakyDatabase(Database):
    """Refuses the first ``failures`` inserts, as a ClickHouse outage would."""

    def __init__(self, client: Any, database: str, failures: int) -> None:
        super().__init__(client, database)
        self.failures = failures

    def insert(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("ClickHouse is down (simulated)")
        return super().insert(*args, **kwargs)


async def test_clickhouse_failures_are_retried_without_commit_or_loss(env: Env) -> None:
    await _produce(env.settings, _known_messages(env.settings))
    flaky = _FlakyDatabase(env.db.client, env.db.database, failures=3)
    sink = Sink(env.settings, flaky)

    async def drained() -> bool:
        return _all_stored(env) and await _lag(env.settings, sink.group_id) == 0

    await _run_sink(sink, drained)
    assert sink.insert_failures == 3
    assert flaky.failures == 0
    assert _totals(env) == EXPECTED
