"""Goals and funnels, the pure parts (issue 17 item 4): goal bodies, page patterns, funnel
steps, drop-off arithmetic and the goal filter's parameters."""

from __future__ import annotations

import re

import pytest

from clickhouse import named
from indicators.errors import ParamError
from indicators.filters import Filters, parse_filters
from indicators.goals import (
    InvalidGoal,
    Matcher,
    funnel_steps,
    page_regex,
    parse_goal,
    parse_steps,
    reached,
    resolve_steps,
)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/thu-tuc/*", "/thu-tuc/", True),
        ("/thu-tuc/*", "/thu-tuc/a/b", True),
        ("/thu-tuc/*", "/thu-tuc", False),
        ("/a.b", "/a.b", True),
        ("/a.b", "/aXb", False),  # the dot is literal
        ("*/nop-ho-so", "/x/y/nop-ho-so", True),
        ("/a", "/a/b", False),  # anchored
    ],
)
def test_page_patterns(pattern: str, path: str, matches: bool) -> None:
    assert bool(re.match(page_regex(pattern), path)) is matches


def test_goal_bodies() -> None:
    page = parse_goal("dvc", {"id": "xem", "page": "/thu-tuc/*"})
    assert (page.name, page.page, page.event) == ("xem", "/thu-tuc/*", "")
    event = parse_goal(
        "dvc", {"id": "nop", "name": "Nộp", "event": "submit", "property": {"procedure": 1}}
    )
    assert (event.event, event.prop_key, event.prop_value) == ("submit", "procedure", "1")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"page": "/a"}, "id: required"),
        ({"id": "Bad Id", "page": "/a"}, "id: 1-64"),
        ({"id": "a"}, "page/event: give exactly one"),
        ({"id": "a", "page": "/a", "event": "b"}, "page/event: give exactly one"),
        ({"id": "a", "page": "a"}, "page: a path pattern starts"),
        ({"id": "a", "event": "e", "property": {"a": "1", "b": "2"}}, "property: expected one"),
        ({"id": "a", "page": "/a", "color": "red"}, "color: unknown field"),
        ([], "body: expected a JSON object"),
    ],
)
def test_bad_goals_name_the_field(body: object, message: str) -> None:
    with pytest.raises(InvalidGoal) as caught:
        parse_goal("dvc", body)
    assert str(caught.value).startswith(message) and caught.value.status == 422


def test_funnel_steps_parse_and_resolve_saved_goals() -> None:
    steps = parse_steps(["page:/thu-tuc/*", "event:start", "event:submit:procedure=1.000123",
                         "goal:nop"])  # fmt: skip
    assert steps[:3] == [
        Matcher(page="/thu-tuc/*"),
        Matcher(event="start"),
        Matcher(event="submit", prop_key="procedure", prop_value="1.000123"),
    ]
    assert steps[3] == "nop"
    goal = parse_goal("dvc", {"id": "nop", "event": "submit"})
    assert resolve_steps(steps, [goal])[3] == Matcher(event="submit")
    with pytest.raises(ParamError, match=r"step #4: no goal 'nop'"):
        resolve_steps(steps, [])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["page:/a"], "step: 1 given"),
        (["page:/a"] * 9, "step: 9 given"),
        (["page:/a", "click"], "step #2 'click': expected"),
        (["page:/a", "link:x"], "step #2 'link:x': a step starts"),
        (["page:/a", "event:x:novalue"], "step #2 'event:x:novalue': an event property"),
    ],
)
def test_bad_steps(raw: list[str], message: str) -> None:
    with pytest.raises(ParamError) as caught:
        parse_steps(raw)
    assert str(caught.value).startswith(message), str(caught.value)


def test_reached_and_dropoff() -> None:
    """Visits at exactly level 3, 2, 1: 2, 1, 1 → reached 4, 3, 2 (a visit at level k
    reached steps 1 … k)."""
    counts = reached({3: 2, 2: 1, 1: 1}, 3)
    assert counts == [4, 3, 2]
    steps = funnel_steps([Matcher(page="/a"), Matcher(event="b"), Matcher(event="c")], counts)
    assert [(s["dropoff"], s["dropoff_pct"], s["conversion_pct"]) for s in steps] == [
        (None, None, 100.0),
        (1, 25.0, 75.0),
        (1, 33.3, 50.0),
    ]
    empty = funnel_steps([Matcher(page="/a"), Matcher(event="b")], [0, 0])
    assert [(s["dropoff_pct"], s["conversion_pct"]) for s in empty] == [(None, None), (None, None)]


GOALS = (
    ("dvc", "nop", "Nộp hồ sơ", "", "submit", "", ""),
    ("dvc", "xem", "Xem thủ tục", "^/thu-tuc/.*$", "", "", ""),
)


def test_goal_filter_parameters() -> None:
    one = Filters(parse_filters(["goal:nop|xem", "goal:nop"]).items, GOALS).params()
    assert (one["goal_filtered"], one["g_on"], one["g_in_events"]) == (1, 1, ["submit"])
    assert one["visit_filtered"] == 1
    none = Filters(parse_filters(["goal!:xem"]).items, GOALS).params()
    assert (none["g_on"], none["g_in_sites"], none["g_out_regex"]) == (0, [], ["^/thu-tuc/.*$"])
    text = Filters(parse_filters(["goal~:THỦ TỤC"]).items, GOALS).params()
    assert text["g_in_regex"] == ["^/thu-tuc/.*$"]
    unknown = Filters(parse_filters(["goal:nope"]).items, GOALS).params()
    assert (unknown["g_on"], unknown["g_in_sites"]) == (1, [])  # nothing converts on it
    assert Filters().params()["goal_filtered"] == 0


def test_every_filtered_query_declares_the_goal_parameters() -> None:
    wanted = {p for p in Filters().params() if p.startswith("g_") or p == "goal_filtered"}
    assert len(wanted) == 12
    for name in [n for n in named.names() if n.endswith("_filtered")]:
        assert wanted <= set(named.load(name).params), name
