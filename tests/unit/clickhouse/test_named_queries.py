"""Named queries: every file documents what it reads; parameters are declared and converted."""

from __future__ import annotations

from datetime import date

import pytest

from clickhouse import named
from core.errors import UserError
from emc.cli import build_parser
from emc.named_query import parse_params


def test_every_named_query_says_what_it_reads_and_takes_parameters() -> None:
    assert "portal_overview" in named.names()
    for name in named.names():
        query = named.load(name)
        assert "Reads:" in query.description, name
        assert "Params:" in query.description, name
        assert query.params["sites"] == "Array(String)", name
        for param in query.params:
            assert param in query.description, (name, param)


def test_convert_follows_the_declared_types() -> None:
    query = named.load("portal_breakdown_dim")
    values = named.convert(
        query,
        {"sites": "a,b", "from": "2025-01-01", "limit": "5", "dim": "country", "keys": ""},
    )
    assert values == {
        "sites": ["a", "b"],
        "from": date(2025, 1, 1),
        "limit": 5,
        "dim": "country",
        "keys": [],
    }
    with pytest.raises(named.BadParameters, match="limit: 'x' is not a UInt32"):
        named.convert(query, {"limit": "x"})


def test_unknown_query_lists_the_known_ones() -> None:
    with pytest.raises(named.UnknownQuery, match="portal_overview"):
        named.load("nope")
    with pytest.raises(named.UnknownQuery):
        named.load("../migrations/0001_schema_migrations")


def test_cli_params() -> None:
    assert parse_params(["sites=a,b", "from = 2025-01-01"]) == {
        "sites": "a,b",
        "from": "2025-01-01",
    }
    with pytest.raises(UserError, match="'oops'"):
        parse_params(["oops"])
    args = build_parser().parse_args(["sql", "--query", "portal_overview", "--param", "sites=a"])
    assert (args.named, args.param, args.query) == ("portal_overview", ["sites=a"], None)
