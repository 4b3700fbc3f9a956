"""Prometheus metrics of every process: each name declared once, here, with its help text.

Each process builds its own ``CollectorRegistry`` (``new_registry``): several apps may live in
one Python process (tests), and a registry per app keeps their numbers apart. Three kinds:

- **Live metrics** (``HttpMetrics``, ``SinkMetrics``, ``LagMetrics``) are prometheus-client
  objects updated where the thing happens (request finished, insert done, lag measured).
- **Bridged counters**: the stream worker and the sink keep plain counters for their
  ``/stats`` pages (``streams.enrich.metrics.StreamCounters``, the ``Sink``'s attributes).
  They stay the single source; ``bridge`` exposes them at scrape time, so nothing is counted
  twice. (The collector's counters are live metrics, see below.)
- **Process metrics** (``process_resident_memory_bytes``, CPU, open fds) from prometheus-client's
  ``ProcessCollector``.

**Several collector processes on one port** (``emc up`` runs ``EMC_COLLECTOR_WORKERS`` of
them, ``ingest.server``): a scrape reaches whichever process the kernel picks, so each must
answer for all of them. They use prometheus-client's multiprocess mode (``use_multiprocess``,
called before any metric exists): every live metric of a process is kept in memory-mapped
files of one folder, per process id, and ``exposition_registry`` merges the folder at each
scrape (counters and histograms summed, ``emc_collector_workers`` summed over live processes).
A killed process's counts stay in the sum (its files stay), so a counter never goes back; the
supervisor marks it dead (``mark_process_dead``) so it no longer counts as alive, and empties
the folder when the stack starts. Costs: each increment writes to the mapped file (about
0.4 µs more than in memory), bridged collectors and ``process_*`` metrics are not merged by
prometheus-client and are left out in that mode.

``render(registry)`` gives the text exposition format for a ``/metrics`` route.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    multiprocess,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector


@dataclass(frozen=True, slots=True)
class Spec:
    """One metric: name (counters without ``_total``, the client appends it), help, labels."""

    name: str
    help: str
    labels: tuple[str, ...] = ()


# ------------------------------------------------------------------ every process (HTTP)
HTTP_REQUESTS = Spec(
    "emc_http_requests", "HTTP responses by endpoint and status code.", ("endpoint", "status")
)
HTTP_LATENCY = Spec(
    "emc_http_request_duration_seconds",
    "Time from request start to the end of the response, by endpoint.",
    ("endpoint",),
)
# ------------------------------------------------------------------ collector
COLLECTOR_ACCEPTED = Spec(
    "emc_collector_accepted", "Items acknowledged after Kafka confirmed them, by kind.", ("kind",)
)
COLLECTOR_REJECTED = Spec(
    "emc_collector_rejected",
    "Rejected lines, beacons or requests by reason (kafka_unavailable = produce errors).",
    ("reason",),
)
COLLECTOR_RESPONSES = Spec(
    "emc_collector_responses",
    "Answers of the collector's ingest endpoints (beacon, hits, dossiers, Matomo) by status.",
    ("status",),
)
COLLECTOR_WORKERS = Spec(
    "emc_collector_workers",
    "Collector processes alive: each counts itself, several on one port are summed.",
)
PRODUCER_RECONNECTS = Spec(
    "emc_kafka_producer_reconnects",
    "Times the collector discarded its Kafka producer after a failed or timed-out send.",
)
# ------------------------------------------------------------------ stream worker
STREAM_MESSAGES = Spec(
    "emc_stream_messages",
    'Messages consumed by input kind (input="stale": of a partition revoked before their '
    "outputs went out; skipped, consumed again by its next owner).",
    ("input",),
)
STREAM_STEP_CALLS = Spec("emc_stream_step_calls", "Enrichment step calls.", ("step",))
STREAM_STEP_SECONDS = Spec(
    "emc_stream_step_seconds", "Total time spent in each enrichment step.", ("step",)
)
STREAM_DROPPED = Spec(
    "emc_stream_dropped", "Hits an enrichment step refused (dead-lettered), by reason.", ("reason",)
)
STREAM_FLAGGED = Spec(
    "emc_stream_flagged", "Hits flagged by an enrichment step (bots), by reason.", ("reason",)
)
STREAM_SESSIONIZER = Spec(
    "emc_stream_sessionizer",
    "Sessionizer outcomes: applied, duplicate, orphan_engagement, evicted, evict_error.",
    ("outcome",),
)
SESSIONS_IN_STATE = Spec(
    "emc_stream_visitor_states", "Visitor states (open visits) held by this worker's table."
)
ASSIGNED_PARTITIONS = Spec(
    "emc_stream_assigned_partitions",
    "Raw-hit partitions this worker processes (0: idle, e.g. more workers than partitions, "
    "or while its consumer group rebalances).",
)
DEAD_LETTERS = Spec(
    "emc_dead_letters",
    "Messages sent to the dead-letter topic by stage and reason.",
    ("stage", "reason"),
)
# ------------------------------------------------------------------ sink (warehouse)
SINK_ROWS = Spec("emc_sink_rows_written", "Rows inserted into ClickHouse by table.", ("table",))
SINK_BATCHES = Spec("emc_sink_batches", "Inserts into ClickHouse (one per table and flush).")
SINK_MESSAGES = Spec("emc_sink_messages_consumed", "Messages the sink consumed from Kafka.")
SINK_SKIPPED = Spec(
    "emc_sink_skipped_messages", "Messages seen again that were already stored (after a crash)."
)
SINK_INSERT_FAILURES = Spec("emc_sink_insert_failures", "Failed ClickHouse inserts (retried).")
SINK_REPLAYED = Spec(
    "emc_sink_replayed_batches",
    "Last batches inserted again at sink start (dropped where they had landed; crash recovery).",
)
SINK_RUNNING = Spec("emc_sink_running", "1 while the sink consumes, 0 while it is down.")
SINK_BATCH_ROWS = Spec("emc_sink_batch_rows", "Rows per ClickHouse insert.", ("table",))
SINK_INSERT_SECONDS = Spec(
    "emc_sink_insert_duration_seconds", "Latency of one ClickHouse insert.", ("table",)
)
# ------------------------------------------------------------------ lag (warehouse)
LAG_MESSAGES = Spec(
    "emc_consumer_lag_messages",
    "Messages not yet committed by a consumer group.",
    ("group", "topic", "partition"),
)
LAG_SECONDS = Spec(
    "emc_consumer_lag_seconds",
    "Age of the oldest message not yet committed by a consumer group (0 when caught up).",
    ("group", "topic", "partition"),
)
LAG_UPDATED = Spec(
    "emc_consumer_lag_updated_timestamp_seconds", "When the lag gauges were last measured."
)

# ------------------------------------------------------------------ connections (warehouse)
SITE_SILENCE = Spec(
    "emc_site_seconds_since_last_event",
    "Seconds since the site's last received event (NaN: never seen).",
    ("site",),
)
SITE_SILENT = Spec(
    "emc_site_silent",
    "1 while the site is silent for longer than its usual gap (its own last 30 days), else 0.",
    ("site",),
)
SITE_SILENCE_UPDATED = Spec(
    "emc_site_connections_updated_timestamp_seconds",
    "When the per-site connection gauges were last measured.",
)

# ------------------------------------------------------------------ e-mail (warehouse)
MAIL_SENT = Spec(
    "emc_mail_sent", "E-mails the SMTP server accepted, by kind (report, silence).", ("kind",)
)
MAIL_FAILED = Spec(
    "emc_mail_failed",
    "Send attempts that failed (server down, refused, content error), by kind.",
    ("kind",),
)
MAIL_RETRIED = Spec(
    "emc_mail_retried", "Send attempts after a failed one (retries), by kind.", ("kind",)
)
MAIL_GIVEN_UP = Spec(
    "emc_mail_given_up",
    "E-mails given up after EMC_MAIL_MAX_ATTEMPTS failed attempts, by kind.",
    ("kind",),
)

SPECS: tuple[Spec, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Spec))

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_ROW_BUCKETS = (1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 50000)


def new_registry() -> CollectorRegistry:
    """A registry with the process metrics (memory, CPU, file descriptors)."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    return registry


def use_multiprocess(directory: Path) -> None:
    """From now on the live metrics of this process are kept in prometheus-client's
    multiprocess files in ``directory``, shared with the other collector processes of the group
    (see the module doc). Call it once, before any metric is created. prometheus-client finds
    the folder in ``PROMETHEUS_MULTIPROC_DIR``: it is set here from the caller's argument (the
    supervisor's choice), never taken from the user's environment."""
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def exposition_registry(
    registry: CollectorRegistry, multiprocess_dir: Path | None
) -> CollectorRegistry:
    """What ``/metrics`` renders: ``registry`` itself, or with a multiprocess folder a registry
    that merges every process's files (the process's own metrics are among them)."""
    if multiprocess_dir is None:
        return registry
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
    return merged


def mark_process_dead(pid: int, multiprocess_dir: Path) -> None:
    """A process of the group exited: it no longer counts in the live gauges."""
    multiprocess.mark_process_dead(pid, str(multiprocess_dir))  # type: ignore[no-untyped-call]


def worker_gauge(registry: CollectorRegistry) -> Gauge:
    """``emc_collector_workers``, set to 1 by the process that creates it (summed over the
    live processes of a group)."""
    gauge = Gauge(
        COLLECTOR_WORKERS.name,
        COLLECTOR_WORKERS.help,
        registry=registry,
        multiprocess_mode="livesum",
    )
    gauge.set(1)
    return gauge


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    """(body, content type) of the text exposition format."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


# ------------------------------------------------------------------ bridges
def counter_family(spec: Spec, values: Mapping[Any, float]) -> CounterMetricFamily:
    """A counter family from ``{label value or tuple: number}`` (no labels: key ``()``)."""
    family = CounterMetricFamily(spec.name, spec.help, labels=list(spec.labels))
    for key, value in sorted(values.items(), key=lambda kv: str(kv[0])):
        labels = list(key) if isinstance(key, tuple) else [str(key)]
        family.add_metric([str(v) for v in labels], float(value))
    return family


def gauge_family(spec: Spec, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(spec.name, spec.help, value=float(value))


class _Bridge(Collector):
    def __init__(self, build: Callable[[], Iterable[Metric]]) -> None:
        self._build = build

    def collect(self) -> Iterable[Metric]:
        return list(self._build())


def bridge(registry: CollectorRegistry, build: Callable[[], Iterable[Metric]]) -> None:
    """Expose what ``build`` returns at every scrape (read from existing counters)."""
    registry.register(_Bridge(build))


def _split_stage(counts: Mapping[str, int]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for key, value in counts.items():
        stage, _, reason = key.partition("/")
        out[(stage, reason)] = out.get((stage, reason), 0) + value
    return out


def stream_families(
    counters: Any,
    visitor_states: Callable[[], int],
    assigned_partitions: Callable[[], int] = lambda: -1,
) -> list[Metric]:
    """The worker's ``StreamCounters``, the size of its visitor table and how many raw-hit
    partitions it holds, as metrics (-1: not known)."""
    return [
        counter_family(STREAM_MESSAGES, dict(counters.messages)),
        counter_family(STREAM_STEP_CALLS, dict(counters.step_calls)),
        counter_family(STREAM_STEP_SECONDS, {k: v / 1e9 for k, v in counters.step_ns.items()}),
        counter_family(STREAM_DROPPED, dict(counters.dropped)),
        counter_family(STREAM_FLAGGED, dict(counters.flagged)),
        counter_family(STREAM_SESSIONIZER, dict(counters.sessionizer)),
        counter_family(DEAD_LETTERS, _split_stage(counters.dead_letters)),
        gauge_family(SESSIONS_IN_STATE, visitor_states()),
        gauge_family(ASSIGNED_PARTITIONS, assigned_partitions()),
    ]


def sink_families(sink: Any) -> list[Metric]:
    """The ``Sink``'s counters as metrics."""
    return [
        counter_family(SINK_ROWS, dict(sink.rows_written)),
        counter_family(SINK_BATCHES, {(): sink.batches_written}),
        counter_family(SINK_MESSAGES, {(): sink.messages_consumed}),
        counter_family(SINK_SKIPPED, {(): sink.skipped_messages}),
        counter_family(SINK_INSERT_FAILURES, {(): sink.insert_failures}),
        counter_family(SINK_REPLAYED, {(): sink.replayed_batches}),
        counter_family(DEAD_LETTERS, _split_stage(sink.dead_letter_reasons)),
        gauge_family(SINK_RUNNING, 1 if sink.running else 0),
    ]


def mail_families(counts: Mapping[str, Mapping[str, int]]) -> list[Metric]:
    """The mailer's counters (``api.mailer.Mailer.counts``: outcome → kind → count)."""
    return [
        counter_family(MAIL_SENT, dict(counts["sent"])),
        counter_family(MAIL_FAILED, dict(counts["failed"])),
        counter_family(MAIL_RETRIED, dict(counts["retried"])),
        counter_family(MAIL_GIVEN_UP, dict(counts["given_up"])),
    ]


# ------------------------------------------------------------------ live metrics
class SinkMetrics:
    """Histograms the sink feeds after every successful insert (``Sink.observe_insert``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        s, t = SINK_BATCH_ROWS, SINK_INSERT_SECONDS
        self.batch_rows = Histogram(
            s.name, s.help, s.labels, registry=registry, buckets=_ROW_BUCKETS
        )
        self.insert_seconds = Histogram(
            t.name, t.help, t.labels, registry=registry, buckets=_LATENCY_BUCKETS
        )

    def observe(self, table: str, rows: int, seconds: float) -> None:
        self.batch_rows.labels(table).observe(rows)
        self.insert_seconds.labels(table).observe(seconds)


class LagMetrics:
    """Gauges of consumer lag, set from ``broker.lag.measure`` rows."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.messages = Gauge(
            LAG_MESSAGES.name, LAG_MESSAGES.help, LAG_MESSAGES.labels, registry=registry
        )
        self.seconds = Gauge(
            LAG_SECONDS.name, LAG_SECONDS.help, LAG_SECONDS.labels, registry=registry
        )
        self.updated = Gauge(LAG_UPDATED.name, LAG_UPDATED.help, registry=registry)

    def set(self, rows: Sequence[Any]) -> None:
        for row in rows:
            labels = (row.group, row.topic, str(row.partition))
            self.messages.labels(*labels).set(row.lag)
            self.seconds.labels(*labels).set(row.lag_s)
        self.updated.set(time.time())


class ConnectionMetrics:
    """Per-site gauges of seconds since the last event, set from ``indicators.connections`` reports.
    A site that left the registry is removed, so the gauge set follows the registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.silence = Gauge(
            SITE_SILENCE.name, SITE_SILENCE.help, SITE_SILENCE.labels, registry=registry
        )
        self.silent = Gauge(
            SITE_SILENT.name, SITE_SILENT.help, SITE_SILENT.labels, registry=registry
        )
        self.updated = Gauge(
            SITE_SILENCE_UPDATED.name, SITE_SILENCE_UPDATED.help, registry=registry
        )
        self._sites: set[str] = set()

    def set(self, reports: Sequence[Mapping[str, Any]]) -> None:
        seen = set()
        for report in reports:
            value = report["seconds_since_last_event"]
            self.silence.labels(report["site"]).set(float("nan") if value is None else value)
            self.silent.labels(report["site"]).set(1 if report["status"] == "silent" else 0)
            seen.add(report["site"])
        for gone in self._sites - seen:
            self.silence.remove(gone)
            self.silent.remove(gone)
        self._sites = seen
        self.updated.set(time.time())


class Tally:
    """Increments of a hot path kept in plain Python numbers, applied to their prometheus-client
    label children by ``flush()``.

    Why: in multiprocess mode every increment is a write to a memory-mapped file behind a lock;
    the beacon made four per request (two counters, the request counter and the latency
    histogram): about 6 µs of its ~100 µs of CPU. Here a request costs two dict updates and a
    bisect. The owner flushes on a timer (``FLUSH_S``) and before it reads its own metrics, so
    what a process reports about itself is exact; the other processes of the group see its
    numbers up to ``FLUSH_S`` late, and a SIGKILLed process loses at most its last ``FLUSH_S``
    of counts. Histogram children are filled through prometheus-client's ``_sum`` and
    ``_buckets`` (the same values ``observe`` would write: a unit test compares them)."""

    FLUSH_S = 0.5

    __slots__ = ("_counts", "_observed")

    def __init__(self) -> None:
        self._counts: dict[Any, float] = {}
        self._observed: dict[Any, tuple[Sequence[float], list[float]]] = {}

    def inc(self, child: Any, amount: float = 1) -> None:
        """``child.inc(amount)``, at the next flush."""
        counts = self._counts
        counts[child] = counts.get(child, 0) + amount

    def observe(self, child: Any, value: float) -> None:
        """``child.observe(value)`` of a histogram child, at the next flush."""
        slot = self._observed.get(child)
        if slot is None:
            bounds = child._upper_bounds
            slot = self._observed[child] = (bounds, [0.0] * (len(bounds) + 1))
        bounds, tallies = slot
        tallies[0] += value
        tallies[1 + bisect_left(bounds, value)] += 1  # the first bucket with value <= bound

    def flush(self) -> None:
        """Apply everything tallied since the last flush."""
        counts, self._counts = self._counts, {}
        for child, amount in counts.items():
            child.inc(amount)
        for child, (_bounds, tallies) in self._observed.items():
            if not any(tallies[1:]):
                continue
            child._sum.inc(tallies[0])
            for i, count in enumerate(tallies[1:]):
                if count:
                    child._buckets[i].inc(count)
            tallies[:] = [0.0] * len(tallies)


class HttpRecorder:
    """Responses by endpoint and status, latency by endpoint: what ``HttpMetrics`` counts, and
    what a route served before the middleware (the collector's ``POST /collect``,
    ``ingest.beacon``) records itself with ``observe``.

    ``endpoints`` are the app's route paths (templates like ``/api/v1/sites/{site_id}`` match
    by the part before ``{`` and the segment count); any other path is labelled ``other`` so a
    scan of random URLs cannot create unbounded label values. Label children are cached per
    (endpoint, status): the collector's hot path pays two dict lookups and two increments.
    """

    def __init__(self, registry: CollectorRegistry, endpoints: Iterable[str]) -> None:
        self.endpoints = frozenset(e for e in endpoints if "{" not in e)
        self.templates = tuple((e.split("{", 1)[0], e.count("/"), e) for e in endpoints if "{" in e)
        self.requests = Counter(
            HTTP_REQUESTS.name, HTTP_REQUESTS.help, HTTP_REQUESTS.labels, registry=registry
        )
        self.latency = Histogram(
            HTTP_LATENCY.name,
            HTTP_LATENCY.help,
            HTTP_LATENCY.labels,
            registry=registry,
            buckets=_LATENCY_BUCKETS,
        )
        self._counts: dict[tuple[str, int], Any] = {}
        self._timers: dict[str, Any] = {}

    def endpoint(self, path: str) -> str:
        """The label of ``path``: a known route, a matching template or ``other``."""
        if path in self.endpoints:
            return path
        for prefix, slashes, template in self.templates:
            if path.startswith(prefix) and path.count("/") == slashes:
                return template
        return "other"

    def _children(self, endpoint: str, status: int) -> tuple[Any, Any]:
        """The (cached) request-counter and latency children of ``endpoint`` and ``status``."""
        child = self._counts.get((endpoint, status))
        if child is None:
            child = self._counts[(endpoint, status)] = self.requests.labels(endpoint, str(status))
        timer = self._timers.get(endpoint)
        if timer is None:
            timer = self._timers[endpoint] = self.latency.labels(endpoint)
        return child, timer

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        """One response of ``endpoint`` (a label from ``endpoint()``)."""
        child, timer = self._children(endpoint, status)
        child.inc()
        timer.observe(seconds)

    def observe_later(self, tally: Tally, endpoint: str, status: int, seconds: float) -> None:
        """``observe``, applied at ``tally``'s next flush (the beacon's hot path)."""
        child, timer = self._children(endpoint, status)
        tally.inc(child)
        tally.observe(timer, seconds)


class HttpMetrics:
    """Pure ASGI middleware: every HTTP response counted by an ``HttpRecorder`` (its own, or
    ``recorder`` when a part of the app records outside the middleware too)."""

    def __init__(
        self,
        app: Any,
        registry: CollectorRegistry | None = None,
        endpoints: Iterable[str] = (),
        *,
        recorder: HttpRecorder | None = None,
    ) -> None:
        self.app = app
        if recorder is None:
            if registry is None:
                raise ValueError("HttpMetrics needs a registry or a recorder")
            recorder = HttpRecorder(registry, endpoints)
        self.recorder = recorder

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = self.recorder.endpoint(scope.get("path", ""))
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.recorder.observe(endpoint, status, time.perf_counter() - started)

    def endpoint(self, path: str) -> str:
        """The label of ``path`` (``HttpRecorder.endpoint``)."""
        return self.recorder.endpoint(path)
