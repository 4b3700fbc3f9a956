"""Reading the two workbooks of issue 18 whose good rows are kept beside the bad ones: yearly
targets (chỉ tiêu) and an agency's own dossier totals for reconciliation (đối soát). Pure
(bytes in, rows and problems out); the sheet reading is ``schemas.workbooks``' (``.xlsx`` and
``.xls``, header on row 1, column names matched without regard to case or spaces, blank rows
skipped, other columns ignored).

Why keep good rows, unlike the catalog: a catalog decides official numbers and must be whole,
but a target or a monthly total stands on its own row; refusing 300 departments' targets for
one typo would only delay the 299 others. The import answers which rows were stored and which
were not, each with its row, column and reason. A file that cannot be read at all (wrong type,
missing column, no data row) is still refused whole (``ImportRefused``).

Targets columns: ``Agency`` (agency id), ``Metric`` (a rankings metric name), ``Year``,
``Target`` (a number ≥ 0). Reconciliation columns: ``Site``, ``Procedure`` (the procedure code,
= ID MCDT), ``Month`` (``YYYY-MM``, ``MM/YYYY`` or a date cell), ``Received``, ``Resolved``
(whole numbers ≥ 0). A key repeated in one file is a problem on its later row.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schemas.workbooks import Problem, cell, cell_text, integer, read_sheet

TARGET_COLUMNS = ("Agency", "Metric", "Year", "Target")
RECONCILIATION_COLUMNS = ("Site", "Procedure", "Month", "Received", "Resolved")
YEARS = (2000, 2100)
_MONTH_ISO = re.compile(r"^(\d{4})-(\d{1,2})(?:-\d{1,2})?$")
_MONTH_VN = re.compile(r"^(?:\d{1,2}/)?(\d{1,2})/(\d{4})$")


@dataclass(frozen=True, slots=True)
class TargetRow:
    row: int
    agency: str
    metric: str
    year: int
    value: float


@dataclass(frozen=True, slots=True)
class TotalsRow:
    """One reported total: ``month`` is the first day of the month."""

    row: int
    site: str
    procedure: str
    month: date
    received: int
    resolved: int


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = cell_text(value).replace(",", ".").rstrip("%").strip()
    try:
        return float(text)
    except ValueError:
        return None


def read_targets(data: bytes, metrics: Collection[str]) -> tuple[list[TargetRow], list[Problem]]:
    """The good rows of a targets workbook and the problems of the others (``metrics``: the
    metric names accepted)."""
    sheet = read_sheet(data, "targets", TARGET_COLUMNS)
    col = sheet.columns
    good: list[TargetRow] = []
    problems: list[Problem] = []
    first: dict[tuple[str, str, int], int] = {}
    for number, values in sheet.rows:
        found: list[Problem] = []
        agency = cell_text(cell(values, col["Agency"]))
        metric = cell_text(cell(values, col["Metric"]))
        raw_year = cell(values, col["Year"])
        year = integer(raw_year)
        value = _number(cell(values, col["Target"]))
        if not agency:
            found.append(Problem(number, "Agency", "empty agency id"))
        if metric not in metrics:
            found.append(Problem(number, "Metric", f"unknown metric {metric or '(empty)'!r}"))
        if year is None or not YEARS[0] <= year <= YEARS[1]:
            shown = cell_text(raw_year) or "(empty)"
            found.append(Problem(number, "Year", f"{shown} is not a year {YEARS[0]}–{YEARS[1]}"))
        if value is None or value < 0:
            shown = cell_text(cell(values, col["Target"])) or "(empty)"
            found.append(Problem(number, "Target", f"{shown} is not a number ≥ 0"))
        if not found and year is not None and value is not None:
            key = (agency, metric, year)
            if key in first:
                found.append(
                    Problem(number, "", f"{agency}/{metric}/{year} repeats row {first[key]}")
                )
            else:
                first[key] = number
                good.append(TargetRow(number, agency, metric, year, value))
        problems.extend(found)
    return good, problems


def parse_month(value: Any) -> date:
    """The first day of the month of a cell: a date, ``YYYY-MM[-DD]`` or ``[DD/]MM/YYYY``;
    ValueError otherwise."""
    if isinstance(value, datetime | date):
        return date(value.year, value.month, 1)
    text = cell_text(value)
    iso, vn = _MONTH_ISO.match(text), _MONTH_VN.match(text)
    year, month = (int(iso[1]), int(iso[2])) if iso else (int(vn[2]), int(vn[1])) if vn else (0, 0)
    if not 1 <= month <= 12 or not YEARS[0] <= year <= YEARS[1]:
        raise ValueError(f"{text or '(empty)'!r} is not a month (YYYY-MM or MM/YYYY)")
    return date(year, month, 1)


def read_totals(data: bytes) -> tuple[list[TotalsRow], list[Problem]]:
    """The good rows of a reconciliation workbook and the problems of the others."""
    sheet = read_sheet(data, "reconciliation", RECONCILIATION_COLUMNS)
    col = sheet.columns
    good: list[TotalsRow] = []
    problems: list[Problem] = []
    first: dict[tuple[str, str, date], int] = {}
    for number, values in sheet.rows:
        found: list[Problem] = []
        site = cell_text(cell(values, col["Site"]))
        procedure = cell_text(cell(values, col["Procedure"]))
        if not site:
            found.append(Problem(number, "Site", "empty site id"))
        if not procedure:
            found.append(Problem(number, "Procedure", "empty procedure code"))
        month = date.min
        try:
            month = parse_month(cell(values, col["Month"]))
        except ValueError as exc:
            found.append(Problem(number, "Month", str(exc)))
        counts: list[int] = []
        for column in ("Received", "Resolved"):
            count = integer(cell(values, col[column]))
            if count is None or count < 0:
                shown = cell_text(cell(values, col[column])) or "(empty)"
                found.append(Problem(number, column, f"{shown} is not a whole number ≥ 0"))
            counts.append(count or 0)
        if not found:
            key = (site, procedure, month)
            if key in first:
                shown = f"{site}/{procedure}/{month:%Y-%m}"
                found.append(Problem(number, "", f"{shown} repeats row {first[key]}"))
            else:
                first[key] = number
                good.append(TotalsRow(number, site, procedure, month, counts[0], counts[1]))
        problems.extend(found)
    return good, problems
