"""Targets and reconciliation workbooks (issue 18): good rows are kept beside the bad ones,
each bad one reported with its row and column; an unreadable file is refused whole."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import Workbook

from schemas.target_workbooks import parse_month, read_targets, read_totals
from schemas.workbooks import ImportRefused


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_targets_rows_and_problems() -> None:
    good, problems = read_targets(
        _xlsx([
            [" metric ", "AGENCY", "Year", "Target"],
            ["on_time_rate", "dept-a", 2026, "80,5"],
            ["on_time_rate", "", 2026, 80],
            ["visits", "dept-a", "năm", 10],
            ["on_time_rate", "dept-a", 2026, 90],
        ]),
        {"on_time_rate", "visits"},
    )  # fmt: skip
    assert [(g.row, g.agency, g.metric, g.year, g.value) for g in good] == [
        (2, "dept-a", "on_time_rate", 2026, 80.5)
    ]
    assert [(p.row, p.column) for p in problems] == [(3, "Agency"), (4, "Year"), (5, "")]
    assert "repeats row 2" in problems[2].problem


def test_a_missing_column_refuses_the_file() -> None:
    with pytest.raises(ImportRefused) as refused:
        read_targets(_xlsx([["Agency", "Metric", "Year"], ["a", "visits", 2026]]), {"visits"})
    assert refused.value.problems[0].column == "Target"


def test_totals_months_in_every_layout() -> None:
    assert parse_month("2026-03") == parse_month("03/2026") == parse_month("15/3/2026")
    assert parse_month(datetime(2026, 3, 9)) == date(2026, 3, 1)
    with pytest.raises(ValueError, match="not a month"):
        parse_month("2026-13")
    good, problems = read_totals(
        _xlsx([
            ["Site", "Procedure", "Month", "Received", "Resolved"],
            ["mc", "1.001193", "2026-03", 4, 1],
            ["mc", "1.001193", "tháng 3", 4, 1],
            ["mc", "", "2026-03", 2.5, 0],
        ])
    )  # fmt: skip
    assert [(g.site, g.procedure, g.month, g.received, g.resolved) for g in good] == [
        ("mc", "1.001193", date(2026, 3, 1), 4, 1)
    ]
    assert [(p.row, p.column) for p in problems] == [
        (3, "Month"),
        (4, "Procedure"),
        (4, "Received"),
    ]
