"""The soak run's verdict arithmetic (bench/soak_stats.py) and its /metrics reading, on series
whose answer is known by construction."""

from __future__ import annotations

import pytest

from bench.soak import metric_sums
from bench.soak_stats import (
    LagVerdict,
    MemoryVerdict,
    lag_verdict,
    memory_verdict,
    slope,
    third_means,
)


def test_third_means_split_by_time() -> None:
    ts = [0, 1, 2, 3, 4, 5, 6, 7, 8]
    # span 8: t < 8/3 → first (0, 1, 2), t < 16/3 → middle (3, 4, 5), rest → last (6, 7, 8)
    assert third_means(ts, [float(t) for t in ts]) == (1.0, 4.0, 7.0)


def test_third_means_boundary_sample_goes_to_the_later_third() -> None:
    # span 3: t = 1 is exactly one third in → middle; t = 2 exactly two thirds → last
    assert third_means([0, 1, 2, 3], [10.0, 20.0, 30.0, 40.0]) == (10.0, 20.0, 35.0)


def test_third_means_uneven_sampling_uses_time_not_count() -> None:
    # five samples crowd the first third; the means are still per third of the time
    ts = [0, 1, 2, 3, 4, 50, 100]
    values = [1.0, 1.0, 1.0, 1.0, 1.0, 5.0, 9.0]
    assert third_means(ts, values) == (1.0, 5.0, 9.0)


def test_third_means_refuses_an_empty_third() -> None:
    with pytest.raises(ValueError, match="each third"):
        third_means([0, 1, 9], [1.0, 1.0, 1.0])  # nothing in the middle third [3, 6)
    with pytest.raises(ValueError, match="at least 3"):
        third_means([0, 1], [1.0, 1.0])


def test_slope_of_a_line_and_of_symmetric_noise() -> None:
    xs = [0.0, 1.0, 2.0, 3.0]
    assert slope(xs, [3 * x + 2 for x in xs]) == pytest.approx(3.0)
    # mean x 1.5, mean y 1: Σ(dx·dy) = 1.5 - 0.5 - 0.5 + 1.5 = 2, Σdx² = 5
    assert slope(xs, [0.0, 2.0, 0.0, 2.0]) == pytest.approx(0.4)
    assert slope([5.0, 5.0], [1.0, 9.0]) == 0.0
    with pytest.raises(ValueError):
        slope([1.0], [1.0])


def test_memory_verdict_decides_on_middle_to_last_third() -> None:
    ts = [0, 1, 2, 3, 4, 5]  # span 5: first {0, 1}, middle {2, 3}, last {4, 5}
    # warm-up doubles memory, then +9 %: flat
    m = memory_verdict(ts, [100.0, 100.0, 200.0, 200.0, 218.0, 218.0])
    assert (m.first_mb, m.middle_mb, m.last_mb) == (100.0, 200.0, 218.0)
    assert m.growth_mb == 118.0
    assert m.growth_pct == pytest.approx(118.0)
    assert m.late_growth_pct == pytest.approx(9.0)
    assert m.flat
    # +10 % is at the threshold: not flat
    assert not memory_verdict(ts, [100.0, 100.0, 200.0, 200.0, 220.0, 220.0]).flat
    assert MemoryVerdict(0.0, 0.0, 5.0).late_growth_pct == 0.0


def _ends(ts: list[float], per_s: float) -> list[float]:
    return [1000 + per_s * t for t in ts]


def test_lag_verdict_sawtooth_without_trend_is_flat() -> None:
    ts = [float(t) for t in range(0, 601, 15)]
    lag = [900.0 if i % 2 else 100.0 for i in range(len(ts))]  # commit-interval sawtooth
    v = lag_verdict(ts, lag, [m / 500 for m in lag], _ends(ts, 500))
    assert v.arrival_per_s == pytest.approx(500)
    assert v.slope_limit_per_min == pytest.approx(300)  # 1 % of 500 msgs/s × 60
    assert v.final_limit_messages == pytest.approx(2500)  # 5 s of arrivals
    assert abs(v.slope_per_min) < v.slope_limit_per_min
    assert v.final_messages == lag[-1]
    assert v.final_seconds == lag[-1] / 500
    assert v.flat


def test_lag_verdict_growing_backlog_is_not_flat() -> None:
    ts = [float(t) for t in range(0, 601, 15)]
    lag = [10.0 * t for t in ts]  # 10 msgs/s = 600 msgs/min of growth
    v = lag_verdict(ts, lag, [0.0] * len(ts), _ends(ts, 500))
    assert v.slope_per_min == pytest.approx(600)
    assert not v.flat


def test_lag_verdict_only_the_second_half_counts() -> None:
    ts = [float(t) for t in range(0, 601, 15)]
    # backlog built during start-up, then constant at 2,000: slope over the second half is 0
    lag = [min(2000.0, 20.0 * t) for t in ts]
    v = lag_verdict(ts, lag, [4.0] * len(ts), _ends(ts, 500))
    assert v.slope_per_min == pytest.approx(0.0)
    assert v.flat


def test_lag_verdict_large_final_backlog_is_not_flat_even_without_slope() -> None:
    ts = [float(t) for t in range(0, 601, 15)]
    lag = [3000.0] * len(ts)  # 6 s of arrivals at 500 msgs/s, steady
    v = lag_verdict(ts, lag, [6.0] * len(ts), _ends(ts, 500))
    assert v.slope_per_min == pytest.approx(0.0)
    assert not v.flat
    assert LagVerdict(0.0, 500.0, 2500.0, 5.0).flat  # exactly 5 s of arrivals still passes


METRICS = """\
# HELP emc_collector_accepted_total Items acknowledged after Kafka confirmed them, by kind.
# TYPE emc_collector_accepted_total counter
emc_collector_accepted_total{kind="hit"} 120.0
emc_collector_accepted_total{kind="beacon"} 3.0
# HELP emc_http_requests_total HTTP responses by endpoint and status code.
# TYPE emc_http_requests_total counter
emc_http_requests_total{endpoint="/v1/hits",status="202"} 40.0
emc_http_requests_total{endpoint="/v1/hits",status="503"} 2.0
emc_http_requests_total{endpoint="/collect",status="500"} 1.0
emc_http_requests_total{endpoint="/collect",status="400"} 7.0
# HELP emc_stream_visitor_states Visitor states (open visits) held by this worker's table.
# TYPE emc_stream_visitor_states gauge
emc_stream_visitor_states 42.0
"""


def test_metric_sums_sum_labels_and_count_5xx() -> None:
    sums = metric_sums(METRICS)
    assert sums["emc_collector_accepted_total"] == 123.0
    assert sums["emc_http_requests_total"] == 50.0
    assert sums["http_5xx"] == 3.0  # 503 + 500; the 400 and 202 are not server errors
    assert sums["emc_stream_visitor_states"] == 42.0
    assert metric_sums("") == {"http_5xx": 0.0}
