"""The batched hit path of the worker without a broker.

``handle_hit_batch``: a batch of raw hits gives exactly the outputs of handling them one at a
time, and one visitor-state changelog record per visitor with its last state.
``produce_batch`` / ``TransactionalSender.send_batch``: a batch's outputs go, as one Kafka
record batch per output topic and partition, into the open transaction of the *input's*
partition, all of them before any commit can come in; a refused delivery, a failure halfway or
a missing transaction of a partition still owned stops the worker (fail-stop); a partition
no longer owned skips the batch with nothing sent.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from core.settings import Settings
from schemas.topics import hit_key
from streams import eos
from streams.app import HitHandler, Incoming, Outgoing, handle_hit_batch, produce_batch
from streams.enrich.geoip import GeoIP
from streams.enrich.metrics import StreamCounters
from streams.enrich.pipeline import build_pipeline
from streams.enrich.useragent import UserAgentParser
from tests.integration import scenario
from tests.mmdb_builder import build_country_mmdb

APP = "g-streams"
GROUPS = {"hits.raw": 0, "dossiers.raw": 1}
CHANGELOG = "g-streams-visitors-changelog"
T0 = 1_795_000_000_000
MIN = 60_000


class _Builder:
    """aiokafka's ``BatchBuilder``: takes ``capacity`` records (the first always)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.records: list[tuple[bytes | None, bytes | None]] = []
        self.closed = False

    def append(self, *, timestamp: Any, key: bytes | None, value: bytes | None) -> Any:
        assert not self.closed
        if self.records and len(self.records) >= self.capacity:
            return None
        self.records.append((key, value))
        return object()

    def close(self) -> None:
        self.closed = True


class _TxnProducer:
    """A transactional aiokafka producer as the sender uses it: records every call."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self.calls: list[tuple[Any, ...]] = []
        self.futures: list[asyncio.Future[Any]] = []

    def create_batch(self) -> _Builder:
        return _Builder(self.capacity)

    async def send_batch(
        self, builder: _Builder, topic: str, *, partition: int
    ) -> asyncio.Future[Any]:
        assert builder.closed
        self.calls.append(("batch", topic, partition, list(builder.records)))
        await asyncio.sleep(0)  # a real send may wait for the previous batch of the partition
        return self._future()

    async def send(
        self, topic: str, value: bytes | None, *, key: bytes | None, partition: int | None
    ) -> asyncio.Future[Any]:
        self.calls.append(("send", topic, partition, [(key, value)]))
        await asyncio.sleep(0)
        return self._future()

    def _future(self) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return future

    async def commit_transaction(self) -> None:
        self.calls.append(("commit",))

    async def begin_transaction(self) -> None:
        self.calls.append(("begin",))


class _FaustProducer:
    def __init__(self, ids: list[str], capacity: int = 1000) -> None:
        self._transaction_producers = {tid: _TxnProducer(capacity) for tid in ids}
        self._trn_locks = {tid: asyncio.Lock() for tid in ids}


def _sender(producer: _FaustProducer) -> eos.TransactionalSender:
    return eos.TransactionalSender(APP, producer, GROUPS.__getitem__)


@pytest.fixture
def stops(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(eos, "fail_stop", lambda: calls.append(1))
    return calls


def _outputs() -> list[Outgoing]:
    return [
        Outgoing("pageviews", b"a", b"pa", 4),
        Outgoing("sessions", b"a", b"sa", 4),
        Outgoing("deadletters", b"x", b"dx"),  # one-partition topic: partition left to Kafka
        Outgoing("pageviews", b"b", b"pb", 4),
        Outgoing("sessions", b"b", b"sb", 4),
        Outgoing(CHANGELOG, b"a", b"state-a", 4),
        Outgoing(CHANGELOG, b"b", None, 4),  # a tombstone
    ]


async def test_a_batch_joins_the_transaction_of_its_input_partition_as_record_batches(
    stops: list[int],
) -> None:
    producer = _FaustProducer([f"{APP}-0-{p}" for p in range(6)] + [f"{APP}-1-0"])
    sent = await produce_batch(_sender(producer), "hits.raw", 4, _outputs())
    assert sent is True
    mine = producer._transaction_producers[f"{APP}-0-4"]
    assert mine.calls == [
        ("batch", "pageviews", 4, [(b"a", b"pa"), (b"b", b"pb")]),
        ("batch", "sessions", 4, [(b"a", b"sa"), (b"b", b"sb")]),
        ("batch", CHANGELOG, 4, [(b"a", b"state-a"), (b"b", None)]),
        ("send", "deadletters", None, [(b"x", b"dx")]),
    ]
    others = [t for tid, t in producer._transaction_producers.items() if tid != f"{APP}-0-4"]
    assert all(t.calls == [] for t in others)
    for future in mine.futures:
        future.set_result("metadata")
    await asyncio.sleep(0)
    assert stops == []


async def test_a_full_record_batch_is_sent_and_the_next_one_started() -> None:
    producer = _FaustProducer([f"{APP}-0-1"], capacity=2)
    messages = [Outgoing("pageviews", b"k", f"v{i}".encode(), 1) for i in range(5)]
    await produce_batch(_sender(producer), "hits.raw", 1, messages)
    calls = producer._transaction_producers[f"{APP}-0-1"].calls
    assert [[v for _k, v in c[3]] for c in calls] == [[b"v0", b"v1"], [b"v2", b"v3"], [b"v4"]]


async def test_a_commit_cannot_fall_inside_a_batch(stops: list[int]) -> None:
    tid = f"{APP}-0-1"
    producer = _FaustProducer([tid], capacity=1)
    txn = producer._transaction_producers[tid]

    async def faust_commit() -> None:  # what Faust's commit_transactions does, under the lock
        async with producer._trn_locks[tid]:
            await txn.commit_transaction()
            await txn.begin_transaction()

    messages = [Outgoing("pageviews", b"k", f"v{i}".encode(), 1) for i in range(5)]
    sending = asyncio.create_task(produce_batch(_sender(producer), "hits.raw", 1, messages))
    await asyncio.sleep(0)  # the sender holds the lock and is between two record batches
    assert 0 < len(txn.calls) < len(messages)
    await asyncio.gather(sending, faust_commit())
    assert [c[0] for c in txn.calls] == ["batch"] * 5 + ["commit", "begin"]


async def test_a_refused_record_batch_stops_the_worker(stops: list[int]) -> None:
    tid = f"{APP}-0-0"
    producer = _FaustProducer([tid])
    await produce_batch(_sender(producer), "hits.raw", 0, _outputs()[:2])
    futures = producer._transaction_producers[tid].futures
    futures[0].set_result("metadata")
    await asyncio.sleep(0)
    assert stops == []
    futures[1].set_exception(RuntimeError("MessageSizeTooLarge"))
    await asyncio.sleep(0)
    assert stops == [1]


async def test_a_failure_halfway_stops_the_worker(
    stops: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Part of the batch may be in the transaction: it must never be committed."""
    tid = f"{APP}-0-0"
    producer = _FaustProducer([tid])
    txn = producer._transaction_producers[tid]

    async def broken(builder: Any, topic: str, *, partition: int) -> Any:
        if topic == "sessions":
            raise RuntimeError("KafkaConnectionError")
        return txn._future()

    monkeypatch.setattr(txn, "send_batch", broken)
    sent = await produce_batch(_sender(producer), "hits.raw", 0, _outputs())
    assert (sent, stops) == (False, [1])


async def test_missing_transaction_is_stale_or_fatal(stops: list[int]) -> None:
    producer = _FaustProducer([f"{APP}-0-0"])  # partition 3 was revoked or fenced
    asked: list[tuple[str, int]] = []

    def not_owned(topic: str, partition: int) -> bool:
        asked.append((topic, partition))
        return False

    sent = await produce_batch(_sender(producer), "hits.raw", 3, _outputs(), not_owned)
    assert (sent, stops, asked) == (False, [], [("hits.raw", 3)])
    assert producer._transaction_producers[f"{APP}-0-0"].calls == []
    # while the partition is still this worker's, a missing transaction stays fatal
    sent = await produce_batch(_sender(producer), "hits.raw", 3, _outputs(), lambda _t, _p: True)
    assert (sent, stops) == (False, [1])


async def test_an_empty_batch_needs_no_transaction(stops: list[int]) -> None:
    assert await produce_batch(_sender(_FaustProducer([])), "hits.raw", 3, []) is True
    assert stops == []


# --- handle_hit_batch


@pytest.fixture()
def handler(tmp_path: Path) -> HitHandler:
    settings = Settings(data_dir=tmp_path, topic_prefix="t.")
    geo = GeoIP(build_country_mmdb(tmp_path / "geo.mmdb", scenario.GEO_NETWORKS))
    counters = StreamCounters()
    return HitHandler(settings, build_pipeline(geo, UserAgentParser(), counters), counters)


def _hit(event_id: str, visitor: str, ts: int, **changes: Any) -> tuple[bytes, bytes]:
    hit = {
        "event_id": event_id,
        "site": "w1",
        "tz": "Asia/Ho_Chi_Minh",
        "ts": ts,
        "received_ms": ts + 20,
        "type": "pageview",
        "url": f"https://w1.gov.vn/{event_id}",
        "ip": "14.160.1.1",
        "ua": scenario.UA_CHROME,
        "visitor_id": f"vid-{visitor}",
        "source": "server",
        **changes,
    }
    return hit_key("w1", f"vk-{visitor}"), orjson.dumps(hit)


def _incoming(messages: list[tuple[bytes, bytes]], first_offset: int = 0) -> list[Incoming]:
    return [
        Incoming("t.emc.hits.raw", 2, first_offset + i, key, value)
        for i, (key, value) in enumerate(messages)
    ]


def _batch_input() -> list[tuple[bytes, bytes]]:
    return [
        _hit("a1", "A", T0),
        _hit("b1", "B", T0 + 1),
        _hit("a2", "A", T0 + 5 * MIN),
        _hit("a1", "A", T0),  # a duplicate of a1
        _hit("bot1", "bot", T0, ua=scenario.UA_CURL),
        (b"w1|garbage", b"{not json"),
        _hit("a3", "A", T0 + 50 * MIN),  # a 45-minute gap: A's second visit
        _hit("late", "B", T0 + 10 * 86_400_000),  # a clock far in the future
    ]


def test_a_batch_gives_the_outputs_of_its_hits_one_by_one(handler: HitHandler) -> None:
    messages = _incoming(_batch_input())
    now_ms = T0 + 86_400_000
    one_by_one: list[Outgoing] = []
    table: dict[bytes, Any] = {}
    for message in messages:
        assert message.key is not None
        outcome = handler.handle(message, table.get(message.key), now_ms)
        one_by_one += outcome.messages
        if outcome.state is not None:
            table[message.key] = outcome.state

    store: dict[bytes, Any] = {}
    batch = handle_hit_batch(handler, messages, store, CHANGELOG, clock=lambda: now_ms)
    outputs = [m for m in batch.messages if m.topic != CHANGELOG]
    # the same messages, dead letters aside (they carry the time they failed)
    assert [m for m in outputs if "dead" not in m.topic] == [
        m for m in one_by_one if "dead" not in m.topic
    ]
    assert len(outputs) == len(one_by_one)
    # one changelog record per visitor, on the hit's partition, with the visitor's last state
    changelog = [m for m in batch.messages if m.topic == CHANGELOG]
    assert [m.key for m in changelog] == [
        hit_key("w1", "vk-A"),
        hit_key("w1", "vk-B"),
        hit_key("w1", "vk-bot"),
    ]
    assert batch.touched == [m.key for m in changelog]
    for record in changelog:
        assert record.key is not None and record.value is not None
        value = orjson.loads(record.value)
        assert value == {"p": 2, "s": table[record.key]} == store[record.key]
        assert record.partition == 2
    # the watermark: the highest hit time, never past processing time
    assert batch.event_ms == now_ms


def test_a_handler_bug_becomes_the_hits_dead_letter(
    handler: HitHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = handler.handle

    def flaky(message: Incoming, state: Any, now_ms: int) -> Any:
        if message.offset == 1:
            raise ZeroDivisionError("bug")
        return real(message, state, now_ms)

    monkeypatch.setattr(handler, "handle", flaky)
    batch = handle_hit_batch(
        handler, _incoming(_batch_input()[:3]), {}, CHANGELOG, clock=lambda: T0
    )
    letters = [orjson.loads(m.value or b"") for m in batch.messages if "dead" in m.topic]
    assert [(d["reason"], d["offset"]) for d in letters] == [("internal_error", 1)]
    assert batch.touched == [hit_key("w1", "vk-A")]  # B's hit failed: no state


async def test_fenced_after_the_partition_moved_is_not_a_failure(
    stops: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several workers (issue 15): a rebalance gives the partition to another worker, whose
    producer fences this one's; Faust has stopped (removed) it: the outputs' refusal is the
    revocation, not a failure. A fenced producer Faust still holds after the grace time is."""
    from aiokafka.errors import ProducerFenced

    monkeypatch.setattr(eos, "FENCED_GRACE_S", 0.01)
    tid = f"{APP}-0-0"
    producer = _FaustProducer([tid])
    await produce_batch(_sender(producer), "hits.raw", 0, _outputs()[:2])
    txn = producer._transaction_producers.pop(tid)  # Faust's stop_transaction on revocation
    txn.futures[0].set_exception(ProducerFenced())
    await asyncio.sleep(0.05)
    assert stops == []

    producer = _FaustProducer([tid])  # still held: fenced without a rebalance (a real failure)
    await produce_batch(_sender(producer), "hits.raw", 0, _outputs()[:2])
    producer._transaction_producers[tid].futures[0].set_exception(ProducerFenced())
    await asyncio.sleep(0.05)
    assert stops == [1]


async def test_a_producer_stopped_while_the_batch_waited_is_stale(stops: list[int]) -> None:
    """Faust stops a revoked partition's producer without its lock: a batch that waited for
    the lock meanwhile sends nothing and is skipped (not owned) or fatal (still owned)."""
    tid = f"{APP}-0-0"
    producer = _FaustProducer([tid])
    sender = _sender(producer)
    lock = producer._trn_locks[tid]
    await lock.acquire()
    old = producer._transaction_producers[tid]
    waiting = asyncio.create_task(
        produce_batch(sender, "hits.raw", 0, _outputs()[:2], lambda _t, _p: False)
    )
    await asyncio.sleep(0)
    producer._transaction_producers[tid] = _TxnProducer()  # replaced meanwhile
    lock.release()
    assert await waiting is False
    assert old.calls == [] and stops == []
