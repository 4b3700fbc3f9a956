"""The Faust app: agents are glue around pure handlers.

- ``HitHandler.handle`` — decode a ``emc.hits.raw`` message (orjson + pydantic) → enrichment
  pipeline → bots to ``emc.pageviews`` (``is_bot``, duplicates dropped, not sessionized) →
  sessionizer → the ``EnrichedHit`` on ``emc.pageviews`` and the ``SessionUpdate`` on
  ``emc.sessions``, both keyed like the input; anything unprocessable becomes one
  ``DeadLetter`` on ``emc.deadletters``.
- ``DossierHandler.handle`` — decode → ``dossiers.normalise`` → ``emc.dossiers``.

Both return the messages to send and never touch Kafka, so they are tested without a broker;
``handle_hit_batch`` runs the hit handler over a batch of one partition's raw hits.
``create_app`` wires them into Faust: raw serializers everywhere (a bad message must reach our
decoder, not crash Faust's), agents with ``concurrency=1`` (with more, an offset can be
committed past an unfinished message), an exception never escapes an agent (a raised message
would be skipped, i.e. lost: it is dead-lettered instead), visitor state in a Faust table
co-partitioned with ``emc.hits.raw`` (same key, ``HIT_PARTITIONS``), and a timer that evicts
idle visitor state (``sessionize.expire``).

The raw hits reach their agent in batches (``streams.batches``: up to 500 consecutive records
of one partition, taken out of each fetch before Faust's per-event path), and each batch's
outputs go to Kafka as one record batch per output topic: Faust's per-event machinery and a
producer call per output message cost several times the handler itself (BENCHMARKS.md,
"Stream worker: handler vs worker"). Dossier events, a few per second, keep Faust's path.

Delivery is exactly-once within Kafka (``processing_guarantee="exactly_once"``, see
``streams.eos``): an input's outputs, its visitor-state changelog record and its offset
commit are in one Kafka transaction, so a killed worker leaves all of them or none. Outputs go
straight to the input partition's transactional producer, not through Faust's channel path;
a batch's outputs are added under that transaction's lock in one go, and its offsets are
marked done for Faust's commit only after that.

The worker's web port (127.0.0.1 only) serves ``/metrics`` and ``/stats/``; with
``EMC_METRICS_TOKEN`` set they need it as a bearer token (``operations_page``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from core import metrics, metrics_auth
from core.settings import Settings
from schemas.deadletter import build_dead_letter, describe_validation_error
from schemas.dossiers import RawDossierEvent
from schemas.hits import RawHit
from schemas.topics import DOSSIER_PARTITIONS, HIT_PARTITIONS, TopicSpec
from streams import batches, eos, sessionize
from streams.dossiers import normalise
from streams.enrich.geoip import GeoIP
from streams.enrich.localtime import UnknownTimezone
from streams.enrich.metrics import StreamCounters
from streams.enrich.pipeline import Pipeline, build_pipeline
from streams.enrich.useragent import UserAgentParser

log = logging.getLogger(__name__)

#: How often idle visitor state is looked for.
EVICT_INTERVAL_S = 60.0
#: How long the producer waits to fill a batch (seconds).
PRODUCER_LINGER_S = 0.01
#: Consumer group session timeout (seconds). A SIGKILLed worker leaves the group only when
#: its session expires, and a restarted worker's join waits for that: with Faust's default
#: (60 s) plus the rebalance timeout a restart sat idle for minutes. Heartbeats are sent by
#: aiokafka's own task every ``HEARTBEAT_INTERVAL_S``, so a busy handler does not expire it.
SESSION_TIMEOUT_S = 10.0
HEARTBEAT_INTERVAL_S = 2.0
#: How long a join waits for the other members to rejoin (seconds); a live member rejoins
#: within its next poll, a dead one is dropped at its session timeout.
REBALANCE_TIMEOUT_S = 20.0
#: Largest producer record batch (bytes); see ``create_app``.
PRODUCER_BATCH_BYTES = 512 * 1024
#: Batches of raw hits (``streams.batches``) waiting for the hits agent; more waits in Kafka.
HIT_BATCH_QUEUE = 4
STAGE_HITS = "streams.hits"
STAGE_DOSSIERS = "streams.dossiers"


@dataclass(frozen=True, slots=True)
class Incoming:
    """One consumed message, as the handlers see it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to produce. ``partition`` None lets the producer hash the key."""

    topic: str
    key: bytes | None
    value: bytes | None  # None: a tombstone (the visitor table's changelog)
    partition: int | None = None


@dataclass(slots=True)
class HitOutcome:
    """``messages`` to send in order; ``state`` to store under the key (None: unchanged)."""

    messages: list[Outgoing] = field(default_factory=list)
    state: sessionize.State | None = None
    event_ms: int = 0  # the hit's own time when it could be decoded (event-time watermark)


def _dumps(model: Any) -> bytes:
    """The model as JSON by pydantic-core's own serializer: the same bytes as
    ``orjson.dumps(model.model_dump())`` (a unit test compares them) without building the
    dict first, ~2 µs instead of ~4.5 per message (BENCHMARKS.md, "Per-message codecs")."""
    data: bytes = model.__pydantic_serializer__.to_json(model)
    return data


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _decode(value: bytes | None, model: Any) -> Any:
    """The message as ``model``, or ``_Rejected`` with a reason and the field. A valid message
    is parsed and validated in one pass by pydantic-core (``model_validate_json``: ~5 µs for a
    hit against ~8 for orjson + ``model_validate``); only a message that fails takes the
    slower path below, which tells "not JSON" from "not an object" from a bad field."""
    if value:
        try:
            return model.model_validate_json(value)
        except ValidationError:
            pass
    if not value:
        raise _Rejected("empty_message", "the message has no value")
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise _Rejected("invalid_json", f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise _Rejected("validation", f"expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _Rejected("validation", describe_validation_error(exc)) from exc


class _Handler:
    stage = ""

    def __init__(self, settings: Settings, counters: StreamCounters) -> None:
        self.settings = settings
        self.topics = settings.topics
        self.counters = counters

    def dead_letter(self, message: Incoming, reason: str, detail: str, now_ms: int) -> Outgoing:
        """The dead-letter message of ``message`` (counted by stage and reason), keyed like it."""
        self.counters.dead_letters[f"{self.stage}/{reason}"] += 1
        letter = build_dead_letter(
            stage=self.stage,
            reason=reason,
            detail=detail,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            payload=message.value,
            failed_ms=now_ms,
        )
        return Outgoing(self.topics.deadletters, message.key, _dumps(letter))

    def internal_error(self, message: Incoming, exc: Exception, now_ms: int) -> Outgoing:
        """Dead letter for a bug: logged with its traceback, the message kept for replay."""
        log.exception(
            "%s: unexpected error at %s[%s]@%s",
            self.stage,
            message.topic,
            message.partition,
            message.offset,
        )
        return self.dead_letter(message, "internal_error", f"{type(exc).__name__}: {exc}", now_ms)


class HitHandler(_Handler):
    """decode → enrich → sessionize for one ``emc.hits.raw`` message (no I/O)."""

    stage = STAGE_HITS

    def __init__(self, settings: Settings, pipeline: Pipeline, counters: StreamCounters) -> None:
        super().__init__(settings, counters)
        self.pipeline = pipeline

    def handle(self, message: Incoming, state: sessionize.State | None, now_ms: int) -> HitOutcome:
        """Outputs for one raw hit given the visitor's stored state. Raises only on bugs."""
        self.counters.messages["hits"] += 1
        key = message.key
        try:
            raw: RawHit = _decode(message.value, RawHit)
            event_ms = raw.ts
            visitor_key = self._visitor_key(key, raw.site)
            result = self.pipeline.run(raw)
            if result.hit is None:
                raise _Rejected(result.dropped, f"dropped by enrichment: {result.dropped}")
        except _Rejected as exc:
            return HitOutcome([self.dead_letter(message, exc.reason, exc.detail, now_ms)])
        # outputs go to the input's partition: same key, same partition count (HIT_PARTITIONS),
        # so this is where the key hash would put them, without hashing it again
        part = message.partition
        if result.hit.is_bot:
            state, duplicate = sessionize.mark_seen(state, raw.event_id, now_ms=now_ms)
            if duplicate:
                self.counters.sessionizer["duplicate_bot"] += 1
                return HitOutcome(event_ms=event_ms)
            pageview = Outgoing(self.topics.pageviews, key, _dumps(result.hit), part)
            return HitOutcome([pageview], state, event_ms)
        advanced = sessionize.advance(
            state,
            result.hit,
            visitor_key,
            timeout_s=self.settings.session_timeout_s,
            max_s=self.settings.session_max_s,
            now_ms=now_ms,
        )
        self.counters.sessionizer[advanced.skipped or "applied"] += 1
        if advanced.skipped:
            return HitOutcome(event_ms=event_ms)
        messages = [Outgoing(self.topics.pageviews, key, _dumps(h), part) for h in advanced.hits]
        messages += [Outgoing(self.topics.sessions, key, _dumps(u), part) for u in advanced.updates]
        return HitOutcome(messages, advanced.state, event_ms)

    @staticmethod
    def _visitor_key(key: bytes | None, site: str) -> str:
        """The visitor key from the message key ``site|visitor_key`` (see schemas.topics)."""
        if not key:
            raise _Rejected("missing_key", "key: a hit needs the key site|visitor_key")
        text = key.decode("utf-8", errors="replace")
        key_site, sep, visitor_key = text.partition("|")
        if not sep or not visitor_key:
            raise _Rejected("invalid_key", f"key: {text!r} is not site|visitor_key")
        if key_site != site:
            raise _Rejected("key_mismatch", f"key: site {key_site!r} but the hit says {site!r}")
        return visitor_key


class DossierHandler(_Handler):
    """decode → normalise for one ``emc.dossiers.raw`` message (no I/O)."""

    stage = STAGE_DOSSIERS

    def handle(self, message: Incoming, now_ms: int) -> list[Outgoing]:
        """Outputs for one raw dossier event. Raises only on bugs."""
        self.counters.messages["dossiers"] += 1
        try:
            event = normalise(_decode(message.value, RawDossierEvent))
        except _Rejected as exc:
            return [self.dead_letter(message, exc.reason, exc.detail, now_ms)]
        except UnknownTimezone as exc:
            return [self.dead_letter(message, "unknown_timezone", str(exc), now_ms)]
        # same key and partition count (DOSSIER_PARTITIONS) as the input: same partition
        return [Outgoing(self.topics.dossiers, message.key, _dumps(event), message.partition)]


def _incoming(event: Any) -> Incoming:
    msg = event.message
    return Incoming(msg.topic, msg.partition, msg.offset, event.key, event.value)


Page = Callable[[Any, Any], Awaitable[Any]]


def operations_page(page: Page, accepted: tuple[bytes, ...]) -> Page:
    """A Faust web page that answers 401 JSON unless the request carries one of ``accepted``
    (``core.metrics_auth``; empty = open)."""

    @functools.wraps(page)
    async def guarded(web: Any, request: Any) -> Any:
        if not metrics_auth.allowed(request.headers.get("Authorization"), accepted):
            body = metrics_auth.unauthorized_body()
            return web.json(body, status=401, headers=dict(metrics_auth.CHALLENGE))
        return await page(web, request)

    return guarded


#: The sessionizer's Faust table of visitor states.
VISITOR_TABLE = "visitors"


def app_id(settings: Settings) -> str:
    """The Faust app id: the consumer group of every stream worker and the prefix of Faust's
    own topics."""
    return f"{settings.consumer_group_prefix}-streams"


def changelog_spec(settings: Settings) -> TopicSpec:
    """The visitor table's changelog topic as Faust declares it: named
    ``{app id}-visitors-changelog``, co-partitioned with the raw hits, compacted.

    The worker creates it before Faust starts (``streams.worker``). Left to Faust, two workers
    starting together both create it while joining the group, and the group leader could assign
    before the topic was in its metadata: that generation ran without the changelog partitions,
    and the states written then were never recovered by the other worker (the two-worker kill
    test lost 144 of 2,400 hits once in ten runs).
    """
    return TopicSpec(
        f"{app_id(settings)}-{VISITOR_TABLE}-changelog",
        HIT_PARTITIONS,
        "the sessionizer's visitor states (Faust's table changelog)",
        (("cleanup.policy", "compact"),),
    )


def create_app(
    settings: Settings,
    *,
    replication_factor: int = 1,
    evict_interval_s: float = EVICT_INTERVAL_S,
    eviction_margin_s: int = sessionize.EVICTION_MARGIN_S,
    worker: int = 1,
) -> Any:
    """The Faust app of the stream worker (see the module docstring).

    ``replication_factor`` is used for the topics Faust creates itself (the visitor table's
    changelog, the assignor's leader topic): 1 for the local broker. ``evict_interval_s`` and
    ``eviction_margin_s`` tune the idle-state timer (tests shorten them). ``worker`` (1-based,
    of ``EMC_STREAMS_WORKERS``) chooses the web port and the store folder; every worker joins
    the same consumer group, which spreads the partitions (with their visitor state) over them.
    """
    import faust

    counters = StreamCounters()
    geoip = GeoIP(settings.geoip_path)
    hit_handler = HitHandler(settings, build_pipeline(geoip, UserAgentParser(), counters), counters)
    dossier_handler = DossierHandler(settings, counters)
    names = settings.topics
    app: Any = faust.App(
        app_id(settings),
        broker=f"kafka://{settings.bootstrap_servers}",
        store=settings.streams_store,
        datadir=str(settings.streams_worker_dir(worker)),
        key_serializer="raw",
        value_serializer="raw",
        topic_replication_factor=replication_factor,
        topic_partitions=HIT_PARTITIONS,
        web_enabled=True,
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        web_port=settings.streams_worker_web_port(worker),
        # Faust's built-in /table/ and /router/ pages read visitor state by key with no token:
        # the worker's web port serves /metrics and /stats/ only
        web_tables_enabled=False,
        web_router_enabled=False,
        consumer_auto_offset_reset="earliest",
        # one Kafka transaction per input partition holds outputs, changelog records and the
        # input offsets (streams.eos)
        processing_guarantee="exactly_once",
        # outputs are visible (read_committed) only after the commit: this interval bounds
        # the worker's share of freshness (Faust's default 2.8 s)
        broker_commit_interval=settings.streams_commit_interval_ms / 1000,
        broker_session_timeout=SESSION_TIMEOUT_S,
        broker_heartbeat_interval=HEARTBEAT_INTERVAL_S,
        broker_rebalance_timeout=REBALANCE_TIMEOUT_S,
        # batch produce requests: with aiokafka's default linger of 0 every output message is
        # its own request, which made the worker 3x slower (measured)
        producer_linger=PRODUCER_LINGER_S,
        # one Kafka record batch per output topic and input batch (streams.eos.send_batch):
        # 500 hits' pageviews are ~320 KB; the broker takes up to 1 MB per batch
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
    )
    # highwaters of the changelog from the broker (see streams.eos.Transport)
    app.transport = eos.Transport(app.conf.broker_consumer, app)
    sender = eos.TransactionalSender(app.conf.id, app.producer, app.assignor.group_for_topic)

    def partition_owned(topic: str, partition: int) -> bool:
        """Whether ``topic[partition]`` is assigned to this worker and no rebalance runs (a
        message fetched before a rebalance can reach an agent after Faust revoked its partition,
        for example when Kafka went away)."""
        from faust.types import TP

        assigned = TP(topic, partition) in app.consumer.assignment()
        return bool(assigned and app.flow_control.is_active())

    def still_owned(source: Incoming) -> bool:
        return partition_owned(source.topic, source.partition)

    def topic(name: str, partitions: int) -> Any:
        return app.topic(name, partitions=partitions, key_serializer="raw", value_serializer="raw")

    hits_raw = topic(names.hits_raw, HIT_PARTITIONS)
    # the hits agent reads batches of raw hits from this channel, not the topic's events;
    # the topic itself is subscribed as an agent's topic would be (Faust's Topic.__aiter__)
    hit_batches = batches.BatchChannel(app, maxsize=HIT_BATCH_QUEUE)
    app.transport.route(names.hits_raw, hit_batches)
    app.topics.add(hits_raw)
    dossiers_raw = topic(names.dossiers_raw, DOSSIER_PARTITIONS)
    # key_type=bytes: raw keys (the message key); no value_type: JSON values (the state dict)
    visitors = app.Table(VISITOR_TABLE, default=None, partitions=HIT_PARTITIONS, key_type=bytes)
    #: Highest hit time processed per partition since this worker got it (for eviction).
    watermarks: dict[int, int] = {}

    changelog = visitors.changelog_topic.get_topic_name()

    async def hits(stream: Any) -> None:
        # batches of one partition's raw hits (streams.batches), not Faust events
        async for batch in stream:
            consumer = app.consumer
            if not consumer.begin(batch):  # fetched before a rebalance: consumed again later
                counters.messages["stale"] += len(batch.records)
                continue
            # between begin and finish the batch is in progress (Faust's wait_empty waits for
            # it); the worker stopping cancels this agent, which must not cut the batch's send
            # in half: the send runs on, shielded, and ends the batch
            await asyncio.shield(process_hits(consumer, batch))

    async def process_hits(consumer: Any, batch: batches.RecordBatch) -> None:
        """Handle ``batch``, send its outputs and states into its partition's transaction,
        then end it (its offsets done only if all of that went out)."""
        processed = False
        try:
            incoming = [
                Incoming(batch.topic, batch.partition, r.offset, r.key, r.value)
                for r in batch.records
            ]
            outcome = handle_hit_batch(hit_handler, incoming, visitors.data, changelog)
            if outcome.event_ms > watermarks.get(batch.partition, 0):
                watermarks[batch.partition] = outcome.event_ms
            processed = await produce_batch(
                sender, batch.topic, batch.partition, outcome.messages, partition_owned
            )
            if not processed:
                # the states this batch wrote belong to a partition this worker no longer
                # owns: drop them, or its hits, consumed again after the partition comes
                # back, would be taken for duplicates of themselves (lost)
                counters.messages["stale"] += len(batch.records)
                for key in outcome.touched:
                    visitors.data.pop(key, None)
                watermarks.pop(batch.partition, None)
        except Exception:
            log.critical(
                "batch %s[%d]@%d..%d failed: stopping the worker", batch.topic,
                batch.partition, batch.records[0].offset, batch.records[-1].offset, exc_info=True,
            )  # fmt: skip
            eos.fail_stop()
        finally:
            consumer.finish(batch, processed=processed)

    async def dossiers(stream: Any) -> None:
        async for event in stream.events():
            now_ms = _now_ms()
            message = _incoming(event)
            try:
                messages = dossier_handler.handle(message, now_ms)
            except Exception as exc:
                messages = [dossier_handler.internal_error(message, exc, now_ms)]
            if not await produce(sender, message, messages, still_owned):
                counters.messages["stale"] += 1

    async def evict_idle_visitors() -> None:
        # an exception escaping a Faust timer crashes the worker: eviction is only memory
        # hygiene, so a failure is logged and retried at the next tick
        try:
            active = {
                tp.partition for tp in app.assignor.assigned_actives() if tp.topic == names.hits_raw
            }
            evicted = evict(
                visitors.data,
                active,
                watermarks,
                settings.session_timeout_s,
                _now_ms(),
                margin_s=eviction_margin_s,
            )
        except Exception:
            counters.sessionizer["evict_error"] += 1
            log.exception("evicting idle visitor state failed")
            return
        for partition, keys in evicted.items():
            tombstones = [Outgoing(changelog, key, None, partition) for key in keys]
            try:
                await sender.send_and_commit(names.hits_raw, partition, tombstones)
            except eos.MissingTransaction as exc:
                # revoked meanwhile: the new owner restores these states and evicts them itself
                log.warning("eviction tombstones not sent: %s", exc)
                continue
            except Exception:
                # the partition's transaction is now unusable: stop like a refused output
                log.critical("eviction tombstones of partition %d failed", partition, exc_info=True)
                eos.fail_stop()
            counters.sessionizer["evicted"] += len(keys)

    async def rewind_revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
        # Faust has committed every revoked partition's transaction (wait_empty; the eager
        # protocol revokes them all), so the visitor states in memory are the committed ones.
        # The next recovery must still read each changelog partition from the beginning: Faust
        # remembers where its last recovery of a partition ended and would start there, and a
        # partition that moved away and comes back has states the other worker changed since.
        # (Forgetting the states here, as before, lost those of the partitions this worker
        # kept: the survivor of the kill test ended with 153 of 300, see test_streams_workers.)
        gone = {tp.partition for tp in revoked if tp.topic in (names.hits_raw, changelog)}
        rewind_recovery(app.tables.recovery, changelog, gone)
        for partition in gone:
            watermarks.pop(partition, None)

    async def forget_unassigned(sender: Any, assigned: Any, **kwargs: Any) -> None:
        # states of partitions this worker no longer processes: another worker owns them now
        # and changes them; recovery reads them again if they come back
        kept = {tp.partition for tp in assigned if tp.topic == names.hits_raw}
        gone = set(range(HIT_PARTITIONS)) - kept
        dropped = forget_partitions(visitors.data, gone)
        if dropped:
            log.info(
                "partitions %s not assigned: %d visitor states forgotten", sorted(gone), dropped
            )

    async def stats(web: Any, request: Any) -> Any:
        return web.json(counters.snapshot())

    registry = metrics.new_registry()

    def visitor_states() -> int:
        try:
            return len(visitors.data)
        except Exception:  # a store that cannot count must not break the scrape
            return -1

    def assigned_partitions() -> int:
        try:
            return sum(1 for tp in app.assignor.assigned_actives() if tp.topic == names.hits_raw)
        except Exception:  # before the first assignment, or a Faust that cannot tell
            return -1

    metrics.bridge(
        registry,
        lambda: metrics.stream_families(counters, visitor_states, assigned_partitions),
    )

    async def prometheus(web: Any, request: Any) -> Any:
        body, content_type = metrics.render(registry)
        return web.bytes(body, headers={"Content-Type": content_type})

    # decorators applied as calls: Faust's are untyped (mypy --strict)
    app.agent(hit_batches, name="hits", concurrency=1)(hits)
    app.agent(dossiers_raw, name="dossiers", concurrency=1)(dossiers)
    app.timer(interval=evict_interval_s, name="evict_idle_visitors")(evict_idle_visitors)
    app.on_partitions_revoked.connect(rewind_revoked)
    app.on_partitions_assigned.connect(forget_unassigned)
    ops_tokens = metrics_auth.accepted_tokens(settings)
    metrics_auth.warn_if_open(settings, "streams worker", ["/metrics", "/stats/"], log)
    app.page("/stats/")(operations_page(stats, ops_tokens))
    app.page("/metrics")(operations_page(prometheus, ops_tokens))
    app.emc_counters = counters  # for tests and a later /metrics exporter
    return app


async def produce(
    sender: eos.TransactionalSender,
    source: Incoming,
    messages: list[Outgoing],
    still_owned: Callable[[Incoming], bool] = lambda _source: True,
) -> bool:
    """Put the outputs of ``source`` into the transaction of its partition (``streams.eos``);
    False when ``source`` was skipped as stale.

    Faust's next commit delivers them together with ``source``'s offset. A message Kafka
    refuses stops the worker at once (fail-stop): its transaction is aborted and the
    uncommitted inputs are consumed again by whoever owns the partition. A partition without
    an open transaction is either stale or broken. Stale: ``still_owned(source)`` is False
    (the partition was revoked, e.g. Kafka went away, while the message waited in Faust's
    buffers) — the outputs are dropped, nothing of them is committed, and whoever owns the
    partition next consumes the message again from the committed offset (what Faust does
    itself with a message of an older generation). Broken (still owned, yet no transaction:
    a producer fenced by a newer worker): fail-stop.
    """
    if not messages:
        return True
    try:
        await sender.send(source.topic, source.partition, messages)
    except eos.MissingTransaction as exc:
        if still_owned(source):
            log.critical("%s: stopping the worker", exc)
            eos.fail_stop()
            return False
        log.warning(
            "%s: %s[%d] offset %d was revoked before its outputs went out; skipped (its next "
            "owner consumes it again)", exc, source.topic, source.partition, source.offset,
        )  # fmt: skip
        return False
    return True


@dataclass(slots=True)
class HitBatchOutcome:
    """``messages``: the outputs of a batch of raw hits in input order, then one changelog
    record per visitor whose state changed (its last state); ``touched``: those visitors'
    keys; ``event_ms``: the highest hit time processed, capped at processing time (the
    partition's event-time watermark candidate)."""

    messages: list[Outgoing]
    touched: list[bytes]
    event_ms: int


def handle_hit_batch(
    handler: HitHandler,
    messages: Sequence[Incoming],
    store: MutableMapping[bytes, Any],
    changelog: str,
    clock: Callable[[], int] = _now_ms,
) -> HitBatchOutcome:
    """Run ``handler`` over ``messages`` (consecutive raw hits of one partition) with the
    visitor table's ``store``, updated as it goes so a visitor's next hit in the batch sees
    the state its previous one left.

    The outputs are exactly those of handling the messages one at a time. The visitor table's
    changelog gets one record per visitor per batch, with the state after the visitor's last
    hit: the records go into the same transaction as the outputs, so the committed changelog
    never holds a state without the outputs it stands for, and the states in between would
    only be overwritten (the changelog is compacted). Each record is the table's JSON value
    on the hit's own partition (the table is co-partitioned with the raw hits; Faust's
    ``table[key] = …`` would pick the partition from its "current event", and queue the
    record in its own buffer, one message at a time).

    A hit time in the future (a sender's wrong clock) must not move the watermark past what
    has really happened: that would let the timer evict states of a backlog replayed after a
    restart (see ``sessionize.expire``), hence the cap. An exception of the handler (a bug)
    becomes the message's dead letter.
    """
    out: list[Outgoing] = []
    states: dict[bytes, dict[str, Any]] = {}
    event_ms = 0
    for message in messages:
        now_ms = clock()
        try:
            key = message.key
            stored = store.get(key) if key else None
            outcome = handler.handle(message, stored["s"] if stored else None, now_ms)
            out += outcome.messages
            if outcome.state is not None and key:
                value = {"p": message.partition, "s": outcome.state}
                store[key] = states[key] = value
            event_ms = max(event_ms, min(outcome.event_ms, now_ms))
        except Exception as exc:
            out.append(handler.internal_error(message, exc, now_ms))
    out += [Outgoing(changelog, key, orjson.dumps(v), v["p"]) for key, v in states.items()]
    return HitBatchOutcome(out, list(states), event_ms)


async def produce_batch(
    sender: eos.TransactionalSender,
    topic: str,
    partition: int,
    messages: list[Outgoing],
    owned: Callable[[str, int], bool] = lambda _topic, _partition: True,
) -> bool:
    """Put the outputs of a batch of ``topic[partition]``'s inputs into that partition's
    transaction (``TransactionalSender.send_batch``); False when the batch was skipped as stale.

    As ``produce``: a partition without an open transaction is stale when ``owned`` says it is
    no longer this worker's (nothing was sent; the batch's next owner consumes it again), and
    broken otherwise (fail-stop). Any other failure may have left part of the batch in the
    transaction, which must then never commit: fail-stop as well.
    """
    if not messages:
        return True
    try:
        await sender.send_batch(topic, partition, messages)
    except eos.MissingTransaction as exc:
        if owned(topic, partition):
            log.critical("%s: stopping the worker", exc)
            eos.fail_stop()
            return False
        log.warning("%s: a batch of %s[%d] was revoked before its outputs went out; skipped "
                    "(its next owner consumes it again)", exc, topic, partition)  # fmt: skip
        return False
    except Exception:
        if not owned(topic, partition):
            # Faust stopped the revoked partition's producer while the batch went out: that
            # transaction never commits, and the partition's next owner consumes it again
            log.warning("a batch of %s[%d] failed after its partition was revoked; skipped",
                        topic, partition, exc_info=True)  # fmt: skip
            return False
        log.critical(
            "outputs of a batch of %s[%d] failed: stopping the worker (its transaction is "
            "aborted)", topic, partition, exc_info=True,
        )  # fmt: skip
        eos.fail_stop()
        return False
    return True


def rewind_recovery(recovery: Any, changelog: str, partitions: set[int]) -> None:
    """Make Faust's table ``recovery`` read ``changelog``'s ``partitions`` from the beginning
    at the next recovery, as active or standby: it remembers the offset each one reached and
    would start there, missing the states ``forget_partitions`` removed."""
    for offsets in (recovery.active_offsets, recovery.standby_offsets):
        for tp in [tp for tp in offsets if tp.topic == changelog and tp.partition in partitions]:
            del offsets[tp]


def forget_partitions(store: MutableMapping[bytes, Any], partitions: set[int]) -> int:
    """Remove the visitor states of ``partitions`` (the ``"p"`` stored with each) from the
    table's store; returns how many."""
    if not partitions:
        return 0
    keys = [k for k, v in store.items() if isinstance(v, dict) and v.get("p") in partitions]
    for key in keys:
        del store[key]
    return len(keys)


def evict(
    store: MutableMapping[bytes, Any],
    active: set[int],
    watermarks: dict[int, int],
    timeout_s: int,
    now_ms: int,
    *,
    margin_s: int = sessionize.EVICTION_MARGIN_S,
) -> dict[int, list[bytes]]:
    """Evict idle visitor states of the actively assigned partitions from the table's
    ``store``; returns the evicted keys by partition, whose tombstones the caller sends.

    Faust's ``del table[key]`` needs the current event to pick the changelog partition, which a
    timer does not have: the entry is removed from the store directly and its tombstone goes to
    the partition recorded with the state (``"p"``), the source partition of its hits.
    """
    evicted: dict[int, list[bytes]] = {}
    for key, stored in list(store.items()):
        partition = stored.get("p", -1) if isinstance(stored, dict) else -1
        if partition not in active:
            continue
        if not sessionize.expire(
            stored["s"],
            now_ms=now_ms,
            watermark_ms=watermarks.get(partition, 0),
            timeout_s=timeout_s,
            margin_s=margin_s,
        ):
            continue
        del store[key]
        evicted.setdefault(partition, []).append(key)
    return evicted
