"""The provisional Decision 766/QĐ-TTg scorecard's weights and thresholds
(``indicators/scorecard_766.toml``): loading and validation.

Why a data file: the decision's own table of indicators is not among the project's seed
documents, so the indicators, points and thresholds are a provisional reading that must be
replaceable without touching code; keeping them in one documented file (marked
``provisional = true``) makes every number of the scorecard traceable to one line of it. The
warehouse loads it at start (``api/routes/scorecard.py`` imports ``CONFIG``): a wrong file stops
the start with a ``ConfigError`` naming the entry, never a half-scored answer later.
Contract checked here: the five groups of issue 16 with their points (openness 18, progress 20,
digitisation 22, online 22, satisfaction 18); each group's indicator points sum to the group's;
a measured indicator names a known metric and two different thresholds; an unmeasured one
(``metric = ""``) gives its reason. Pure apart from reading the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parent / "scorecard_766.toml"

#: The groups of issue 16 and their points, in the decision's order.
GROUP_POINTS: dict[str, float] = {
    "openness": 18,
    "progress": 20,
    "digitization": 22,
    "online": 22,
    "satisfaction": 18,
}

#: Metrics the data supports: what is counted (numerator / denominator), and the noun of the
#: denominator for "not measured" reasons. Rates are fractions; satisfaction is a mean 1-5.
METRICS: dict[str, tuple[str, str]] = {
    "on_time_rate": ("resolved on or before the due time / all resolved (seed 004, footnote 5)",
                     "resolved dossiers"),
    "overdue_rate": ("(resolved late + open past the due time) / (resolved with a due time + "
                     "open past the due time)", "dossiers resolved or due"),
    "online_rate": ("received online / received", "dossiers received"),
    "full_process_rate": ("received online / received, of level-4 (full-process) services",
                          "dossiers received of level-4 services"),
    "online_payment_rate": ("fee paid online / fee reported", "dossiers with a fee reported"),
    "digitized_rate": ("digitised / received with the flag reported",
                       "dossiers received with the digitised flag reported"),
    "satisfaction": ("mean rating 1-5", "ratings"),
}  # fmt: skip


class ConfigError(ValueError):
    """The scorecard file is wrong; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Indicator:
    key: str
    name_vi: str
    name_en: str
    points: float
    metric: str  # "" = the data holds no source: never measured
    zero_at: float = 0.0
    full_at: float = 1.0
    min_count: int = 1
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    name_vi: str
    name_en: str
    points: float
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True, slots=True)
class Config:
    provisional: bool
    decision: str
    version: str
    groups: tuple[Group, ...]


def _text(entry: Mapping[str, Any], name: str, where: str, empty: bool = False) -> str:
    value = entry.get(name, "" if empty else None)
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise ConfigError(f"{where}.{name}: expected a non-empty string")
    return value


def _number(entry: Mapping[str, Any], name: str, where: str, default: float | None = None) -> float:
    value = entry.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}.{name}: expected a number")
    return float(value)


def _indicator(entry: Any, where: str) -> Indicator:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected a table")
    metric = _text(entry, "metric", where, empty=True)
    points = _number(entry, "points", where)
    if points <= 0:
        raise ConfigError(f"{where}.points: must be positive")
    base = Indicator(
        key=_text(entry, "key", where),
        name_vi=_text(entry, "name_vi", where),
        name_en=_text(entry, "name_en", where),
        points=points,
        metric=metric,
    )
    if not metric:
        return Indicator(**{**_fields(base), "reason": _text(entry, "reason", where)})
    if metric not in METRICS:
        raise ConfigError(f"{where}.metric: {metric!r} is not one of {', '.join(METRICS)}")
    zero_at, full_at = _number(entry, "zero_at", where), _number(entry, "full_at", where)
    if zero_at == full_at:
        raise ConfigError(f"{where}: zero_at and full_at must differ")
    min_count = entry.get("min_count", 1)
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ConfigError(f"{where}.min_count: expected an integer of at least 1")
    return Indicator(
        **{**_fields(base), "zero_at": zero_at, "full_at": full_at, "min_count": min_count}
    )


def _fields(indicator: Indicator) -> dict[str, Any]:
    return {name: getattr(indicator, name) for name in Indicator.__slots__}


def parse(data: Mapping[str, Any], source: str = "scorecard") -> Config:
    """The validated configuration of a parsed file (pure); ``ConfigError`` naming the entry."""
    if not isinstance(data.get("provisional"), bool):
        raise ConfigError(f"{source}: provisional: expected true or false")
    groups_raw = data.get("groups")
    if not isinstance(groups_raw, list):
        raise ConfigError(f"{source}: groups: expected [[groups]] tables")
    groups: list[Group] = []
    seen: set[str] = set()
    for n, entry in enumerate(groups_raw):
        where = f"{source}: groups[{n}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: expected a table")
        key = _text(entry, "key", where)
        if key not in GROUP_POINTS:
            raise ConfigError(f"{where}.key: {key!r} is not one of {', '.join(GROUP_POINTS)}")
        points = _number(entry, "points", where)
        if points != GROUP_POINTS[key]:
            raise ConfigError(f"{where}.points: group {key} has {GROUP_POINTS[key]:g} points")
        items = entry.get("indicators")
        if not isinstance(items, list) or not items:
            raise ConfigError(f"{where}.indicators: expected at least one indicator")
        indicators = tuple(
            _indicator(item, f"{where}.indicators[{i}]") for i, item in enumerate(items)
        )
        for indicator in indicators:
            if indicator.key in seen:
                raise ConfigError(f"{where}: indicator key {indicator.key!r} used twice")
            seen.add(indicator.key)
        total = sum(i.points for i in indicators)
        if abs(total - points) > 1e-9:
            raise ConfigError(
                f"{where}.indicators: points sum to {total:g}, the group has {points:g}"
            )
        groups.append(
            Group(key, _text(entry, "name_vi", where), _text(entry, "name_en", where), points,
                  indicators)
        )  # fmt: skip
    keys = [g.key for g in groups]
    if keys != list(GROUP_POINTS):
        raise ConfigError(f"{source}: groups: expected {', '.join(GROUP_POINTS)} in that order")
    return Config(
        provisional=bool(data["provisional"]),
        decision=_text(data, "decision", source),
        version=_text(data, "version", source),
        groups=tuple(groups),
    )


def load(path: Path = DEFAULT_PATH) -> Config:
    """Read and validate the file; ``ConfigError`` naming the file and entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return parse(data, str(path.name))
