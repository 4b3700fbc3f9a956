"""Collector counters: accepted items and rejections by reason, for ``/stats`` and a later
``/metrics``. One process-wide ``Counters`` object lives on the app; single-threaded (asyncio),
so plain integer increments are safe."""

from __future__ import annotations

from collections import Counter

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


class Counters:
    """Monotonic counters: ``accepted`` per kind (hits, dossiers) and ``rejected`` per reason."""

    def __init__(self) -> None:
        self.accepted: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter({reason: 0 for reason in REASONS})
        self.requests: Counter[str] = Counter()

    def accept(self, kind: str, count: int = 1) -> None:
        self.accepted[kind] += count

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected[reason] += count

    def request(self, status: int) -> None:
        self.requests[str(status)] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A JSON-ready copy: ``{"accepted": {...}, "rejected": {...}, "responses": {...}}``."""
        return {
            "accepted": dict(self.accepted),
            "rejected": dict(self.rejected),
            "responses": dict(self.requests),
        }
