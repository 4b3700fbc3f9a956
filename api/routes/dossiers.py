"""HTTP endpoints of the DVC (§3.II) and one-stop (§3.III) indicators, the account summary and
the quarterly report, with the conventions of ``api/params.py`` (``site=a[,b]``, inclusive
local ``from``/``to``, ``compare=previous|year|none``, 400 naming the parameter, 404 unknown
site) and ``format=json|csv|xlsx`` (``api/export.py``).

Why a module of its own: ``indicators/dossiers.py`` computes, this module only parses, checks and
answers; database work runs in a worker thread.

Access (issue 5): the indicator endpoints take ``site=`` or ``agency=`` (the agency's whole
subtree, numbers over the union of its sites) and accept agency-scoped tokens, which see their
subtree only (``indicators/access.py``: outside it answers 404 like an unknown id). The quarterly
report, whose ``agency`` is a display label, stays admin-only.

The DVC and one-stop overviews read "now" from ``ctx.clock``: a period that contains a site's
local now is cut there (rounded down to the hour) and its comparison period at the same elapsed
part (``indicators.periods.cuts``, issue 16); ``period_cut`` / ``compare_cut`` say where.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.endpoints import Build, Built, endpoint
from api.export import XLSX_MEDIA, respond
from api.guard import Access, Context, context, error, principal, route
from api.params import (
    parse_choice,
    parse_compare,
    parse_int,
    parse_period,
    parse_selection,
)
from clickhouse import registry
from clickhouse.client import Database
from indicators import dossiers as dossier_data
from indicators import quarterly
from indicators.access import Principal, Selection, check_sites_known, resolve_sites, visible_sites
from indicators.errors import NotFound, ParamError
from indicators.periods import comparison_period, cuts
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


def report_sites(db: Database, selection: Selection | None, who: Principal) -> list[str]:
    """The sites of the report: the selection resolved for ``who`` (404 outside its subtree),
    or without one every site ``who`` sees."""
    if selection is not None:
        return resolve_sites(db, selection, who)
    visible = visible_sites(db, who)
    chosen = sorted(visible) if visible is not None else [s.id for s in registry.list_sites(db)]
    if not chosen:
        where = "is registered" if who.is_admin else "is registered in the token's agency"
        raise NotFound(f"site: no site {where}")
    return chosen


async def report(request: Request) -> Response:
    """``GET /api/v1/reports/quarterly``: the provincial quarterly report (JSON or XLSX) of the
    selected sites (``site=``/``agency=``, inside the token's subtree) or of every site the
    token sees; ``dossier_agency=`` keeps only dossiers whose own agency field is that code."""
    ctx, who, query = context(request), principal(request), request.query_params
    db = ctx.db
    try:
        fmt = parse_choice(query, "format", ("json", "xlsx"), "json")
        year = parse_int(query, "year", 0, 2000, 2100) if query.get("year") else None
        if year is None:
            raise ParamError("year: required, e.g. 2026")
        if not query.get("quarter"):
            raise ParamError("quarter: required, 1-4")
        quarter = parse_int(query, "quarter", 1, 1, 4)
        dossier_agency = (query.get("dossier_agency") or "").strip()
        if len(dossier_agency) > 512:
            raise ParamError("dossier_agency: longer than 512 characters")
        selected = any((query.get(p) or "").strip() for p in ("site", "agency"))
        if not selected and not dossier_agency:
            raise ParamError(
                "site: required, a site id or several separated by commas (or agency=ID, "
                "or dossier_agency=CODE for every site the token sees)"
            )
        selection = parse_selection(query) if selected else None

        def work() -> dict[str, Any]:
            chosen = report_sites(db, selection, who)
            tzs = check_sites_known(db, chosen)
            return quarterly.quarterly(
                db,
                chosen,
                tzs,
                year,
                quarter,
                dossier_agency=dossier_agency,
                agency=selection.agency if selection is not None else "",
            )

        answer = await asyncio.to_thread(work)
    except ParamError as exc:
        return error(exc.status, str(exc))
    if fmt == "xlsx":
        body = await asyncio.to_thread(quarterly.report_xlsx, answer)
        name = f"quarterly-{year}-Q{quarter}.xlsx"
        return Response(
            body,
            media_type=XLSX_MEDIA,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return respond(answer, None, "json", "quarterly")


def _indicator(path: str, name: str, build: Build) -> Route:
    return route(path, endpoint(name, build), methods=["GET"], access=Access.TOKEN)


ROUTES: list[Route] = [
    _indicator("/api/v1/dvc/overview", "dvc-overview", overview("dvc")),
    _indicator("/api/v1/onestop/overview", "onestop-overview", overview("onestop")),
    _indicator("/api/v1/onestop/top-services", "top-services", top_services),
    _indicator("/api/v1/onestop/by-level", "by-level", by_level),
    _indicator("/api/v1/accounts/summary", "accounts", accounts),
    route("/api/v1/reports/quarterly", report, methods=["GET"], access=Access.TOKEN),
]
