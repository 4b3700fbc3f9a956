"""Goals and funnels (issue 17 item 4): definitions, conversions and ordered steps.

A *goal* of a site is a page pattern (``page``: a path where ``*`` stands for any text, e.g.
``/thu-tuc/*/nop-ho-so``) or an event name (``event``) with an optional property
(``property: {"key": "value"}``). A visit *converts* on a goal when at least one of its hits
matches; the conversion rate is converting visits ÷ visits × 100 (DESIGN §2 ratio rules: from
sums, changes in percentage points). Visit numbers belong to the local date of the visit's
first hit, with all of its hits.

A *funnel* is 2 to 8 ordered steps, each a page pattern or an event (the same matchers as
goals, or a saved goal); ClickHouse's ``windowFunnel`` finds, per visit, how many steps were
done in order (``clickhouse/queries/funnel.sql``). Per step: the visits that reached it, the
drop-off from the step before (visits and percent) and the conversion from step 1.

Contract: ``parse_goal``, ``parse_step``, ``page_regex`` and ``funnel_steps`` are pure and raise
``ParamError`` naming the field; ``conversions`` and ``funnel`` run the named queries and shape
the answers. User values reach SQL only as typed parameters (a page pattern becomes an anchored
RE2 expression with everything but ``*`` escaped).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from clickhouse import named
from clickhouse.client import Database
from clickhouse.goals import GoalRow, list_goals
from indicators.change import change_pct, change_pp, percent
from indicators.errors import ParamError
from indicators.events import ends
from indicators.filters import Filters
from indicators.periods import Cut, Period
from indicators.tables import Table

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_TEXT = 500
MIN_STEPS = 2
MAX_STEPS = 8
MAX_GOALS_PER_SITE = 100


class InvalidGoal(ParamError):
    """A goal or step that says something impossible (422 for a body, 400 via ``parse_step``)."""

    status = 422


@dataclass(frozen=True, slots=True)
class Matcher:
    """What a goal or a funnel step matches: a page pattern, or an event (with a property)."""

    page: str = ""
    event: str = ""
    prop_key: str = ""
    prop_value: str = ""

    def as_json(self) -> dict[str, Any]:
        if self.page:
            return {"page": self.page}
        out: dict[str, Any] = {"event": self.event}
        if self.prop_key:
            out["property"] = {self.prop_key: self.prop_value}
        return out


def page_regex(pattern: str) -> str:
    """A page pattern as an anchored RE2 expression: ``*`` = any text (also ``/``), every other
    character literal. ``/thu-tuc/*`` matches ``/thu-tuc/`` and ``/thu-tuc/a/b``."""
    return "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"


def _text(value: Any, field: str, required: bool = True) -> str:
    if value is None or value == "":
        if required:
            raise InvalidGoal(f"{field}: required")
        return ""
    if not isinstance(value, str):
        raise InvalidGoal(f"{field}: expected a string")
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise InvalidGoal(f"{field}: at most {MAX_TEXT} characters")
    if any(ord(ch) < 32 for ch in text):
        raise InvalidGoal(f"{field}: contains a control character")
    return text


def _matcher(body: Mapping[str, Any], where: str = "") -> Matcher:
    page, event = body.get("page"), body.get("event")
    if bool(page) == bool(event):
        raise InvalidGoal(
            f"{where}page/{where}event: give exactly one, a page pattern (page: '/thu-tuc/*') "
            "or an event name (event: 'submit')"
        )
    if page:
        text = _text(page, f"{where}page")
        if not text.startswith(("/", "*")):
            raise InvalidGoal(f"{where}page: a path pattern starts with '/' or '*'")
        if body.get("property"):
            raise InvalidGoal(f"{where}property: only an event goal has a property")
        return Matcher(page=text)
    prop = body.get("property") or {}
    if not isinstance(prop, dict) or len(prop) > 1:
        raise InvalidGoal(
            f'{where}property: expected one property as an object, e.g. {{"procedure": "1.000123"}}'
        )
    key, value = next(iter(prop.items()), ("", ""))
    key_text = _text(key, f"{where}property", required=bool(prop))
    value_text = value if isinstance(value, str) else _text(str(value), f"{where}property")
    return Matcher(
        event=_text(event, f"{where}event"),
        prop_key=key_text,
        prop_value=_text(value_text, f"{where}property.{key_text}", required=False),
    )


def parse_goal(site: str, body: Any) -> GoalRow:
    """A goal from a JSON body ``{"id", "name", "page"}`` or ``{"id", "name", "event",
    "property"?}``; 422 naming the field otherwise."""
    if not isinstance(body, dict):
        raise InvalidGoal("body: expected a JSON object (a goal)")
    unknown = sorted(set(body) - {"id", "name", "page", "event", "property"})
    if unknown:
        raise InvalidGoal(f"{unknown[0]}: unknown field of a goal")
    goal_id = _text(body.get("id"), "id")
    if not _ID.match(goal_id):
        raise InvalidGoal(
            "id: 1-64 characters of a-z, 0-9, '-', '_', starting with a letter or digit"
        )
    name = _text(body.get("name"), "name", required=False) or goal_id
    m = _matcher(body)
    return GoalRow(site, goal_id, name, m.page, m.event, m.prop_key, m.prop_value)


def goal_json(goal: GoalRow) -> dict[str, Any]:
    matcher = Matcher(goal.page, goal.event, goal.prop_key, goal.prop_value)
    out: dict[str, Any] = {"site": goal.site, "id": goal.id, "name": goal.name}
    out.update(matcher.as_json())
    if goal.created_at is not None:
        out["created_at"] = goal.created_at.isoformat(timespec="milliseconds")
    return out


def with_goals(db: Database, sites: Sequence[str], filters: Filters) -> Filters:
    """``filters`` with the goals of ``sites`` attached when some filter is on ``goal`` (the
    ``*_filtered`` queries then match visits against them); unchanged otherwise."""
    if not filters.goal_filtered:
        return filters
    goals = tuple(
        (g.site, g.id, g.name, page_regex(g.page) if g.page else "", g.event, g.prop_key,
         g.prop_value)
        for g in list_goals(db, list(sites))
    )  # fmt: skip
    return replace(filters, goals=goals)


def parse_step(text: str, position: int) -> Matcher | str:
    """One ``step=`` value: ``page:PATTERN``, ``event:NAME``, ``event:NAME:KEY=VALUE`` or
    ``goal:ID`` (a saved goal, returned as its id for the caller to resolve)."""
    where = f"step #{position} {text[:80]!r}"
    kind, _, rest = text.partition(":")
    if not rest:
        raise ParamError(
            f"{where}: expected page:/PATTERN, event:NAME, event:NAME:KEY=VALUE or goal:ID"
        )
    try:
        if kind == "page":
            return _matcher({"page": rest})
        if kind == "event":
            name, _, prop = rest.partition(":")
            if prop and "=" not in prop:
                raise InvalidGoal("an event property is written KEY=VALUE")
            key, _, value = prop.partition("=")
            return _matcher({"event": name, "property": {key: value} if prop else None})
        if kind == "goal":
            return rest.strip()
    except InvalidGoal as exc:
        raise ParamError(f"{where}: {exc}") from exc
    raise ParamError(f"{where}: a step starts with page:, event: or goal:")


def parse_steps(raw: Sequence[str]) -> list[Matcher | str]:
    """Every ``step=`` value in order: 2 to 8 of them."""
    if not MIN_STEPS <= len(raw) <= MAX_STEPS:
        raise ParamError(
            f"step: {len(raw)} given; a funnel has {MIN_STEPS} to {MAX_STEPS} steps "
            "(repeat step=, e.g. step=page:/thu-tuc/*&step=event:start&step=event:submit)"
        )
    return [parse_step(text, i) for i, text in enumerate(raw, start=1)]


def resolve_steps(steps: Sequence[Matcher | str], goals: Sequence[GoalRow]) -> list[Matcher]:
    """Steps with saved goals (``goal:ID``) replaced by their matchers; 400 for an unknown id."""
    by_id = {g.id: g for g in goals}
    out = []
    for i, step in enumerate(steps, start=1):
        if isinstance(step, Matcher):
            out.append(step)
            continue
        goal = by_id.get(step)
        if goal is None:
            raise ParamError(f"step #{i}: no goal {step!r} on the selected site(s)")
        out.append(Matcher(goal.page, goal.event, goal.prop_key, goal.prop_value))
    return out


def _matcher_params(matchers: Sequence[Matcher], prefix: str, pad_to: int = 0) -> dict[str, Any]:
    items = list(matchers) + [Matcher()] * max(0, pad_to - len(matchers))
    return {
        f"{prefix}_regex": [page_regex(m.page) if m.page else "" for m in items],
        f"{prefix}_events": [m.event for m in items],
        f"{prefix}_prop_keys": [m.prop_key for m in items],
        f"{prefix}_prop_values": [m.prop_value for m in items],
    }


def _period_params(sites: Sequence[str], period: Period, cut: Cut | None) -> dict[str, Any]:
    return {"sites": list(sites), "from": period.start, "to": period.end, "ends": ends(sites, cut)}


def _conversion_rows(
    db: Database, site: str, period: Period, cut: Cut | None, goals: Sequence[GoalRow]
) -> tuple[list[dict[str, Any]], int]:
    matchers = [Matcher(g.page, g.event, g.prop_key, g.prop_value) for g in goals]
    params = {
        **_period_params([site], period, cut),
        "goal_ids": [g.id for g in goals],
        **_matcher_params(matchers, "goal"),
    }
    rows = named.rows(db, "goals_conversions", params)
    total = int(rows[0]["total_visits"]) if rows else 0
    return rows, total


def conversions(
    db: Database,
    site: str,
    goals: Sequence[GoalRow],
    period: Period,
    compare: Period | None,
    cut: Cut | None = None,
    compare_cut: Cut | None = None,
) -> dict[str, Any]:
    """``by=goal``: per goal of ``site``, converting visits, conversions (matching hits),
    converting visitors and the conversion rate, each against the comparison period."""
    rows: list[dict[str, Any]] = []
    total = 0
    if goals:
        current, total = _conversion_rows(db, site, period, cut, goals)
        previous, prev_total = (
            _conversion_rows(db, site, compare, compare_cut, goals) if compare else ([], 0)
        )
        for i, goal in enumerate(goals):
            cur = current[i]
            visits = int(cur["converting_visits"] or 0)
            rate = percent(visits, total)
            prev_visits: int | None = None
            prev_rate: float | None = None
            if compare:
                prev_visits = int(previous[i]["converting_visits"] or 0)
                prev_rate = percent(prev_visits, prev_total)
            rows.append(
                {
                    "key": goal.id,
                    **goal_json(goal),
                    "converting_visits": visits,
                    "conversions": int(cur["conversions"] or 0),
                    "converting_visitors": int(cur["converting_visitors"] or 0),
                    "conversion_rate_pct": None if rate is None else round(rate, 1),
                    "previous_converting_visits": prev_visits,
                    "change_pct": change_pct(visits, prev_visits),
                    "previous_conversion_rate_pct": (
                        None if prev_rate is None else round(prev_rate, 1)
                    ),
                    "conversion_rate_change_pp": change_pp(rate, prev_rate),
                }
            )
    answer: dict[str, Any] = {
        "site": site,
        "period": period.as_json(),
        "compare_period": compare.as_json() if compare else None,
        "filters": [],
        "by": "goal",
        "total": {"visits": total},
        "rows": rows,
    }
    if cut is not None:
        answer["period_cut"] = cut.as_json()
        answer["compare_cut"] = compare_cut.as_json() if compare_cut is not None else None
    return answer


def conversions_table(answer: dict[str, Any]) -> Table:
    columns = [
        "key", "name", "converting_visits", "conversions", "converting_visitors",
        "conversion_rate_pct", "previous_converting_visits", "change_pct",
        "previous_conversion_rate_pct", "conversion_rate_change_pp",
    ]  # fmt: skip
    return Table(columns, [[r.get(c) for c in columns] for r in answer["rows"]])


def reached(levels: Mapping[int, int], steps: int) -> list[int]:
    """Visits that reached each step, from the visits at exactly each level: a visit at level k
    reached steps 1 … k."""
    return [sum(n for level, n in levels.items() if level >= k) for k in range(1, steps + 1)]


def funnel_steps(matchers: Sequence[Matcher], counts: Sequence[int]) -> list[dict[str, Any]]:
    """Per step: visits, drop-off from the step before (visits, percent of that step's
    visits) and conversion from step 1 (percent); pure."""
    out = []
    first = counts[0] if counts else 0
    for i, (matcher, visits) in enumerate(zip(matchers, counts, strict=True)):
        before = counts[i - 1] if i else None
        dropped = before - visits if before is not None else None
        out.append(
            {
                "step": i + 1,
                **matcher.as_json(),
                "visits": visits,
                "dropoff": dropped,
                "dropoff_pct": (
                    None if dropped is None or not before else round(dropped * 100 / before, 1)
                ),
                "conversion_pct": None if not first else round(visits * 100 / first, 1),
            }
        )
    return out


def funnel(
    db: Database,
    sites: Sequence[str],
    matchers: Sequence[Matcher],
    period: Period,
    compare: Period | None,
    cut: Cut | None = None,
    compare_cut: Cut | None = None,
) -> dict[str, Any]:
    """The funnel of ``matchers`` over the visits of ``period`` (and of the comparison
    period): per step the visits that reached it and the drop-off; ``completion`` = visits
    through every step, with its change."""

    def counts(p: Period, c: Cut | None) -> list[int]:
        params = {**_period_params(sites, p, c), **_matcher_params(matchers, "step", MAX_STEPS)}
        levels = {int(r["level"]): int(r["visits"]) for r in named.rows(db, "funnel", params)}
        return reached(levels, len(matchers))

    current = counts(period, cut)
    previous = counts(compare, compare_cut) if compare else None
    steps = funnel_steps(matchers, current)
    if previous is not None:
        for step, prev in zip(steps, previous, strict=True):
            step["previous_visits"] = prev
            step["change_pct"] = change_pct(step["visits"], prev)
    answer: dict[str, Any] = {
        "site": ",".join(sites),
        "period": period.as_json(),
        "compare_period": compare.as_json() if compare else None,
        "steps": steps,
        "completion": {
            "value": current[-1],
            "previous": previous[-1] if previous else None,
            "change_pct": change_pct(current[-1], previous[-1] if previous else None),
        },
    }
    if cut is not None:
        answer["period_cut"] = cut.as_json()
        answer["compare_cut"] = compare_cut.as_json() if compare_cut is not None else None
    return answer


def funnel_table(answer: dict[str, Any]) -> Table:
    columns = ["step", "page", "event", "visits", "dropoff", "dropoff_pct", "conversion_pct",
               "previous_visits", "change_pct"]  # fmt: skip
    return Table(columns, [[s.get(c) for c in columns] for s in answer["steps"]])
