"""HTTP endpoints of the official forms (issue 16, item 2), each as ``format=json|xlsx|docx``:

- ``GET /api/v1/reports/quarterly?year=&quarter=`` — seed 004 section 6 (``rows``: 6 … 6.5.2)
  with the quarterly numbers it always had;
- ``GET /api/v1/reports/online-services?year=[&quarter=]`` — seed 003 section VII per
  administrative level, with the lists PL3A.2 (level 3) and PL3A.3 (level 4);
- ``GET /api/v1/reports/resolution?year=[&quarter=]`` — received, resolved, before / on /
  after the due date per level (seed 004 footnote 5);
- ``GET /api/v1/reports/sources?year=[&quarter=]`` — dossiers received per source (III.3);
- ``GET /api/v1/reports/rankings?year=[&quarter=]`` — seed 002 Bảng 1–4: most and least
  visited portals and highest and lowest online dossier rates of ministries and provinces.

Without ``quarter`` a form covers the whole year. Access, as the quarterly report always had
it: ``site=``/``agency=`` inside the token's subtree (404 outside), or ``dossier_agency=CODE``
alone for every site the token sees (only dossiers whose own agency field is that code).
Rankings compare every agency: admin token only, like ``/api/v1/rankings``.

Why a module of its own: the forms share their parameters, their reporting-unit line and their
file formats; the numbers come from ``indicators.quarterly`` and ``indicators.reports``, the
layouts from ``indicators.forms``, the files from ``api.form_files``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api import form_files
from api.export import XLSX_MEDIA
from api.guard import Access, context, error, principal, route
from api.params import parse_choice, parse_int, parse_selection
from clickhouse import agencies, registry
from clickhouse.client import Database
from indicators import forms, quarterly, rankings, reports
from indicators.access import Principal, Selection, check_sites_known, resolve_sites, visible_sites
from indicators.dossiers import catalog_counts
from indicators.errors import NotFound, ParamError
from indicators.periods import Period

FORMATS = ("json", "xlsx", "docx")
#: Seed 002 lists three ministries and five provinces at each end.
RANKING_TOP = {"ministries": 3, "provinces": 5}


@dataclass(frozen=True, slots=True)
class FormQuery:
    """The parsed query of a form request."""

    fmt: str
    year: int
    quarter: int | None
    dossier_agency: str
    selection: Selection | None
    #: Another period than a quarter or year (an e-mailed weekly or monthly report,
    #: ``api/mailer.py``), with its name for the period line ("Tuần 48 năm 2026").
    explicit: Period | None = None
    period_name: str = ""

    @property
    def period(self) -> Period:
        if self.explicit is not None:
            return self.explicit
        return reports.report_period(self.year, self.quarter)

    def head(self) -> dict[str, Any]:
        head = {"year": self.year, "quarter": self.quarter, "period": self.period.as_json()}
        return {**head, "period_name": self.period_name} if self.period_name else head


def parse(query: Mapping[str, str], quarter_required: bool, scoped: bool = True) -> FormQuery:
    """``format``, ``year`` (required), ``quarter`` (1–4), and unless ``scoped`` is False the
    selection (``site=``/``agency=``, or ``dossier_agency=`` alone)."""
    fmt = parse_choice(query, "format", FORMATS, "json")
    if not (query.get("year") or "").strip():
        raise ParamError("year: required, e.g. 2026")
    year = parse_int(query, "year", 0, 2000, 2100)
    quarter = None
    if (query.get("quarter") or "").strip():
        quarter = parse_int(query, "quarter", 1, 1, 4)
    elif quarter_required:
        raise ParamError("quarter: required, 1-4")
    if not scoped:
        return FormQuery(fmt, year, quarter, "", None)
    dossier_agency = (query.get("dossier_agency") or "").strip()
    if len(dossier_agency) > 512:
        raise ParamError("dossier_agency: longer than 512 characters")
    selected = any((query.get(p) or "").strip() for p in ("site", "agency"))
    if not selected and not dossier_agency:
        raise ParamError(
            "site: required, a site id or several separated by commas (or agency=ID, "
            "or dossier_agency=CODE for every site the token sees)"
        )
    return FormQuery(
        fmt, year, quarter, dossier_agency, parse_selection(query) if selected else None
    )


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


def reporting_unit(db: Database, parsed: FormQuery, sites: list[str]) -> str:
    """The "TÊN ĐƠN VỊ BÁO CÁO" line: the agency's name, else the sites' names; with
    ``dossier_agency`` alone (every site the token sees), that dossier agency code."""
    if parsed.selection is None:
        return f"Hồ sơ của cơ quan {parsed.dossier_agency}"
    if parsed.selection.agency:
        found = agencies.get_agency(db, parsed.selection.agency)
        unit = found.name if found is not None else parsed.selection.agency
    else:
        names = {s.id: s.name for s in registry.list_sites(db)}
        unit = ", ".join(names.get(s) or s for s in sites)
    if parsed.dossier_agency:
        unit += f" (hồ sơ của cơ quan {parsed.dossier_agency})"
    return unit


Compute = Callable[[Database, FormQuery, list[str], dict[str, str]], dict[str, Any]]


def _quarterly(db: Database, parsed: FormQuery, sites: list[str], tzs: dict[str, str]) -> Any:
    assert parsed.quarter is not None  # required for this form
    return quarterly.quarterly(
        db, sites, tzs, parsed.year, parsed.quarter, dossier_agency=parsed.dossier_agency,
        agency=parsed.selection.agency if parsed.selection is not None else "",
    )  # fmt: skip


def _rows(db: Database, parsed: FormQuery, sites: list[str], tzs: dict[str, str]) -> Any:
    return reports.dossier_rows(db, sites, tzs, parsed.period, parsed.dossier_agency)


def _online_services(db: Database, p: FormQuery, sites: list[str], tzs: dict[str, str]) -> Any:
    rows = _rows(db, p, sites, tzs)
    return {
        "section_vii": reports.section_vii(rows, catalog_counts(db, sites)),
        "pl3a2": reports.service_list(rows, 3),
        "pl3a3": reports.service_list(rows, 4),
    }


def _resolution(db: Database, p: FormQuery, sites: list[str], tzs: dict[str, str]) -> Any:
    return {"levels": reports.resolution(_rows(db, p, sites, tzs))}


def _sources(db: Database, p: FormQuery, sites: list[str], tzs: dict[str, str]) -> Any:
    return {"sources": reports.by_source(_rows(db, p, sites, tzs))}


_FORMS: dict[str, tuple[Compute, Callable[[Mapping[str, Any], str], forms.Form], bool]] = {
    "quarterly": (_quarterly, forms.quarterly_form, True),
    "online-services": (_online_services, forms.online_services_form, False),
    "resolution": (_resolution, forms.resolution_form, False),
    "sources": (_sources, forms.sources_form, False),
}


#: Forms that any period can have (``quarterly`` is per quarter only).
FORM_KINDS = tuple(_FORMS)


def form_answer(db: Database, kind: str, parsed: FormQuery, who: Principal) -> dict[str, Any]:
    """The JSON answer of form ``kind`` (blocking): the sites of the selection for ``who``,
    the numbers, the reporting unit."""
    compute = _FORMS[kind][0]
    sites = report_sites(db, parsed.selection, who)
    tzs = check_sites_known(db, sites)
    return {
        "sites": sites,
        "agency": parsed.selection.agency if parsed.selection else None,
        "dossier_agency": parsed.dossier_agency or None,
        **parsed.head(),
        **compute(db, parsed, sites, tzs),
        "unit": reporting_unit(db, parsed, sites),
    }


def form_of(kind: str, answer: Mapping[str, Any]) -> forms.Form:
    """The layout of form ``kind`` for ``answer`` (``form_answer``)."""
    return _FORMS[kind][1](answer, answer["unit"])


def send(answer: dict[str, Any], form: forms.Form | None, fmt: str) -> Response:
    """JSON, or the form as an XLSX / DOCX download."""
    if fmt == "json" or form is None:
        return Response(orjson.dumps(answer), media_type="application/json")
    body = form_files.to_xlsx(form) if fmt == "xlsx" else form_files.to_docx(form)
    media = XLSX_MEDIA if fmt == "xlsx" else form_files.DOCX_MEDIA
    headers = {"Content-Disposition": f'attachment; filename="{form.filename}.{fmt}"'}
    return Response(body, media_type=media, headers=headers)


def scoped_form(kind: str) -> Callable[[Request], Any]:
    _, layout, quarter_required = _FORMS[kind]

    async def handler(request: Request) -> Response:
        ctx, who = context(request), principal(request)
        db = ctx.db
        try:
            parsed = parse(request.query_params, quarter_required)

            def work() -> tuple[dict[str, Any], forms.Form | None]:
                answer = form_answer(db, kind, parsed, who)
                form = layout(answer, answer["unit"]) if parsed.fmt != "json" else None
                return answer, form

            answer, form = await asyncio.to_thread(work)
        except ParamError as exc:
            return error(exc.status, str(exc))
        return await asyncio.to_thread(send, answer, form, parsed.fmt)

    handler.__name__ = f"report_{kind.replace('-', '_')}"
    return handler


def ranking_tables(db: Database, period: Period, top: int | None) -> list[dict[str, Any]]:
    """Seed 002 Bảng 1–4: each ranking in descending order, its first and last ``top``
    (default three ministries, five provinces) with their competition ranks."""
    specs = [
        (1, "visits", "ministries", "Tổng số lượt truy cập Cổng Thông tin điện tử của các bộ",
         "Truy cập nhiều nhất", "Truy cập ít nhất"),
        (2, "visits", "provinces", "Mức độ truy cập Cổng Thông tin điện tử của các địa phương",
         "Truy cập nhiều nhất", "Truy cập ít nhất"),
        (3, "online_dossier_rate", "ministries", "Tỷ lệ hồ sơ trực tuyến của các bộ",
         "Hồ sơ trực tuyến cao nhất", "Hồ sơ trực tuyến thấp nhất"),
        (4, "online_dossier_rate", "provinces", "Tỷ lệ hồ sơ trực tuyến của các địa phương",
         "Hồ sơ trực tuyến cao nhất", "Hồ sơ trực tuyến thấp nhất"),
    ]  # fmt: skip
    tables = []
    for number, metric, group, title, top_label, bottom_label in specs:
        n = top or RANKING_TOP[group]
        ranked = rankings.rankings(db, metric, group, period, None, True, 100_000)["rows"]
        keep = ("rank", "agency", "name", "value")
        rows = [{k: r[k] for k in keep} for r in ranked]
        tables.append({
            "table": number, "metric": metric, "group": group, "title": title,
            "top_label": top_label, "bottom_label": bottom_label,
            "top": rows[:n], "bottom": rows[-n:] if rows else [], "ranked": len(rows),
        })  # fmt: skip
    return tables


async def report_rankings(request: Request) -> Response:
    """``GET /api/v1/reports/rankings``: seed 002's four ranking tables (admin)."""
    ctx = context(request)
    try:
        parsed = parse(request.query_params, False, scoped=False)
        top = None
        if (request.query_params.get("top") or "").strip():
            top = parse_int(request.query_params, "top", 3, 1, 50)

        def work() -> tuple[dict[str, Any], forms.Form | None]:
            answer = {**parsed.head(), "tables": ranking_tables(ctx.db, parsed.period, top)}
            unit = "Hệ thống giám sát, đo lường (OpenEMC)"
            return answer, forms.rankings_form(answer, unit) if parsed.fmt != "json" else None

        answer, form = await asyncio.to_thread(work)
    except ParamError as exc:
        return error(exc.status, str(exc))
    return await asyncio.to_thread(send, answer, form, parsed.fmt)


ROUTES: list[Route] = [
    *[
        route(f"/api/v1/reports/{kind}", scoped_form(kind), methods=["GET"], access=Access.TOKEN)
        for kind in _FORMS
    ],
    route(
        "/api/v1/reports/rankings",
        report_rankings,
        methods=["GET"],
        access=Access.ADMIN,
        reason="rankings compare every agency: they need the admin token",
    ),
]
