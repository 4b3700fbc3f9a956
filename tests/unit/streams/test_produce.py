"""``streams.app.produce`` and ``streams.eos.TransactionalSender``: one input's outputs go, all
together, into the open transaction of the *input's* partition (whichever topic and partition
each output has), a commit cannot fall between them, and a refused delivery or a missing
transaction stops the worker (fail-stop) instead of letting a commit go out without them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streams import eos
from streams.app import Incoming, Outgoing, produce

APP = "g-streams"
GROUPS = {"hits.raw": 0, "dossiers.raw": 1}


class _TxnProducer:
    """An aiokafka transactional producer as the sender uses it: records sends, commits and
    begins, and hands out futures the test resolves."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.futures: list[asyncio.Future[Any]] = []

    async def send(
        self, topic: str, value: bytes | None, *, key: bytes | None, partition: int | None
    ) -> asyncio.Future[Any]:
        self.calls.append(("send", topic, key, value, partition))
        await asyncio.sleep(0)  # a real send may yield (metadata, full batch)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return future

    async def commit_transaction(self) -> None:
        self.calls.append(("commit",))

    async def begin_transaction(self) -> None:
        self.calls.append(("begin",))


class _FaustProducer:
    """Faust's aiokafka ``Producer``: transactional producers and their locks by id."""

    def __init__(self, ids: list[str]) -> None:
        self._transaction_producers = {tid: _TxnProducer() for tid in ids}
        self._trn_locks = {tid: asyncio.Lock() for tid in ids}


def _sender(producer: _FaustProducer) -> eos.TransactionalSender:
    return eos.TransactionalSender(APP, producer, GROUPS.__getitem__)


@pytest.fixture
def stops(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(eos, "fail_stop", lambda: calls.append(1))
    return calls


async def test_outputs_join_the_transaction_of_the_input_partition(stops: list[int]) -> None:
    producer = _FaustProducer(
        [f"{APP}-0-{p}" for p in range(6)] + [f"{APP}-1-{p}" for p in range(3)]
    )
    source = Incoming("hits.raw", 4, 17, b"k", b"{}")
    messages = [
        Outgoing("pageviews", b"k", b"v1", 4),
        Outgoing("sessions", b"k", b"v2", 4),
        Outgoing("deadletters", b"k", b"v3"),  # one-partition topic: partition left to Kafka
        Outgoing("visitors-changelog", b"k", None, 4),  # a tombstone
    ]
    await produce(_sender(producer), source, messages)
    mine = producer._transaction_producers[f"{APP}-0-4"]
    assert mine.calls == [("send", m.topic, m.key, m.value, m.partition) for m in messages]
    others = [t for tid, t in producer._transaction_producers.items() if tid != f"{APP}-0-4"]
    assert all(t.calls == [] for t in others)
    # a dossier input of partition 4 does not exist: partition 1 of the dossiers group
    await produce(_sender(producer), Incoming("dossiers.raw", 1, 3, None, b"{}"), messages[:1])
    assert producer._transaction_producers[f"{APP}-1-1"].calls == [
        ("send", "pageviews", b"k", b"v1", 4)
    ]
    for future in mine.futures:
        future.set_result("metadata")
    await asyncio.sleep(0)
    assert stops == []


async def test_a_commit_cannot_fall_between_the_outputs_of_one_input(stops: list[int]) -> None:
    tid = f"{APP}-0-1"
    producer = _FaustProducer([tid])
    txn = producer._transaction_producers[tid]

    async def faust_commit() -> None:  # what Faust's commit_transactions does, under the lock
        async with producer._trn_locks[tid]:
            await txn.commit_transaction()
            await txn.begin_transaction()

    messages = [Outgoing("pageviews", b"k", f"v{i}".encode(), 1) for i in range(5)]
    sending = asyncio.create_task(
        produce(_sender(producer), Incoming("hits.raw", 1, 0, b"k", b"{}"), messages)
    )
    await asyncio.sleep(0)  # the sender holds the lock and is between two sends
    assert 0 < len(txn.calls) < len(messages)
    await asyncio.gather(sending, faust_commit())
    assert [c[0] for c in txn.calls] == ["send"] * 5 + ["commit", "begin"]


async def test_refused_delivery_stops_the_worker(stops: list[int]) -> None:
    tid = f"{APP}-0-0"
    producer = _FaustProducer([tid])
    source = Incoming("hits.raw", 0, 5, b"k", b"{}")
    await produce(
        _sender(producer), source, [Outgoing("pv", b"k", b"v", 0), Outgoing("pv", b"k", b"w", 0)]
    )
    futures = producer._transaction_producers[tid].futures
    futures[0].set_result("metadata")
    await asyncio.sleep(0)
    assert stops == []
    futures[1].set_exception(RuntimeError("MessageSizeTooLarge"))
    await asyncio.sleep(0)
    assert stops == [1]


async def test_an_input_partition_without_transaction_stops_the_worker(
    stops: list[int],
) -> None:
    producer = _FaustProducer([f"{APP}-0-0"])  # partition 3 was revoked or fenced
    await produce(
        _sender(producer), Incoming("hits.raw", 3, 0, b"k", b"{}"), [Outgoing("pv", b"k", b"v", 3)]
    )
    assert stops == [1]
    assert producer._transaction_producers[f"{APP}-0-0"].calls == []


async def test_a_message_of_a_revoked_partition_is_skipped_not_fatal(stops: list[int]) -> None:
    """Kafka went away, Faust revoked partition 3 and stopped its transactional producer, and
    a message of partition 3 fetched before still reaches the agent: its outputs go nowhere
    (no other partition's transaction), the worker keeps running, and produce says so."""
    producer = _FaustProducer([f"{APP}-0-0"])
    source = Incoming("hits.raw", 3, 41, b"k", b"{}")
    asked: list[Incoming] = []

    def still_owned(message: Incoming) -> bool:
        asked.append(message)
        return False

    sent = await produce(_sender(producer), source, [Outgoing("pv", b"k", b"v", 3)], still_owned)
    assert sent is False
    assert asked == [source]
    assert stops == []
    assert producer._transaction_producers[f"{APP}-0-0"].calls == []
    # while the partition is still this worker's, a missing transaction stays fatal
    sent = await produce(
        _sender(producer), source, [Outgoing("pv", b"k", b"v", 3)], lambda _m: True
    )
    assert (sent, stops) == (False, [1])
    # and an owned partition with its transaction sends as before
    ok = await produce(
        _sender(producer), Incoming("hits.raw", 0, 1, b"k", b"{}"),
        [Outgoing("pv", b"k", b"v", 0)], still_owned,
    )  # fmt: skip
    assert ok is True and asked == [
        source,
    ]


async def test_no_output_needs_no_transaction(stops: list[int]) -> None:
    producer = _FaustProducer([])
    await produce(_sender(producer), Incoming("hits.raw", 3, 0, b"k", b"{}"), [])
    assert stops == []


async def test_send_and_commit_commits_then_begins_the_next_transaction() -> None:
    tid = f"{APP}-0-2"
    producer = _FaustProducer([tid])
    tombstones = [Outgoing("changelog", b"a", None, 2), Outgoing("changelog", b"b", None, 2)]
    await _sender(producer).send_and_commit("hits.raw", 2, tombstones)
    assert producer._transaction_producers[tid].calls == [
        ("send", "changelog", b"a", None, 2),
        ("send", "changelog", b"b", None, 2),
        ("commit",),
        ("begin",),
    ]
    with pytest.raises(eos.MissingTransaction, match=r"hits\.raw\[5\]"):
        await _sender(producer).send_and_commit("hits.raw", 5, tombstones)


def test_transactional_id_is_the_one_faust_commits_with() -> None:
    from faust.transport.consumer import TransactionManager

    tpg = type("TPG", (), {"group": 2, "partition": 5})()
    expected = TransactionManager.transactional_id_format.format(tpg=tpg, group_id=APP)
    assert eos.transactional_id(APP, 2, 5) == expected == f"{APP}-2-5"
