"""The only module of the collector that talks to Kafka.

Contract of ``KafkaProducer.send_batch(topic, items)``: returns only after the broker has
acknowledged every message (idempotent producer, ``acks=all``); otherwise raises
``KafkaUnavailable`` within ``timeout_s`` — the caller answers 503 and acknowledges nothing.
Messages of a request that gave up before they were handed to aiokafka are dropped; ones
already handed over may still be delivered (the sender's retry then duplicates them: delivery
is at-least-once, and ``event_id`` makes a resent server hit harmless).

Availability: ``start()`` never fails. A background task (re)connects until the broker answers,
so the collector starts while Kafka is down and answers 503 until it is there. When a send
fails, or times out while the cluster does not answer metadata, the aiokafka producer is
discarded and a fresh one connects (a producer whose batches expired has broken idempotence
sequence numbers); meanwhile sends fail fast.

Throughput: aiokafka keeps one produce request in flight per broker, so what matters is how
many messages each request carries. Concurrent ``send_batch`` calls are queued and one flusher
task coalesces everything queued into one record batch per partition (the default murmur2
partitioner, as the Java client and Faust), handed over with ``create_batch``/``send_batch``:
one future per partition and flush instead of one per message. While a flush waits for the
broker, new requests pile up and form the next, larger flush.

Latency and CPU: aiokafka's ``linger_ms`` is 0: our flusher already coalesces, and aiokafka
lingers a prebuilt batch like an open one, so any linger was added to every request's round
trip. Instead two flushes are at least ``interval_ms`` apart (``EMC_PRODUCE_INTERVAL_MS``):
a hit after a quiet spell is flushed at once, under load the hits of that interval share one
produce request. Every produce request costs a few hundred microseconds of CPU in aiokafka
and more in the broker whatever it carries, so under load this is what keeps the cost per hit
down (BENCHMARKS.md, "Collector"). Each request waits on its own future, not
``wait_for``/``shield`` (four futures and callbacks per request on the hot path), and carries
its deadline; one reaper task fails the requests past theirs, waking every ``timeout_s / 10``
(at most 50 ms) while any is waiting. A timer per request (``call_later`` and its cancel)
cost about 2 µs of the beacon's ~100; the price is a timeout up to one tick late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from core.settings import Settings

log = logging.getLogger(__name__)

Message = tuple[bytes, bytes]

#: Bytes per record batch; the broker's default message.max.bytes is ~1 MiB.
MAX_BATCH_BYTES = 512 * 1024
_RECONNECT_MIN_S = 0.2
_RECONNECT_MAX_S = 2.0
_READY_TIMEOUT_S = 1.0
#: Longest wait between two checks of the requests' deadlines (``KafkaProducer._reap_loop``).
_REAP_MAX_S = 0.05


class KafkaUnavailable(Exception):
    """Kafka did not acknowledge in time (or is not connected): nothing may be acknowledged."""


class Producer(Protocol):
    """What the app needs from a producer (tests pass a fake)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_batch(self, topic: str, items: Sequence[Message]) -> None: ...

    async def ready(self) -> bool: ...


_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (``org.apache.kafka.common.utils.Utils.murmur2``) as an unsigned 32-bit
    int: the same numbers as ``aiokafka.partitioner.murmur2`` (a unit test compares them),
    about twice as fast (the 4-byte words are unpacked at once)."""
    length = len(data)
    h = 0x9747B28C ^ length
    words = length >> 2
    for word in struct.unpack_from(f"<{words}I", data):
        k = (word * _M) & _MASK
        k ^= k >> 24
        h = ((h * _M) & _MASK) ^ ((k * _M) & _MASK)
    rest = length & 3
    if rest:
        tail = words << 2
        if rest >= 3:
            h ^= data[tail + 2] << 16
        if rest >= 2:
            h ^= data[tail + 1] << 8
        h = ((h ^ data[tail]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


@lru_cache(maxsize=1 << 16)
def _key_hash(key: bytes) -> int:
    return murmur2(key) & 0x7FFFFFFF


def partition_for(key: bytes, partitions: Sequence[int]) -> int:
    """The partition of ``key`` among the sorted ``partitions``: the Java client's default."""
    return partitions[_key_hash(key) % len(partitions)]


class KafkaProducer:
    """An auto-reconnecting idempotent aiokafka producer (see the module doc)."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        timeout_s: float = 5.0,
        interval_ms: float = 0.0,
        linger_ms: int = 0,
        client_id: str = "emc-collector",
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._timeout_s = timeout_s
        self._linger_ms = linger_ms
        self._interval_s = interval_ms / 1000
        self._last_flush = float("-inf")
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._settling: set[asyncio.Task[None]] = set()
        self._queue: list[_Pending] = []
        self._kick = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._check: asyncio.Task[None] | None = None
        self._reaper: asyncio.Task[None] | None = None
        #: requests handed to aiokafka whose acks are awaited (one list per flush)
        self._flights: set[tuple[_Pending, ...]] = set()
        self._waiting = asyncio.Event()
        self._stopped = False
        #: producers discarded after a failure; ``on_reconnect`` is called for each (a metric)
        self.reconnects = 0
        self.on_reconnect: Callable[[], None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaProducer:
        return cls(
            settings.bootstrap_servers,
            timeout_s=settings.produce_timeout_s,
            interval_ms=settings.produce_interval_ms,
        )

    @property
    def connected(self) -> bool:
        return self._producer is not None

    def _new(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=self._linger_ms,
            compression_type="lz4",
            max_batch_size=MAX_BATCH_BYTES,
            request_timeout_ms=int(self._timeout_s * 1000),
            retry_backoff_ms=100,
        )

    async def start(self) -> None:
        """Start connecting in the background; returns at once (see ``wait_connected``)."""
        self._stopped = False
        self._wake.set()
        if self._task is None:
            self._task = asyncio.create_task(self._connect_loop(), name="emc-kafka-connect")
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop(), name="emc-kafka-flush")
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap_loop(), name="emc-kafka-deadlines")

    async def wait_connected(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for a connection (used by tests and benchmarks)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._producer is None:
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def stop(self) -> None:
        self._stopped = True
        for task in (self._task, self._flusher, self._check, self._reaper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._flusher = self._check = self._reaper = None
        _fail(self._queue, KafkaUnavailable("the collector is stopping"))
        self._queue = []
        producer, self._producer = self._producer, None
        if producer is not None:
            await self._close(producer)
        for task in [*self._retiring, *self._settling]:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _connect_loop(self) -> None:
        delay_s = _RECONNECT_MIN_S
        while not self._stopped:
            await self._wake.wait()
            self._wake.clear()
            while self._producer is None and not self._stopped:
                producer = self._new()
                try:
                    await asyncio.wait_for(producer.start(), timeout=self._timeout_s * 2)
                except (TimeoutError, KafkaError, OSError) as exc:
                    log.info("Kafka at %s not reachable yet: %s", self._bootstrap, exc)
                    await self._close(producer)
                    await asyncio.sleep(delay_s)
                    delay_s = min(delay_s * 2, _RECONNECT_MAX_S)
                    continue
                log.info("connected to Kafka at %s", self._bootstrap)
                self._producer = producer
                delay_s = _RECONNECT_MIN_S

    async def _close(self, producer: AIOKafkaProducer) -> None:
        try:
            await asyncio.wait_for(producer.stop(), timeout=self._timeout_s)
        except (TimeoutError, KafkaError, OSError) as exc:
            log.debug("closing a Kafka producer: %s", exc)

    def _retire(self, producer: AIOKafkaProducer) -> None:
        """Discard a producer after a failure and reconnect with a fresh one."""
        if self._producer is producer:
            self._producer = None
            self.reconnects += 1
            if self.on_reconnect is not None:
                self.on_reconnect()
            task = asyncio.create_task(self._close(producer))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
            self._wake.set()

    async def ready(self) -> bool:
        """True when connected and the cluster answers a metadata request within 1 s."""
        producer = self._producer
        if producer is None:
            return False
        try:
            await asyncio.wait_for(producer.client.fetch_all_metadata(), _READY_TIMEOUT_S)
        except (TimeoutError, KafkaError, OSError):
            return False
        return True

    async def send_batch(self, topic: str, items: Sequence[Message]) -> None:
        """Produce ``items`` (key, value) to ``topic`` and wait for every ack; raises
        ``KafkaUnavailable`` within ``timeout_s`` otherwise."""
        if not items:
            return
        if self._producer is None:
            raise KafkaUnavailable(f"not connected to Kafka at {self._bootstrap}")
        loop = asyncio.get_running_loop()
        pending = _Pending(topic, items, loop.create_future(), loop.time() + self._timeout_s)
        self._queue.append(pending)
        if not self._kick.is_set():
            self._kick.set()
        if not self._waiting.is_set():
            self._waiting.set()
        await pending.future

    async def _reap_loop(self) -> None:
        """Fail every request past its deadline, queued or in flight (see the module doc)."""
        loop = asyncio.get_running_loop()
        tick_s = min(_REAP_MAX_S, self._timeout_s / 10)
        while True:
            await self._waiting.wait()
            await asyncio.sleep(tick_s)
            now = loop.time()
            waiting = False
            for requests in (self._queue, *self._flights):
                for request in requests:
                    if request.future.done():
                        continue
                    if request.deadline <= now:
                        self._expire(request)
                    else:
                        waiting = True
            if not waiting:
                self._waiting.clear()

    def _expire(self, pending: _Pending) -> None:
        """The request's timeout: it gives up (dropped if not yet handed to aiokafka)."""
        if pending.future.done():
            return
        pending.future.set_exception(
            KafkaUnavailable(f"Kafka did not acknowledge within {self._timeout_s} s")
        )
        self._suspect()

    def _suspect(self) -> None:
        """After a timeout: retire the producer if the cluster does not answer (an outage),
        keep it if it does (a burst of load)."""
        if self._check is not None and not self._check.done():
            return
        producer = self._producer

        async def check() -> None:
            if producer is not None and self._producer is producer and not await self.ready():
                log.warning("Kafka at %s not answering: reconnecting", self._bootstrap)
                self._retire(producer)

        self._check = asyncio.create_task(check())

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._kick.wait()
            delay_s = self._last_flush + self._interval_s - loop.time()
            if delay_s > 0:  # a flush went out a moment ago: let more requests join the next
                await asyncio.sleep(delay_s)
            self._kick.clear()
            self._last_flush = loop.time()
            while self._queue:
                # a request that timed out or was cancelled before its flush is dropped
                pending = [p for p in self._queue if not p.future.done()]
                self._queue = []
                producer = self._producer
                if producer is None:
                    _fail(pending, KafkaUnavailable("not connected to Kafka"))
                    continue
                flight = tuple(pending)  # the reaper sees its deadlines from now on
                self._flights.add(flight)
                try:
                    futures = await self._submit(producer, pending)
                except (KafkaError, OSError, AssertionError) as exc:
                    self._flights.discard(flight)
                    self._retire(producer)
                    _fail(pending, KafkaUnavailable(f"{type(exc).__name__}: {exc}"))
                    continue
                except asyncio.CancelledError:  # stopping while handing them over
                    self._flights.discard(flight)
                    _fail(pending, KafkaUnavailable("the collector is stopping"))
                    raise
                task = asyncio.create_task(self._settle(producer, flight, futures))
                self._settling.add(task)
                task.add_done_callback(self._settling.discard)

    async def _submit(
        self, producer: AIOKafkaProducer, pending: list[_Pending]
    ) -> list[asyncio.Future[Any]]:
        by_topic: dict[str, list[Message]] = {}
        for request in pending:
            by_topic.setdefault(request.topic, []).extend(request.items)
        futures: list[asyncio.Future[Any]] = []
        for topic, items in by_topic.items():
            partitions = sorted(await producer.partitions_for(topic))
            grouped: dict[int, list[Message]] = {}
            for item in items:
                grouped.setdefault(partition_for(item[0], partitions), []).append(item)
            for partition, group in grouped.items():
                futures.extend(await _send_partition(producer, topic, partition, group))
        return futures

    async def _settle(
        self,
        producer: AIOKafkaProducer,
        pending: tuple[_Pending, ...],
        futures: list[asyncio.Future[Any]],
    ) -> None:
        try:
            results = await asyncio.gather(*futures, return_exceptions=True)
        finally:
            self._flights.discard(pending)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            self._retire(producer)
            _fail(pending, KafkaUnavailable(f"{type(errors[0]).__name__}: {errors[0]}"))
            return
        for request in pending:
            if not request.future.done():
                request.future.set_result(None)


class _Pending:
    """One queued ``send_batch`` call."""

    __slots__ = ("deadline", "future", "items", "topic")

    def __init__(
        self, topic: str, items: Sequence[Message], future: asyncio.Future[None], deadline: float
    ):
        self.topic = topic
        self.items = items
        self.future = future
        #: the loop time at which the request gives up (``KafkaProducer._reap_loop``)
        self.deadline = deadline


def _fail(pending: Sequence[_Pending], exc: KafkaUnavailable) -> None:
    for request in pending:
        if not request.future.done():
            request.future.set_exception(exc)


async def _send_partition(
    producer: AIOKafkaProducer, topic: str, partition: int, group: list[Message]
) -> list[asyncio.Future[Any]]:
    """Hand ``group`` to aiokafka as prebuilt record batches; the futures resolve on ack."""
    futures: list[asyncio.Future[Any]] = []
    batch = producer.create_batch()
    for key, value in group:
        if batch.append(key=key, value=value, timestamp=None) is None:
            futures.append(await producer.send_batch(batch, topic, partition=partition))
            batch = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:
                raise KafkaError(f"a message of {len(value)} bytes does not fit a record batch")
    if batch.record_count():
        futures.append(await producer.send_batch(batch, topic, partition=partition))
    return futures
