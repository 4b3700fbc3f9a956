"""The satisfaction rating (issue 16, Decision 766/QĐ-TTg group "Mức độ hài lòng"): what the
tracker's ``emc("rating", {score: 1-5, procedure})`` sends and how it travels.

Why the rating rides in the event name: a rating is one interactive event of the visit, and
every layer after the collector (streams, sink, ``pageviews``) already carries the event name
unchanged. The collector validates the beacon's ``p`` (props) object once and writes the
canonical name ``rating:<score>:<procedure>`` (``rating_name``); the scorecard reads it back
with ``parse_rating_name`` (SQL: ``splitByChar(':', name)``). A name that already looks like a
rating (``rating`` or ``rating:…``, e.g. from ``POST /v1/hits``) is checked the same way, so a
score outside 1-5 never reaches storage: the request is answered 422 naming the field.
Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RATING = "rating"
MIN_SCORE = 1
MAX_SCORE = 5
MAX_PROCEDURE_CHARS = 64


class RatingError(ValueError):
    """A refused rating: ``field`` is the payload field at fault (``p.score``, ``p.procedure``,
    ``name``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def is_rating(name: str) -> bool:
    """Whether an event name claims to be a rating (and must therefore be checked)."""
    return name == RATING or name.startswith(RATING + ":")


def _score(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RatingError(field, f"rating score must be an integer from 1 to 5, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise RatingError(
            field, f"rating score must be an integer from 1 to 5, got {value!r}"
        ) from None
    if not number.is_integer() or not MIN_SCORE <= number <= MAX_SCORE:
        raise RatingError(field, f"rating score must be an integer from 1 to 5, got {value!r}")
    return int(number)


def _procedure(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise RatingError(field, "procedure must be a procedure code (text)")
    text = str(value).strip()
    if len(text) > MAX_PROCEDURE_CHARS:
        raise RatingError(field, f"procedure longer than {MAX_PROCEDURE_CHARS} characters")
    if ":" in text:
        raise RatingError(field, "procedure must not contain ':'")
    return text


def rating_name(name: str, props: Mapping[str, Any] | None) -> str:
    """The canonical event name of a rating: ``rating`` with ``props`` ``{score, procedure}``,
    or an already canonical ``rating:<score>:<procedure>`` (props then ignored). Raises
    ``RatingError`` naming the field."""
    if name == RATING:
        if props is None:
            raise RatingError("p", "a rating needs props {score: 1-5, procedure}")
        score = _score(props.get("score"), "p.score")
        procedure = _procedure(props.get("procedure"), "p.procedure")
        return f"{RATING}:{score}:{procedure}"
    parsed = parse_rating_name(name)
    if parsed is None:
        raise RatingError(
            "name", f"a rating event name is rating:<score 1-5>:<procedure code>, got {name!r}"
        )
    score, procedure = parsed
    return f"{RATING}:{score}:{procedure}"


def parse_rating_name(name: str) -> tuple[int, str] | None:
    """``(score, procedure)`` of a canonical rating name, else None."""
    parts = name.split(":")
    if len(parts) != 3 or parts[0] != RATING:
        return None
    try:
        score = _score(parts[1], "name")
        procedure = _procedure(parts[2], "name")
    except RatingError:
        return None
    if parts[1].strip() != str(score):
        return None
    return score, procedure
