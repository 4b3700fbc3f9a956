"""Pure parts of ``emc lag``: rows from offsets and timestamps, the table and JSON forms."""

from __future__ import annotations

from aiokafka import TopicPartition

from broker.lag import PartitionLag, as_json, compute_rows, format_table, stack_groups, total_lag
from core.settings import Settings

A0, A1, B0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)
NOW = 1_000_000


def test_lag_is_end_minus_committed_and_seconds_come_from_the_oldest_pending_record() -> None:
    rows = compute_rows(
        "g",
        [A1, A0],
        committed={A0: 10, A1: 7},
        begins={A0: 0, A1: 0},
        ends={A0: 15, A1: 7},
        oldest_ms={A0: NOW - 2_500},
        now_ms=NOW,
    )
    assert rows == [
        PartitionLag("g", "a", 0, 10, 15, 5, 2.5),
        PartitionLag("g", "a", 1, 7, 7, 0, 0.0),
    ]
    assert total_lag(rows) == 5


def test_never_committed_counts_from_the_first_retained_offset() -> None:
    rows = compute_rows("g", [A0], {}, {A0: 40}, {A0: 100}, {}, NOW)
    assert rows == [PartitionLag("g", "a", 0, -1, 100, 60, 0.0)]


def test_a_commit_below_retention_counts_from_the_first_retained_offset() -> None:
    rows = compute_rows("g", [A0], {A0: 3}, {A0: 50}, {A0: 80}, {A0: NOW - 1000}, NOW)
    assert rows[0].lag == 30 and rows[0].lag_s == 1.0


def test_a_pending_record_stamped_in_the_future_gives_zero_seconds_not_negative() -> None:
    rows = compute_rows("g", [A0], {A0: 0}, {A0: 0}, {A0: 1}, {A0: NOW + 5000}, NOW)
    assert rows[0].lag_s == 0.0


def test_table_has_a_line_per_partition_and_a_total_per_group() -> None:
    rows = [
        PartitionLag("g1", "a", 0, 10, 15, 5, 2.5),
        PartitionLag("g1", "a", 1, 7, 9, 2, 9.0),
        PartitionLag("g2", "b", 0, 3, 3, 0, 0.0),
    ]
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["group", "topic", "partition", "committed", "end", "lag", "lag_s"]
    assert lines[1].split() == ["g1", "a", "0", "10", "15", "5", "2.5"]
    assert lines[4].split() == ["g1", "(total)", "7", "9.0"]
    assert lines[5].split() == ["g2", "(total)", "0", "0.0"]
    assert as_json(rows)[1] == {
        "group": "g1",
        "topic": "a",
        "partition": 1,
        "committed": 7,
        "end": 9,
        "lag": 2,
        "lag_s": 9.0,
    }


def test_stack_groups_follow_the_prefixes() -> None:
    groups = stack_groups(Settings(consumer_group_prefix="x", topic_prefix="p."))
    assert groups == {
        "x-streams": ["p.emc.hits.raw", "p.emc.dossiers.raw"],
        "x-sink": ["p.emc.pageviews", "p.emc.sessions", "p.emc.dossiers"],
        "x-deadletters-cli": ["p.emc.deadletters"],
    }
