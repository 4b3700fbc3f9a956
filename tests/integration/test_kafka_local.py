"""The local broker is real Kafka: topics, produce/consume and committed offsets survive a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from broker.topics import describe_topics, ensure_topics, wait_for_kafka
from schemas.topics import TopicSpec

pytestmark = pytest.mark.integration


async def _consume_one(bootstrap: str, topic: str, group: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=10_000, max_records=10)
        values = [m.value for msgs in batches.values() for m in msgs if m.value is not None]
        await consumer.commit()
        return values
    finally:
        await consumer.stop()


async def test_local_broker_keeps_topics_messages_and_offsets_across_restart(
    local_kafka_factory: Callable[[], Any],
) -> None:
    kafka = local_kafka_factory()
    kafka.start(timeout_s=90)
    specs = [TopicSpec("it.six", 6, "test"), TopicSpec("it.one", 1, "test")]

    created = await ensure_topics(kafka.bootstrap, specs)
    assert created == ["it.six", "it.one"]
    assert await ensure_topics(kafka.bootstrap, specs) == []
    assert await describe_topics(kafka.bootstrap, ["it.six", "it.one", "nope"]) == {
        "it.six": 6,
        "it.one": 1,
    }

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait("it.one", b"first", key=b"k")
    finally:
        await producer.stop()
    assert await _consume_one(kafka.bootstrap, "it.one", "g1") == [b"first"]

    kafka.stop()
    assert not kafka.is_running()
    kafka.stop()  # twice is fine
    with pytest.raises(TimeoutError, match="EMC_KAFKA_BOOTSTRAP"):
        await wait_for_kafka(kafka.bootstrap, timeout_s=1)

    kafka.start(timeout_s=90)
    await wait_for_kafka(kafka.bootstrap, timeout_s=30)
    assert await describe_topics(kafka.bootstrap, ["it.six", "it.one"]) == {
        "it.six": 6,
        "it.one": 1,
    }
    assert await ensure_topics(kafka.bootstrap, specs) == []

    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id="g1")
    await consumer.start()
    try:
        tp = TopicPartition("it.one", 0)
        # group g1's commit survived the restart; right after a start the coordinator may
        # still be loading the offsets partition (answers None), so ask until a deadline
        committed = await consumer.committed(tp)
        deadline = asyncio.get_running_loop().time() + 30
        while committed is None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
            committed = await consumer.committed(tp)
        assert committed == 1
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        batches = await consumer.getmany(tp, timeout_ms=10_000)
        assert [m.value for m in batches.get(tp, [])] == [b"first"]
    finally:
        await consumer.stop()
    kafka.stop()


async def test_second_broker_on_same_data_dir_is_refused_and_crash_restart_works(
    local_kafka_factory: Callable[[], Any],
) -> None:
    from emc.kafka_local import LocalKafka

    kafka = local_kafka_factory()
    kafka.start(timeout_s=90)
    await ensure_topics(kafka.bootstrap, [TopicSpec("it.crash", 2, "test")])
    twin = LocalKafka(
        kafka.libs_dir, kafka.data_dir, port=kafka.port, controller_port=kafka.controller_port
    )
    with pytest.raises(RuntimeError, match="already running"):
        twin.start(timeout_s=5)
    assert kafka.is_running()  # the refusal did not disturb the running broker

    kafka.kill()  # a crash: no clean shutdown
    assert not kafka.is_running()
    kafka.start(timeout_s=90)
    assert await describe_topics(kafka.bootstrap, ["it.crash"]) == {"it.crash": 2}
    kafka.stop()
