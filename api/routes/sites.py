"""The site registry for the admin: ``GET /api/v1/sites`` (the collector's source, with ingest
tokens), ``GET|PUT|DELETE /api/v1/sites/{id}`` (a removal with data is refused with 409 unless
``?force=1``). Every route is ``Access.ADMIN``: ingest tokens never reach an agency token.
The one exception (issue 18) is ``PUT /api/v1/sites/{id}/domains`` ``{"domains": [...]}``,
``Access.EDITOR``: an editor token sets the domains of a site of its subtree (outside: 404 like
an unknown site); the answer is the site without its ingest token.
"""

from __future__ import annotations

import asyncio

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.guard import Access, context, error, principal, route
from api.routes.me import public_site
from api.routes.sql import json_body
from clickhouse import registry
from indicators.access import site_in_subtree
from schemas.common import describe
from schemas.sites import Site


async def list_sites(request: Request) -> Response:
    db = context(request).db
    sites = await asyncio.to_thread(registry.list_sites, db)
    return JSONResponse([s.model_dump(mode="json") for s in sites])


async def get_site(request: Request) -> Response:
    db = context(request).db
    site_id = request.path_params["site_id"]
    site = await asyncio.to_thread(registry.get_site, db, site_id)
    if site is None:
        return error(404, f"site {site_id!r} is not registered")
    return JSONResponse(site.model_dump(mode="json"))


async def put_site(request: Request) -> Response:
    db = context(request).db
    site_id = request.path_params["site_id"]
    try:
        body = await json_body(request)
    except ValueError as exc:
        return error(400, str(exc))
    if not isinstance(body, dict):
        return error(422, "body: expected a JSON object (a site)")
    if body.setdefault("id", site_id) != site_id:
        return error(422, f"id: {body['id']!r} differs from the URL's {site_id!r}")
    try:
        site = Site.model_validate(body)
    except ValidationError as exc:
        return error(422, describe(exc))
    await asyncio.to_thread(registry.upsert_site, db, site)
    return JSONResponse(site.model_dump(mode="json"))


async def delete_site(request: Request) -> Response:
    db = context(request).db
    site_id = request.path_params["site_id"]
    if request.query_params.get("force") != "1":  # removal guard (issue 5)
        blockers = await asyncio.to_thread(registry.removal_blockers, db, site_id)
        if blockers:
            return error(409, f"site {site_id!r}: {'; '.join(blockers)} (add ?force=1)")
    if not await asyncio.to_thread(registry.delete_site, db, site_id):
        return error(404, f"site {site_id!r} is not registered")
    return JSONResponse({"deleted": site_id})


async def put_domains(request: Request) -> Response:
    db = context(request).db
    site_id = request.path_params["site_id"]
    if not await asyncio.to_thread(site_in_subtree, db, principal(request), site_id):
        return error(404, f"site {site_id!r} is not registered")
    try:
        body = await json_body(request)
    except ValueError as exc:
        return error(400, str(exc))
    domains = body.get("domains") if isinstance(body, dict) else None
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        return error(422, "domains: required, a list of host names")
    site = await asyncio.to_thread(registry.get_site, db, site_id)
    if site is None:
        return error(404, f"site {site_id!r} is not registered")
    try:
        changed = Site.model_validate({**site.model_dump(), "domains": domains})
    except ValidationError as exc:
        return error(422, describe(exc))
    await asyncio.to_thread(registry.upsert_site, db, changed)
    return JSONResponse(public_site(changed))


ROUTES: list[Route] = [
    route("/api/v1/sites", list_sites, methods=["GET"], access=Access.ADMIN),
    route("/api/v1/sites/{site_id}", get_site, methods=["GET"], access=Access.ADMIN),
    route("/api/v1/sites/{site_id}", put_site, methods=["PUT"], access=Access.ADMIN),
    route("/api/v1/sites/{site_id}", delete_site, methods=["DELETE"], access=Access.ADMIN),
    route("/api/v1/sites/{site_id}/domains", put_domains, methods=["PUT"], access=Access.EDITOR),
]
