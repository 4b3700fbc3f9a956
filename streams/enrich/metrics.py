"""Plain process-wide counters of the stream worker: step timings, drop and flag reasons,
sessionizer outcomes and dead letters. Single-threaded (one asyncio loop, agent concurrency 1),
so integer increments need no lock. ``snapshot()`` is the JSON shape a ``/metrics`` exporter
or the worker's ``/stats/`` page reads; every counter is monotonic from process start."""

from __future__ import annotations

from collections import Counter


class StreamCounters:
    """Counters of one worker process.

    - ``step_calls`` / ``step_ns``: calls and total nanoseconds per pipeline step name;
    - ``dropped``: hits a ``drop_*`` step ended, per reason (they become dead letters);
    - ``flagged``: hits a ``flag_*`` step ended, per reason (bots: emitted with ``is_bot``);
    - ``sessionizer``: ``applied``, ``duplicate``, ``orphan_engagement``, ``evicted``;
    - ``dead_letters``: per ``stage/reason``;
    - ``messages``: consumed messages per input kind (``hits``, ``dossiers``), and ``stale``:
      messages of a partition revoked before their outputs went out (skipped, consumed again).
    """

    def __init__(self) -> None:
        self.step_calls: Counter[str] = Counter()
        self.step_ns: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.flagged: Counter[str] = Counter()
        self.sessionizer: Counter[str] = Counter()
        self.dead_letters: Counter[str] = Counter()
        self.messages: Counter[str] = Counter()

    def observe_step(self, name: str, elapsed_ns: int) -> None:
        self.step_calls[name] += 1
        self.step_ns[name] += elapsed_ns

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A JSON-ready copy of every counter."""
        return {
            "messages": dict(self.messages),
            "step_calls": dict(self.step_calls),
            "step_ns": dict(self.step_ns),
            "dropped": dict(self.dropped),
            "flagged": dict(self.flagged),
            "sessionizer": dict(self.sessionizer),
            "dead_letters": dict(self.dead_letters),
        }
