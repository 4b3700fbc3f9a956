"""Shared field types and timestamp parsing for the wire models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, StringConstraints, ValidationError

#: Upper bound for any free-text field; the collector may lower it (EMC_MAX_FIELD_CHARS).
MAX_FIELD_CHARS = 8192

#: Accept epoch values in milliseconds between these bounds (2000-01-01 … 2100-01-01).
_MIN_EPOCH_MS = 946_684_800_000
_MAX_EPOCH_MS = 4_102_444_800_000

SiteId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$"
    ),
]
ShortText = Annotated[str, StringConstraints(max_length=512)]
LongText = Annotated[str, StringConstraints(max_length=MAX_FIELD_CHARS)]


def to_epoch_ms(value: Any) -> int:
    """Parse an RFC 3339 string, an aware datetime or epoch milliseconds into epoch ms (UTC).

    A string without a zone offset is refused: guessing the zone of a timestamp that ends up in
    a government report is how numbers go wrong.
    """
    if isinstance(value, bool):
        raise ValueError("expected RFC 3339 time or epoch milliseconds, got a boolean")
    if isinstance(value, int | float):
        ms = int(value)
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetime must carry a time zone")
        ms = int(value.timestamp() * 1000)
    elif isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            ms = int(text)
        else:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError as exc:
                raise ValueError(
                    "expected RFC 3339 time (2026-11-23T08:00:00+07:00) or epoch ms"
                ) from exc
            if parsed.tzinfo is None:
                raise ValueError("RFC 3339 time needs a zone offset (Z or +07:00)")
            ms = int(parsed.timestamp() * 1000)
    else:
        raise ValueError("expected RFC 3339 time or epoch milliseconds")
    if not _MIN_EPOCH_MS <= ms <= _MAX_EPOCH_MS:
        raise ValueError("time out of range (epoch milliseconds between 2000 and 2100 expected)")
    return ms


EpochMs = Annotated[int, BeforeValidator(to_epoch_ms)]


def ms_to_datetime(ms: int) -> datetime:
    """Epoch milliseconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


#: Wire models ignore nothing silently: unknown keys are refused so typos are reported.
STRICT = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True, frozen=True)
#: Internal (Kafka) models: tolerant of new fields so producers can be upgraded first.
INTERNAL = ConfigDict(extra="ignore", frozen=True)


def describe(exc: ValidationError, prefix: str = "") -> str:
    """A pydantic validation error as one line naming each field: ``prefix`` + ``loc: msg``."""
    parts = []
    for problem in exc.errors(include_url=False):
        where = ".".join(str(p) for p in problem.get("loc", ())) or "(body)"
        parts.append(f"{prefix}{where}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts)
