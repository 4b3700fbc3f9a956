"""``format=json|csv|xlsx`` for table-shaped answers of the indicator endpoints.

Why: analysts paste indicator tables into reports (spreadsheets), so every table-shaped
answer can be downloaded as CSV (UTF-8 with a BOM so that Excel shows Vietnamese correctly) or
as an XLSX workbook, while JSON stays the default. An endpoint builds its JSON answer and a
``Table`` (columns + rows) from it; ``respond`` picks the representation.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from api.params import parse_choice
from indicators.tables import Table

FORMATS = ("json", "csv", "xlsx")
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def parse_format(query: Mapping[str, str], param: str = "format") -> str:
    """``format=json|csv|xlsx`` (default json); ``ParamError`` otherwise."""
    return parse_choice(query, param, FORMATS, "json")


def to_csv(table: Table) -> bytes:
    """CSV with a header line; None as an empty cell; UTF-8 with a BOM for Excel."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: Table, sheet: str = "data") -> bytes:
    """One-sheet XLSX workbook (openpyxl write-only mode: rows streamed, little memory)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=sheet[:31])
    worksheet.append(list(table.columns))
    for row in table.rows:
        worksheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def respond(answer: Any, table: Table | None, fmt: str, filename: str) -> Response:
    """The answer as JSON, or ``table`` as a CSV / XLSX download named ``filename``."""
    if fmt == "json" or table is None:
        return Response(orjson.dumps(answer), media_type="application/json")
    if fmt == "csv":
        body, media, ext = to_csv(table), "text/csv; charset=utf-8", "csv"
    else:
        body, media, ext = to_xlsx(table), XLSX_MEDIA, "xlsx"
    headers = {"Content-Disposition": f'attachment; filename="{filename}.{ext}"'}
    return Response(body, media_type=media, headers=headers)
