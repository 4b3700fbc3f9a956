"""Admin API of the agency tree and the API tokens (admin token only).

Routes: ``GET /api/v1/agencies`` (``?format=tree`` for an indented text tree),
``GET|PUT|DELETE /api/v1/agencies/{id}``, ``GET /api/v1/agencies/{id}/history``,
``GET /api/v1/agencies/{id}/sites`` (the subtree's sites), ``POST /api/v1/agencies/{id}/rename``
``{"name", "effective"}``, ``POST /api/v1/agencies/{id}/merge`` ``{"into", "effective"}``,
``POST /api/v1/agencies/load`` (a JSON list, parents first or not), ``GET|POST /api/v1/tokens``,
``DELETE /api/v1/tokens/{id}``, ``GET /api/v1/sites/{id}/removal-check``.
Every route is ``Access.ADMIN`` except those an editor token also uses (issue 18), which are
``Access.EDITOR``: ``POST /api/v1/agencies/{id}/children`` (a new agency under ``id``),
``POST /api/v1/agencies/{id}/sites`` (a new site of ``id``, without ingest token), and the token
routes, where an editor lists the tokens of its subtree and creates and revokes *viewer* tokens
for agencies of its subtree. An id outside the editor's subtree answers 404 like an unknown one;
a new agency or site id that is already registered anywhere answers 409 (ids are global).
Handlers return JSON-ready values (``_json``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from api.guard import Access, Handler, context, error, principal, route
from clickhouse import agencies, agency_tree, registry, tokens
from clickhouse.agencies import RegistryError
from indicators.access import Principal, in_subtree
from schemas.agencies import TOP_KINDS, Agency, AgencyKind, parse_agencies
from schemas.common import describe
from schemas.sites import Site


class _BadBody(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def _body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise _BadBody(f"body: not valid JSON ({exc})") from exc


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _BadBody("body: expected a JSON object", 422)
    return body


def _date(body: dict[str, Any], field: str, required: bool) -> date | None:
    value = body.get(field)
    if value is None:
        if required:
            raise _BadBody(f"{field}: required, a date YYYY-MM-DD", 422)
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise _BadBody(f"{field}: {value!r} is not a date YYYY-MM-DD", 422) from exc


def _string(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise _BadBody(f"{field}: required, a non-empty string", 422)
    return value.strip()


def _json(handler: Callable[[Request], Awaitable[Any]]) -> Handler:
    """``handler``'s answer as JSON (a ``Response`` passes as it is), its errors as 4xx."""

    async def answer_of(request: Request) -> Response:
        try:
            answer = await handler(request)
        except _BadBody as exc:
            return error(exc.status, str(exc))
        except RegistryError as exc:
            return error(exc.status, str(exc))
        if isinstance(answer, Response):
            return answer
        return JSONResponse(answer)

    answer_of.__name__ = handler.__name__
    return answer_of


async def list_all(request: Request) -> Any:
    db = context(request).db
    found = await asyncio.to_thread(agencies.list_agencies, db)
    if request.query_params.get("format") == "tree":
        sites = await asyncio.to_thread(registry.list_sites, db)
        counts: dict[str, int] = {}
        for site in sites:
            counts[site.agency_id] = counts.get(site.agency_id, 0) + 1
        return PlainTextResponse("\n".join(agency_tree.tree_lines(found, counts)) + "\n")
    return [a.model_dump(mode="json") for a in found]


async def get_one(request: Request) -> Any:
    db = context(request).db
    agency_id = request.path_params["agency_id"]
    found = await asyncio.to_thread(agencies.get_agency, db, agency_id)
    if found is None:
        return error(404, f"agency {agency_id!r} is not registered")
    return found.model_dump(mode="json")


async def put_one(request: Request) -> Any:
    db = context(request).db
    agency_id = request.path_params["agency_id"]
    body = _object(await _body(request))
    effective = _date(body, "effective", required=False)
    body = {k: v for k, v in body.items() if k != "effective"}
    if body.setdefault("id", agency_id) != agency_id:
        return error(422, f"id: {body['id']!r} differs from the URL's {agency_id!r}")
    try:
        agency = Agency.model_validate(body)
    except ValidationError as exc:
        return error(422, describe(exc))
    stored = await asyncio.to_thread(agencies.upsert_agency, db, agency, effective)
    return stored.model_dump(mode="json")


async def delete_one(request: Request) -> Any:
    db = context(request).db
    agency_id = request.path_params["agency_id"]
    await asyncio.to_thread(agencies.delete_agency, db, agency_id)
    return {"deleted": agency_id}


async def history(request: Request) -> Any:
    db = context(request).db
    agency_id = request.path_params["agency_id"]
    if await asyncio.to_thread(agencies.get_agency, db, agency_id) is None:
        return error(404, f"agency {agency_id!r} is not registered")
    entries = await asyncio.to_thread(agencies.history, db, agency_id)
    return [e.model_dump(mode="json") for e in entries]


async def subtree_sites(request: Request) -> Any:
    db = context(request).db
    agency_id = request.path_params["agency_id"]
    if await asyncio.to_thread(agencies.get_agency, db, agency_id) is None:
        return error(404, f"agency {agency_id!r} is not registered")
    sites = await asyncio.to_thread(agencies.subtree_sites, db, agency_id)
    return [s.model_dump(mode="json", exclude={"ingest_token"}) for s in sites]


async def rename(request: Request) -> Any:
    db = context(request).db
    body = _object(await _body(request))
    name, effective = _string(body, "name"), _date(body, "effective", required=True)
    assert effective is not None
    stored = await asyncio.to_thread(
        agencies.rename_agency, db, request.path_params["agency_id"], name, effective
    )
    return stored.model_dump(mode="json")


async def merge(request: Request) -> Any:
    db = context(request).db
    body = _object(await _body(request))
    into, effective = _string(body, "into"), _date(body, "effective", required=True)
    assert effective is not None
    stored = await asyncio.to_thread(
        agencies.merge_agency, db, request.path_params["agency_id"], into, effective
    )
    return stored.model_dump(mode="json")


async def load(request: Request) -> Any:
    db = context(request).db
    try:
        entries = parse_agencies(await _body(request))
        count = await asyncio.to_thread(agencies.load, db, entries)
    except ValueError as exc:
        if isinstance(exc, _BadBody | RegistryError):
            raise
        return error(422, str(exc))
    return {"loaded": count}


def _scope(db: Any, who: Principal) -> set[str] | None:
    """The agency ids ``who`` manages (None: the admin, every one)."""
    if who.agency_id is None:
        return None
    return agency_tree.subtree(agencies.list_agencies(db), who.agency_id)


async def list_tokens(request: Request) -> Any:
    db, who = context(request).db, principal(request)
    found = await asyncio.to_thread(tokens.list_tokens, db)
    scope = await asyncio.to_thread(_scope, db, who)
    return [t.as_json() for t in found if scope is None or t.agency_id in scope]


async def create_token(request: Request) -> Any:
    db, who = context(request).db, principal(request)
    body = _object(await _body(request))
    agency_id = _string(body, "agency_id")
    name = body.get("name") or ""
    if not isinstance(name, str):
        return error(422, "name: must be a string")
    role = body.get("role") or tokens.VIEWER
    if role not in tokens.ROLES:
        return error(422, f"role: {role!r} is not one of {', '.join(tokens.ROLES)}")
    if not await asyncio.to_thread(in_subtree, db, who, agency_id):
        return error(422, f"agency_id: agency {agency_id!r} is not registered")
    if role != tokens.VIEWER and not who.is_admin:
        return error(403, "role: an editor token creates viewer tokens only")
    info, token = await asyncio.to_thread(tokens.create_token, db, agency_id, name, role)
    return JSONResponse({**info.as_json(), "token": token}, status_code=201)


async def revoke_token(request: Request) -> Any:
    db, who = context(request).db, principal(request)
    token_id = request.path_params["token_id"]
    found = await asyncio.to_thread(tokens.get_token, db, token_id)
    scope = await asyncio.to_thread(_scope, db, who)
    if found is None or (scope is not None and found.agency_id not in scope):
        return error(404, f"token {token_id!r} does not exist")
    if not who.is_admin and found.role != tokens.VIEWER:
        return error(403, "token: an editor token revokes viewer tokens only")
    await asyncio.to_thread(tokens.revoke_token, db, token_id)
    return {"revoked": token_id}


async def _managed(request: Request) -> str:
    """The ``{agency_id}`` of the URL when the caller manages it (else ``_BadBody`` 404)."""
    db, who = context(request).db, principal(request)
    agency_id: str = request.path_params["agency_id"]
    if not await asyncio.to_thread(in_subtree, db, who, agency_id):
        raise _BadBody(f"agency {agency_id!r} is not registered", 404)
    return agency_id


async def add_child(request: Request) -> Any:
    """``POST /api/v1/agencies/{id}/children``: a new agency whose parent is ``id``."""
    db = context(request).db
    parent = await _managed(request)
    body = _object(await _body(request))
    effective = _date(body, "effective", required=False)
    body = {k: v for k, v in body.items() if k != "effective"}
    if body.setdefault("parent_id", parent) != parent:
        return error(422, f"parent_id: {body['parent_id']!r} differs from the URL's {parent!r}")
    for field in ("merged_into", "ended_on"):
        if body.get(field):
            return error(422, f"{field}: not settable here (a merger is the admin's)")
    try:
        agency = Agency.model_validate(body)
    except ValidationError as exc:
        return error(422, describe(exc))
    if agency.kind in TOP_KINDS and not principal(request).is_admin:
        # a "province" below a province would join the provinces' rankings and official tables
        kinds = ", ".join(k.value for k in AgencyKind if k not in TOP_KINDS)
        return error(422, f"kind: {agency.kind.value!r} sits at the top of the tree; use {kinds}")
    if await asyncio.to_thread(agencies.get_agency, db, agency.id) is not None:
        return error(409, f"id: agency {agency.id!r} is already registered")
    stored = await asyncio.to_thread(agencies.upsert_agency, db, agency, effective)
    return JSONResponse(stored.model_dump(mode="json"), status_code=201)


async def add_site(request: Request) -> Any:
    """``POST /api/v1/agencies/{id}/sites``: a new site of agency ``id`` (no ingest token:
    the admin issues those)."""
    db = context(request).db
    owner = await _managed(request)
    body = _object(await _body(request))
    if body.setdefault("agency_id", owner) != owner:
        return error(422, f"agency_id: {body['agency_id']!r} differs from the URL's {owner!r}")
    for field in ("ingest_token", "matomo_id"):
        if body.get(field):
            return error(422, f"{field}: not settable with an editor route (ask the admin)")
    try:
        site = Site.model_validate(body)
    except ValidationError as exc:
        return error(422, describe(exc))
    if await asyncio.to_thread(registry.get_site, db, site.id) is not None:
        return error(409, f"id: site {site.id!r} is already registered")
    if site.parent_site:
        who = principal(request)
        parent = await asyncio.to_thread(registry.get_site, db, site.parent_site)
        if parent is None or not await asyncio.to_thread(in_subtree, db, who, parent.agency_id):
            return error(422, f"parent_site: site {site.parent_site!r} is not registered")
    await asyncio.to_thread(registry.upsert_site, db, site)
    public = site.model_dump(mode="json", exclude={"ingest_token"})
    return JSONResponse(public, status_code=201)


async def removal_check(request: Request) -> Any:
    db = context(request).db
    site_id = request.path_params["site_id"]
    if await asyncio.to_thread(registry.get_site, db, site_id) is None:
        return error(404, f"site {site_id!r} is not registered")
    reasons = await asyncio.to_thread(registry.removal_blockers, db, site_id)
    return {"site": site_id, "blockers": reasons}


BASE = "/api/v1/agencies"
ROUTES: list[Route] = [
    route(BASE, _json(list_all), methods=["GET"], access=Access.ADMIN),
    route(f"{BASE}/load", _json(load), methods=["POST"], access=Access.ADMIN),
    route(BASE + "/{agency_id}", _json(get_one), methods=["GET"], access=Access.ADMIN),
    route(BASE + "/{agency_id}", _json(put_one), methods=["PUT"], access=Access.ADMIN),
    route(BASE + "/{agency_id}", _json(delete_one), methods=["DELETE"], access=Access.ADMIN),
    route(BASE + "/{agency_id}/history", _json(history), methods=["GET"], access=Access.ADMIN),
    route(BASE + "/{agency_id}/sites", _json(subtree_sites), methods=["GET"], access=Access.ADMIN),
    route(BASE + "/{agency_id}/rename", _json(rename), methods=["POST"], access=Access.ADMIN),
    route(BASE + "/{agency_id}/merge", _json(merge), methods=["POST"], access=Access.ADMIN),
    route(BASE + "/{agency_id}/children", _json(add_child), methods=["POST"], access=Access.EDITOR),
    route(BASE + "/{agency_id}/sites", _json(add_site), methods=["POST"], access=Access.EDITOR),
    route("/api/v1/tokens", _json(list_tokens), methods=["GET"], access=Access.EDITOR),
    route("/api/v1/tokens", _json(create_token), methods=["POST"], access=Access.EDITOR),
    route(
        "/api/v1/tokens/{token_id}", _json(revoke_token), methods=["DELETE"], access=Access.EDITOR
    ),
    route(
        "/api/v1/sites/{site_id}/removal-check",
        _json(removal_check),
        methods=["GET"],
        access=Access.ADMIN,
    ),
]
