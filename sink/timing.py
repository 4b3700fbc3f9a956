"""When the sink inserts its buffered rows, and how long it polls Kafka meanwhile: pure
functions of the buffer's age, its largest table and whether the last poll found nothing.

Why a module of its own: the rule decides both freshness (how long a row waits in the sink)
and insert size (ClickHouse wants few, large inserts), so it is tested without a broker.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Longest single poll, so a stop request or a due flush is never waited on for long.
MAX_POLL_WAIT_MS = 250


@dataclass(frozen=True)
class FlushRule:
    """``batch_rows``: insert when a table holds this many rows; ``interval_ms``: when the
    oldest buffered row is this old; ``idle_ms`` (0: off): when it is at least this old and the
    last poll returned nothing."""

    batch_rows: int
    interval_ms: int
    idle_ms: int


def flush_due(rule: FlushRule, age_ms: float | None, largest: int, idle: bool) -> bool:
    """Whether to insert now. ``age_ms`` is the age of the oldest buffered row (None: nothing
    buffered), ``largest`` the row count of the fullest table, ``idle`` whether the last poll
    found no message."""
    if age_ms is None:
        return False
    if largest >= rule.batch_rows:
        return True
    if rule.idle_ms and idle and age_ms >= rule.idle_ms:
        return True
    return age_ms >= rule.interval_ms


def poll_wait_ms(rule: FlushRule, age_ms: float | None) -> int:
    """How long the next poll may wait for messages: up to ``MAX_POLL_WAIT_MS`` with nothing
    buffered; otherwise no longer than the interval left and, with ``idle_ms``, the idle time
    left (at least half the idle time: an empty answer then means the burst is read)."""
    if age_ms is None:
        return MAX_POLL_WAIT_MS
    left = rule.interval_ms - age_ms
    if rule.idle_ms:
        left = min(left, max(rule.idle_ms - age_ms, rule.idle_ms / 2))
    return max(1, min(MAX_POLL_WAIT_MS, int(left)))
