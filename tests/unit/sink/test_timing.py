"""The sink's insert timing (sink/timing.py): by size, by age, and by age once a poll found
nothing more."""

from __future__ import annotations

from sink.timing import MAX_POLL_WAIT_MS, FlushRule, flush_due, poll_wait_ms

RULE = FlushRule(batch_rows=5000, interval_ms=1000, idle_ms=100)
NO_IDLE = FlushRule(batch_rows=5000, interval_ms=1000, idle_ms=0)


def test_nothing_buffered_is_never_due_and_polls_longest() -> None:
    assert not flush_due(RULE, None, 0, idle=True)
    assert poll_wait_ms(RULE, None) == MAX_POLL_WAIT_MS


def test_a_full_table_is_due_at_once() -> None:
    assert flush_due(RULE, 0.0, 5000, idle=False)
    assert not flush_due(RULE, 0.0, 4999, idle=False)


def test_an_old_batch_is_due_whether_or_not_more_comes() -> None:
    assert flush_due(RULE, 1000.0, 1, idle=False)
    assert flush_due(NO_IDLE, 1000.0, 1, idle=False)
    assert not flush_due(NO_IDLE, 999.0, 1, idle=True)


def test_an_idle_poll_flushes_once_the_batch_is_idle_ms_old() -> None:
    """The worker's outputs arrive in a burst per commit: once the burst is read (an empty
    poll), it is inserted, not a whole interval later; a younger batch waits a little for the
    rest of its burst."""
    assert flush_due(RULE, 100.0, 10, idle=True)
    assert not flush_due(RULE, 99.0, 10, idle=True)
    assert not flush_due(RULE, 500.0, 10, idle=False)


def test_the_poll_waits_no_longer_than_the_idle_or_interval_time_left() -> None:
    assert poll_wait_ms(RULE, 0.0) == 100
    assert poll_wait_ms(RULE, 40.0) == 60
    assert poll_wait_ms(RULE, 400.0) == 50  # past the idle time: half of it
    assert poll_wait_ms(RULE, 980.0) == 20  # the interval is nearer
    assert poll_wait_ms(NO_IDLE, 0.0) == MAX_POLL_WAIT_MS
    assert poll_wait_ms(NO_IDLE, 900.0) == 100
    assert poll_wait_ms(NO_IDLE, 2000.0) == 1
