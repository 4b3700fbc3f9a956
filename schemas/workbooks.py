"""Reading and validating the two user-supplied workbooks: the service catalog and the account
list. Pure (bytes in, rows or a report out); storage is ``clickhouse/catalog.py`` and
``clickhouse/accounts.py``.

Why whole-file validation: a catalog decides which dossiers count as level 3 or 4 in official
numbers, so a file with one bad row must be refused whole, with a report naming every problem
(row, column, what is wrong), never half-imported. Rows are numbered as the spreadsheet shows
them (the header is row 1). Blank rows are skipped. Column names are matched without regard to
letter case or surrounding spaces; other columns are ignored. Both ``.xlsx`` (openpyxl) and the
legacy ``.xls`` that units still produce (xlrd, issue 18) are read, told apart by their first
bytes, never by the file name.

Catalog columns: ``Name`` (required), ``Level`` (0 no online service, 3 partial, 4 full
process), ``Url``, ``ID CDVCQG`` (national portal code), ``ID MCDT`` (the procedure code the
one-stop system sends; required and unique).
Account columns: ``ID_local`` (required, unique), ``ID_QG`` (national portal account, empty =
not linked), ``TYPE`` (1 business, 2 individual, 3 one-stop officer), ``CREATDATE_USER``,
``LAST_LOGIN`` (dates or date-times, local time of the site; empty = unknown / never).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

CATALOG_COLUMNS = ("Name", "Level", "Url", "ID CDVCQG", "ID MCDT")
ACCOUNT_COLUMNS = ("ID_local", "ID_QG", "TYPE", "CREATDATE_USER", "LAST_LOGIN")
LEVELS = (0, 3, 4)
ACCOUNT_TYPES = {1: "business", 2: "individual", 3: "onestop_officer"}
#: Most data rows in one file (a province's catalog has a few thousand services).
MAX_ROWS = 200_000
#: Problems listed in one report at most (the count says how many there were).
MAX_PROBLEMS = 200
#: Date-time layouts accepted without a zone (workbooks and the EMC push use the same ones).
NAIVE_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason to refuse the file: spreadsheet ``row`` (0 = the file itself), ``column``
    name ("" for the whole row/file) and what is wrong."""

    row: int
    column: str
    problem: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "problem": self.problem}


class ImportRefused(ValueError):
    """The file is refused whole. ``status``: 415 not a workbook, 422 bad content."""

    def __init__(self, what: str, problems: list[Problem], status: int = 422) -> None:
        self.problems = problems
        self.status = status
        first = problems[0]
        where = f"row {first.row}" + (f", column {first.column}" if first.column else "")
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{what}: refused, nothing imported: {where}: {first.problem}{more}")

    def report(self) -> dict[str, Any]:
        """The JSON report: the message, the count and the problems (at most MAX_PROBLEMS)."""
        return {
            "error": str(self),
            "problem_count": len(self.problems),
            "problems": [p.as_json() for p in self.problems[:MAX_PROBLEMS]],
        }


@dataclass(frozen=True, slots=True)
class CatalogRow:
    row: int
    name: str
    level: int
    url: str
    id_cdvcqg: str
    id_mcdt: str


@dataclass(frozen=True, slots=True)
class AccountRow:
    row: int
    id_local: str
    id_qg: str
    type: int
    created: datetime | None
    last_login: datetime | None


@dataclass(slots=True)
class _Sheet:
    """The header positions and the data rows (spreadsheet row number, cell values)."""

    columns: dict[str, int]
    rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)


#: The first bytes of an OLE2 compound file: the legacy Excel 97-2003 ``.xls`` workbook.
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _xlsx_rows(data: bytes, what: str) -> tuple[list[tuple[Any, ...]], Callable[[], None]]:
    """The rows of the first worksheet of an ``.xlsx`` file (lazily) and how to close it."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportRefused(
            what, [Problem(0, "", f"wrong file type: not a readable .xlsx workbook ({exc})")], 415
        ) from None
    rows: Any = workbook.worksheets[0].iter_rows(values_only=True)
    return rows, workbook.close


def _xls_rows(data: bytes, what: str) -> list[tuple[Any, ...]]:
    """The rows of the first worksheet of a legacy ``.xls`` file (units still produce them,
    issue 18), with date cells as ``datetime`` and empty cells as None like openpyxl gives."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as exc:  # a damaged file raises xlrd's, struct's, index errors … alike
        raise ImportRefused(
            what, [Problem(0, "", f"wrong file type: not a readable .xls workbook ({exc})")], 415
        ) from None
    try:
        sheet = book.sheet_by_index(0)
        out: list[tuple[Any, ...]] = []
        for index in range(sheet.nrows):
            values: list[Any] = []
            for cell in sheet.row(index):
                if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    values.append(None)
                elif cell.ctype == xlrd.XL_CELL_DATE:
                    values.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    values.append(bool(cell.value))
                elif cell.ctype == xlrd.XL_CELL_ERROR:
                    values.append(f"#ERROR {cell.value}")
                else:
                    values.append(cell.value)
            out.append(tuple(values))
        return out
    finally:
        book.release_resources()


def _nothing() -> None:
    return None


def _read(data: bytes, what: str, wanted: tuple[str, ...]) -> _Sheet:
    """The first worksheet of an ``.xlsx`` or ``.xls`` file; ``ImportRefused`` for a wrong
    file type, a missing or repeated column, or too many rows."""
    close: Callable[[], None] = _nothing
    if data.startswith(XLS_MAGIC):
        every: Any = _xls_rows(data, what)
    elif data.startswith(b"PK\x03\x04"):
        every, close = _xlsx_rows(data, what)
    else:
        raise ImportRefused(
            what, [Problem(0, "", "wrong file type: not an .xlsx or .xls workbook")], status=415
        )
    try:
        rows = iter(every)
        header = next(rows, None) or ()
        names = {_cell_text(v).lower(): i for i, v in reversed(list(enumerate(header)))}
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for index, value in enumerate(header):
            key = _cell_text(value).lower()
            if key in {w.lower() for w in wanted} and key in seen:
                problems.append(Problem(1, _cell_text(value), "column appears twice"))
            seen.setdefault(key, index)
        columns: dict[str, int] = {}
        for name in wanted:
            if name.lower() in names:
                columns[name] = names[name.lower()]
            else:
                problems.append(Problem(1, name, "missing column"))
        if problems:
            raise ImportRefused(what, problems)
        out = _Sheet(columns)
        for number, values in enumerate(rows, start=2):
            if all(v is None or _cell_text(v) == "" for v in values):
                continue
            if len(out.rows) >= MAX_ROWS:
                raise ImportRefused(what, [Problem(number, "", f"more than {MAX_ROWS} rows")])
            out.rows.append((number, tuple(values)))
    finally:
        close()
    if not out.rows:
        raise ImportRefused(what, [Problem(2, "", "no data rows under the header")])
    return out


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _cell(values: tuple[Any, ...], index: int) -> Any:
    return values[index] if index < len(values) else None


def _integer(value: Any) -> int | None:
    """An integer cell (3, 3.0, "3"); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = _cell_text(value)
    return int(text) if text.lstrip("-").isdigit() else None


def _when(value: Any) -> datetime | None:
    """A date/time cell or text (ISO or DD/MM/YYYY); None when empty. ValueError otherwise."""
    if value is None or _cell_text(value) == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = _cell_text(value)
    for fmt in NAIVE_DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY, optional HH:MM:SS)")


def _refuse_if(what: str, problems: list[Problem]) -> None:
    if problems:
        raise ImportRefused(what, sorted(problems, key=lambda p: (p.row, p.column)))


def read_catalog(data: bytes) -> list[CatalogRow]:
    """The rows of a catalog workbook, or ``ImportRefused`` with every problem."""
    what = "catalog"
    sheet = _read(data, what, CATALOG_COLUMNS)
    col = sheet.columns
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    out: list[CatalogRow] = []
    for number, values in sheet.rows:
        name = _cell_text(_cell(values, col["Name"]))
        raw_level = _cell(values, col["Level"])
        level = _integer(raw_level)
        id_mcdt = _cell_text(_cell(values, col["ID MCDT"]))
        if not name:
            problems.append(Problem(number, "Name", "empty name"))
        if level not in LEVELS:
            shown = _cell_text(raw_level) or "(empty)"
            problems.append(Problem(number, "Level", f"unknown level {shown} (use 0, 3 or 4)"))
        if not id_mcdt:
            problems.append(Problem(number, "ID MCDT", "empty ID MCDT (the procedure code)"))
        elif id_mcdt in first_row:
            problems.append(
                Problem(
                    number,
                    "ID MCDT",
                    f"duplicate ID MCDT {id_mcdt!r} (first on row {first_row[id_mcdt]})",
                )
            )
        else:
            first_row[id_mcdt] = number
        out.append(
            CatalogRow(
                row=number,
                name=name,
                level=level if level is not None else -1,
                url=_cell_text(_cell(values, col["Url"])),
                id_cdvcqg=_cell_text(_cell(values, col["ID CDVCQG"])),
                id_mcdt=id_mcdt,
            )
        )
    _refuse_if(what, problems)
    return out


def read_accounts(data: bytes) -> list[AccountRow]:
    """The rows of an account workbook, or ``ImportRefused`` with every problem."""
    what = "accounts"
    sheet = _read(data, what, ACCOUNT_COLUMNS)
    col = sheet.columns
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    out: list[AccountRow] = []
    for number, values in sheet.rows:
        id_local = _cell_text(_cell(values, col["ID_local"]))
        raw_type = _cell(values, col["TYPE"])
        kind = _integer(raw_type)
        if not id_local:
            problems.append(Problem(number, "ID_local", "empty ID_local"))
        elif id_local in first_row:
            problems.append(
                Problem(
                    number,
                    "ID_local",
                    f"duplicate ID_local {id_local!r} (first on row {first_row[id_local]})",
                )
            )
        else:
            first_row[id_local] = number
        if kind not in ACCOUNT_TYPES:
            shown = _cell_text(raw_type) or "(empty)"
            problems.append(
                Problem(
                    number,
                    "TYPE",
                    f"unknown TYPE {shown} (use 1 business, 2 individual, 3 one-stop officer)",
                )
            )
        times: list[datetime | None] = []
        for column in ("CREATDATE_USER", "LAST_LOGIN"):
            try:
                times.append(_when(_cell(values, col[column])))
            except ValueError as exc:
                problems.append(Problem(number, column, str(exc)))
                times.append(None)
        out.append(
            AccountRow(
                row=number,
                id_local=id_local,
                id_qg=_cell_text(_cell(values, col["ID_QG"])),
                type=kind if kind is not None else -1,
                created=times[0],
                last_login=times[1],
            )
        )
    _refuse_if(what, problems)
    return out


def write_catalog(rows: list[CatalogRow]) -> bytes:
    """A catalog workbook in the import layout (what ``emc catalog export`` writes)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="catalog")
    sheet.append(list(CATALOG_COLUMNS))
    for row in rows:
        sheet.append([row.name, row.level, row.url, row.id_cdvcqg, row.id_mcdt])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# The reading conventions above, shared with the workbooks whose good rows are kept beside the
# bad ones (targets, reconciliation totals: ``schemas/target_workbooks.py``).
read_sheet = _read
cell = _cell
cell_text = _cell_text
integer = _integer
