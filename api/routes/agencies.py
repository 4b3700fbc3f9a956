"""Admin API of the agency tree and the API tokens (admin token only).

Routes: ``GET /api/v1/agencies`` (``?format=tree`` for an indented text tree),
``GET|PUT|DELETE /api/v1/agencies/{id}``, ``GET /api/v1/agencies/{id}/history``,
``GET /api/v1/agencies/{id}/sites`` (the subtree's sites), ``POST /api/v1/agencies/{id}/rename``
``{"name", "effective"}``, ``POST /api/v1/agencies/{id}/merge`` ``{"into", "effective"}``,
``POST /api/v1/agencies/load`` (a JSON list, parents first or not), ``GET|POST /api/v1/tokens``,
``DELETE /api/v1/tokens/{id}``, ``GET /api/v1/sites/{id}/removal-check``.
Every route is ``Access.ADMIN``; handlers return JSON-ready values (``_json``).
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

from api.guard import Access, Handler, context, error, route
from clickhouse import agencies, agency_tree, registry, tokens
from clickhouse.agencies import RegistryError
from schemas.agencies import Agency, parse_agencies
from schemas.common import describe


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


async def list_tokens(request: Request) -> Any:
    db = context(request).db
    found = await asyncio.to_thread(tokens.list_tokens, db)
    return [t.as_json() for t in found]


async def create_token(request: Request) -> Any:
    db = context(request).db
    body = _object(await _body(request))
    agency_id = _string(body, "agency_id")
    name = body.get("name") or ""
    if not isinstance(name, str):
        return error(422, "name: must be a string")
    if await asyncio.to_thread(agencies.get_agency, db, agency_id) is None:
        return error(422, f"agency_id: agency {agency_id!r} is not registered")
    info, token = await asyncio.to_thread(tokens.create_token, db, agency_id, name)
    return JSONResponse({**info.as_json(), "token": token}, status_code=201)


async def revoke_token(request: Request) -> Any:
    db = context(request).db
    token_id = request.path_params["token_id"]
    if not await asyncio.to_thread(tokens.revoke_token, db, token_id):
        return error(404, f"token {token_id!r} does not exist")
    return {"revoked": token_id}


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
    route("/api/v1/tokens", _json(list_tokens), methods=["GET"], access=Access.ADMIN),
    route("/api/v1/tokens", _json(create_token), methods=["POST"], access=Access.ADMIN),
    route(
        "/api/v1/tokens/{token_id}", _json(revoke_token), methods=["DELETE"], access=Access.ADMIN
    ),
    route(
        "/api/v1/sites/{site_id}/removal-check",
        _json(removal_check),
        methods=["GET"],
        access=Access.ADMIN,
    ),
]
