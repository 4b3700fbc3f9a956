"""``emc deadletters``: read, replay and drop dead letters on the dead-letter topic.

Kafka cannot delete single messages, so "dropped" is a cursor: the committed offset of the
consumer group ``{EMC_CONSUMER_GROUP_PREFIX}-deadletters-cli`` on the dead-letter topic.
Letters below the cursor are handled (dropped or replayed); ``list`` shows the pending ones
(``--all`` shows every retained letter) and ``emc lag`` counts them as that group's lag. The
letters themselves stay until the topic's retention removes them, so a drop can be undone
with ``drop --to OFFSET`` to a lower offset.

Replay sends the original payload (``payload_b64`` when the bytes were not UTF-8) with the
original key back to ``source_topic``, with a header ``emc-replay-of: <topic>/<partition>@<offset>``
naming the letter. It is idempotent downstream: a replayed hit or dossier event keeps its
``event_id``, so the sessionizer drops a hit it has already counted and the raw tables replace
by ``event_id``. Replaying the pending letters advances the cursor past them, so running the
same replay twice sends nothing the second time.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata
from pydantic import ValidationError

from broker.lag import committed_offsets
from core.errors import UserError
from schemas.deadletter import DeadLetter

REPLAY_HEADER = "emc-replay-of"
_READ_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class StoredLetter:
    """A dead letter with its place on the dead-letter topic. ``letter`` is None when the
    message itself is not a valid dead letter (shown as such, never replayed)."""

    partition: int
    offset: int
    timestamp_ms: int
    letter: DeadLetter | None
    raw: bytes

    def summary(self) -> dict[str, object]:
        """One JSON-ready line of ``list``."""
        base: dict[str, object] = {
            "partition": self.partition,
            "offset": self.offset,
            "timestamp_ms": self.timestamp_ms,
        }
        if self.letter is None:
            return {**base, "stage": "?", "reason": "not_a_dead_letter", "detail": ""}
        return {
            **base,
            "stage": self.letter.stage,
            "reason": self.letter.reason,
            "source_topic": self.letter.source_topic,
            "source": f"{self.letter.partition}@{self.letter.offset}",
            "detail": self.letter.detail,
        }


def parse_letter(raw: bytes | None) -> DeadLetter | None:
    try:
        return DeadLetter.model_validate(orjson.loads(raw or b""))
    except (orjson.JSONDecodeError, ValidationError):
        return None


def original_payload(letter: DeadLetter) -> bytes:
    """The exact bytes of the message that failed."""
    if letter.payload_b64:
        return base64.b64decode(letter.payload_b64)
    return letter.payload.encode("utf-8")


def replay_marker(topic: str, stored: StoredLetter) -> bytes:
    return f"{topic}/{stored.partition}@{stored.offset}".encode()


def select(
    letters: Sequence[StoredLetter],
    *,
    reason: str | None = None,
    stage: str | None = None,
    offsets: Sequence[int] = (),
) -> list[StoredLetter]:
    """The letters matching every given filter (all of them when none is given)."""
    chosen = []
    for stored in letters:
        if offsets and stored.offset not in offsets:
            continue
        if (reason or stage) and stored.letter is None:
            continue
        if reason and stored.letter is not None and stored.letter.reason != reason:
            continue
        if stage and stored.letter is not None and stored.letter.stage != stage:
            continue
        chosen.append(stored)
    return chosen


class DeadLetterAdmin:
    """Reads the dead-letter topic and moves the cursor of ``group``."""

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.group = group
        #: partition → offset the last ``read`` got to (its end when it read to the end)
        self.read_ends: dict[int, int] = {}

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        found = consumer.partitions_for_topic(self.topic)
        if not found:
            await consumer._client.force_metadata_update()
            found = consumer.partitions_for_topic(self.topic)
        if not found:
            raise UserError(f"topic {self.topic!r} does not exist (run: emc topics)")
        return [TopicPartition(self.topic, p) for p in sorted(found)]

    async def cursors(self) -> dict[int, int]:
        """Committed cursor per partition (-1: never committed)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            meta = await committed_offsets(admin, self.group)
        finally:
            await admin.close()
        return {tp.partition: m.offset for tp, m in meta.items() if tp.topic == self.topic}

    async def read(
        self, *, pending_only: bool = True, limit: int | None = None
    ) -> list[StoredLetter]:
        """Letters from the cursor (or the first retained offset) to the end of each partition."""
        cursors = await self.cursors() if pending_only else {}
        self.read_ends = {}
        # dead letters are written in the stream worker's transactions: skip aborted ones
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await consumer.start()
        out: list[StoredLetter] = []
        try:
            tps = await self._partitions(consumer)
            ends = await consumer.end_offsets(tps)
            begins = await consumer.beginning_offsets(tps)
            consumer.assign(tps)
            todo = {}
            for tp in tps:
                start = max(begins[tp], cursors.get(tp.partition, -1))
                if start < ends[tp]:
                    consumer.seek(tp, start)
                    todo[tp] = ends[tp]
                else:
                    consumer.pause(tp)
            deadline = time.monotonic() + _READ_TIMEOUT_S
            while todo and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=200)
                for tp, records in batch.items():
                    for record in records:
                        if record.offset < todo.get(tp, -1):
                            out.append(
                                StoredLetter(
                                    tp.partition,
                                    record.offset,
                                    int(record.timestamp),
                                    parse_letter(record.value),
                                    record.value or b"",
                                )
                            )
                # the position, not the last record: a commit marker takes the last offset
                for tp, end in list(todo.items()):
                    if await consumer.position(tp) >= end:
                        todo.pop(tp)
                        consumer.pause(tp)
                        self.read_ends[tp.partition] = end
                if limit is not None and len(out) >= limit and not todo:
                    break
        finally:
            await consumer.stop()
        out.sort(key=lambda s: (s.partition, s.offset))
        return out[:limit] if limit is not None else out

    async def find(self, offset: int, partition: int = 0) -> StoredLetter:
        for stored in await self.read(pending_only=False):
            if stored.offset == offset and stored.partition == partition:
                return stored
        raise UserError(f"no dead letter at partition {partition} offset {offset}")

    async def move_cursor(self, positions: dict[int, int]) -> None:
        """Commit ``positions`` (partition → next offset to show) for the CLI's group."""
        if not positions:
            return
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.group, enable_auto_commit=False
        )
        await consumer.start()
        offsets = {
            TopicPartition(self.topic, p): OffsetAndMetadata(off, "")
            for p, off in positions.items()
        }
        try:
            consumer.assign(list(offsets))  # manual assignment: no group membership needed
            await consumer.commit(offsets)
        finally:
            await consumer.stop()

    async def replay(self, letters: Sequence[StoredLetter]) -> int:
        """Send each letter's original payload to its source topic; returns how many."""
        sendable = [s for s in letters if s.letter is not None]
        if not sendable:
            return 0
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, enable_idempotence=True)
        await producer.start()
        try:
            for stored in sendable:
                assert stored.letter is not None
                letter = stored.letter
                await producer.send_and_wait(
                    letter.source_topic,
                    original_payload(letter),
                    key=letter.key.encode() if letter.key else None,
                    headers=[(REPLAY_HEADER, replay_marker(self.topic, stored))],
                )
        finally:
            await producer.stop()
        return len(sendable)


def cursor_after(
    pending: Sequence[StoredLetter],
    handled: Sequence[StoredLetter],
    ends: Mapping[int, int] | None = None,
) -> dict[int, int]:
    """Where the cursor may move once ``handled`` are replayed or dropped: past the longest
    run of handled letters at the start of each partition's ``pending`` (a pending letter that
    was filtered out keeps the cursor before it, so it stays pending). When every pending
    letter of a partition is handled and ``ends`` (``DeadLetterAdmin.read_ends``) says where
    that read stopped, the cursor goes there: past the transaction markers after the last
    letter, which are offsets too (the stream worker writes in transactions)."""
    done = {(s.partition, s.offset) for s in handled}
    out: dict[int, int] = {}
    blocked: set[int] = set()
    for stored in sorted(pending, key=lambda s: (s.partition, s.offset)):
        if stored.partition in blocked:
            continue
        if (stored.partition, stored.offset) in done:
            out[stored.partition] = stored.offset + 1
        else:
            blocked.add(stored.partition)
    for partition, end in (ends or {}).items():
        if partition in out and partition not in blocked:
            out[partition] = max(out[partition], end)
    return out
