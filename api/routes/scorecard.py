"""``GET /api/v1/scorecard``: the provisional Decision 766/QĐ-TTg scorecard (issue 16, item 3)
of an agency (``agency=``, its whole subtree) or of sites (``site=a[,b]``), over inclusive local
dates ``from``/``to``; ``format=json|csv|xlsx``.

Access: any token; an agency token sees its own subtree only (``indicators.access``: an id
outside it answers 404 like an unknown one). Computing is ``indicators/scorecard.py``.
The weights file is loaded and validated when this module is imported, i.e. when the warehouse
starts (``CONFIG``): a broken file stops the start, naming the entry.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.export import XLSX_MEDIA, parse_format, respond
from api.guard import Access, context, error, principal, route
from api.params import parse_period, parse_selection
from indicators import scorecard as scorecard_data
from indicators.access import check_sites_known, resolve_sites
from indicators.errors import ParamError
from indicators.scorecard_config import Config, load

CONFIG: Config = load()


async def scorecard(request: Request) -> Response:
    """The scorecard as JSON (default), CSV (one row per indicator) or XLSX (the layout of
    ``indicators.scorecard.scorecard_xlsx``)."""
    ctx, who, query = context(request), principal(request), request.query_params
    try:
        fmt = parse_format(query)
        selection, period = parse_selection(query), parse_period(query, ctx.max_days)

        def work() -> dict[str, Any]:
            sites = resolve_sites(ctx.db, selection, who)
            tzs = check_sites_known(ctx.db, sites)
            answer = scorecard_data.scorecard(ctx.db, CONFIG, sites, tzs, period)
            return {"agency": selection.agency or None, **answer}

        answer = await asyncio.to_thread(work)
    except ParamError as exc:
        return error(exc.status, str(exc))
    if fmt == "xlsx":
        body = await asyncio.to_thread(scorecard_data.scorecard_xlsx, answer)
        name = f"scorecard-766-{answer['period']['from']}-{answer['period']['to']}.xlsx"
        return Response(
            body,
            media_type=XLSX_MEDIA,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return respond(answer, scorecard_data.scorecard_table(answer), fmt, "scorecard-766")


ROUTES: list[Route] = [
    route("/api/v1/scorecard", scorecard, methods=["GET"], access=Access.TOKEN),
]
