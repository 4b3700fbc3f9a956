"""``indicators.filters``: the pure parser of ``filter=`` and the parameters it binds.

The issue's grammar: ``filter=DIM:V1|V2`` (is one of), ``filter=DIM!:V`` (is none of),
``filter=DIM~:TEXT`` (contains); repeated ``filter`` = AND. Bad input is a 400 naming which
filter and what is wrong.
"""

from __future__ import annotations

import re

import pytest

from clickhouse import named
from indicators.errors import ParamError
from indicators.filters import (
    DIMS,
    MAX_FILTERS,
    VISIT_DIMS,
    Filter,
    Filters,
    Op,
    param_names,
    parse_filter,
    parse_filters,
)


def test_the_three_operators() -> None:
    assert parse_filter("country:VN|US") == Filter("country", Op.IS, ("VN", "US"))
    assert parse_filter("device!:mobile") == Filter("device", Op.IS_NOT, ("mobile",))
    # contains takes one text: '|' and ':' are literal there
    assert parse_filter("page~:/a|b:c") == Filter("page", Op.CONTAINS, ("/a|b:c",))
    # an empty value is the empty key (a direct visit has referrer '')
    assert parse_filter("referrer:") == Filter("referrer", Op.IS, ("",))
    assert parse_filter("page:/thu-tuc?x=1").values == ("/thu-tuc?x=1",)


def test_text_round_trip() -> None:
    for text in ("country:VN|US", "os!:iOS", "page~:dich-vu", "referrer:"):
        assert parse_filter(text).as_text() == text


def test_repeated_filters_are_anded_in_the_parameters() -> None:
    filters = parse_filters(
        ["country:VN|US|JP", "country:US|JP|LA", "country!:JP", "page~:/a", "page~:b"]
    )
    params = filters.params()
    # "is one of" twice: the intersection; "is none of" still applies on its own
    assert params["f_country_on"] == 1
    assert params["f_country_in"] == ["US", "JP"]
    assert params["f_country_out"] == ["JP"]
    assert params["f_page_has"] == ["/a", "b"]
    assert params["visit_filtered"] == 1 and params["page_filtered"] == 1
    # untouched dimensions: conditions the SQL folds away
    assert (params["f_city_on"], params["f_city_in"], params["f_city_out"]) == (0, [], [])


def test_disjoint_is_one_of_filters_match_nothing() -> None:
    params = parse_filters(["device:mobile", "device:desktop"]).params()
    assert params["f_device_on"] == 1 and params["f_device_in"] == []


def test_families() -> None:
    assert not Filters()
    assert parse_filters([]) == Filters()
    page = parse_filters(["page:/a"])
    assert (page.visit_filtered, page.page_filtered) == (False, True)
    visit = parse_filters(["exit_page:/a"])  # exit page is the visit's own value
    assert (visit.visit_filtered, visit.page_filtered) == (True, False)
    # an event filter selects visits (with a matching event): their hits follow them
    event = parse_filters(["event:dang-ky"])
    assert (event.visit_filtered, event.page_filtered, event.event_filtered) == (True, False, True)
    assert event.params()["f_event_in"] == ["dang-ky"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (["country"], "filter #1 'country': expected DIM:V1|V2 (is one of)"),
        (["device:mobile", "colour:red"],
         "filter #2 'colour:red': unknown dimension 'colour'; one of country, city"),
        (["channel:Social"], "filter #1 'channel:Social': unknown channel 'Social'; one of direct"),
        (["goal~:"], "filter #1 'goal~:': the text to look for is empty"),
        (["page~:"], "filter #1 'page~:': the text to look for is empty"),
        (["os:" + "|".join("x" * 101)], "filter #1 'os:x|x"),
        (["page:/" + "a" * 600], "filter #1 'page:/aaaa"),
        (["city:Ha\nNoi"], "filter #1 'city:Ha\\nNoi': a value contains a control character"),
        (["device:mobile"] * (MAX_FILTERS + 1), "filter: 21 filters; at most 20"),
        (["page~:a"] * 21, "filter: 21 filters"),
    ],
)  # fmt: skip
def test_bad_filters_name_the_filter_and_the_fault(raw: list[str], message: str) -> None:
    with pytest.raises(ParamError) as caught:
        parse_filters(raw)
    assert str(caught.value).startswith(message), str(caught.value)


def test_channel_and_campaign_dimensions_are_visit_dimensions() -> None:
    """Issue 17 item 2: the dimensions reserved by item 1 are built, as visit dimensions."""
    for dim in ("channel", "utm_source", "utm_medium", "utm_campaign"):
        assert dim in VISIT_DIMS
        assert parse_filters([f"{dim}~:o"]).visit_filtered
    assert parse_filter("utm_source:Zalo|fb").values == ("Zalo", "fb")
    assert parse_filter("channel!:internal|direct").op is Op.IS_NOT
    with pytest.raises(ParamError, match=r"filter #1 'channel:zalo': unknown channel 'zalo'"):
        parse_filter("channel:zalo")
    params = parse_filters(["channel:internal"]).params()
    assert params["f_channel_in"] == ["internal"]
    assert params["ch_sites"] == params["ch_hosts"] == []  # filled by with_tree from the registry


FILTERED = [n for n in named.names() if n.endswith("_filtered")]


def test_every_filtered_query_declares_every_filter() -> None:
    """A filtered query that forgot a dimension would silently ignore its filter."""
    assert len(FILTERED) == 10  # portal_bounce_users(_by)_filtered: I.4 over users (issue 16)
    wanted = {p for p in param_names() if p.startswith("f_")}
    assert len(wanted) == 4 * len(DIMS)
    for name in FILTERED:
        declared = named.load(name).params
        assert wanted <= set(declared), (name, sorted(wanted - set(declared)))
        assert "Reads:" in named.load(name).description, name


def test_user_values_never_reach_the_sql_text() -> None:
    """Values travel as bound parameters: every brace in the filtered SQL is a typed
    ``{name:Type}`` placeholder (nothing left for ``str.format`` or pasting), and a hostile
    value stays a parameter value."""
    params = parse_filters(["page~:'; DROP TABLE x --"]).params()
    assert params["f_page_has"] == ["'; DROP TABLE x --"]
    placeholder = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*:[^{}]+\}")
    for name in FILTERED:
        sql = named.load(name).sql
        assert "{" not in placeholder.sub("", sql), name
