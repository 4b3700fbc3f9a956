"""The row-filter setting of agency SQL is a well-formed ClickHouse map whatever the ids hold."""

from __future__ import annotations

import argparse

from core.settings import Settings
from emc.named_query import _token
from indicators.scoped_sql import Scope, _in_list


def test_filter_map_quotes_quotes_and_backslashes() -> None:
    scope = Scope("p", {"pageviews": "site IN ('a\\'b')", "emc.agencies": "id IN ('x')"})
    # each value is one ClickHouse string literal: ' and \\ escaped with a backslash
    assert scope.setting() == (
        "{'emc.agencies': 'id IN (\\'x\\')', 'pageviews': 'site IN (\\'a\\\\\\'b\\')'}"
    )


def test_empty_subtree_matches_nothing_instead_of_breaking_the_filter() -> None:
    assert _in_list(set()) == "('')"
    assert _in_list({"b", "a"}) == "('a', 'b')"
    assert _in_list({"o'k"}) == "('o\\'k')"


def test_cli_token_order() -> None:
    settings = Settings(token="from-env")  # type: ignore[arg-type]
    assert _token(argparse.Namespace(token="flag"), settings) == "flag"
    assert _token(argparse.Namespace(token=None), settings) == "from-env"
    assert _token(argparse.Namespace(token=None), Settings()) is None
