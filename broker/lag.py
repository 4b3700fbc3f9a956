"""Consumer lag per group, topic and partition: committed offset (admin client), end offset
(group-less consumer), lag in messages and in seconds.

Lag in seconds is the age of the oldest unconsumed message: the timestamp of the record at the
committed offset (producer create time), read with a group-less consumer; 0 when nothing is
pending. Both the stream worker and the sink commit their offsets to Kafka — the sink only
after the rows are inserted into ClickHouse (its ``sink_offsets`` table is what it uses to
skip re-reads after a crash; a committed offset is never ahead of what is stored) — so the
Kafka commits are a true lower bound of the work done by every stage.

``compute_rows`` and the formatters are pure (unit tested); ``measure`` does the I/O.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CoordinatorLoadInProgressError, GroupCoordinatorNotAvailableError

from core.settings import Settings

#: How long ``measure`` waits for the oldest pending records (lag seconds) at most.
OLDEST_FETCH_TIMEOUT_S = 3.0
#: How long to wait for a group coordinator on a fresh cluster.
COORDINATOR_WAIT_S = 15.0


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """One row of ``emc lag``. ``committed`` is -1 when the group never committed there (the
    lag then counts from the first retained offset)."""

    group: str
    topic: str
    partition: int
    committed: int
    end: int
    lag: int
    lag_s: float


def stack_groups(settings: Settings) -> dict[str, list[str]]:
    """The consumer groups of the stack and the topics each consumes (the dead-letter cursor
    of ``emc deadletters`` counts as a group: its lag is the number of pending letters)."""
    prefix, t = settings.consumer_group_prefix, settings.topics
    return {
        f"{prefix}-streams": [t.hits_raw, t.dossiers_raw],
        f"{prefix}-sink": [t.pageviews, t.sessions, t.dossiers],
        f"{prefix}-deadletters-cli": [t.deadletters],
    }


def compute_rows(
    group: str,
    partitions: Sequence[TopicPartition],
    committed: Mapping[TopicPartition, int],
    begins: Mapping[TopicPartition, int],
    ends: Mapping[TopicPartition, int],
    oldest_ms: Mapping[TopicPartition, int],
    now_ms: int,
) -> list[PartitionLag]:
    """Rows for one group. A commit below the first retained offset (retention deleted the
    rest) counts from that offset; a partition whose oldest pending timestamp is unknown gets
    ``lag_s`` 0 only when its lag is 0, else the age is measured from what was read."""
    rows = []
    for tp in sorted(partitions, key=lambda p: (p.topic, p.partition)):
        done = committed.get(tp, -1)
        start = max(done, begins.get(tp, 0)) if done >= 0 else begins.get(tp, 0)
        end = ends.get(tp, 0)
        lag = max(0, end - start)
        lag_s = 0.0
        if lag and tp in oldest_ms:
            lag_s = max(0.0, (now_ms - oldest_ms[tp]) / 1000)
        rows.append(PartitionLag(group, tp.topic, tp.partition, done, end, lag, round(lag_s, 3)))
    return rows


def total_lag(rows: Sequence[PartitionLag], group: str | None = None) -> int:
    return sum(r.lag for r in rows if group is None or r.group == group)


def format_table(rows: Sequence[PartitionLag]) -> str:
    """Aligned text: one line per partition and a total per group."""
    header = ["group", "topic", "partition", "committed", "end", "lag", "lag_s"]
    cells = [
        [
            r.group,
            r.topic,
            str(r.partition),
            str(r.committed),
            str(r.end),
            str(r.lag),
            f"{r.lag_s:.1f}",
        ]
        for r in rows
    ]
    for group in dict.fromkeys(r.group for r in rows):
        oldest = max((r.lag_s for r in rows if r.group == group), default=0.0)
        cells.append([group, "(total)", "", "", "", str(total_lag(rows, group)), f"{oldest:.1f}"])
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def as_json(rows: Sequence[PartitionLag]) -> list[dict[str, object]]:
    return [asdict(r) for r in rows]


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    found = consumer.partitions_for_topic(topic)
    if not found:
        await consumer._client.force_metadata_update()
        found = consumer.partitions_for_topic(topic)
    return set(found or ())


async def committed_offsets(
    admin: AIOKafkaAdminClient,
    group: str,
    partitions: Sequence[TopicPartition] | None = None,
    timeout_s: float = COORDINATOR_WAIT_S,
) -> dict[TopicPartition, Any]:
    """The group's committed offsets, waiting while the broker has no group coordinator yet
    (a fresh cluster creates ``__consumer_offsets`` on first use)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            result: dict[TopicPartition, Any] = await admin.list_consumer_group_offsets(
                group, partitions=partitions
            )
            return result
        except (GroupCoordinatorNotAvailableError, CoordinatorLoadInProgressError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


def _reader(bootstrap: str) -> AIOKafkaConsumer:
    """A group-less consumer that sees only committed transactions: its end offsets are the
    last stable offsets, where a consumer of the stream worker's outputs can get to (the
    worker writes in Kafka transactions; lag counts offsets, commit markers included)."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )


async def _oldest_timestamps(
    bootstrap: str, positions: Mapping[TopicPartition, int], timeout_s: float
) -> dict[TopicPartition, int]:
    """Timestamp (ms) of the record at each position, read with a group-less consumer."""
    if not positions:
        return {}
    consumer = _reader(bootstrap)
    await consumer.start()
    found: dict[TopicPartition, int] = {}
    try:
        consumer.assign(list(positions))
        for tp, offset in positions.items():
            consumer.seek(tp, offset)
        deadline = time.monotonic() + timeout_s
        while len(found) < len(positions) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=len(positions) * 4)
            for tp, records in batch.items():
                if records and tp not in found:
                    found[tp] = int(records[0].timestamp)
                    consumer.pause(tp)
    finally:
        await consumer.stop()
    return found


async def measure(
    bootstrap: str,
    groups: Mapping[str, Sequence[str]],
    *,
    with_seconds: bool = True,
    now_ms: int | None = None,
) -> list[PartitionLag]:
    """Lag rows for every group over its topics (topics that do not exist are skipped)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = _reader(bootstrap)
    await admin.start()
    await consumer.start()
    try:
        topics = sorted({t for ts in groups.values() for t in ts})
        parts = {t: sorted(await _partitions(consumer, t)) for t in topics}
        every = [TopicPartition(t, p) for t in topics for p in parts[t]]
        ends = await consumer.end_offsets(every) if every else {}
        begins = await consumer.beginning_offsets(every) if every else {}
        committed: dict[str, dict[TopicPartition, int]] = {}
        for group, group_topics in groups.items():
            mine = [tp for tp in every if tp.topic in group_topics]
            meta = await committed_offsets(admin, group, mine) if mine else {}
            committed[group] = {tp: m.offset for tp, m in meta.items() if m is not None}
    finally:
        await consumer.stop()
        await admin.close()
    # position of the oldest pending record per partition (the stack's groups read disjoint
    # topics; were one topic read by two groups, the older position would be measured)
    wanted: dict[TopicPartition, int] = {}
    for group, group_topics in groups.items():
        for tp in every:
            if tp.topic not in group_topics:
                continue
            done = committed[group].get(tp, -1)
            start = max(done, begins[tp]) if done >= 0 else begins[tp]
            if start < ends[tp]:
                wanted[tp] = min(start, wanted.get(tp, start))
    oldest: dict[TopicPartition, int] = {}
    if with_seconds and wanted:
        oldest = await _oldest_timestamps(bootstrap, wanted, OLDEST_FETCH_TIMEOUT_S)
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    rows: list[PartitionLag] = []
    for group, group_topics in groups.items():
        mine = [tp for tp in every if tp.topic in group_topics]
        rows += compute_rows(group, mine, committed[group], begins, ends, oldest, now)
    return rows


async def group_lag(bootstrap: str, group: str, topics: list[str]) -> int:
    """Total messages not yet committed by ``group`` over ``topics`` (missing commits count
    from the start of the partition)."""
    return total_lag(await measure(bootstrap, {group: topics}, with_seconds=False))
