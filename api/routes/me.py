"""``GET /api/v1/me``: who the token is and what it may see, for the dashboard's selectors.

Why not ``GET /api/v1/sites``: that list is the collector's (admin token only) and carries every
site's ``ingest_token``, which the collector needs to check the sites' servers and a browser
never does. This answer works for every token and is cut to the token's agency subtree where
the site list is built (``api/access.visible_sites``), so an agency token learns nothing about
sites, agencies or ingest tokens outside it; no ``ingest_token`` is ever in it, not even for the
admin.

Answer: ``{"role": "admin"|"agency", "token_role": "admin"|"viewer"|"editor", "agency":
{...}|null, "agencies": [...], "sites": [...]}`` (``token_role``, issue 18: what the dashboard
offers — an editor gets the import and management screens).
``agencies`` is the token's subtree (the admin: every agency), each with ``sites``, the ids of
the registered sites of its own subtree, so a selector can offer "this agency, all its sites".
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.guard import Access, context, principal, route
from clickhouse import agencies, agency_tree, registry
from clickhouse.client import Database
from indicators.access import Principal
from schemas.agencies import Agency
from schemas.sites import Site

#: Site fields a dashboard may show; never the ingest token.
SITE_FIELDS = ("id", "name", "type", "domains", "timezone", "agency_id", "parent_site")


def public_site(site: Site) -> dict[str, Any]:
    """A site without its secret (``ingest_token``) or ingest-only ids."""
    return site.model_dump(mode="json", include=set(SITE_FIELDS))


def _agency(agency: Agency, sites: list[str], scope: set[str]) -> dict[str, Any]:
    """An agency of the answer; a parent outside ``scope`` is blanked (an id the token may not
    know of)."""
    return {
        "id": agency.id,
        "name": agency.name,
        "kind": agency.kind.value,
        "parent_id": agency.parent_id if agency.parent_id in scope else "",
        "sites": sites,
    }


def describe(db: Database, principal: Principal) -> dict[str, Any]:
    """The ``/me`` answer of ``principal`` (blocking: run in a worker thread)."""
    all_agencies = agencies.list_agencies(db)
    all_sites = registry.list_sites(db)
    if principal.agency_id is None:
        scope = {a.id for a in all_agencies}
        sites = all_sites
    else:
        scope = agency_tree.subtree(all_agencies, principal.agency_id)
        sites = [s for s in all_sites if s.agency_id in scope]
    listed = []
    for agency in sorted((a for a in all_agencies if a.id in scope), key=lambda a: a.id):
        below = agency_tree.subtree(all_agencies, agency.id)
        listed.append(_agency(agency, sorted(s.id for s in sites if s.agency_id in below), scope))
    own = next((a for a in listed if a["id"] == principal.agency_id), None)
    return {
        "role": "admin" if principal.is_admin else "agency",
        "token_role": "admin" if principal.is_admin else principal.role,
        "agency": own,
        "agencies": listed,
        "sites": [public_site(s) for s in sites],
    }


async def me(request: Request) -> Response:
    """``GET /api/v1/me``: who the token is and what it sees."""
    db = context(request).db
    return JSONResponse(await asyncio.to_thread(describe, db, principal(request)))


ROUTES: list[Route] = [route("/api/v1/me", me, methods=["GET"], access=Access.TOKEN)]
