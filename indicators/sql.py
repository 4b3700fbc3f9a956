"""Read-only SQL for analysts, with engine-side limits that a request can only lower.

Two guards: before anything runs, the check of every node of the engine's syntax tree
(``indicators.sql_guard``: one read statement, its tables, table functions and functions); then
ClickHouse runs the statement formatted back from that tree with ``readonly = 1`` and the
``Limits`` of the token (time, memory, rows and bytes read, result rows and bytes, threads),
passed as the statement's SETTINGS clause so the statement cannot raise them (ClickHouse
answers READONLY). Queries run in the warehouse database, so ``SELECT count() FROM pageviews``
works unqualified.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from clickhouse.client import Database
from core.settings import Settings

DEFAULT_MAX_ROWS = 100_000
DEFAULT_TIMEOUT_S = 30.0
_MIB = 1024 * 1024


class SqlRefused(ValueError):
    """The statement is not allowed (not read-only, several statements, bad limits)."""


class SqlFailed(RuntimeError):
    """ClickHouse refused or failed the statement; the message is ClickHouse's."""


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


@dataclass(frozen=True, slots=True)
class Limits:
    """What one statement may use, enforced by the engine (each limit throws when exceeded)."""

    seconds: float
    result_rows: int = DEFAULT_MAX_ROWS
    memory_bytes: int = 4096 * _MIB
    rows_read: int = 20_000_000_000
    bytes_read: int = 1_000_000_000_000
    result_bytes: int = 256 * _MIB
    threads: int = 2

    def lowered(self, max_rows: int | None, timeout_s: float | None) -> Limits:
        """These limits with a request's own ``max_rows`` / ``timeout_s`` where lower."""
        rows, seconds = limits(
            max_rows, timeout_s, ceiling_rows=self.result_rows, ceiling_s=self.seconds
        )
        return replace(self, result_rows=rows, seconds=seconds)

    def settings(self) -> dict[str, Any]:
        """The ClickHouse settings (with ``readonly = 1``, so the statement cannot lift them)."""
        return {
            "readonly": 1,
            "max_execution_time": self.seconds,
            "timeout_overflow_mode": "throw",
            "max_result_rows": self.result_rows,
            "max_result_bytes": self.result_bytes,
            "result_overflow_mode": "throw",
            "max_memory_usage": self.memory_bytes,
            "max_rows_to_read": self.rows_read,
            "max_bytes_to_read": self.bytes_read,
            "read_overflow_mode": "throw",
            "max_threads": self.threads,
        }


def limits_for(settings: Settings, admin: bool) -> Limits:
    """The ceilings of the admin token or of an agency token (lower: less time, memory, one
    thread, fewer rows read)."""
    if admin:
        return Limits(
            seconds=settings.sql_timeout_s, memory_bytes=settings.sql_admin_memory_mb * _MIB
        )
    return Limits(
        seconds=settings.sql_agency_timeout_s,
        memory_bytes=settings.sql_agency_memory_mb * _MIB,
        rows_read=2_000_000_000,
        bytes_read=100_000_000_000,
        result_bytes=64 * _MIB,
        threads=1,
    )


def result_json(result: Any) -> dict[str, Any]:
    """A clickhouse-connect result as ``{"columns", "types", "rows"}`` with JSON values."""
    return {
        "columns": list(result.column_names),
        "types": [t.name for t in result.column_types],
        "rows": [[_json_value(v) for v in row] for row in result.result_rows],
    }


def run_checked(
    db: Database,
    statement: str,
    limits: Limits,
    extra_settings: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
) -> Any:
    """Run a statement that passed ``indicators.sql_guard`` with ``limits`` (and ``extra_settings``:
    the row filters of an agency token); the clickhouse-connect result, or ``SqlFailed`` with
    ClickHouse's message (syntax, unknown column, a limit exceeded, cancelled)."""
    try:
        return db.query(
            statement,
            parameters=parameters,
            settings={**limits.settings(), **(extra_settings or {})},
        )
    except Exception as exc:
        raise SqlFailed(str(exc).strip()) from exc


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
