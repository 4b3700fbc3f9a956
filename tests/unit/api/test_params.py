"""Shared indicator-API conventions: sites, periods, comparison periods, changes, exports."""

from __future__ import annotations

import io
from datetime import date

import pytest

from api.export import parse_format, to_csv, to_xlsx
from api.params import parse_compare, parse_int, parse_period, parse_sites
from indicators.change import change_pct, change_pp, count_metric, percent, rate_metric, ratio
from indicators.errors import ParamError
from indicators.periods import CompareMode, Period, comparison_period, year_earlier
from indicators.tables import Table


def test_sites_single_and_multiple_keep_order_and_drop_duplicates() -> None:
    assert parse_sites("a") == ["a"]
    assert parse_sites(" b, a ,b") == ["b", "a"]


@pytest.mark.parametrize(
    ("value", "needle"),
    [(None, "required"), ("", "required"), ("a,,b", "empty site id"), ("a b", "'a b'")],
)
def test_bad_sites_name_the_parameter(value: str | None, needle: str) -> None:
    with pytest.raises(ParamError) as info:
        parse_sites(value)
    assert str(info.value).startswith("site:")
    assert needle in str(info.value)
    assert info.value.status == 400


def test_too_many_sites() -> None:
    with pytest.raises(ParamError, match="at most 2 sites"):
        parse_sites("a,b,c", max_sites=2)


def test_period_is_inclusive() -> None:
    period = parse_period({"from": "2025-03-01", "to": "2025-03-31"}, max_days=366)
    assert period == Period(date(2025, 3, 1), date(2025, 3, 31))
    assert period.days == 31
    assert list(Period(date(2025, 1, 1), date(2025, 1, 1)).dates()) == [date(2025, 1, 1)]
    assert period.as_json() == {"from": "2025-03-01", "to": "2025-03-31"}


@pytest.mark.parametrize(
    ("query", "prefix", "needle"),
    [
        ({"to": "2025-01-01"}, "from:", "required"),
        ({"from": "2025-01-01"}, "to:", "required"),
        ({"from": "2025-13-01", "to": "2025-12-31"}, "from:", "not a valid date"),
        ({"from": "01/02/2025", "to": "2025-12-31"}, "from:", "not a date"),
        ({"from": "2025-02-01", "to": "2025-02-30"}, "to:", "not a valid date"),
        ({"from": "2025-02-02", "to": "2025-02-01"}, "to:", "before from"),
        ({"from": "2025-01-01", "to": "2025-01-11"}, "to:", "11 days; at most 10"),
    ],
)
def test_bad_periods_name_the_parameter(query: dict[str, str], prefix: str, needle: str) -> None:
    with pytest.raises(ParamError) as info:
        parse_period(query, max_days=10)
    assert str(info.value).startswith(prefix)
    assert needle in str(info.value)


def test_max_range_is_inclusive_of_its_limit() -> None:
    assert parse_period({"from": "2025-01-01", "to": "2025-01-10"}, max_days=10).days == 10


def test_previous_period_has_equal_length_just_before() -> None:
    period = Period(date(2025, 3, 1), date(2025, 3, 31))
    assert comparison_period(period, CompareMode.PREVIOUS) == Period(
        date(2025, 1, 29), date(2025, 2, 28)
    )
    one_day = Period(date(2025, 1, 1), date(2025, 1, 1))
    assert comparison_period(one_day, CompareMode.PREVIOUS) == Period(
        date(2024, 12, 31), date(2024, 12, 31)
    )
    leap = Period(date(2024, 3, 1), date(2024, 3, 2))
    assert comparison_period(leap, CompareMode.PREVIOUS) == Period(
        date(2024, 2, 28), date(2024, 2, 29)
    )


def test_year_earlier_maps_feb_29_to_feb_28() -> None:
    assert year_earlier(date(2024, 2, 29)) == date(2023, 2, 28)
    assert year_earlier(date(2025, 2, 28)) == date(2024, 2, 28)
    assert year_earlier(date(2025, 3, 1)) == date(2024, 3, 1)
    feb = Period(date(2024, 2, 1), date(2024, 2, 29))
    assert comparison_period(feb, CompareMode.YEAR) == Period(date(2023, 2, 1), date(2023, 2, 28))
    across = Period(date(2025, 2, 28), date(2025, 3, 1))
    # the same dates a year earlier include 29 February 2024: one day longer
    assert comparison_period(across, CompareMode.YEAR) == Period(
        date(2024, 2, 28), date(2024, 3, 1)
    )
    assert comparison_period(feb, CompareMode.NONE) is None


def test_compare_and_int_and_format_choices() -> None:
    assert parse_compare({}) is CompareMode.PREVIOUS
    assert parse_compare({"compare": "year"}) is CompareMode.YEAR
    with pytest.raises(ParamError, match=r"^compare: 'last' is not one of previous, year, none"):
        parse_compare({"compare": "last"})
    assert parse_int({}, "limit", 10, 1, 100) == 10
    assert parse_int({"limit": "5"}, "limit", 10, 1, 100) == 5
    with pytest.raises(ParamError, match=r"^limit: 0 is not between 1 and 100"):
        parse_int({"limit": "0"}, "limit", 10, 1, 100)
    with pytest.raises(ParamError, match=r"^limit: 'x' is not an integer"):
        parse_int({"limit": "x"}, "limit", 10, 1, 100)
    assert parse_format({}) == "json"
    with pytest.raises(ParamError, match=r"^format: 'pdf'"):
        parse_format({"format": "pdf"})


def test_changes() -> None:
    assert change_pct(150, 100) == 50.0
    assert change_pct(1, 3) == -66.7
    assert change_pct(5, 0) is None
    assert change_pct(5, None) is None
    assert change_pp(42.5, 40.0) == 2.5
    assert change_pp(None, 40.0) is None
    assert count_metric(3, 2) == {"value": 3, "previous": 2, "change_pct": 50.0}
    assert count_metric(0, 0) == {"value": 0, "previous": 0, "change_pct": None}
    # shown rounded, change from the unrounded values
    assert count_metric(10 / 3, 2.0, digits=2) == {
        "value": 3.33,
        "previous": 2.0,
        "change_pct": 66.7,
    }
    assert rate_metric(100 / 3, 50.0) == {"value": 33.3, "previous": 50.0, "change_pp": -16.7}
    assert rate_metric(20.0, None) == {"value": 20.0, "previous": None, "change_pp": None}


def test_ratios_are_none_without_a_denominator() -> None:
    assert ratio(7, 2) == 3.5
    assert ratio(7, 0) is None
    assert percent(1, 3, 1) == 33.3
    assert percent(1, 0) is None


def test_csv_has_bom_header_and_empty_cells_for_none() -> None:
    table = Table(["key", "visits", "change_pct"], [["Hà Nội", 3, None], ["x,y", 1, 2.5]])
    text = to_csv(table).decode("utf-8")
    assert text == '\ufeffkey,visits,change_pct\nHà Nội,3,\n"x,y",1,2.5\n'


def test_xlsx_round_trips_through_openpyxl() -> None:
    from openpyxl import load_workbook

    table = Table(["key", "visits"], [["Hà Nội", 3], ["/a", 1]])
    workbook = load_workbook(io.BytesIO(to_xlsx(table, sheet="breakdown")))
    sheet = workbook["breakdown"]
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["key", "visits"],
        ["Hà Nội", 3],
        ["/a", 1],
    ]
