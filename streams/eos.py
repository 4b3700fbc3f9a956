"""Exactly-once plumbing of the stream worker on top of Faust's ``exactly_once`` mode.

With ``processing_guarantee="exactly_once"`` Faust starts, on every assignment, one Kafka
transactional producer per assigned (topic group, partition), transactional id
``{app id}-{group}-{partition}``, and begins its transaction. At each commit
(``TransactionManager.commit``) it adds the processed input offsets of that partition to the
same transaction (``send_offsets_to_transaction``), commits it and begins the next. A new
worker's producer with the same id fences a killed one and aborts its open transaction.

What Faust does not do right for us, and this module does:

- **Which transaction an output joins.** ``TransactionManager.send`` (Faust's ``Topic.send``
  path) picks the transaction from the *output's* topic group and partition, so a dead letter
  (one partition) or an output topic Faust does not consume would land in a transaction that
  never commits this input's offset. ``TransactionalSender.send`` puts all of one input's
  outputs, including the visitor table's changelog record, into the transaction of the
  *input's* partition, under that transaction's lock: Faust's commit (which takes the same
  lock) sees either none or all of them. It also keeps the speed of the direct producer path
  (no channel, no per-message future bookkeeping, see BENCHMARKS.md).
- **Batches.** ``TransactionalSender.send_batch`` does the same for the outputs of a batch of
  inputs (``streams.batches``, the raw hits), as one Kafka record batch per output topic and
  partition: one produce request instead of a ``send`` (future, accumulator, callback) per
  message. ``Transport``'s consumer is ``batches.BatchingConsumer``, which delivers those
  batches and marks their offsets done only when the agent has sent their outputs.
- **Recovery end.** In this mode Faust takes a changelog's highwater from
  ``last_stable_offset``, which aiokafka knows only after a fetch of that partition: right
  after a restart it is ``None``, Faust reads it as "nothing to recover" and the visitor table
  would start empty (replayed hits then open new visits). ``Transport`` asks the broker instead
  (``end_offsets`` of a ``read_committed`` consumer is the last stable offset).

- **Rebalances with several workers** (issue 15, item 1; each found by the two-worker kill
  test, tests/integration/test_streams_workers.py). Every assigned partition gets a new
  transactional producer at every rebalance (``_TransactionManager``): Faust kept producers of
  partitions that had moved away and back, fenced meanwhile. A partition without a committed
  offset is sought to the beginning where Faust seeks to the committed offsets
  (``uncommitted_inputs``): records fetched and dropped during the rebalance were otherwise
  lost. A fetch gets a copy of Faust's active partitions, and none when there are none
  (aiokafka reads an empty set as "all").
- **A broker coming back.** Faust declares its own topics (the visitor table's changelog, the
  assignor's leader topic) through the transport and stops the worker when the broker refuses,
  e.g. ``InvalidReplicationFactorError: All brokers are currently fenced`` while a restarted
  broker is still registering. ``Transport`` retries such a declaration with backoff for
  ``TOPIC_RETRY_S`` before giving up, so a Kafka restart does not stop the worker.

Every consumer of the worker's outputs reads with ``isolation_level="read_committed"``, so an
aborted transaction (a killed worker's) is never seen.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

from aiokafka.errors import ProducerFenced
from faust.transport.consumer import TransactionManager
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams import batches

log = logging.getLogger(__name__)


class Message(Protocol):
    """One output message (``streams.app.Outgoing``)."""

    @property
    def topic(self) -> str: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def partition(self) -> int | None: ...


#: How long a fenced transactional producer may stay in Faust's hands before the worker stops:
#: a rebalance that moved its partition away removes it within seconds (the rebalance timeout
#: is 20 s), and a fenced producer can commit nothing meanwhile.
FENCED_GRACE_S = 30.0


class MissingTransaction(RuntimeError):
    """No open transaction for an input partition (it was revoked or its producer fenced)."""


def transactional_id(app_id: str, group: int, partition: int) -> str:
    """The id Faust's ``TransactionManager`` uses for (topic group, partition)."""
    return f"{app_id}-{group}-{partition}"


class TransactionalSender:
    """Sends outputs into the transaction that will commit their input's offset.

    ``producer`` is Faust's aiokafka ``Producer``: it owns the transactional producers
    (``_transaction_producers``) and their locks (``_trn_locks``) by transactional id.
    ``group_for_topic`` is the assignor's topic → topic group map.
    """

    def __init__(self, app_id: str, producer: Any, group_for_topic: Any) -> None:
        self._app_id = app_id
        self._producer = producer
        self._group_for_topic = group_for_topic

    def _transaction(self, topic: str, partition: int) -> tuple[str, Any, asyncio.Lock]:
        tid = transactional_id(self._app_id, self._group_for_topic(topic), partition)
        producers: Mapping[str, Any] = self._producer._transaction_producers
        locks: Mapping[str, asyncio.Lock] = self._producer._trn_locks
        txn_producer, lock = producers.get(tid), locks.get(tid)
        if txn_producer is None or lock is None:
            raise MissingTransaction(f"no open transaction {tid} for {topic}[{partition}]")
        return tid, txn_producer, lock

    def _still_open(self, tid: str, txn_producer: Any) -> None:
        """Raise ``MissingTransaction`` when ``txn_producer`` is no longer the producer of
        ``tid``: Faust stops a revoked partition's producer without taking its lock, so it may
        have happened while this send waited for the lock."""
        if self._producer._transaction_producers.get(tid) is not txn_producer:
            raise MissingTransaction(f"transaction {tid} was stopped (its partition revoked)")

    def _on_delivery(self, tid: str, txn_producer: Any) -> Callable[[Any], None]:
        """The delivery callback of an output of transaction ``tid``: a refusal stops the
        worker (fail-stop), except ``ProducerFenced`` of a producer that is no longer
        ``tid``'s: with several workers a rebalance moves the partition, its new owner's
        producer fences this one and aborts the open transaction, and the new owner consumes
        the inputs again. A fenced producer that Faust still holds after
        ``FENCED_GRACE_S`` (no rebalance took it away) is a real failure: fail-stop."""
        producers: Mapping[str, Any] = self._producer._transaction_producers

        def still_ours() -> bool:
            return producers.get(tid) is txn_producer

        def check_later() -> None:
            if still_ours():
                log.critical("transaction %s fenced but not revoked: stopping the worker", tid)
                fail_stop()

        def done(future: Any) -> None:
            if future.cancelled() or future.exception() is None:
                return
            exc = future.exception()
            if not isinstance(exc, ProducerFenced):
                _stop_on_failure(future)
                return
            log.warning(
                "transaction %s fenced (%r): its partition moved to another worker, which "
                "consumes its uncommitted inputs again",
                tid,
                exc,
            )
            if still_ours():
                asyncio.get_running_loop().call_later(FENCED_GRACE_S, check_later)

        return done

    async def send(self, topic: str, partition: int, messages: Iterable[Message]) -> None:
        """Add ``messages`` (the outputs of one message of ``topic[partition]``) to that
        partition's open transaction, all or none before the next commit. Does not wait for
        Kafka's answer: the commit does; a refused message stops the worker (fail-stop)."""
        tid, txn_producer, lock = self._transaction(topic, partition)
        async with lock:
            self._still_open(tid, txn_producer)
            await _send_all(txn_producer, messages, self._on_delivery(tid, txn_producer))

    async def send_batch(self, topic: str, partition: int, messages: Iterable[Message]) -> None:
        """Like ``send`` for the outputs of a whole batch of ``topic[partition]``'s inputs, as
        one Kafka record batch per output topic and partition (``create_batch``/``send_batch``:
        no per-message future or accumulator work, one produce request for the batch).
        Messages without a partition (dead letters) are sent one by one. All are added under
        the transaction's lock, so a commit sees all of them or none."""
        tid, txn_producer, lock = self._transaction(topic, partition)
        async with lock:
            self._still_open(tid, txn_producer)
            await _send_batched(txn_producer, messages, self._on_delivery(tid, txn_producer))

    async def send_and_commit(
        self, topic: str, partition: int, messages: Iterable[Message]
    ) -> None:
        """Add ``messages`` to the partition's transaction, commit it and begin the next one.

        For writes outside any input (the eviction timer's tombstones): left open they would
        wait for the partition's next input, and a partition without input would hold its
        transaction until the broker's transaction timeout aborts it and fences the producer.
        The commit also makes the outputs of inputs processed so far visible without their
        offsets; that is safe because their visitor-state records commit with them (a replay
        is then dropped as a duplicate).
        """
        tid, txn_producer, lock = self._transaction(topic, partition)
        async with lock:
            self._still_open(tid, txn_producer)
            await _send_all(txn_producer, messages, self._on_delivery(tid, txn_producer))
            await txn_producer.commit_transaction()
            await txn_producer.begin_transaction()


async def _send_all(
    txn_producer: Any, messages: Iterable[Message], on_delivery: Callable[[Any], None]
) -> None:
    for m in messages:
        future = await txn_producer.send(m.topic, m.value, key=m.key, partition=m.partition)
        future.add_done_callback(on_delivery)


async def _send_batched(
    txn_producer: Any, messages: Iterable[Message], on_delivery: Callable[[Any], None]
) -> None:
    by_tp: dict[tuple[str, int], list[Message]] = {}
    unpartitioned: list[Message] = []
    for m in messages:
        if m.partition is None:
            unpartitioned.append(m)
        else:
            by_tp.setdefault((m.topic, m.partition), []).append(m)
    for (topic, partition), group in by_tp.items():
        builder = txn_producer.create_batch()
        for m in group:
            if builder.append(timestamp=None, key=m.key, value=m.value) is None:  # full
                (await _submit(txn_producer, builder, topic, partition)).add_done_callback(
                    on_delivery
                )
                builder = txn_producer.create_batch()
                builder.append(timestamp=None, key=m.key, value=m.value)  # the first always fits
        (await _submit(txn_producer, builder, topic, partition)).add_done_callback(on_delivery)
    await _send_all(txn_producer, unpartitioned, on_delivery)


async def _submit(txn_producer: Any, builder: Any, topic: str, partition: int) -> Any:
    """Hand a record batch to the producer; returns its delivery future."""
    builder.close()  # complete: the sender takes it at once instead of waiting for the linger
    return await txn_producer.send_batch(builder, topic, partition=partition)


def _stop_on_failure(future: Any) -> None:
    if future.cancelled() or future.exception() is None:
        return
    log.critical(
        "Kafka refused an output message (%r): stopping the worker; its transaction is "
        "aborted and the uncommitted inputs will be consumed again",
        future.exception(),
    )
    fail_stop()


def fail_stop() -> None:
    """Stop the process at once: nothing may commit the open transactions after a failure."""
    os._exit(70)  # EX_SOFTWARE; no cleanup


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    async def _highwaters(self, partitions: list[Any]) -> Mapping[Any, int]:
        # read_committed: the broker answers with the last stable offset, known before the
        # first fetch of the partition (aiokafka's last_stable_offset is not)
        consumer = self._ensure_consumer()
        offsets: Mapping[Any, int] = await consumer.end_offsets(partitions)
        return offsets

    async def getmany(self, active_partitions: Any, timeout: float) -> Any:  # noqa: ASYNC109
        # Faust hands over its live set of active partitions, which it keeps changing during
        # a rebalance, and aiokafka's fetched_records reads an empty set as "every partition"
        if active_partitions is not None:
            if not active_partitions:
                return {}
            active_partitions = set(active_partitions)
        return await super().getmany(active_partitions, timeout)

    async def seek_to_committed(self) -> Mapping[Any, Any]:
        return await self.call_thread(self._seek_to_committed)  # type: ignore[no-any-return]

    async def _seek_to_committed(self) -> Mapping[Any, Any]:
        consumer = self._ensure_consumer()
        committed: Mapping[Any, int | None] = await consumer.seek_to_committed()
        changelogs = self.consumer.app.tables.changelog_topics
        rewind = uncommitted_inputs(committed, changelogs)
        if rewind:
            log.info(
                "no committed offset for %s: consumed from the beginning",
                ", ".join(f"{tp.topic}[{tp.partition}]" for tp in rewind),
            )
            # an explicit offset, not seek_to_beginning: that leaves the position unset until
            # a reset request returns, and Faust's livelock check asserts on it meanwhile
            beginnings = await consumer.beginning_offsets(rewind)
            for tp in rewind:
                consumer.seek(tp, beginnings[tp])
        return committed


def uncommitted_inputs(committed: Mapping[Any, int | None], changelogs: Iterable[str]) -> list[Any]:
    """The input partitions that ``seek_to_committed`` leaves where they are: aiokafka seeks
    only to a committed offset above 0, so a partition nobody committed yet keeps whatever
    position its fetcher reached. Faust relies on that seek to re-read the records it fetched
    and dropped during a rebalance (they belong to the previous generation), and for such a
    partition they were lost: the worker that took over a killed worker's partitions before
    the first commit there consumed them to the end and processed none (issue 15, item 1).
    These partitions are sought to the beginning (``auto_offset_reset="earliest"``: where a
    partition without a committed offset starts). Changelog partitions are left to Faust's
    recovery, which seeks them itself."""
    skip = set(changelogs)
    return sorted(
        (tp for tp, offset in committed.items() if not offset and tp.topic not in skip),
        key=lambda tp: (tp.topic, tp.partition),
    )


class _TransactionManager(TransactionManager):
    """Faust's transaction manager, with a new transactional producer for every assigned
    partition at every rebalance.

    Faust stops the producers of the partitions it computes as revoked and calls
    ``begin_transaction`` for every assigned one, which keeps a producer it still holds (and
    only logs "Invalid state transition IN_TRANSACTION -> IN_TRANSACTION"). Seen with two
    workers: a worker that lost partitions in one rebalance kept their producers (no "Stopping
    ... transactional producers" in its log), the other worker's producers fenced them, and
    when the partitions came back to the first worker (its peer SIGKILLed) it sent on the
    fenced producers: ``ProducerFenced`` and "Can't send messages while not in transaction",
    a fail-stop. Here no producer outlives a rebalance: every held one is stopped (under its
    lock, so no send or commit is cut in half), and each assigned partition gets a new
    producer, whose ``InitProducerId`` fences every older one (and aborts any open
    transaction of a dead worker). Nothing is lost: Faust committed every partition's
    transaction when the rebalance revoked the partitions (eager protocol: all of them).
    """

    async def on_rebalance(self, assigned: Any, revoked: Any, newly_assigned: Any) -> None:
        producer: Any = self.producer
        held = sorted(producer._transaction_producers)
        locks: Mapping[str, asyncio.Lock] = producer._trn_locks
        for tid in held:
            lock = locks.get(tid)
            if lock is None:
                await producer.stop_transaction(tid)
            else:
                async with lock:
                    await producer.stop_transaction(tid)
        tids = sorted(self._tps_to_transactional_ids(assigned))
        log.info(
            "rebalance: %d transactional producers stopped, %d started (Faust: %d partitions "
            "assigned, %d revoked)", len(held), len(tids), len(assigned), len(revoked),
        )  # fmt: skip
        await self._start_transactions(tids)


class _Consumer(batches.BatchingConsumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


#: How long a topic declaration is retried while the broker is not ready (a restart).
TOPIC_RETRY_S = 180.0
_TOPIC_RETRY_FIRST_S = 0.5
_TOPIC_RETRY_MAX_S = 5.0


async def retry_while_not_ready(
    attempt: Callable[[], Awaitable[None]],
    what: str,
    *,
    budget_s: float = TOPIC_RETRY_S,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run ``attempt`` until it succeeds, retrying any error with a doubling pause (0.5 s up to
    5 s) for ``budget_s``; then the last error is raised. Every failure is logged with its
    reason, so a broker that never comes back is visible before the worker stops."""
    deadline = clock() + budget_s
    pause = _TOPIC_RETRY_FIRST_S
    while True:
        try:
            await attempt()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if clock() + pause > deadline:
                raise
            log.warning("%s failed (%r); retrying in %.1f s", what, exc, pause)
            await sleep(pause)
            pause = min(pause * 2, _TOPIC_RETRY_MAX_S)


class _Producer(faust_aiokafka.Producer):
    """Faust's producer whose commit runs the transactions of all partitions at once.

    Faust commits one transactional id after another: per input partition the offsets
    (``AddOffsetsToTxn``, ``TxnOffsetCommit``) then ``EndTxn``, three broker round trips, so a
    worker with eight partitions waited ~24 round trips per commit, and every output waited for
    the whole chain before a ``read_committed`` reader could see it (freshness). The steps of
    one transaction stay in Faust's order under that transaction's lock; different transactions
    are independent in Kafka (each has its own producer, id and coordinator state), so they run
    concurrently. Every transaction is finished before the commit returns; the first failure is
    then raised as Faust's loop would have raised it (the worker stops: see ``fail_stop``)."""

    async def commit_transactions(
        self,
        tid_to_offset_map: Mapping[str, Mapping[Any, int]],
        group_id: str,
        start_new_transaction: bool = True,
    ) -> None:
        results = await asyncio.gather(
            *(
                self._commit_one(tid, offsets, group_id, start_new_transaction)
                for tid, offsets in tid_to_offset_map.items()
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _commit_one(
        self, tid: str, offsets: Mapping[Any, int], group_id: str, start_new: bool
    ) -> None:
        async with self._trn_locks[tid]:
            txn_producer = self._transaction_producers.get(tid)
            if txn_producer is None:
                log.warning("Commit invoked for unknown transaction %s", tid)
                return
            await txn_producer.send_offsets_to_transaction(offsets, group_id)
            await txn_producer.commit_transaction()
            if start_new:
                await txn_producer.begin_transaction()


class Transport(faust_aiokafka.Transport):
    """Faust's aiokafka transport whose consumer asks the broker for changelog highwaters,
    whose producer commits the partitions' transactions concurrently, and whose topic
    declarations survive a broker restart."""

    Consumer = _Consumer
    Producer = _Producer
    TransactionManager = _TransactionManager

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Topic name → the channel its records go to as ``batches.RecordBatch``es.
        self.batch_routes: dict[str, Any] = {}

    def route(self, topic: str, channel: Any) -> None:
        """Deliver ``topic``'s records to ``channel`` in batches (``streams.batches``)."""
        self.batch_routes[topic] = channel

    async def _create_topic(
        self, owner: Any, client: Any, topic: str, partitions: int, replication: int, **kw: Any
    ) -> None:
        parent = super()._create_topic

        async def attempt() -> None:
            await parent(owner, client, topic, partitions, replication, **kw)

        await retry_while_not_ready(attempt, f"declaring topic {topic!r}")
