"""Collector counters: accepted items by kind, rejections by reason, answers by status, for
``/stats`` and ``/metrics``.

They are prometheus-client counters on the app's registry, so that with several collector
processes on one port (``emc up``, ``EMC_COLLECTOR_WORKERS``) their values live in
prometheus-client's multiprocess files and whichever process answers ``/stats`` or
``/metrics`` reports the sum over all of them (``core.metrics.use_multiprocess``); one process
alone keeps them in memory. Label children are cached: the hot path pays one dict lookup and
one increment. ``stats_of`` builds the ``/stats`` numbers from collected metric families,
merged or not.

The beacon's hot path counts through ``tally`` (``accept_later``, ``request_later``): plain
numbers applied to the counters by ``flush()``, which the collector calls every
``Tally.FLUSH_S`` and before it answers ``/stats`` or ``/metrics`` (``core.metrics.Tally``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter
from prometheus_client.core import Metric

from core import metrics

#: Rejection reasons the collector counts (a line, a beacon or a whole request).
REASONS: tuple[str, ...] = (
    "unknown_site",
    "foreign_domain",
    "forbidden_site",
    "invalid_field",
    "field_too_long",
    "invalid_json",
    "malformed_body",
    "body_too_large",
    "too_many_lines",
    "unsupported_media_type",
    "unauthorized",
    "kafka_unavailable",
)

_SECTIONS = {
    metrics.COLLECTOR_ACCEPTED.name: "accepted",
    metrics.COLLECTOR_REJECTED.name: "rejected",
    metrics.COLLECTOR_RESPONSES.name: "responses",
}


def _counter(spec: metrics.Spec, registry: CollectorRegistry) -> PromCounter:
    return PromCounter(spec.name, spec.help, spec.labels, registry=registry)


class Counters:
    """Monotonic counters: ``accepted`` per kind (hits, dossiers), ``rejected`` per reason,
    answers per status; every reason starts at 0 so each is exported."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._accepted = _counter(metrics.COLLECTOR_ACCEPTED, registry)
        self._rejected = _counter(metrics.COLLECTOR_REJECTED, registry)
        self._responses = _counter(metrics.COLLECTOR_RESPONSES, registry)
        self._children: dict[tuple[str, str], Any] = {}
        self.tally = metrics.Tally()
        for reason in REASONS:
            self._child(self._rejected, "rejected", reason)

    def _child(self, counter: PromCounter, section: str, label: str) -> Any:
        child = self._children.get((section, label))
        if child is None:
            child = self._children[(section, label)] = counter.labels(label)
        return child

    def accept(self, kind: str, count: int = 1) -> None:
        self._child(self._accepted, "accepted", kind).inc(count)

    def reject(self, reason: str, count: int = 1) -> None:
        self._child(self._rejected, "rejected", reason).inc(count)

    def request(self, status: int) -> None:
        self._child(self._responses, "responses", str(status)).inc()

    def accept_later(self, kind: str) -> None:
        """``accept(kind)`` at the next ``flush``."""
        self.tally.inc(self._child(self._accepted, "accepted", kind))

    def request_later(self, status: int) -> None:
        """``request(status)`` at the next ``flush``."""
        self.tally.inc(self._child(self._responses, "responses", str(status)))

    def flush(self) -> None:
        """Apply what the hot path tallied."""
        self.tally.flush()

    def snapshot(self) -> dict[str, dict[str, int]]:
        """This process's own numbers, as ``stats_of`` gives them."""
        self.flush()
        return stats_of([*self._accepted.collect(), *self._rejected.collect(),
                         *self._responses.collect()])  # fmt: skip


def stats_of(families: Iterable[Metric]) -> dict[str, dict[str, int]]:
    """``{"accepted": {...}, "rejected": {...}, "responses": {...}}`` from metric families
    (one process's, or the sum of a group's): every other family is ignored."""
    out: dict[str, dict[str, int]] = {"accepted": {}, "rejected": {}, "responses": {}}
    for family in families:
        section = _SECTIONS.get(family.name)
        if section is None:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                label = next(iter(sample.labels.values()))
                out[section][label] = out[section].get(label, 0) + int(sample.value)
    return out
