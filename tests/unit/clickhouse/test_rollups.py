"""Reading a materialized view's SELECT: its top-level items and the time expression of the
partition column (what rebuild filters the source rows with)."""

from __future__ import annotations

import pytest

from clickhouse.rollups import RollupError, alias_expression, split_select_list

HITS = (
    "SELECT site, toDateTime(toStartOfHour(local_ts), 'UTC') AS hour, "
    "toUInt64(countIf(type = 'pageview')) AS pageviews, uniqState(visitor_id) AS visitors "
    "FROM emc.pageviews GROUP BY site, hour"
)
DIMS = (
    "SELECT site, toDate(start_local) AS date, dim_key.1 AS dim FROM emc.sessions "
    "ARRAY JOIN [('country', toString(country)), ('a, b', os)] AS dim_key GROUP BY site, date, dim"
)


def test_select_items_respect_parentheses_and_quotes() -> None:
    assert split_select_list(HITS) == [
        "site",
        "toDateTime(toStartOfHour(local_ts), 'UTC') AS hour",
        "toUInt64(countIf(type = 'pageview')) AS pageviews",
        "uniqState(visitor_id) AS visitors",
    ]
    quoted = "SELECT ' FROM x, y' AS a, [1, 2] AS b FROM t"
    assert split_select_list(quoted) == ["' FROM x, y' AS a", "[1, 2] AS b"]


def test_partition_column_expression() -> None:
    assert alias_expression(HITS, "hour") == "toDateTime(toStartOfHour(local_ts), 'UTC')"
    assert alias_expression(DIMS, "date") == "toDate(start_local)"
    assert alias_expression(HITS, "site") == "site"
    with pytest.raises(RollupError, match="no item named 'day'"):
        alias_expression(HITS, "day")


def test_not_a_select_or_no_from_is_refused() -> None:
    with pytest.raises(RollupError, match="not a SELECT"):
        split_select_list("WITH 1 AS x SELECT x FROM t")
    with pytest.raises(RollupError, match="no top-level FROM"):
        split_select_list("SELECT 1")
