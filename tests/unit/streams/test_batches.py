"""``streams.batches``: a routed topic's records reach its agent as batches of one partition, in
order, and Faust's commit advances only over batches the agent finished as processed — never
past a record of a batch in progress, refused or dropped.

A real Faust app and consumer (our transport's), no broker: the fetch is replaced by a fixed
record map, the assignment by a fixed set, and Faust's own offset bookkeeping
(``_filter_committable_offsets``, what its commit sends) is asked what it would commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import faust
import pytest
from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams import batches, eos

HITS = "t.hits"
OTHER = "t.dossiers"


@dataclass(frozen=True)
class Record:
    """The fields of an aiokafka ``ConsumerRecord`` the batches use."""

    offset: int
    key: bytes = b"k"
    value: bytes = b"v"


def _records(first: int, last: int) -> list[Record]:
    return [Record(offset) for offset in range(first, last + 1)]


class _Channel:
    """The agent's channel: collects what is put on it."""

    def __init__(self) -> None:
        self.batches: list[batches.RecordBatch] = []

    async def put(self, batch: batches.RecordBatch) -> None:
        self.batches.append(batch)


@pytest.fixture()
async def consumer(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    app = faust.App("t-batches", broker="kafka://127.0.0.1:1", store="memory://")
    app.transport = eos.Transport(app.conf.broker_consumer, app)
    consumer = app.consumer
    assert isinstance(consumer, batches.BatchingConsumer)
    assigned = {TopicPartition(HITS, p) for p in range(3)} | {TopicPartition(OTHER, 0)}
    monkeypatch.setattr(consumer, "assignment", lambda: set(assigned))
    app.flow_control.resume()
    yield consumer


def _fetch(monkeypatch: pytest.MonkeyPatch, records: dict[TopicPartition, list[Record]]) -> None:
    """The next fetch of Faust's consumer returns ``records`` (all partitions active)."""

    async def fetched(self: Any, timeout: float) -> tuple[Any, Any]:  # noqa: ASYNC109
        return dict(records), set(records)

    monkeypatch.setattr(faust_aiokafka.Consumer, "_wait_next_records", fetched)


def _committable(consumer: Any, partition: int) -> int | None:
    """The offset Faust's next commit would send for ``HITS[partition]`` (None: none)."""
    tp = TopicPartition(HITS, partition)
    return consumer._filter_committable_offsets([tp]).get(tp)


def test_fresh_skips_what_was_read_and_reports_gaps() -> None:
    records = [Record(o) for o in (3, 4, 5, 8, 9, 12)]
    assert batches.fresh(records, None) == (records, [(6, 8), (10, 12)])
    kept, gaps = batches.fresh(records, 5)
    assert [r.offset for r in kept] == [5, 8, 9, 12]
    assert gaps == [(6, 8), (10, 12)]
    assert batches.fresh(records, 13) == ([], [])


def test_chunks_keep_order_and_size() -> None:
    assert [list(c) for c in batches.chunks([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    assert list(batches.chunks([], 2)) == []


async def test_routed_records_reach_the_channel_in_batches_and_the_rest_goes_on(
    consumer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = _Channel()
    consumer.transport.route(HITS, channel)
    consumer.max_batch_records = 4
    other = TopicPartition(OTHER, 0)
    _fetch(
        monkeypatch,
        {TopicPartition(HITS, 1): _records(10, 19), other: _records(0, 1)},
    )
    rest, _active = await consumer._wait_next_records(1.0)
    assert rest == {other: _records(0, 1)}  # Faust's own per-record path
    assert [(b.topic, b.partition, b.offsets) for b in channel.batches] == [
        (HITS, 1, [10, 11, 12, 13]),
        (HITS, 1, [14, 15, 16, 17]),
        (HITS, 1, [18, 19]),
    ]
    assert consumer._read_offset[TopicPartition(HITS, 1)] == 19
    # a fetch that overlaps what was read (a re-delivery) hands on only the new records
    _fetch(monkeypatch, {TopicPartition(HITS, 1): _records(18, 21)})
    await consumer._wait_next_records(1.0)
    assert channel.batches[-1].offsets == [19, 20, 21]


async def test_only_finished_batches_are_committed(consumer: Any) -> None:
    gen = consumer.app.consumer_generation_id
    first = batches.RecordBatch(HITS, 0, _records(0, 99), gen)
    second = batches.RecordBatch(HITS, 0, _records(100, 199), gen)
    third = batches.RecordBatch(HITS, 0, _records(200, 299), gen)

    assert consumer.begin(first)
    assert _committable(consumer, 0) is None  # in progress: nothing of it
    consumer.finish(first, processed=True)
    assert consumer.begin(second)
    assert _committable(consumer, 0) == 100  # the first, not the second in progress
    consumer._committed_offset[TopicPartition(HITS, 0)] = 100  # what Faust's commit records

    consumer.finish(second, processed=False)  # skipped (stale): never marked done
    assert consumer.begin(third)
    consumer.finish(third, processed=True)
    # the third is done but the second is not: the commit may not pass offset 100
    assert _committable(consumer, 0) is None


async def test_committable_offset_is_the_end_of_the_finished_prefix(consumer: Any) -> None:
    gen = consumer.app.consumer_generation_id
    for first in (0, 50, 100):
        batch = batches.RecordBatch(HITS, 2, _records(first, first + 49), gen)
        assert consumer.begin(batch)
        consumer.finish(batch, processed=True)
    assert _committable(consumer, 2) == 150


async def test_stale_batches_are_refused(consumer: Any) -> None:
    app = consumer.app
    gen = app.consumer_generation_id
    assert not consumer.begin(batches.RecordBatch(HITS, 0, _records(0, 1), gen - 1))
    assert not consumer.begin(batches.RecordBatch(HITS, 5, _records(0, 1), gen))  # not ours
    app.flow_control.suspend()  # a rebalance runs
    assert not consumer.begin(batches.RecordBatch(HITS, 0, _records(0, 1), gen))
    app.flow_control.resume()
    consumer.stop_flow()
    assert not consumer.begin(batches.RecordBatch(HITS, 0, _records(0, 1), gen))
    consumer.resume_flow()
    batch = batches.RecordBatch(HITS, 0, _records(0, 1), gen)
    assert consumer.begin(batch)
    consumer.finish(batch, processed=True)


async def test_wait_empty_waits_for_the_batch_in_progress(
    consumer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Faust's revocation waits for events in progress, then commits: a batch between begin
    and finish must be waited for, so its offsets and outputs commit together or not at all."""
    done: list[str] = []

    async def faust_wait_empty(self: Any) -> None:
        done.append("faust commit")

    monkeypatch.setattr(faust_aiokafka.Consumer, "wait_empty", faust_wait_empty)
    batch = batches.RecordBatch(HITS, 0, _records(0, 9), consumer.app.consumer_generation_id)
    assert consumer.begin(batch)
    waiting = asyncio.create_task(consumer.wait_empty())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    done.append("batch finished")
    consumer.finish(batch, processed=True)
    await asyncio.wait_for(waiting, 1)
    assert done == ["batch finished", "faust commit"]
    assert _committable(consumer, 0) == 10


async def test_delivery_stops_when_a_rebalance_suspends_the_flow(
    consumer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The channel is full and Faust stops the flow: the fetch loop stops waiting, the records
    not delivered are neither read (Faust seeks back to the committed offset) nor passed on."""

    class _Full:
        async def put(self, batch: batches.RecordBatch) -> None:
            await asyncio.Event().wait()  # never room

    consumer.transport.route(HITS, _Full())
    other = TopicPartition(OTHER, 0)
    _fetch(monkeypatch, {TopicPartition(HITS, 0): _records(0, 9), other: _records(0, 1)})
    fetching = asyncio.create_task(consumer._wait_next_records(1.0))
    await asyncio.sleep(0.01)
    assert not fetching.done()
    consumer.stop_flow()
    rest, _active = await asyncio.wait_for(fetching, 1)
    assert rest == {}
    assert consumer._read_offset[TopicPartition(HITS, 0)] is None


async def test_batches_waiting_for_the_agent_survive_faust_resuming_the_flow(
    consumer: Any,
) -> None:
    """Faust clears its channels' queues each time it resumes the flow (several times in one
    recovery): a batch already handed over would be lost, its offsets fetched already."""
    app = consumer.app
    ours = batches.BatchChannel(app, maxsize=4).clone(is_iterator=True)
    fausts = app.channel(maxsize=4).clone(is_iterator=True)
    batch = batches.RecordBatch(HITS, 0, _records(0, 1), app.consumer_generation_id)
    await ours.put(batch)
    await fausts.put(batch)
    app.flow_control.suspend()
    app.flow_control.resume()
    assert fausts.queue.empty()
    assert ours.queue.get_nowait() is batch
