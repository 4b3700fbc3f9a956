"""HTTP endpoints of the DVC (§3.II) and one-stop (§3.III) indicators and the account summary
(the quarterly report and the other official forms: ``api/routes/reports.py``), with the
conventions of ``api/params.py`` (``site=a[,b]``, inclusive local ``from``/``to``,
``compare=previous|year|none``, 400 naming the parameter, 404 unknown site) and
``format=json|csv|xlsx`` (``api/export.py``).

Why a module of its own: ``indicators/dossiers.py`` computes, this module only parses, checks and
answers; database work runs in a worker thread.

Access (issue 5): the indicator endpoints take ``site=`` or ``agency=`` (the agency's whole
subtree, numbers over the union of its sites) and accept agency-scoped tokens, which see their
subtree only (``indicators/access.py``: outside it answers 404 like an unknown id).

The DVC and one-stop overviews read "now" from ``ctx.clock``: a period that contains a site's
local now is cut there (rounded down to the hour) and its comparison period at the same elapsed
part (``indicators.periods.cuts``, issue 16); ``period_cut`` / ``compare_cut`` say where.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.routing import Route

from api.endpoints import Build, Built, endpoint
from api.guard import Access, Context, route
from api.params import (
    parse_choice,
    parse_compare,
    parse_int,
    parse_period,
    parse_selection,
)
from indicators import dossiers as dossier_data
from indicators.access import Principal, check_sites_known, resolve_sites
from indicators.periods import CompareMode, comparison_period, cuts
from indicators.tables import Table

MAX_LIMIT = 1000


def overview(kind: str) -> Build:
    compute = dossier_data.dvc_overview if kind == "dvc" else dossier_data.onestop_overview

    def build(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
        selection, period = parse_selection(query), parse_period(query, ctx.max_days)
        mode = parse_compare(query)
        compare = comparison_period(period, mode)

        def work() -> Built:
            sites = resolve_sites(ctx.db, selection, who)
            tzs = check_sites_known(ctx.db, sites)
            cut, compare_cut = cuts(period, compare, mode, sites, tzs, ctx.clock())
            answer = compute(ctx.db, sites, tzs, period, compare, cut, compare_cut)
            return answer, dossier_data.metrics_table(answer["metrics"])

        return work

    return build


def dvc_timeseries(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
    """II.8: viewers and visitors (people) per day, with pageviews and visits (issue 16)."""
    selection, period = parse_selection(query), parse_period(query, ctx.max_days)

    def work() -> Built:
        sites = resolve_sites(ctx.db, selection, who)
        tzs = check_sites_known(ctx.db, sites)
        cut, _ = cuts(period, None, CompareMode.NONE, sites, tzs, ctx.clock())
        answer = dossier_data.dvc_people(ctx.db, sites, period, cut)
        return answer, dossier_data.people_table(answer)

    return work


def top_services(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
    selection, period = parse_selection(query), parse_period(query, ctx.max_days)
    level = int(parse_choice(query, "level", ("4", "3"), "4"))
    limit = parse_int(query, "limit", 20, 1, MAX_LIMIT)

    def work() -> Built:
        sites = resolve_sites(ctx.db, selection, who)
        tzs = check_sites_known(ctx.db, sites)
        answer = dossier_data.top_services(ctx.db, sites, tzs, period, level, limit)
        columns = ["site", "procedure_code", "name", "online_dossiers", "dossiers",
                   "online_rate_pct"]  # fmt: skip
        rows = [[s[c] for c in columns] for s in answer["services"]]
        return answer, Table(columns, rows)

    return work


def by_level(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
    selection, period = parse_selection(query), parse_period(query, ctx.max_days)

    def work() -> Built:
        sites = resolve_sites(ctx.db, selection, who)
        tzs = check_sites_known(ctx.db, sites)
        levels = dossier_data.by_level(ctx.db, sites, tzs, period)
        answer = {"sites": sites, "period": period.as_json(), "levels": levels}
        return answer, dossier_data.by_level_table(levels)

    return work


def accounts(ctx: Context, query: Mapping[str, str], who: Principal) -> Callable[[], Built]:
    selection, period = parse_selection(query), parse_period(query, ctx.max_days)
    compare = comparison_period(period, parse_compare(query))

    def work() -> Built:
        sites = resolve_sites(ctx.db, selection, who)
        answer = dossier_data.accounts_summary(ctx.db, sites, period, compare)
        rows: list[list[Any]] = [
            ["accounts", answer["accounts"], None, None],
            *[[f"type_{k}", v, None, None] for k, v in answer["by_type"].items()],
            ["linked_national", answer["linked_national"], None, None],
            *[
                [k, m["value"], m["previous"], m["change_pct"]]
                for k, m in answer["metrics"].items()
            ],
        ]
        return answer, Table(["metric", "value", "previous", "change_pct"], rows)

    return work


def _indicator(path: str, name: str, build: Build) -> Route:
    return route(path, endpoint(name, build), methods=["GET"], access=Access.TOKEN)


ROUTES: list[Route] = [
    _indicator("/api/v1/dvc/overview", "dvc-overview", overview("dvc")),
    _indicator("/api/v1/dvc/timeseries", "dvc-timeseries", dvc_timeseries),
    _indicator("/api/v1/onestop/overview", "onestop-overview", overview("onestop")),
    _indicator("/api/v1/onestop/top-services", "top-services", top_services),
    _indicator("/api/v1/onestop/by-level", "by-level", by_level),
    _indicator("/api/v1/accounts/summary", "accounts", accounts),
]
