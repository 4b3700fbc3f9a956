"""What the stream worker does around a rebalance with several workers (issue 15, item 1;
``streams.eos`` and ``streams.app``), each rule from a failure the two-worker kill test showed:

- a partition nobody committed yet is consumed from the beginning after the seek that ends a
  rebalance (``uncommitted_inputs``): records fetched and dropped during the rebalance were
  otherwise lost, the survivor's position stayed at the end of the killed worker's partitions;
- no transactional producer outlives a rebalance (``_TransactionManager``): a producer Faust
  kept for a partition that went to the other worker and came back was fenced;
- Faust's live set of active partitions is copied before a fetch, and an empty one fetches
  nothing (aiokafka reads an empty set as "every partition");
- the states of revoked partitions are recovered from the beginning of their changelog
  (``rewind_recovery``), not from where the last recovery ended.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from streams import eos
from streams.app import rewind_recovery

HITS = "p.emc.hits.raw"
DOSSIERS = "p.emc.dossiers.raw"
CHANGELOG = "g-streams-visitors-changelog"


def test_partitions_without_a_committed_offset_are_rewound_except_changelogs() -> None:
    committed = {
        TP(HITS, 0): 400,  # committed: aiokafka seeks there itself
        TP(HITS, 1): None,  # never committed (the killed worker's, before its first commit)
        TP(HITS, 2): 0,  # committed at 0: aiokafka does not seek either
        TP(DOSSIERS, 0): None,
        TP(CHANGELOG, 1): None,  # Faust's recovery seeks changelogs itself
    }
    rewind = eos.uncommitted_inputs(committed, {CHANGELOG})
    assert rewind == [TP(DOSSIERS, 0), TP(HITS, 1), TP(HITS, 2)]


def test_every_partition_committed_rewinds_nothing() -> None:
    assert eos.uncommitted_inputs({TP(HITS, 0): 5, TP(HITS, 1): 1}, {CHANGELOG}) == []


class _Producer:
    """Faust's aiokafka ``Producer`` as the transaction manager uses it."""

    def __init__(self, held: list[str]) -> None:
        self._transaction_producers: dict[str, object] = {tid: object() for tid in held}
        self._trn_locks: dict[str, asyncio.Lock] = {tid: asyncio.Lock() for tid in held}
        self.calls: list[tuple[str, str, bool]] = []

    async def stop_transaction(self, tid: str) -> None:
        lock = self._trn_locks.get(tid)
        self.calls.append(("stop", tid, bool(lock and lock.locked())))
        self._transaction_producers.pop(tid, None)

    async def maybe_begin_transaction(self, tid: str) -> None:
        self.calls.append(("begin", tid, False))
        self._transaction_producers[tid] = object()
        self._trn_locks[tid] = asyncio.Lock()


def _manager(producer: _Producer) -> Any:
    groups = {HITS: 2, CHANGELOG: 2, DOSSIERS: 1}
    standbys = {TP(CHANGELOG, 1)}
    app = SimpleNamespace(
        conf=SimpleNamespace(id="g-streams"),
        assignor=SimpleNamespace(
            group_for_topic=groups.__getitem__, is_standby=standbys.__contains__
        ),
    )
    return eos._TransactionManager(SimpleNamespace(app=app), consumer=None, producer=producer)


def test_a_rebalance_replaces_every_producer_held_and_starts_one_per_assigned_partition() -> None:
    # held before: g-streams-2-0 (kept: hits 0 stays), g-streams-2-1 (hits 1 went away in an
    # earlier rebalance, a producer Faust did not stop, fenced by the other worker since)
    producer = _Producer(["g-streams-2-0", "g-streams-2-1"])
    manager = _manager(producer)
    assigned = {TP(HITS, 0), TP(HITS, 3), TP(CHANGELOG, 0), TP(CHANGELOG, 1), TP(DOSSIERS, 2)}

    async def scenario() -> None:
        # Faust's own revoked set was empty here (the failure): it must not matter
        await manager.on_rebalance(assigned, set(), {TP(HITS, 3)})

    asyncio.run(scenario())
    stops = [(tid, locked) for kind, tid, locked in producer.calls if kind == "stop"]
    begins = [tid for kind, tid, _ in producer.calls if kind == "begin"]
    assert stops == [("g-streams-2-0", True), ("g-streams-2-1", True)]  # each under its lock
    # one per assigned active partition group; the standby changelog partition 1 gets none
    assert begins == ["g-streams-1-2", "g-streams-2-0", "g-streams-2-3"]
    assert producer.calls.index(("begin", "g-streams-2-0", False)) > producer.calls.index(
        ("stop", "g-streams-2-0", True)
    )
    assert sorted(producer._transaction_producers) == begins


def test_a_fetch_gets_a_copy_of_the_active_partitions_and_none_when_there_are_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[Any] = []

    async def parent_getmany(self: Any, active_partitions: Any, timeout: float) -> Any:  # noqa: ASYNC109
        seen.append(active_partitions)
        return {"records": True}

    monkeypatch.setattr(faust_aiokafka.AIOKafkaConsumerThread, "getmany", parent_getmany)
    thread = object.__new__(eos._ConsumerThread)  # no consumer needed for this method
    active = {TP(HITS, 0)}

    async def scenario() -> tuple[Any, Any, Any]:
        empty = await thread.getmany(set(), 1.0)
        some = await thread.getmany(active, 1.0)
        everything = await thread.getmany(None, 1.0)  # client-only mode: Faust's meaning
        return empty, some, everything

    empty, some, everything = asyncio.run(scenario())
    assert empty == {}  # not sent to aiokafka, which would return every partition's records
    assert some == everything == {"records": True}
    assert seen[0] == active and seen[0] is not active  # Faust mutating its set changes nothing
    assert seen[1] is None


def test_rewind_recovery_forgets_the_offsets_of_those_changelog_partitions_only() -> None:
    recovery = SimpleNamespace(
        active_offsets={TP(CHANGELOG, 0): 240, TP(CHANGELOG, 2): 205, TP("other", 0): 7},
        standby_offsets={TP(CHANGELOG, 1): 46, TP(CHANGELOG, 3): 53},
    )
    rewind_recovery(recovery, CHANGELOG, {0, 1})
    assert recovery.active_offsets == {TP(CHANGELOG, 2): 205, TP("other", 0): 7}
    assert recovery.standby_offsets == {TP(CHANGELOG, 3): 53}
