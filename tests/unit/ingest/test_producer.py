"""The collector's producer without a broker: partitioning equals the Java client's, concurrent
requests share one record batch per partition, nothing is acknowledged before the broker's
future resolves, and a request without an ack in time fails with ``KafkaUnavailable``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from ingest.producer import KafkaProducer, KafkaUnavailable, murmur2, partition_for


@given(st.binary(max_size=200))
def test_murmur2_equals_aiokafka(data: bytes) -> None:
    assert murmur2(data) == aiokafka_murmur2(data) & 0xFFFFFFFF


def test_partition_for_matches_aiokafka_default_partitioner() -> None:
    partitions = list(range(6))
    for i in range(200):
        key = f"site|{i:032x}".encode()
        assert partition_for(key, partitions) == DefaultPartitioner()(key, partitions, partitions)


class _Batch:
    def __init__(self) -> None:
        self.items: list[tuple[bytes, bytes]] = []

    def append(self, *, key: bytes, value: bytes, timestamp: None) -> object:
        self.items.append((key, value))
        return object()

    def record_count(self) -> int:
        return len(self.items)


class _FakeAioKafka:
    """What ``KafkaProducer`` uses of ``AIOKafkaProducer``; acks are resolved by the test."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, list[tuple[bytes, bytes]], asyncio.Future[Any]]] = []
        self.client = self

    async def start(self) -> None:
        pass

    async def stop(self) -> None:  # like aiokafka: what was not acknowledged fails
        for *_, future in self.sent:
            if not future.done():
                future.set_exception(OSError("producer closed"))

    async def fetch_all_metadata(self) -> None:
        pass

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(self, batch: _Batch, topic: str, *, partition: int) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append((topic, partition, batch.items, future))
        return future

    def ack_all(self) -> None:
        for *_, future in self.sent:
            if not future.done():
                future.set_result(None)


class _Producer(KafkaProducer):
    def __init__(self, fake: _FakeAioKafka, timeout_s: float, interval_ms: float = 0) -> None:
        super().__init__("fake:9092", timeout_s=timeout_s, interval_ms=interval_ms)
        self.fake = fake

    def _new(self) -> Any:
        return self.fake


async def _started(
    timeout_s: float = 5.0, interval_ms: float = 0
) -> tuple[_Producer, _FakeAioKafka]:
    fake = _FakeAioKafka()
    producer = _Producer(fake, timeout_s, interval_ms)
    await producer.start()
    assert await producer.wait_connected(5)
    return producer, fake


async def test_concurrent_requests_share_a_batch_and_wait_for_the_ack() -> None:
    producer, fake = await _started()
    try:
        keys = [f"s|{i}".encode() for i in range(30)]
        sends = [asyncio.create_task(producer.send_batch("t", [(k, b"v")])) for k in keys]
        while not fake.sent:
            await asyncio.sleep(0)
        for _ in range(5):
            await asyncio.sleep(0)
        assert not any(task.done() for task in sends)  # nothing answered before the ack
        partitions = [partition for _, partition, _, _ in fake.sent]
        assert len(partitions) == len(set(partitions)) <= 3  # one batch per partition
        assert sorted(k for *_, items, _ in fake.sent for k, _ in items) == sorted(keys)
        fake.ack_all()
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def test_a_request_without_ack_in_time_is_unavailable() -> None:
    producer, fake = await _started(timeout_s=0.05)
    try:
        with pytest.raises(KafkaUnavailable, match=r"did not acknowledge within 0\.05 s"):
            await producer.send_batch("t", [(b"k", b"v")])
        assert len(fake.sent) == 1
    finally:
        await producer.stop()


async def test_a_failed_ack_fails_every_request_of_the_flush() -> None:
    producer, fake = await _started()
    try:
        sends = [
            asyncio.create_task(producer.send_batch("t", [(b"k%d" % i, b"v")])) for i in range(4)
        ]
        while not fake.sent:
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        for *_, future in fake.sent:
            future.set_exception(OSError("broker gone"))
        results = await asyncio.gather(*sends, return_exceptions=True)
        assert all(isinstance(r, KafkaUnavailable) for r in results)
        assert producer.reconnects == 1
    finally:
        await producer.stop()


async def test_requests_within_the_interval_share_the_next_flush() -> None:
    producer, fake = await _started(interval_ms=200)
    try:
        first = asyncio.create_task(producer.send_batch("t", [(b"a", b"1")]))
        while not fake.sent:  # after a quiet spell: flushed at once
            await asyncio.sleep(0)
        fake.ack_all()
        await first
        later = [
            asyncio.create_task(producer.send_batch("t", [(key, b"2")])) for key in (b"b", b"c")
        ]
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(fake.sent) == 1  # held: the interval since the last flush is not over
        while len(fake.sent) == 1:
            await asyncio.sleep(0.01)
        flushed = {key for *_, items, _ in fake.sent[1:] for key, _ in items}
        assert flushed == {b"b", b"c"}  # one flush for both
        fake.ack_all()
        await asyncio.gather(*later)
    finally:
        await producer.stop()


async def test_a_request_still_queued_at_its_deadline_is_unavailable() -> None:
    """The deadline holds before aiokafka has the request too: here the flush is stuck asking
    for the topic's partitions (a cluster that does not answer metadata)."""
    producer, fake = await _started(timeout_s=0.05)
    stuck = asyncio.Event()

    async def partitions_for(topic: str) -> set[int]:
        await stuck.wait()
        return {0}

    fake.partitions_for = partitions_for  # type: ignore[method-assign]
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(KafkaUnavailable, match=r"did not acknowledge within 0\.05 s"):
            await producer.send_batch("t", [(b"k", b"v")])
        # one reaper tick (timeout / 10) late at most, plus scheduling
        assert asyncio.get_running_loop().time() - started < 0.5
        assert fake.sent == []
    finally:
        stuck.set()
        await producer.stop()
