"""The dead-letter contract: what could not be processed, where, and why, and its pure builder.

Every stage that dead-letters (the stream worker, the sink) builds the message here, so the
shape is one: the payload is kept so an operator can read, fix and replay it to
``source_topic`` — decoded as UTF-8 when valid, otherwise decoded with replacement characters
and the exact bytes kept in ``payload_b64``. ``describe_validation_error`` turns a pydantic
error into a message that names every failing field.
"""

from __future__ import annotations

import base64

from pydantic import BaseModel, ValidationError

from schemas.common import INTERNAL


class DeadLetter(BaseModel):
    """One message on ``emc.deadletters``. ``payload`` is the original message value, decoded
    as UTF-8 with replacement (``payload_b64`` holds the exact bytes when they were not valid
    UTF-8) so it can be read, fixed and replayed to ``source_topic``."""

    model_config = INTERNAL

    stage: str  # e.g. "streams.enrich", "streams.dossiers", "sink.pageviews"
    reason: str  # short machine-readable reason, e.g. "invalid_json", "validation"
    detail: str  # human-readable message naming the field
    source_topic: str
    partition: int = -1
    offset: int = -1
    key: str = ""
    payload: str
    payload_b64: str = ""
    failed_ms: int


#: Longest ``detail`` kept (a validation error of a huge message can be long).
MAX_DETAIL_CHARS = 2000


def _decode(data: bytes | None) -> tuple[str, bool]:
    """(text, exact): ``exact`` is False when the bytes were not valid UTF-8."""
    if data is None:
        return "", True
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), False


def describe_validation_error(exc: ValidationError) -> str:
    """``field: message; field.sub: message`` for every error of ``exc``."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error.get("loc", ())) or "(message)"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def build_dead_letter(
    *,
    stage: str,
    reason: str,
    detail: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    payload: bytes | None,
    failed_ms: int,
) -> DeadLetter:
    """The dead letter of one message. ``stage`` is where it failed (``streams.hits``,
    ``streams.dossiers``), ``reason`` a short machine-readable word (``invalid_json``,
    ``validation``, ``unknown_timezone``, ``internal_error`` …), ``detail`` the human message."""
    text, exact = _decode(payload)
    key_text, _ = _decode(key)
    if len(detail) > MAX_DETAIL_CHARS:
        detail = detail[: MAX_DETAIL_CHARS - 1] + "…"
    return DeadLetter(
        stage=stage,
        reason=reason,
        detail=detail,
        source_topic=topic,
        partition=partition,
        offset=offset,
        key=key_text,
        payload=text,
        payload_b64="" if exact or payload is None else base64.b64encode(payload).decode(),
        failed_ms=failed_ms,
    )
