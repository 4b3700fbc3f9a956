"""Reading the catalog and account workbooks: the samples, and every broken variant refused
whole with a report naming row, column and problem."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from schemas.workbooks import (
    ImportRefused,
    read_accounts,
    read_catalog,
    write_catalog,
)

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _refused(reader: object, data: bytes) -> ImportRefused:
    with pytest.raises(ImportRefused) as info:
        reader(data)  # type: ignore[operator]
    return info.value


def test_the_sample_catalog_reads_as_written() -> None:
    rows = read_catalog((SAMPLES / "catalog.xlsx").read_bytes())
    assert [(r.row, r.level, r.id_mcdt) for r in rows] == [
        (2, 4, "1.001193"), (3, 3, "1.000894"), (4, 4, "2.000635"), (5, 4, "2.000720"),
        (6, 3, "1.009972"), (7, 3, "1.004227"), (8, 0, "2.000930"),
    ]  # fmt: skip
    assert rows[0].name == "Đăng ký khai sinh" and rows[0].id_cdvcqg == "1.001193"
    assert rows[6].url == "" and rows[6].id_cdvcqg == ""


def test_export_reads_back_identically() -> None:
    rows = read_catalog((SAMPLES / "catalog.xlsx").read_bytes())
    assert read_catalog(write_catalog(rows)) == rows


def test_the_sample_accounts_read_with_both_date_styles() -> None:
    rows = read_accounts((SAMPLES / "accounts.xlsx").read_bytes())
    assert [(r.id_local, r.type, r.id_qg) for r in rows][:2] == [
        ("u-0001", 2, "QG-883001"),
        ("u-0002", 2, ""),
    ]
    assert rows[1].last_login is None
    assert rows[2].created == datetime(2026, 2, 15) and rows[2].last_login == datetime(
        2026, 3, 2, 10, 30
    )
    assert rows[4].last_login == datetime(2026, 3, 1, 21, 10)


@pytest.mark.parametrize(
    ("name", "row", "column", "words"),
    [
        ("catalog_missing_column", 1, "ID MCDT", "missing column"),
        ("catalog_unknown_level", 4, "Level", "unknown level 2"),
        (
            "catalog_duplicate_id_mcdt",
            9,
            "ID MCDT",
            "duplicate ID MCDT '1.001193' (first on row 2)",
        ),
        ("catalog_empty_name", 5, "Name", "empty name"),
        ("catalog_not_xlsx", 0, "", "wrong file type"),
    ],
)
def test_broken_catalogs_are_refused_naming_row_column_problem(
    name: str, row: int, column: str, words: str
) -> None:
    refused = _refused(read_catalog, (SAMPLES / "broken" / f"{name}.xlsx").read_bytes())
    assert len(refused.problems) == 1
    problem = refused.problems[0]
    assert (problem.row, problem.column) == (row, column)
    assert words in problem.problem
    assert refused.status == (415 if name.endswith("not_xlsx") else 422)
    assert "nothing imported" in str(refused)
    assert refused.report()["problems"] == [
        {"row": row, "column": column, "problem": problem.problem}
    ]


@pytest.mark.parametrize(
    ("name", "row", "column", "words"),
    [
        ("accounts_unknown_type", 3, "TYPE", "unknown TYPE 4"),
        ("accounts_bad_date", 7, "CREATDATE_USER", "'hôm qua' is not a date"),
        ("accounts_duplicate_id", 7, "ID_local", "duplicate ID_local 'u-0001' (first on row 2)"),
    ],
)
def test_broken_account_lists_are_refused(name: str, row: int, column: str, words: str) -> None:
    refused = _refused(read_accounts, (SAMPLES / "broken" / f"{name}.xlsx").read_bytes())
    assert [(p.row, p.column) for p in refused.problems] == [(row, column)]
    assert words in refused.problems[0].problem


def test_every_problem_is_reported_in_row_order() -> None:
    data = _xlsx(
        [
            ["id mcdt", " NAME ", "Level", "Url", "ID CDVCQG", "extra"],
            ["A", "", 3, "", "", "ignored"],
            [None, None, None, None, None, None],  # blank rows are skipped, numbers kept
            ["A", "Two", "x", "", "", ""],
            ["", "Three", 4.0, "", "", ""],
        ]
    )
    refused = _refused(read_catalog, data)
    assert [(p.row, p.column) for p in refused.problems] == [
        (2, "Name"),
        (4, "ID MCDT"),
        (4, "Level"),
        (5, "ID MCDT"),
    ]


def test_header_only_and_repeated_columns_are_refused() -> None:
    header = ["Name", "Level", "Url", "ID CDVCQG", "ID MCDT"]
    assert _refused(read_catalog, _xlsx([header])).problems[0].problem.startswith("no data rows")
    twice = _refused(read_catalog, _xlsx([[*header, "level"], ["a", 3, "", "", "x", 3]]))
    assert [(p.row, p.column, p.problem) for p in twice.problems] == [
        (1, "level", "column appears twice")
    ]


def test_level_as_text_or_float_is_accepted() -> None:
    header = ["Name", "Level", "Url", "ID CDVCQG", "ID MCDT"]
    rows = read_catalog(_xlsx([header, ["a", "4", "", "", "x"], ["b", 3.0, "", "", 17]]))
    assert [(r.level, r.id_mcdt) for r in rows] == [(4, "x"), (3, "17")]


# --- legacy .xls (issue 18: units still produce them; xlrd reads, xlwt writes the fixtures) ---


def _xls(rows: list[list[object]]) -> bytes:
    """An Excel 97-2003 workbook of ``rows`` (dates written as date cells, like Excel does)."""
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM:SS")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, datetime):
                sheet.write(r, c, value, date_style)
            elif value is not None:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_xls_catalog_reads_like_the_same_xlsx() -> None:
    """The same rows as .xls and .xlsx give the same catalog: numbers stored as floats (3.0)
    and codes typed as text both come back as in the xlsx."""
    rows: list[list[object]] = [
        ["Name", "Level", "Url", "ID CDVCQG", "ID MCDT"],
        ["Đăng ký khai sinh", 4, "https://dvc.example.vn/1", "1.001193", "1.001193"],
        ["Cấp phép xây dựng", 3.0, None, None, "1.000894"],
        [None, None, None, None, None],
        ["Chứng thực bản sao", 0, "", "", "2.000930"],
    ]
    data = _xls(rows)
    assert data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    assert read_catalog(data) == read_catalog(_xlsx(rows))
    assert [(r.row, r.level) for r in read_catalog(data)] == [(2, 4), (3, 3), (5, 0)]


def test_an_xls_account_list_keeps_its_date_cells_and_text_dates() -> None:
    rows: list[list[object]] = [
        ["ID_local", "ID_QG", "TYPE", "CREATDATE_USER", "LAST_LOGIN"],
        ["u-1", "QG-1", 2, datetime(2026, 2, 15), datetime(2026, 3, 2, 10, 30)],
        ["u-2", None, 1, "01/03/2026", None],
    ]
    got = read_accounts(_xls(rows))
    assert [(a.id_local, a.id_qg, a.type) for a in got] == [("u-1", "QG-1", 2), ("u-2", "", 1)]
    assert got[0].created == datetime(2026, 2, 15)
    assert got[0].last_login == datetime(2026, 3, 2, 10, 30)
    assert got[1].created == datetime(2026, 3, 1) and got[1].last_login is None


def test_a_broken_xls_is_refused_with_rows_and_columns() -> None:
    rows: list[list[object]] = [
        ["Name", "Level", "Url", "ID CDVCQG", "ID MCDT"],
        ["A", 2, "", "", "x"],
        ["", 4, "", "", "x"],
    ]
    refused = _refused(read_catalog, _xls(rows))
    assert [(p.row, p.column) for p in refused.problems] == [
        (2, "Level"), (3, "ID MCDT"), (3, "Name"),
    ]  # fmt: skip
    assert refused.status == 422
    garbage = _refused(read_catalog, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert garbage.status == 415 and "not a readable .xls" in garbage.problems[0].problem
