"""Read-only SQL for analysts, with time and row limits that a request can only lower.

Two guards: before anything runs, the statement must be one read statement (``SELECT``,
``WITH``, ``SHOW``, ``DESCRIBE``/``DESC``, ``EXPLAIN``; no second statement, no ``INTO
OUTFILE``); then ClickHouse runs it with ``readonly = 1`` (chDB honours it for these
statements, passed as a SETTINGS clause), ``max_execution_time`` and ``max_result_rows`` with
``result_overflow_mode = 'throw'``. Queries run in the warehouse database, so ``SELECT count()
FROM pageviews`` works unqualified.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from clickhouse.client import Database

DEFAULT_MAX_ROWS = 100_000
DEFAULT_TIMEOUT_S = 30.0
_READ_STATEMENTS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN"})
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`(?:[^`\\]|\\.)*`", re.DOTALL)
_FIRST_WORD = re.compile(r"^\s*\(*\s*([A-Za-z]+)")
_OUTFILE = re.compile(r"\bINTO\s+OUTFILE\b", re.IGNORECASE)
#: ``WITH … INSERT INTO …`` starts like a read but writes; clickhouse-connect also routes it
#: through its insert path, which on chDB sets ``readonly`` on the shared session with SET and
#: cannot undo it (the sink could then never insert again). Refused before anything runs.
_INSERT = re.compile(r"\bINSERT\s+INTO\b", re.IGNORECASE)


class SqlRefused(ValueError):
    """The statement is not allowed (not read-only, several statements, bad limits)."""


class SqlFailed(RuntimeError):
    """ClickHouse refused or failed the statement; the message is ClickHouse's."""


def check_readonly(sql: str) -> str:
    """The statement without a trailing ``;`` when it is one read statement; else
    ``SqlRefused`` saying why."""
    code = _STRINGS.sub("''", _COMMENTS.sub(" ", sql)).strip()
    if not code:
        raise SqlRefused("sql: empty statement")
    body = code.rstrip().rstrip(";")
    if ";" in body:
        raise SqlRefused("sql: one statement per request (found ';' before the end)")
    match = _FIRST_WORD.match(body)
    word = match.group(1).upper() if match else ""
    if word not in _READ_STATEMENTS:
        allowed = ", ".join(sorted(_READ_STATEMENTS))
        raise SqlRefused(f"sql: only read statements are allowed ({allowed}); got {word or '?'}")
    if _OUTFILE.search(body):
        raise SqlRefused("sql: INTO OUTFILE is not allowed")
    if _INSERT.search(body):
        raise SqlRefused("sql: INSERT is not allowed (read-only SQL)")
    stripped = sql.strip()
    while stripped.endswith(";"):
        stripped = stripped[:-1].rstrip()
    return stripped


def limits(
    max_rows: int | None, timeout_s: float | None, *, ceiling_rows: int, ceiling_s: float
) -> tuple[int, float]:
    """(rows, seconds) a request gets: its own values when lower than the ceilings."""
    rows = ceiling_rows if max_rows is None else max_rows
    seconds = ceiling_s if timeout_s is None else timeout_s
    if rows < 1:
        raise SqlRefused("max_rows: must be at least 1")
    if seconds <= 0:
        raise SqlRefused("timeout_s: must be greater than 0")
    return min(rows, ceiling_rows), min(seconds, ceiling_s)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)


def run_readonly(
    db: Database,
    query: str,
    max_rows: int | None = None,
    timeout_s: float | None = None,
    *,
    ceiling_rows: int = DEFAULT_MAX_ROWS,
    ceiling_s: float = DEFAULT_TIMEOUT_S,
    extra_settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one read statement; ``{"columns", "types", "rows"}`` with JSON-ready values.
    Raises ``SqlRefused`` before running anything that is not allowed and ``SqlFailed`` with
    ClickHouse's message when the query fails (syntax, unknown table, limits exceeded).
    ``extra_settings`` add to the limits (the row filters of an agency token,
    ``api.scoped_sql``)."""
    statement = check_readonly(query)
    rows_limit, seconds = limits(
        max_rows, timeout_s, ceiling_rows=ceiling_rows, ceiling_s=ceiling_s
    )
    settings = {
        "readonly": 1,
        "max_execution_time": seconds,
        "max_result_rows": rows_limit,
        "result_overflow_mode": "throw",
        **(extra_settings or {}),
    }
    try:
        result = db.query(statement, settings=settings)
    except Exception as exc:
        raise SqlFailed(str(exc).strip()) from exc
    return {
        "columns": list(result.column_names),
        "types": [t.name for t in result.column_types],
        "rows": [[_json_value(v) for v in row] for row in result.result_rows],
    }


def to_delimited(result: dict[str, Any], delimiter: str) -> str:
    """The result as CSV (``,``) or TSV (``\\t``) with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(result["columns"])
    for row in result["rows"]:
        writer.writerow(
            ["" if v is None else v if not isinstance(v, list | dict) else str(v) for v in row]
        )
    return out.getvalue()
