"""Numbers with their change against a comparison period (so với cùng kỳ), DESIGN §2.

Why here and pure: every indicator endpoint shows ``{"value", "previous", "change_pct"}`` for
counts and ``{"value", "previous", "change_pp"}`` for rates, and the rules (one decimal, null
when the previous value is 0 or unknown, ratios recomputed from sums and never averaged) must be
the same everywhere.
"""

from __future__ import annotations

from typing import Any

Number = int | float


def ratio(numerator: Number, denominator: Number, digits: int | None = None) -> float | None:
    """``numerator / denominator`` (rounded when ``digits`` is given), or None when the
    denominator is 0 (no visits means no pages per visit, not zero pages per visit)."""
    if not denominator:
        return None
    value = numerator / denominator
    return value if digits is None else round(value, digits)


def percent(part: Number, whole: Number, digits: int | None = None) -> float | None:
    """``part / whole × 100`` (rounded when ``digits`` is given), or None when ``whole`` is 0."""
    if not whole:
        return None
    value = part * 100 / whole
    return value if digits is None else round(value, digits)


def change_pct(value: Number | None, previous: Number | None) -> float | None:
    """``(value − previous) / previous × 100`` with one decimal; None when either is unknown
    or ``previous`` is 0."""
    if value is None or previous is None or previous == 0:
        return None
    return round((value - previous) * 100 / previous, 1)


def change_pp(value: Number | None, previous: Number | None) -> float | None:
    """``value − previous`` in percentage points with one decimal; None when either is
    unknown."""
    if value is None or previous is None:
        return None
    return round(value - previous, 1)


def _shown(value: Number | None, digits: int | None) -> Number | None:
    return value if value is None or digits is None else round(value, digits)


def count_metric(
    value: Number | None, previous: Number | None, digits: int | None = None
) -> dict[str, Any]:
    """``{"value", "previous", "change_pct"}`` for a count or a ratio that is not a percent.
    ``digits`` rounds the shown values; the change is computed from the unrounded ones."""
    return {
        "value": _shown(value, digits),
        "previous": _shown(previous, digits),
        "change_pct": change_pct(value, previous),
    }


def rate_metric(
    value: float | None, previous: float | None, digits: int | None = 1
) -> dict[str, Any]:
    """``{"value", "previous", "change_pp"}`` for a percentage (bounce rate, online rate):
    shown with one decimal, the change from the unrounded values."""
    return {
        "value": _shown(value, digits),
        "previous": _shown(previous, digits),
        "change_pp": change_pp(value, previous),
    }
