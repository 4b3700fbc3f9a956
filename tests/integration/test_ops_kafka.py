"""``emc lag`` and ``emc deadletters`` against the real broker: offsets, ages and cursors of
messages written here with known timestamps."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from broker.deadletters import REPLAY_HEADER, DeadLetterAdmin, cursor_after
from broker.lag import measure
from broker.topics import ensure_topics
from core.settings import Settings
from schemas.deadletter import build_dead_letter

pytestmark = pytest.mark.integration


async def _commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in offsets.items()})
    finally:
        await consumer.stop()


@pytest.mark.asyncio(loop_scope="session")
async def test_lag_counts_uncommitted_messages_and_the_age_of_the_oldest(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix)
    await ensure_topics(kafka_bootstrap, settings.topics.specs())
    topic = settings.topics.dossiers_raw  # 3 partitions
    base_ms = int(time.time() * 1000) - 60_000
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        # partition 0: five messages one second apart; partition 1: two; partition 2: none
        for i in range(5):
            await producer.send_and_wait(topic, b"x", partition=0, timestamp_ms=base_ms + i * 1000)
        for i in range(2):
            await producer.send_and_wait(topic, b"y", partition=1, timestamp_ms=base_ms + i)
    finally:
        await producer.stop()
    group = f"g-{uuid.uuid4().hex[:6]}"
    await _commit(
        kafka_bootstrap, group, {TopicPartition(topic, 0): 2, TopicPartition(topic, 1): 2}
    )
    now_ms = base_ms + 10_000
    rows = await measure(kafka_bootstrap, {group: [topic]}, now_ms=now_ms)
    got = {r.partition: (r.committed, r.end, r.lag, r.lag_s) for r in rows}
    # oldest pending on partition 0 is offset 2, stamped base + 2 s: 8 s old at "now"
    assert got == {0: (2, 5, 3, 8.0), 1: (2, 2, 0, 0.0), 2: (-1, 0, 0, 0.0)}
    # a group that never committed lags by everything
    fresh = await measure(kafka_bootstrap, {"nobody": [topic]}, now_ms=now_ms)
    assert {r.partition: r.lag for r in fresh} == {0: 5, 1: 2, 2: 0}
    assert {r.partition: r.lag_s for r in fresh}[0] == 10.0


@pytest.mark.asyncio(loop_scope="session")
async def test_dead_letters_list_replay_and_drop_move_one_cursor(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix)
    await ensure_topics(kafka_bootstrap, settings.topics.specs())
    names = settings.topics
    payloads = [b'{"n":0}', b"\xff not utf-8", b'{"n":2}']
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for i, payload in enumerate(payloads):
            letter = build_dead_letter(
                stage="streams.hits",
                reason="invalid_json" if i == 1 else "validation",
                detail=f"letter {i}",
                topic=names.hits_raw,
                partition=0,
                offset=i,
                key=f"s|v{i}".encode(),
                payload=payload,
                failed_ms=1,
            )
            await producer.send_and_wait(names.deadletters, letter.model_dump_json().encode())
        await producer.send_and_wait(names.deadletters, b"not a dead letter")
    finally:
        await producer.stop()
    admin = DeadLetterAdmin(kafka_bootstrap, names.deadletters, f"{topic_prefix}dl-cli")

    pending = await admin.read()
    assert [s.offset for s in pending] == [0, 1, 2, 3]
    assert [s.letter.reason if s.letter else None for s in pending] == [
        "validation",
        "invalid_json",
        "validation",
        None,
    ]
    # replay the two letters at offsets 0 and 1: original bytes, original key, a marker header
    chosen = pending[:2]
    assert await admin.replay(chosen) == 2
    await admin.move_cursor(cursor_after(pending, chosen))
    replayed = await _read_all(kafka_bootstrap, names.hits_raw, 2)
    assert [(r.key, r.value) for r in replayed] == [(b"s|v0", payloads[0]), (b"s|v1", payloads[1])]
    assert [dict(r.headers)[REPLAY_HEADER] for r in replayed] == [
        f"{names.deadletters}/0@0".encode(),
        f"{names.deadletters}/0@1".encode(),
    ]
    assert [s.offset for s in await admin.read()] == [2, 3]
    # drop the rest; the letters are still there for --all
    rest = await admin.read()
    await admin.move_cursor(cursor_after(rest, rest))
    assert await admin.read() == []
    assert len(await admin.read(pending_only=False)) == 4
    lag = await measure(kafka_bootstrap, {admin.group: [names.deadletters]})
    assert [r.lag for r in lag] == [0]


async def _read_all(bootstrap: str, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    out: list[Any] = []
    try:
        deadline = time.monotonic() + 20
        while len(out) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                out.extend(records)
        for records in (await consumer.getmany(timeout_ms=300)).values():
            out.extend(records)
    finally:
        await consumer.stop()
    return sorted(out, key=lambda r: (r.partition, r.offset))
