"""What the sink's crash recovery relies on, checked on our ClickHouse engine: an insert
repeated with the same ``insert_deduplication_token`` and
``deduplicate_blocks_in_dependent_materialized_views = 1`` is dropped by the source table and
by every view whose block already landed, and reaches a view that missed it — for each rollup
engine we use (Summing, Aggregating, Replacing), with a block spanning two partitions, with the
rows in another order, and without changing anything when everything had landed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from clickhouse.client import Database

pytestmark = pytest.mark.integration

W = "SETTINGS non_replicated_deduplication_window = 1000"
TARGETS = {
    "SummingMergeTree": (
        "(site String, m Date, n Int64) ENGINE = SummingMergeTree "
        "PARTITION BY toYYYYMM(m) ORDER BY (site, m)",
        "SELECT site, toStartOfMonth(ts) AS m, toInt64(count()) AS n FROM {db}.src GROUP BY site, m",
        "SELECT sum(n) FROM target",
    ),
    "AggregatingMergeTree": (
        "(site String, m Date, n SimpleAggregateFunction(sum, UInt64), "
        "u AggregateFunction(uniq, String)) ENGINE = AggregatingMergeTree "
        "PARTITION BY toYYYYMM(m) ORDER BY (site, m)",
        "SELECT site, toStartOfMonth(ts) AS m, toUInt64(count()) AS n, uniqState(id) AS u "
        "FROM {db}.src GROUP BY site, m",
        "SELECT sum(n) FROM target",
    ),
    "ReplacingMergeTree": (
        "(site String, id String) ENGINE = ReplacingMergeTree ORDER BY (site, id)",
        "SELECT site, id FROM {db}.src",
        "SELECT count() FROM target",
    ),
}


def _block(prefix: str, n: int) -> list[list[Any]]:
    """n rows of two sites over January and February (two partitions)."""
    return [[f"s{i % 2}", datetime(2026, 1 + i % 2, 5), f"{prefix}-{i}"] for i in range(n)]


@pytest.mark.parametrize("engine", sorted(TARGETS))
def test_a_repeated_insert_reaches_only_the_views_that_missed_it(
    engine: str, clickhouse_engine: Any, ch_database: str
) -> None:
    db = Database(clickhouse_engine, ch_database)
    schema, select, total = TARGETS[engine]
    db.command(
        f"CREATE TABLE src (site String, ts DateTime('UTC'), id String) ENGINE = "
        f"ReplacingMergeTree PARTITION BY toYYYYMM(ts) ORDER BY (site, id) {W}"
    )
    db.command(f"CREATE TABLE target {schema} {W}")
    view = f"CREATE MATERIALIZED VIEW target_mv TO {ch_database}.target AS "
    view += select.format(db=ch_database)

    def insert(rows: list[list[Any]], token: str) -> None:
        settings = {
            "insert_deduplication_token": token,
            "deduplicate_blocks_in_dependent_materialized_views": 1,
        }
        db.insert("src", rows, ["site", "ts", "id"], settings=settings)

    def counts() -> tuple[int, int]:
        src = db.query("SELECT count() FROM src").result_rows[0][0]
        return int(src), int(db.query(total).result_rows[0][0])

    db.command(view)
    insert(_block("a", 10), "t/0/0-9")
    assert counts() == (10, 10)
    insert(_block("a", 10), "t/0/0-9")  # everything had landed: dropped everywhere
    assert counts() == (10, 10)

    # a crash between the source part and the view: the view never saw block b
    db.command("DROP VIEW target_mv")
    insert(_block("b", 6), "t/0/10-15")
    db.command(view)
    assert counts() == (16, 10)
    insert(list(reversed(_block("b", 6))), "t/0/10-15")  # re-formed, rows in another order
    assert counts() == (16, 16)
    insert(_block("b", 6), "t/0/10-15")
    assert counts() == (16, 16)

    # another token is another block (why the sink must re-form the same token); a sum shows
    # it at once, a ReplacingMergeTree only until it merges
    insert(_block("b", 6), "t/0/10-15-other")
    if engine != "ReplacingMergeTree":
        assert counts()[1] == 22
