"""The soak run's verdicts, pure (no I/O, unit tested): is memory flat, is lag flat.

Definitions (printed beside the numbers by `bench.soak`, never asserted):

- **Memory flat**: the mean RSS of the last third of the run is less than ``MEMORY_FLAT_PCT``
  above the mean of the middle third. The first third is warm-up (imports, caches, the visitor
  table filling while the synthetic visitors come round the first time); its growth to the last
  third is reported too, but does not decide.
- **Lag flat**: over the second half of the run the least-squares slope of the lag (messages per
  minute) is below ``LAG_SLOPE_PCT`` % of what arrives on the group's topics per minute (the
  backlog grows by less than 1 % of the traffic, which is within the sawtooth of batching), and
  the final lag is at most ``FINAL_LAG_S`` seconds of that traffic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MEMORY_FLAT_PCT = 10.0
LAG_SLOPE_PCT = 1.0
FINAL_LAG_S = 5.0


def third_means(ts: Sequence[float], values: Sequence[float]) -> tuple[float, float, float]:
    """Means of ``values`` whose time falls in the first, middle and last third of [t0, tN]
    (a sample on a boundary belongs to the later third)."""
    if len(ts) != len(values) or len(ts) < 3:
        raise ValueError("third_means needs at least 3 samples with one time each")
    t0, span = ts[0], ts[-1] - ts[0]
    parts: tuple[list[float], list[float], list[float]] = ([], [], [])
    for t, v in zip(ts, values, strict=True):
        index = min(2, int(3 * (t - t0) / span)) if span > 0 else 2
        parts[index].append(v)
    if not all(parts):
        raise ValueError("third_means needs a sample in each third of the run")
    first, middle, last = (sum(p) / len(p) for p in parts)
    return first, middle, last


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ``ys`` over ``xs`` (0 when ``xs`` do not vary)."""
    n = len(xs)
    if n != len(ys) or n < 2:
        raise ValueError("slope needs at least 2 points with one x each")
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


@dataclass(frozen=True, slots=True)
class MemoryVerdict:
    """RSS means (MB) per third and the growth figures of one process."""

    first_mb: float
    middle_mb: float
    last_mb: float

    @property
    def growth_mb(self) -> float:
        """First third → last third."""
        return self.last_mb - self.first_mb

    @property
    def growth_pct(self) -> float:
        return 100.0 * self.growth_mb / self.first_mb if self.first_mb else 0.0

    @property
    def late_growth_pct(self) -> float:
        """Middle third → last third: what decides."""
        return 100.0 * (self.last_mb - self.middle_mb) / self.middle_mb if self.middle_mb else 0.0

    @property
    def flat(self) -> bool:
        return self.late_growth_pct < MEMORY_FLAT_PCT


def memory_verdict(ts: Sequence[float], rss_mb: Sequence[float]) -> MemoryVerdict:
    return MemoryVerdict(*third_means(ts, rss_mb))


@dataclass(frozen=True, slots=True)
class LagVerdict:
    """Lag of one consumer group: slope over the second half, final values, thresholds."""

    slope_per_min: float
    arrival_per_s: float
    final_messages: float
    final_seconds: float

    @property
    def slope_limit_per_min(self) -> float:
        return LAG_SLOPE_PCT / 100.0 * self.arrival_per_s * 60.0

    @property
    def final_limit_messages(self) -> float:
        return FINAL_LAG_S * self.arrival_per_s

    @property
    def flat(self) -> bool:
        return (
            self.slope_per_min < self.slope_limit_per_min
            and self.final_messages <= self.final_limit_messages
        )


def lag_verdict(
    ts: Sequence[float],
    lag_messages: Sequence[float],
    lag_seconds: Sequence[float],
    end_offsets: Sequence[float],
) -> LagVerdict:
    """``end_offsets`` is the sum of the group's topic end offsets at each sample: its growth over
    the run is the arrival rate the thresholds are relative to."""
    if not (len(ts) == len(lag_messages) == len(lag_seconds) == len(end_offsets)) or len(ts) < 2:
        raise ValueError("lag_verdict needs at least 2 samples of each series")
    half = ts[0] + (ts[-1] - ts[0]) / 2
    second = [(t, m) for t, m in zip(ts, lag_messages, strict=True) if t >= half]
    if len(second) < 2:
        second = list(zip(ts[-2:], lag_messages[-2:], strict=True))
    per_s = slope([t for t, _ in second], [m for _, m in second])
    span = ts[-1] - ts[0]
    arrival = (end_offsets[-1] - end_offsets[0]) / span if span > 0 else 0.0
    return LagVerdict(per_s * 60.0, arrival, lag_messages[-1], lag_seconds[-1])
