"""Report filters (issue 17 item 1): ``filter=DIM:V1|V2``, ``filter=DIM!:V``, ``filter=DIM~:TEXT``.

Contract: ``parse_filters`` is pure. It turns the repeated ``filter`` values of a query string
into ``Filters`` or raises ``ParamError`` naming the filter (its position and text) and what is
wrong with it. ``Filters.params`` gives the typed parameters of the ``*_filtered`` named queries
(``clickhouse/queries/``): the user's values only ever travel as bound ClickHouse parameters,
never inside the SQL text.

Operators: ``DIM:V1|V2`` is one of the values (exact match; an empty value is the empty key,
e.g. ``referrer:`` = direct visits), ``DIM!:V1|V2`` is none of them, ``DIM~:TEXT`` contains
``TEXT`` (case-insensitive, ``|`` is literal there). Repeated filters are ANDed, also on one
dimension: ``country:VN|US`` and ``country:US|JP`` leave ``US``.

Semantics (README "Filters"):
- a *visit dimension* (country, city, device, browser, os, referrer, entry_page, exit_page,
  utm_source, utm_medium, utm_campaign, channel: the visit's own values, as in the breakdowns;
  the channel is the query-time one, ``internal`` from the agency registry, issue 17 item 2)
  selects visits and all of their hits: a ``device:mobile`` filter counts the visits on phones,
  the pageviews of those visits and the visitors with a hit in them;
- the *page dimension* (``page``, the URL path) selects, for visit numbers, the visits with at
  least one pageview that matches every page filter, and for pageview numbers (pageviews, the page
  breakdown, unique visitors) the matching pageviews themselves;
- the *event dimension* (``event``, the name of a custom event hit) selects the visits with at
  least one event that matches every event filter, and all of their hits, like a visit
  dimension (``event!:x`` = visits with an event not named ``x``);
- the *goal dimension* (``goal``, a goal id of the selected sites, issue 17 item 4) selects the
  visits that converted, and all of their hits, like a visit dimension: ``goal:A|B`` = visits
  with a hit matching a goal that every ``goal:`` filter allows (``A`` or ``B``), ``goal!:A`` =
  visits that did not convert on ``A``, ``goal~:TEXT`` = converted on a goal whose id or name
  contains ``TEXT``. Goals are definitions stored per site, so ``Filters.goals`` carries them
  (``indicators.goals.with_goals`` fills it from the database before the query); the SQL gets
  the matchers as the ``g_*`` parameters (``Filters.params``).

Why the SQL gets four parameters per dimension (``f_DIM_on``, ``f_DIM_in``, ``f_DIM_out``,
``f_DIM_has``) rather than a list of (dimension, operator, values) triples: a condition written
per column with constant parameters is folded away by ClickHouse when it is unused (``0 = 0 OR
…``), so a filtered query pays only for the dimensions actually filtered; a generic lambda over
a list cost ~10 ms per million rows per dimension even when empty (measured while writing this).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from core.channels import CHANNELS
from indicators.errors import ParamError

#: Visit dimensions: the visit's own value (``sessions`` columns, as in the breakdowns).
VISIT_DIMS = (
    "country",
    "city",
    "device",
    "browser",
    "os",
    "referrer",
    "entry_page",
    "exit_page",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "channel",
)
#: Page dimensions: a pageview's own value (``pageviews.path``).
PAGE_DIMS = ("page",)
#: Event dimensions: the name of an event hit (``pageviews.name`` where ``type = 'event'``).
EVENT_DIMS = ("event",)
DIMS = (*VISIT_DIMS, *PAGE_DIMS, *EVENT_DIMS)
#: Goal dimensions (issue 17 item 4): not in ``DIMS``, whose ``f_DIM_*`` parameters are value
#: lists; a goal filter becomes matchers (``g_*`` parameters, ``Filters.params``).
GOAL_DIMS = ("goal",)
#: A goal as a filter needs it: (site, id, name, anchored path regex or '', event name or '',
#: property key or '', property value).
GoalDef = tuple[str, str, str, str, str, str, str]
#: The sites of a query and the registered domains, each with the root agency of its tree
#: (``indicators.channels.with_tree``): what makes a referral ``internal`` (issue 17 item 2).
Tree = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]
MAX_FILTERS = 20
MAX_VALUES = 100
MAX_VALUE_CHARS = 500
#: ``multiSearchAllPositions`` takes at most 255 needles.
MAX_CONTAINS_PER_DIM = 20


class Op(Enum):
    IS = "is"
    IS_NOT = "is_not"
    CONTAINS = "contains"


_SUFFIX = {"": Op.IS, "!": Op.IS_NOT, "~": Op.CONTAINS}
_TEXT = {Op.IS: ":", Op.IS_NOT: "!:", Op.CONTAINS: "~:"}


@dataclass(frozen=True, slots=True)
class Filter:
    dim: str
    op: Op
    values: tuple[str, ...]

    def as_text(self) -> str:
        """The filter as the query string writes it (``country:VN|US``)."""
        return f"{self.dim}{_TEXT[self.op]}{'|'.join(self.values)}"

    def as_json(self) -> dict[str, Any]:
        return {"dim": self.dim, "op": self.op.value, "values": list(self.values)}


@dataclass(frozen=True, slots=True)
class Filters:
    """Parsed filters, all ANDed; empty = no filter (the rollup queries answer)."""

    items: tuple[Filter, ...] = ()
    #: The goals of the selected sites (``indicators.goals.with_goals``); only read when a goal
    #: filter is present.
    goals: tuple[GoalDef, ...] = ()
    #: (site, root agency) of the selected sites and (domain, root agency) of every registered
    #: site: a referral from a domain of the same root is ``internal``. Filled by
    #: ``indicators.channels.with_tree`` when a channel filter is present; empty = none is.
    tree: Tree = ((), ())

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def visit_filtered(self) -> bool:
        """Some filter selects visits (a visit dimension or an event): hits follow them."""
        return any(
            f.dim in VISIT_DIMS or f.dim in EVENT_DIMS or f.dim in GOAL_DIMS for f in self.items
        )

    @property
    def goal_filtered(self) -> bool:
        return any(f.dim in GOAL_DIMS for f in self.items)

    @property
    def event_filtered(self) -> bool:
        return any(f.dim in EVENT_DIMS for f in self.items)

    @property
    def page_filtered(self) -> bool:
        return any(f.dim in PAGE_DIMS for f in self.items)

    def as_json(self) -> list[dict[str, Any]]:
        return [f.as_json() for f in self.items]

    def params(self) -> dict[str, Any]:
        """Parameters of every ``*_filtered`` named query: per dimension ``f_DIM_on`` (1 when
        an "is one of" filter applies), ``f_DIM_in`` (the values every such filter allows:
        their intersection, possibly empty, then nothing matches), ``f_DIM_out`` (values no
        row may have) and ``f_DIM_has`` (texts the value must contain, case-insensitive); plus
        ``visit_filtered`` / ``page_filtered`` / ``event_filtered``."""
        out: dict[str, Any] = {
            "visit_filtered": int(self.visit_filtered),
            "page_filtered": int(self.page_filtered),
            "event_filtered": int(self.event_filtered),
        }
        for dim in DIMS:
            mine = [f for f in self.items if f.dim == dim]
            allowed: list[str] | None = None
            for f in mine:
                if f.op is Op.IS:
                    allowed = [v for v in (allowed if allowed is not None else f.values)
                               if v in f.values]  # fmt: skip
            out[f"f_{dim}_on"] = int(allowed is not None)
            out[f"f_{dim}_in"] = allowed or []
            out[f"f_{dim}_out"] = _unique(v for f in mine if f.op is Op.IS_NOT for v in f.values)
            out[f"f_{dim}_has"] = _unique(v for f in mine if f.op is Op.CONTAINS for v in f.values)
        return {**out, **self._goal_params(), **tree_params(self.tree)}

    def _goal_params(self) -> dict[str, Any]:
        """``goal_filtered``, ``g_on`` (1: an "is one of" / "contains" goal filter applies) and
        the matchers of the goals a visit must have converted on (``g_in_*``, any of them) and
        must not have (``g_out_*``): sites, path regexes, event names, property keys, values."""
        mine = [f for f in self.items if f.dim in GOAL_DIMS]
        allowed: set[str] | None = None
        for f in mine:
            if f.op is Op.IS_NOT:
                continue
            if f.op is Op.IS:
                ids = set(f.values)
            else:
                text = f.values[0].casefold()
                ids = {
                    g[1] for g in self.goals if text in g[1].casefold() or text in g[2].casefold()
                }
            allowed = ids if allowed is None else allowed & ids
        excluded = {v for f in mine if f.op is Op.IS_NOT for v in f.values}
        chosen = [g for g in self.goals if allowed is not None and g[1] in allowed]
        out: dict[str, Any] = {"goal_filtered": int(bool(mine)), "g_on": int(allowed is not None)}
        for side, goals in (("in", chosen), ("out", [g for g in self.goals if g[1] in excluded])):
            out[f"g_{side}_sites"] = [g[0] for g in goals]
            out[f"g_{side}_regex"] = [g[3] for g in goals]
            out[f"g_{side}_events"] = [g[4] for g in goals]
            out[f"g_{side}_prop_keys"] = [g[5] for g in goals]
            out[f"g_{side}_prop_values"] = [g[6] for g in goals]
        return out


def tree_params(tree: Tree) -> dict[str, list[str]]:
    """The ``ch_*`` parameters of the ``channel`` fragment (``clickhouse/queries/fragments``)."""
    sites, hosts = tree
    return {
        "ch_sites": [s for s, _ in sites],
        "ch_site_roots": [r for _, r in sites],
        "ch_hosts": [h for h, _ in hosts],
        "ch_host_roots": [r for _, r in hosts],
    }


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def param_names() -> list[str]:
    """Every parameter ``Filters.params`` gives (the ``*_filtered`` queries declare them all)."""
    return list(Filters().params())


def parse_filter(text: str, position: int = 1, param: str = "filter") -> Filter:
    """One filter; ``ParamError`` naming ``param``, its position and its text otherwise."""
    where = f"{param} #{position} {text[:80]!r}"
    if ":" not in text:
        raise ParamError(
            f"{where}: expected DIM:V1|V2 (is one of), DIM!:V (is none of) or DIM~:TEXT "
            f"(contains), e.g. country:VN"
        )
    head, value = text.split(":", 1)
    suffix = head[-1:] if head[-1:] in ("!", "~") else ""
    dim = head[: len(head) - len(suffix)].strip()
    op = _SUFFIX[suffix]
    if dim not in DIMS and dim not in GOAL_DIMS:
        raise ParamError(
            f"{where}: unknown dimension {dim!r}; one of {', '.join((*DIMS, *GOAL_DIMS))}"
        )
    values = (value,) if op is Op.CONTAINS else tuple(value.split("|"))
    if op is Op.CONTAINS and not value:
        raise ParamError(f"{where}: the text to look for is empty ({dim}~:TEXT)")
    if len(values) > MAX_VALUES:
        raise ParamError(f"{where}: {len(values)} values; at most {MAX_VALUES} per filter")
    for v in values:
        if len(v) > MAX_VALUE_CHARS:
            raise ParamError(f"{where}: a value of {len(v)} characters; at most {MAX_VALUE_CHARS}")
        if any(ord(ch) < 32 for ch in v):
            raise ParamError(f"{where}: a value contains a control character")
    if dim == "channel" and op is not Op.CONTAINS:
        unknown = [v for v in values if v not in CHANNELS]
        if unknown:
            raise ParamError(
                f"{where}: unknown channel {unknown[0]!r}; one of {', '.join(CHANNELS)}"
            )
    return Filter(dim, op, values)


def parse_filters(raw: Sequence[str], param: str = "filter") -> Filters:
    """Every ``filter`` value of a query string, in order; ``ParamError`` for the first bad one."""
    if len(raw) > MAX_FILTERS:
        raise ParamError(f"{param}: {len(raw)} filters; at most {MAX_FILTERS} per query")
    items = tuple(parse_filter(text, i, param) for i, text in enumerate(raw, start=1))
    for dim in DIMS:
        contains = sum(1 for f in items if f.dim == dim and f.op is Op.CONTAINS)
        if contains > MAX_CONTAINS_PER_DIM:
            raise ParamError(
                f"{param}: {contains} 'contains' filters on {dim}; at most {MAX_CONTAINS_PER_DIM}"
            )
    return Filters(items)
