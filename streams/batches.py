"""Batched delivery of one topic's records to a Faust agent, with Faust's own offset bookkeeping.

Faust hands every record to its agent as one event: a ``Message`` and an ``Event`` object, the
conductor's dispatch, two tasks per record in the fetcher (``wait_first``), the stream's
iterator with its sensors, an ack. For the raw hits that machinery cost more than the handler
itself (BENCHMARKS.md, "Stream worker: handler vs worker"). ``BatchingConsumer`` is Faust's
aiokafka consumer with one change: the records of a *routed* topic (``Transport.route``) are
taken out of each fetch before Faust's per-record path sees them and put, as ``RecordBatch``es
of at most ``max_batch_records`` records of one partition in offset order, on the channel of
the agent that processes them. Every other topic (dossiers, changelogs during recovery) takes
Faust's path unchanged.

The contract with the agent (``streams.app``), and why it keeps Faust's guarantees:

- **Offsets.** The agent calls ``begin(batch)`` before it works on a batch and
  ``finish(batch, processed=...)`` after; only a processed batch's offsets are marked done,
  in Faust's own structures (``_acked``, ``_acked_index``), so Faust's commit (and its
  exactly-once transaction, ``streams.eos``) advances over them exactly as over acked events.
  An offset is never marked before its batch's outputs are in the transaction, so a commit
  never goes past an unprocessed record.
- **Rebalances.** ``begin`` refuses a batch fetched under another consumer generation, of a
  partition no longer assigned, or while Faust has stopped the flow (a rebalance is running):
  its records are consumed again from the committed offset, where Faust seeks after every
  rebalance (batches still queued for the agent then are refused the same way; records a
  fetch returned for a partition Faust has paused, or while a rebalance starts, are dropped
  and logged for the same reason, and ``streams.eos`` makes that seek cover a partition that
  has no committed offset yet). When
  partitions are revoked Faust waits for the events in progress (``wait_empty``) before it
  commits: ``wait_empty`` here also waits for a batch between ``begin`` and ``finish``, so
  that commit sees all of the batch or none of it.
- **What Faust's fetch loop did per record and is done here per batch**: records below the
  read offset (a re-fetch after a seek) are skipped, offset gaps (transaction markers in a
  transactional input) are registered with Faust so its commit can pass them, and the
  monitor's last-inbound time is kept (Faust's livelock detector reads it).
- **The agent's channel** (``BatchChannel``) has a small ``maxsize``: while it is full the
  fetch loop waits (and stops waiting when Faust suspends the flow for a rebalance). Its queue
  is not one Faust clears: Faust empties its channels' queues every time it resumes the flow,
  several times in one recovery, and a batch cleared after the fetch loop handed it over
  would be lost until the next restart (its offsets are fetched already; found by the
  kill test, a partition's commit then stalls). A batch that waited across a rebalance is
  refused by ``begin`` instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Any

from faust.channels import Channel
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.tuples import ack_lock
from mode.utils.queues import ThrowableQueue

log = logging.getLogger(__name__)

#: Largest batch handed to the agent: it bounds the time the agent holds the event loop and
#: the size of one transactional send (one Kafka record batch per output topic).
MAX_BATCH_RECORDS = 500


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """Consecutive records of one partition (aiokafka ``ConsumerRecord``s, offset order),
    fetched under consumer generation ``generation_id``."""

    topic: str
    partition: int
    records: Sequence[Any]
    generation_id: int

    @property
    def offsets(self) -> list[int]:
        return [record.offset for record in self.records]


def chunks(records: Sequence[Any], max_records: int) -> Iterator[Sequence[Any]]:
    """``records`` in consecutive slices of at most ``max_records``."""
    for start in range(0, len(records), max_records):
        yield records[start : start + max_records]


def fresh(
    records: Sequence[Any], read_offset: int | None
) -> tuple[list[Any], list[tuple[int, int]]]:
    """The records Faust's fetch loop would deliver after ``read_offset`` (the last offset
    delivered, or the committed offset after a seek; None: nothing read yet), and the offset
    gaps it would register on the way, as inclusive ``(first, last)`` ranges — exactly
    ``Consumer._drain_messages``'s per-record rule: a record at or above the read offset is
    delivered; a jump of more than one from a known read offset is a gap ending at the
    record's own offset (Faust then counts those offsets as done once a later one is)."""
    kept: list[Any] = []
    gaps: list[tuple[int, int]] = []
    last = read_offset
    for record in records:
        offset = record.offset
        if last is not None and offset < last:
            continue
        if last and offset - last > 1:
            gaps.append((last + 1, offset))
        kept.append(record)
        last = offset
    return kept, gaps


def _not_delivered(tp: Any, records: Sequence[Any], why: str) -> None:
    log.info(
        "%d fetched records of %s[%d] from offset %d not delivered (%s): consumed again after "
        "the seek to the committed offset that ends the rebalance",
        len(records), tp.topic, tp.partition, records[0].offset, why,
    )  # fmt: skip


class BatchChannel(Channel[RecordBatch]):
    """An in-memory Faust channel whose queue is not cleared when Faust resumes the flow (see
    the module docstring); create it with a ``maxsize``."""

    @property
    def queue(self) -> ThrowableQueue[Any]:
        if self._queue is None:
            self._queue = self.app.FlowControlQueue(maxsize=self.maxsize, clear_on_resume=False)
        return self._queue


class BatchingConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer delivering routed topics as ``RecordBatch``es (see the
    module docstring for the contract)."""

    max_batch_records = MAX_BATCH_RECORDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batches_in_progress = 0
        self._batches_idle = asyncio.Event()
        self._batches_idle.set()

    def _routes(self) -> Mapping[str, Any]:
        routes: Mapping[str, Any] = getattr(self.transport, "batch_routes", {})
        return routes

    async def _wait_next_records(self, timeout: float) -> tuple[Any, Any]:  # noqa: ASYNC109
        records, active = await super()._wait_next_records(timeout)
        routes = self._routes()
        if not records or not routes:
            return records, active
        generation = self.app.consumer_generation_id
        rest: dict[Any, Any] = {}
        for tp, tp_records in records.items():
            channel = routes.get(tp.topic)
            if channel is None:
                rest[tp] = tp_records
            elif active is None or tp in active:
                await self._deliver(tp, tp_records, channel, generation)
            else:
                _not_delivered(tp, tp_records, "its partition is paused")
        if self.app.consumer_generation_id != generation or not self.flow_active:
            # a rebalance started while this fetch was being delivered: Faust seeks to the
            # committed offsets when it ends, so the rest is fetched again
            for tp, tp_records in rest.items():
                _not_delivered(tp, tp_records, "a rebalance started")
            return {}, active
        return rest, active

    async def _deliver(
        self, tp: Any, records: Sequence[Any], channel: Any, generation: int
    ) -> None:
        kept, gaps = fresh(records, self._read_offset[tp])
        for first, last in gaps:
            await self._add_gap(tp, first, last)
        for chunk in chunks(kept, self.max_batch_records):
            if not self.flow_active or self.app.consumer_generation_id != generation:
                _not_delivered(tp, chunk, "a rebalance started")
                return
            put = channel.put(RecordBatch(tp.topic, tp.partition, chunk, generation))
            waited = await self.wait_first(put, self.suspend_flow.wait())
            if put not in waited.done:
                _not_delivered(tp, chunk, "a rebalance started")
                return
            self._read_offset[tp] = chunk[-1].offset
            self.app.monitor.stream_inbound_time[tp] = monotonic()

    def begin(self, batch: RecordBatch) -> bool:
        """Whether the agent may process ``batch`` now; if so it is in progress until
        ``finish``. False for a batch of another consumer generation, of a partition no longer
        assigned, or while a rebalance has stopped the flow (its records come again)."""
        if not (self.flow_active and self.app.flow_control.is_active()):
            return False
        if batch.generation_id != self.app.consumer_generation_id:
            return False
        if self._new_topicpartition(batch.topic, batch.partition) not in self.assignment():
            return False
        self._batches_in_progress += 1
        self._batches_idle.clear()
        return True

    def finish(self, batch: RecordBatch, *, processed: bool) -> None:
        """End ``batch``: when ``processed`` (its outputs are in the partition's transaction),
        its offsets are done for Faust's next commit; otherwise they are left for the
        partition's next owner (or this worker after its next seek)."""
        try:
            if processed:
                self._mark_done(batch)
        finally:
            self._batches_in_progress -= 1
            if not self._batches_in_progress:
                self._batches_idle.set()

    def _mark_done(self, batch: RecordBatch) -> None:
        """What ``Consumer.ack`` does for each acked message, for a whole batch."""
        tp = self._new_topicpartition(batch.topic, batch.partition)
        with ack_lock:
            committed = self._committed_offset[tp]
            index = self._acked_index[tp]
            done = [
                offset
                for offset in batch.offsets
                if (committed is None or offset >= committed) and offset not in index
            ]
            index.update(done)
            self._acked[tp].extend(done)
            self._n_acked += len(done)
        waiting = self._waiting_for_ack
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    async def wait_empty(self) -> None:
        """Faust's ``wait_empty`` (all events in progress acked, then commit), after the batch
        in progress (if any) is finished."""
        while self._batches_in_progress:
            await self._batches_idle.wait()
        await super().wait_empty()
