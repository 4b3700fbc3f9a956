"""Named queries: every file documents what it reads; parameters are declared and converted."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

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


def test_the_cut_is_an_optional_parameter_bound_empty_when_left_out() -> None:
    """Issue 16: one query per indicator takes the cut (``ends``) as a parameter; analysts'
    calls without it keep working and mean the whole period."""
    query = named.load("portal_overview")
    assert query.optional == frozenset({"ends"})
    assert query.params["ends"] == "Array(Int64)"
    plain = {"sites": ["a"], "from": date(2025, 1, 1), "to": date(2025, 1, 2)}
    assert named.bind("portal_overview", plain)[1] == {**plain, "ends": []}
    given = {**plain, "ends": [1_741_773_600]}
    assert named.bind("portal_overview", given)[1] == given
    with pytest.raises(named.BadParameters, match=r"missing to \(Date\)"):
        named.bind("portal_overview", {"sites": ["a"], "from": date(2025, 1, 1)})
    assert not any(name.endswith("_cut") for name in named.names())
    cut = {n for n in named.names() if "ends" in named.load(n).optional}
    assert cut >= {
        "portal_overview", "portal_timeseries", "dvc_pageviews", "portal_breakdown_dim",
        "portal_breakdown_pages", "portal_breakdown_hours",
        "portal_breakdown_sites",
    }  # fmt: skip


def test_only_array_parameters_may_be_optional(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "bad.sql").write_text(
        "-- bad: x\n-- Params: sites Array(String)\n-- Optional: n\n-- Reads: nothing\n"
        "SELECT {n:UInt8} FROM system.one WHERE 1 IN {sites:Array(String)}\n"
    )
    monkeypatch.setattr(named, "QUERIES_DIR", tmp_path)
    named.load.cache_clear()
    try:
        with pytest.raises(ValueError, match="optional parameter n must be a declared Array"):
            named.load("bad")
    finally:
        named.load.cache_clear()


def test_fragments_are_expanded_where_included(tmp_path: Path, monkeypatch: Any) -> None:
    """``-- include: NAME`` becomes the fragment's body (its header comment dropped, indented
    like the include line); the loaded query's parameters come from the expanded text, so the
    including header must still name them (the check above runs on every real query)."""
    overview = named.load("portal_overview_filtered")
    assert "-- include:" not in overview.sql
    assert "f_channel_on" in overview.params and "ch_host_roots" in overview.params
    assert overview.sql.count("{f_utm_campaign_on:UInt8}") == 2  # the visits and the hits
    fragments = tmp_path / "fragments"
    fragments.mkdir()
    (fragments / "inner.sql").write_text("-- header\n-- more\nx = {x:UInt8}\n")
    (fragments / "outer.sql").write_text("AND (\n    -- include: inner\n)\n")
    (fragments / "loop.sql").write_text("x\n-- include: loop\n")
    monkeypatch.setattr(named, "FRAGMENTS_DIR", fragments)
    assert named.expand("SELECT 1\nWHERE 1\n  -- include: outer\n", "q.sql") == (
        "SELECT 1\nWHERE 1\n  AND (\n      x = {x:UInt8}\n  )\n"
    )
    with pytest.raises(ValueError, match=r"q.sql: no fragment 'nope'"):
        named.expand("-- include: nope", "q.sql")
    with pytest.raises(ValueError, match="nested deeper"):
        named.expand("-- include: loop", "q.sql")


def test_when_blocks_are_sent_only_when_one_of_their_parameters_is_set() -> None:
    """``-- when: P …`` … ``-- end when``: kept when one of P … is set (not 0, not empty),
    cut otherwise with what it nests; the markers themselves are never sent."""
    sql = (
        "SELECT 1\nWHERE 1\n"
        "  -- when: a b\n  AND x IN {a:Array(String)}\n"
        "    -- when: c\n    AND y = {c:UInt8}\n    -- end when\n"
        "  -- end when\n"
        "  AND z\n"
    )
    assert named.prune(sql, {"a": [], "b": 0, "c": 1}) == "SELECT 1\nWHERE 1\n  AND z\n"
    assert named.prune(sql, {"a": ["v"], "b": 0, "c": 0}) == (
        "SELECT 1\nWHERE 1\n  AND x IN {a:Array(String)}\n  AND z\n"
    )
    assert named.prune(sql, {"a": [], "b": 2, "c": 1}) == (
        "SELECT 1\nWHERE 1\n  AND x IN {a:Array(String)}\n    AND y = {c:UInt8}\n  AND z\n"
    )


def test_when_blocks_must_be_balanced_and_name_declared_parameters(
    tmp_path: Path, monkeypatch: Any
) -> None:
    head = "-- q: x\n-- Params: a UInt8\n-- Reads: nothing\n"
    cases = {
        "open": ("SELECT 1 WHERE 1\n-- when: a\nAND {a:UInt8} = 1\n", "not closed"),
        "close": ("SELECT 1 WHERE {a:UInt8} = 1\n-- end when\n", "without -- when:"),
        "undeclared": ("SELECT {a:UInt8}\n-- when: b\nAND 1\n-- end when\n", "undeclared b"),
    }
    for name, (body, _) in cases.items():
        (tmp_path / f"{name}.sql").write_text(head + body)
    monkeypatch.setattr(named, "QUERIES_DIR", tmp_path)
    named.load.cache_clear()
    try:
        for name, (_, message) in cases.items():
            with pytest.raises(ValueError, match=message):
                named.load(name)
    finally:
        named.load.cache_clear()


def test_a_filtered_overview_with_two_filters_sends_only_their_conditions() -> None:
    """The point of the blocks (issue 17 item 1): a request filtering by page and device sends
    the device and page conditions, none of the thirteen other dimensions' or the event and
    goal subqueries, and less than half the text."""
    query = named.load("portal_overview_filtered")
    assert query.conditional
    params: dict[str, Any] = {
        k: ([] if t.startswith("Array(") else 0) for k, t in query.params.items()
    }
    params.update(f_device_out=["desktop"], f_page_has=["/p1"], page_filtered=1, visit_filtered=1)
    sent = named.prune(query.sql, params)
    assert "-- when:" not in sent and "-- end when" not in sent
    assert "{f_device_out:Array(String)}" in sent and "{f_page_has:Array(String)}" in sent
    for absent in ("f_country_on", "f_channel_in", "ch_hosts", "f_event_in", "g_in_regex"):
        assert "{" + absent + ":" not in sent, absent
    assert len(sent) < len(query.sql) / 2
