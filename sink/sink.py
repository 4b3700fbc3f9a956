"""The sink: Kafka (pageviews, sessions, dossiers) → ClickHouse. The only module that writes
to ClickHouse's raw tables.

Contract of ``Sink.run(stop)``:

- **Delivery**: at least once from Kafka, exactly once into ClickHouse. Offsets are committed
  (``offset + 1``) only after every row of the messages below them is inserted. Each raw
  table's ``sink_offsets`` view records, in the same atomic insert, the highest offset stored
  per (table, topic, partition); before the first message of a newly assigned partition the
  sink reads it and skips messages at or below it, so a batch inserted but not committed
  (crash, kill) is not inserted twice.
  Every insert also carries ``insert_deduplication_token`` = the topic/partition/first-last
  offsets of its rows, so a retried insert whose first attempt did land is dropped by
  ClickHouse.
- **Views a crash left behind**: materialized views are filled after the raw part is written,
  not atomically with it. Before inserting, a flush records each table's batch (its token) in
  ``sink_batches``; before consuming, ``run`` inserts the last recorded batch of every raw table
  and partition again, re-formed from Kafka with the same token, so the raw table and the
  views that had it drop it and the views that missed it get it (``sink/recovery.py``).
- **Batching**: rows are buffered per table; all buffers are inserted (one insert per table)
  when any table holds ``sink_batch_rows`` rows, or ``sink_flush_interval_ms`` passed since the
  first buffered message, or — when ``sink_idle_flush_ms`` is set — at least that long passed
  and a poll found nothing more (the stream worker's outputs become visible in bursts, one per
  transaction commit: the burst is inserted as soon as it is read, not a whole interval
  later), then the offsets are committed.
- **Bad messages** (not JSON, failing the schema, values ClickHouse would refuse) go to the
  dead-letter topic with reason and detail (stage ``sink.<table>``); the sink goes on. A
  dead letter is sent (and acknowledged) before the offset past it can be committed.
- **What blocks**: when ClickHouse fails, the batch is retried with exponential backoff (up to
  ``_MAX_BACKOFF_S``), nothing is committed and the partitions are paused, so memory stays
  bounded and nothing is dropped. When the dead-letter topic cannot be written, the sink
  retries it the same way.
- **What raises**: Kafka start-up errors and bugs propagate out of ``run`` (the consumer is
  closed, nothing more is committed). ClickHouse and dead-letter failures never raise.
- **Stop**: when ``stop`` is set, the buffers are flushed and committed (a few attempts when
  ClickHouse is failing; what is not stored is simply not committed and comes again), then
  the consumer and producer close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from clickhouse.client import Database
from core.settings import Settings
from schemas.deadletter import build_dead_letter
from sink.recovery import (
    BATCH_COLUMNS,
    batch_records,
    batch_token,
    insert_settings,
    replay_with_retry,
)
from sink.rows import COLUMNS, TABLES, BadMessage, Origin, SinkKind, decode
from sink.timing import FlushRule, flush_due, poll_wait_ms

log = logging.getLogger("emc.sink")

_FIRST_BACKOFF_S = 0.2
_MAX_BACKOFF_S = 10.0
#: Flush attempts when stopping while ClickHouse fails (what is not stored is not committed).
_STOP_ATTEMPTS = 3
_STAGE_TABLE = {
    SinkKind.PAGEVIEWS: "pageviews",
    SinkKind.SESSIONS: "sessions",
    SinkKind.DOSSIERS: "dossier_events",
}


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Flush before partitions move; load the stored offsets when they arrive."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._sink._on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._sink._on_assigned(assigned)


class Sink:
    """Consumes the sink topics and writes them to ClickHouse (see the module docstring).

    Counters (read them from any task): ``rows_written`` per table, ``batches_written``,
    ``dead_letters``, ``skipped_messages`` (already stored, seen again), ``insert_failures``,
    ``last_insert_latency_s``, ``messages_consumed``; ``running`` is True while ``run`` works
    and ``error`` holds what ended it abnormally.
    """

    def __init__(self, settings: Settings, db: Database, *, group_id: str | None = None) -> None:
        self._settings = settings
        self._db = db
        self.group_id = group_id or f"{settings.consumer_group_prefix}-sink"
        topics = settings.topics
        self._kinds: dict[str, SinkKind] = {
            topics.pageviews: SinkKind.PAGEVIEWS,
            topics.sessions: SinkKind.SESSIONS,
            topics.dossiers: SinkKind.DOSSIERS,
        }
        self._buffers: dict[str, list[list[Any]]] = {table: [] for table in COLUMNS}
        #: per table: (topic, partition) -> [first, last] offset of the buffered rows
        self._ranges: dict[str, dict[tuple[str, int], list[int]]] = {t: {} for t in COLUMNS}
        #: next offset to commit per partition (everything below is stored or dead-lettered)
        self._positions: dict[TopicPartition, int] = {}
        #: (table, topic, partition) -> highest offset stored in that table
        self._stored: dict[tuple[str, str, int], int] = {}
        #: partitions whose stored offsets were read since they were assigned
        self._loaded: set[TopicPartition] = set()
        #: consumer position last noted per partition (see ``_past_markers``)
        self._seen_positions: dict[TopicPartition, int] = {}
        self._first_buffered_at: float | None = None
        #: The last poll returned nothing (see ``sink.timing.flush_due``).
        self._idle = False
        self._rule = FlushRule(
            settings.sink_batch_rows, settings.sink_flush_interval_ms, settings.sink_idle_flush_ms
        )
        self._flush_lock = asyncio.Lock()
        self._consumer: Any = None
        self._producer: Any = None
        self.rows_written: dict[str, int] = dict.fromkeys(COLUMNS, 0)
        self.batches_written = 0
        self.dead_letters = 0
        #: dead letters per "stage/reason" (for /metrics)
        self.dead_letter_reasons: Counter[str] = Counter()
        #: called with (table, rows, seconds) after every successful insert (metrics)
        self.observe_insert: Callable[[str, int, float], None] | None = None
        self.skipped_messages = 0
        self.messages_consumed = 0
        self.insert_failures = 0
        #: batches inserted again on start (sink/recovery.py) and rows in them
        self.replayed_batches = 0
        self.replayed_rows = 0
        self.last_insert_latency_s: float | None = None
        self.running = False
        self.error: BaseException | None = None

    # ----------------------------------------------------------------- main loop
    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, then flush, commit and close (see the module
        docstring for what blocks and what raises)."""
        settings = self._settings
        self._reset()
        self.error = None
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=settings.sink_batch_rows,
            # the stream worker writes in Kafka transactions: never read an aborted one
            isolation_level="read_committed",
        )
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers, enable_idempotence=True
        )
        clean = False
        self.running = True
        try:
            await self._producer.start()
            if not await self._replay_last_batches(stop):
                clean = True  # stopped before consuming anything: nothing to flush
                return
            await self._consumer.start()
            self._consumer.subscribe(list(self._kinds), listener=_Listener(self))
            while not stop.is_set():
                if self._flush_due():
                    await self._flush_with_retry(stop)
                    continue
                batch = await self._consumer.getmany(
                    timeout_ms=self._poll_wait_ms(), max_records=settings.sink_batch_rows
                )
                # nothing more for a while: what is visible has been read (the stream worker's
                # outputs arrive in bursts, one per transaction commit), insert it now
                self._idle = not batch
                missing = [tp for tp in batch if tp not in self._loaded]
                if missing and not await self._load_stored(missing, stop):
                    break  # stopping while ClickHouse fails: these are not handled
                for tp, records in batch.items():
                    for record in records:
                        await self._handle(tp, record, stop)
                await self._past_markers()
            await self._flush_with_retry(stop, attempts=_STOP_ATTEMPTS)
            clean = True
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.running = False
            if not clean:
                log.warning("sink stopping without a final flush: %r", self.error)
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            with contextlib.suppress(Exception):
                await self._producer.stop()

    async def _replay_last_batches(self, stop: asyncio.Event) -> bool:
        """Before consuming: insert the last recorded batch of every raw table and partition
        again, so views that a crash left without it get it (sink/recovery.py).
        False when ``stop`` was set before it could be done."""
        isolation = str(getattr(self._consumer, "_isolation_level", "read_uncommitted"))
        replay = await replay_with_retry(
            self._db,
            self._settings.bootstrap_servers,
            self.group_id,
            self._kinds,
            isolation,
            stop,
        )
        if replay is None:
            return False
        self.replayed_batches += replay.batches
        self.replayed_rows += replay.rows
        if replay.batches or replay.skipped:
            log.info(
                "replayed %d last batches (%d rows; dropped where they had landed), %d skipped",
                replay.batches,
                replay.rows,
                len(replay.skipped),
            )
        return True

    def _reset(self) -> None:
        """Forget buffers, positions and stored offsets (they are reloaded on assignment)."""
        self._buffers = {table: [] for table in COLUMNS}
        self._ranges = {table: {} for table in COLUMNS}
        self._positions = {}
        self._stored = {}
        self._loaded = set()
        self._seen_positions = {}
        self._first_buffered_at = None

    def _buffered_rows(self) -> int:
        return sum(len(rows) for rows in self._buffers.values())

    def _age_ms(self) -> float | None:
        if self._first_buffered_at is None:
            return None
        return (time.monotonic() - self._first_buffered_at) * 1000

    def _flush_due(self) -> bool:
        largest = max((len(rows) for rows in self._buffers.values()), default=0)
        return flush_due(self._rule, self._age_ms(), largest, self._idle)

    def _poll_wait_ms(self) -> int:
        return poll_wait_ms(self._rule, self._age_ms())

    # ----------------------------------------------------------------- one message
    async def _handle(self, tp: TopicPartition, record: Any, stop: asyncio.Event) -> None:
        """Buffer the rows of one message, skip it when already stored, or dead-letter it."""
        self.messages_consumed += 1
        kind = self._kinds[tp.topic]
        origin = Origin(tp.topic, tp.partition, record.offset)
        if self._first_buffered_at is None:
            self._first_buffered_at = time.monotonic()
        self._positions[tp] = record.offset + 1
        try:
            pairs = decode(kind, record.value, origin)
        except BadMessage as bad:
            if record.offset <= self._stored_max(kind, tp):
                self.skipped_messages += 1  # dead-lettered before the crash
                return
            await self._dead_letter(kind, record, bad, stop)
            return
        fresh = [(t, r) for t, r in pairs if record.offset > self._stored_offset(t, tp)]
        if not fresh:
            self.skipped_messages += 1
            return
        for table, row in fresh:
            self._buffers[table].append(row)
            span = self._ranges[table].setdefault((tp.topic, tp.partition), [record.offset] * 2)
            span[1] = record.offset

    def _stored_offset(self, table: str, tp: TopicPartition) -> int:
        return self._stored.get((table, tp.topic, tp.partition), -1)

    def _stored_max(self, kind: SinkKind, tp: TopicPartition) -> int:
        return max(self._stored_offset(table, tp) for table in TABLES[kind])

    async def _dead_letter(
        self, kind: SinkKind, record: Any, bad: BadMessage, stop: asyncio.Event
    ) -> None:
        letter = build_dead_letter(
            stage=f"sink.{_STAGE_TABLE[kind]}",
            reason=bad.reason,
            detail=bad.detail,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            payload=record.value,
            failed_ms=int(time.time() * 1000),
        )
        value = letter.model_dump_json().encode()
        backoff_s = _FIRST_BACKOFF_S
        while True:
            try:
                await self._producer.send_and_wait(
                    self._settings.topics.deadletters, value, key=record.key
                )
                break
            except KafkaError as exc:
                if stop.is_set():
                    raise  # cannot park the message: do not commit past it
                log.warning("dead letter not written (%s); retrying in %.1f s", exc, backoff_s)
                await asyncio.sleep(backoff_s)
                backoff_s = min(_MAX_BACKOFF_S, backoff_s * 2)
        self.dead_letters += 1
        self.dead_letter_reasons[f"{letter.stage}/{letter.reason}"] += 1
        log.info(
            "dead letter %s:%d@%d %s: %s",
            record.topic,
            record.partition,
            record.offset,
            bad.reason,
            bad.detail,
        )

    async def _past_markers(self) -> None:
        """Let the next commit reach the consumer's position, past transaction markers.

        The stream worker writes in Kafka transactions; each commit or abort leaves a marker
        that takes an offset but is never handed out, so committing ``offset + 1`` of the last
        record would leave the group behind the end for ever (lag never 0). Every record below
        the position was handed out and handled above, so once the buffers are stored the
        position is safe to commit.
        """
        for tp in self._consumer.assignment():
            position = await self._consumer.position(tp)
            if position <= self._seen_positions.get(tp, -1):
                continue
            self._seen_positions[tp] = position
            if position > self._positions.get(tp, -1):
                self._positions[tp] = position
                if self._first_buffered_at is None:
                    self._first_buffered_at = time.monotonic()

    # ----------------------------------------------------------------- flush and commit
    async def _flush_with_retry(self, stop: asyncio.Event, attempts: int | None = None) -> None:
        """Insert every buffer and commit; on failure pause, back off and retry (forever while
        running, ``attempts`` times when stopping)."""
        backoff_s = _FIRST_BACKOFF_S
        tried = 0
        paused: list[TopicPartition] = []
        try:
            while True:
                tried += 1
                if await self._flush_once():
                    return
                if attempts is not None and tried >= attempts:
                    log.error("sink stops with %d rows not stored", self._buffered_rows())
                    return
                if not paused and self._consumer is not None:
                    paused = list(self._consumer.assignment())
                    self._consumer.pause(*paused)
                if attempts is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), backoff_s)
                    if stop.is_set():
                        attempts = tried + _STOP_ATTEMPTS
                else:
                    await asyncio.sleep(backoff_s)
                backoff_s = min(_MAX_BACKOFF_S, backoff_s * 2)
        finally:
            if paused:
                still = set(self._consumer.assignment())
                self._consumer.resume(*[tp for tp in paused if tp in still])

    async def _flush_once(self) -> bool:
        """One attempt: insert each non-empty buffer, then commit. True when all is stored
        (even if the commit failed: the stored offsets make the re-read harmless)."""
        async with self._flush_lock:
            if not await self._record_batches():
                return False
            for table in COLUMNS:
                if self._buffers[table] and not await self._insert(table):
                    return False
            await self._commit_positions()
            # A failed commit leaves positions behind: retry them after one flush interval.
            self._first_buffered_at = time.monotonic() if self._positions else None
            return True

    async def _record_batches(self) -> bool:
        """Record every buffered batch (its token) in ``sink_batches`` before inserting it, so
        a restart can replay exactly that insert (sink/recovery.py)."""
        records = [
            record
            for table in COLUMNS
            if self._buffers[table]
            for record in batch_records(self.group_id, table, batch_token(self._ranges[table]))
        ]
        if not records:
            return True
        try:
            await self._db.ainsert(
                "sink_batches", records, BATCH_COLUMNS, settings={"insert_deduplicate": 0}
            )
        except Exception as exc:
            self.insert_failures += 1
            log.warning("recording the batches failed: %s", exc)
            return False
        return True

    async def _insert(self, table: str) -> bool:
        rows = self._buffers[table]
        spans = self._ranges[table]
        token = batch_token(spans)
        started = time.monotonic()
        try:
            await self._db.ainsert(table, rows, COLUMNS[table], settings=insert_settings(token))
        except Exception as exc:
            self.insert_failures += 1
            log.warning("insert of %d rows into %s failed: %s", len(rows), table, exc)
            return False
        self.last_insert_latency_s = time.monotonic() - started
        self.rows_written[table] += len(rows)
        if self.observe_insert is not None:
            self.observe_insert(table, len(rows), self.last_insert_latency_s)
        self.batches_written += 1
        for (topic, partition), (_, last) in spans.items():
            key = (table, topic, partition)
            self._stored[key] = max(last, self._stored.get(key, -1))
        self._buffers[table] = []
        self._ranges[table] = {}
        return True

    async def _commit_positions(self) -> None:
        if not self._positions:
            return
        assigned = set(self._consumer.assignment())
        offsets = {tp: off for tp, off in self._positions.items() if tp in assigned}
        self._positions = {}
        if not offsets:
            return
        try:
            await self._commit(offsets)
        except KafkaError as exc:
            # Stored already, so a re-read is skipped; keep the positions (unless newer ones
            # arrived meanwhile) so the next flush commits them even if no message follows.
            for tp, off in offsets.items():
                self._positions[tp] = max(off, self._positions.get(tp, 0))
            log.warning("offset commit failed (%s); will retry with the next flush", exc)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit ``offsets`` (next offset to read per partition). A seam for tests that
        simulate a crash between the insert and the commit."""
        await self._consumer.commit(offsets)

    # ----------------------------------------------------------------- rebalances
    async def _on_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        """Store and commit what is buffered before the partitions move; if ClickHouse
        fails now, drop the buffers (not committed, so the next owner reads them again)."""
        if not await self._flush_once():
            async with self._flush_lock:
                self._buffers = {table: [] for table in COLUMNS}
                self._ranges = {table: {} for table in COLUMNS}
                self._positions = {}
                self._first_buffered_at = None
        self._loaded -= set(revoked)
        for tp in revoked:
            self._seen_positions.pop(tp, None)

    async def _on_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        """Forget what is known of the new partitions: their stored offsets are read again
        before their first message is handled (another owner may have stored more)."""
        fresh = set(assigned)
        self._loaded -= fresh
        for tp in fresh:
            self._seen_positions.pop(tp, None)
        log.info("assigned %d partitions", len(fresh))

    async def _load_stored(self, partitions: Iterable[TopicPartition], stop: asyncio.Event) -> bool:
        """Read the highest stored offsets of ``partitions`` from ``sink_offsets``, retrying
        while ClickHouse fails (handling a message without them could store it twice). False
        when ``stop`` was set before they could be read."""
        wanted = {(tp.topic, tp.partition): tp for tp in partitions}
        backoff_s = _FIRST_BACKOFF_S
        while True:
            try:
                result = await self._db.aquery(
                    "SELECT raw_table, topic, partition, max(max_offset) FROM sink_offsets "
                    "WHERE topic IN {topics:Array(String)} GROUP BY raw_table, topic, partition",
                    parameters={"topics": sorted({t for t, _ in wanted})},
                )
                break
            except Exception as exc:
                if stop.is_set():
                    return False
                log.warning("reading sink_offsets failed (%s); retrying", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff_s)
                backoff_s = min(_MAX_BACKOFF_S, backoff_s * 2)
        for key in wanted:
            for table in COLUMNS:
                self._stored.pop((table, *key), None)
        for table, topic, partition, offset in result.result_rows:
            if (topic, int(partition)) in wanted:
                self._stored[(str(table), str(topic), int(partition))] = int(offset)
        self._loaded.update(wanted.values())
        return True
