"""Recovery of the sink's last batches after a crash: re-form each one from Kafka and insert it
again with its own deduplication token.

Why: ClickHouse writes the source part of an insert, then pushes the block to each materialized
view; a process killed in between keeps the raw rows (and ``sink_offsets``) but not every
rollup. ``sink_offsets`` then says "stored", so replaying from Kafka alone would skip the batch.
So before every insert the sink records the batch (``sink_batches``: per group, raw table and
partition, the token = topic/partition/first-last offsets of the insert). On start it reads the
last recorded batch per raw table and partition, reads exactly those offsets again, rebuilds the
same rows (``sink.rows.decode`` is a pure function of the message) and inserts them with the
same ``insert_deduplication_token`` and ``deduplicate_blocks_in_dependent_materialized_views =
1``. The raw table and every view whose block already landed drop the block as a duplicate; a
view that missed it gets it (tests/integration/test_dedup_semantics.py shows this on our engine
for every rollup engine). A batch that fully landed, or never reached ClickHouse, is harmless to
replay: it is dropped everywhere, or stored once (the sink then skips those offsets).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from clickhouse.client import Database
from sink.rows import COLUMNS, BadMessage, Origin, SinkKind, decode

log = logging.getLogger("emc.sink")

#: Longest wait for the offsets of one batch to come back from Kafka.
_FETCH_TIMEOUT_S = 30.0

Span = tuple[str, int, int, int]  # topic, partition, first offset, last offset


def batch_token(spans: Mapping[tuple[str, int], list[int] | tuple[int, int]]) -> str:
    """The insert's deduplication token: ``topic/partition/first-last`` per partition, sorted."""
    return ",".join(f"{t}/{p}/{a}-{b}" for (t, p), (a, b) in sorted(spans.items()))


def parse_token(token: str) -> list[Span]:
    """The spans of a token made by ``batch_token`` (topic names hold no ``/`` or ``,``)."""
    spans = []
    for item in token.split(","):
        topic, partition, offsets = item.rsplit("/", 2)
        first, last = offsets.split("-")
        spans.append((topic, int(partition), int(first), int(last)))
    return spans


def insert_settings(token: str) -> dict[str, Any]:
    """Settings of every sink insert (first attempt, retry and replay alike)."""
    return {
        "insert_deduplication_token": token,
        "deduplicate_blocks_in_dependent_materialized_views": 1,
    }


def batch_records(group: str, table: str, token: str) -> list[list[Any]]:
    """The ``sink_batches`` rows recording one insert (one per partition in it)."""
    now = datetime.now(UTC)
    return [[group, table, t, p, token, now] for t, p, _, _ in parse_token(token)]


BATCH_COLUMNS = ["consumer_group", "raw_table", "topic", "partition", "token", "written_at"]


async def last_batches(db: Database, group: str, topics: Iterable[str]) -> list[tuple[str, str]]:
    """(raw table, token) of the last batch recorded per raw table and partition of
    ``topics`` for ``group``; one entry per distinct insert."""
    result = await db.aquery(
        "SELECT raw_table, argMax(token, written_at) FROM sink_batches "
        "WHERE consumer_group = {g:String} AND topic IN {topics:Array(String)} "
        "GROUP BY raw_table, topic, partition",
        parameters={"g": group, "topics": sorted(topics)},
    )
    return sorted({(str(table), str(token)) for table, token in result.result_rows})


@dataclass
class Replay:
    """What a recovery did: batches inserted again (each dropped where it had landed) and
    batches that could not be re-formed (offsets gone from Kafka)."""

    batches: int = 0
    rows: int = 0
    skipped: list[str] = field(default_factory=list)


async def fetch(
    bootstrap: str, spans: list[Span], isolation_level: str
) -> dict[tuple[str, int], list[Any]] | None:
    """The records of ``spans`` (inclusive), by partition, read with a group-less consumer;
    None when Kafka no longer holds the start of a span (retention) or does not answer them
    within ``_FETCH_TIMEOUT_S``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level=isolation_level,
    )
    try:
        await consumer.start()
        wanted = {TopicPartition(t, p): (a, b) for t, p, a, b in spans}
        consumer.assign(list(wanted))
        begins = await consumer.beginning_offsets(list(wanted))
        ends = await consumer.end_offsets(list(wanted))
        for tp, (first, last) in wanted.items():
            if begins[tp] > first or ends[tp] <= last:
                return None
            consumer.seek(tp, first)
        found: dict[tuple[str, int], list[Any]] = {(tp.topic, tp.partition): [] for tp in wanted}
        pending = set(wanted)
        deadline = time.monotonic() + _FETCH_TIMEOUT_S
        while pending and time.monotonic() < deadline:
            batch = await consumer.getmany(*pending, timeout_ms=500)
            for tp, records in batch.items():
                last = wanted[tp][1]
                found[(tp.topic, tp.partition)].extend(r for r in records if r.offset <= last)
            for tp in list(pending):
                if await consumer.position(tp) > wanted[tp][1]:
                    pending.discard(tp)
        return None if pending else found
    finally:
        await consumer.stop()


def rows_of(
    table: str, kinds: Mapping[str, SinkKind], records: dict[tuple[str, int], list[Any]]
) -> list[list[Any]]:
    """The ``table`` rows of ``records`` exactly as the sink buffered them (messages that are
    not for this table, or that were dead-lettered, give none)."""
    rows: list[list[Any]] = []
    for (topic, partition), found in sorted(records.items()):
        for record in found:
            try:
                pairs = decode(kinds[topic], record.value, Origin(topic, partition, record.offset))
            except BadMessage:
                continue
            rows.extend(row for t, row in pairs if t == table)
    return rows


async def replay_last_batches(
    db: Database,
    bootstrap: str,
    group: str,
    kinds: Mapping[str, SinkKind],
    isolation_level: str,
) -> Replay:
    """Insert the last recorded batch of every raw table and partition again (module
    docstring). ClickHouse and Kafka errors propagate (the caller retries)."""
    done = Replay()
    for table, token in await last_batches(db, group, kinds):
        spans = parse_token(token)
        if table not in COLUMNS or any(t not in kinds for t, _, _, _ in spans):
            continue
        records = await fetch(bootstrap, spans, isolation_level)
        if records is None:
            log.warning(
                "cannot re-form batch %s of %s (offsets no longer in Kafka); if the warehouse "
                "was killed inside that insert, run emc rebuild for its dates",
                token,
                table,
            )
            done.skipped.append(token)
            continue
        rows = rows_of(table, kinds, records)
        if rows:
            await db.ainsert(table, rows, COLUMNS[table], settings=insert_settings(token))
        done.batches += 1
        done.rows += len(rows)
    return done


async def replay_with_retry(
    db: Database,
    bootstrap: str,
    group: str,
    kinds: Mapping[str, SinkKind],
    isolation_level: str,
    stop: asyncio.Event,
) -> Replay | None:
    """``replay_last_batches``, retried with backoff while ClickHouse or Kafka fail (consuming
    before it could store a batch twice); None when ``stop`` was set first."""
    backoff_s = 0.2
    while not stop.is_set():
        try:
            return await replay_last_batches(db, bootstrap, group, kinds, isolation_level)
        except Exception as exc:
            log.warning("replaying the last batches failed (%s); retrying", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff_s)
            backoff_s = min(10.0, backoff_s * 2)
    return None
