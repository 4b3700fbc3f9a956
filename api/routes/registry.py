"""Admin API of the agency tree and the API tokens (admin token only).

Routes: ``GET /api/v1/agencies`` (``?format=tree`` for an indented text tree),
``GET|PUT|DELETE /api/v1/agencies/{id}``, ``GET /api/v1/agencies/{id}/history``,
``GET /api/v1/agencies/{id}/sites`` (the subtree's sites), ``POST /api/v1/agencies/{id}/rename``
``{"name", "effective"}``, ``POST /api/v1/agencies/{id}/merge`` ``{"into", "effective"}``,
``POST /api/v1/agencies/load`` (a JSON list, parents first or not), ``GET|POST /api/v1/tokens``,
``DELETE /api/v1/tokens/{id}``, ``GET /api/v1/sites/{id}/removal-check``.
Why its own module: ``api/app.py`` keeps the core; this adds one line there.
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

from api.auth import is_admin
from api.endpoints import UNAUTHORIZED, error
from clickhouse import agencies, agency_tree, registry, tokens
from clickhouse.agencies import RegistryError
from clickhouse.client import Database
from core.settings import Settings
from schemas.agencies import Agency, parse_agencies
from schemas.common import describe

_Handler = Callable[[Request], Awaitable[Response]]


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


def routes(settings: Settings, db: Database) -> list[Route]:
    """The registry routes, all behind the admin token."""
    admin_token = settings.admin_token.get_secret_value()

    def admin(handler: Callable[[Request], Awaitable[Any]]) -> _Handler:
        async def guarded(request: Request) -> Response:
            if not is_admin(request, admin_token):
                return error(401, UNAUTHORIZED)
            try:
                answer = await handler(request)
            except _BadBody as exc:
                return error(exc.status, str(exc))
            except RegistryError as exc:
                return error(exc.status, str(exc))
            if isinstance(answer, Response):
                return answer
            return JSONResponse(answer)

        return guarded

    async def list_all(request: Request) -> Any:
        found = await asyncio.to_thread(agencies.list_agencies, db)
        if request.query_params.get("format") == "tree":
            sites = await asyncio.to_thread(registry.list_sites, db)
            counts: dict[str, int] = {}
            for site in sites:
                counts[site.agency_id] = counts.get(site.agency_id, 0) + 1
            return PlainTextResponse("\n".join(agency_tree.tree_lines(found, counts)) + "\n")
        return [a.model_dump(mode="json") for a in found]

    async def get_one(request: Request) -> Any:
        agency_id = request.path_params["agency_id"]
        found = await asyncio.to_thread(agencies.get_agency, db, agency_id)
        if found is None:
            return error(404, f"agency {agency_id!r} is not registered")
        return found.model_dump(mode="json")

    async def put_one(request: Request) -> Any:
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
        agency_id = request.path_params["agency_id"]
        await asyncio.to_thread(agencies.delete_agency, db, agency_id)
        return {"deleted": agency_id}

    async def history(request: Request) -> Any:
        agency_id = request.path_params["agency_id"]
        if await asyncio.to_thread(agencies.get_agency, db, agency_id) is None:
            return error(404, f"agency {agency_id!r} is not registered")
        entries = await asyncio.to_thread(agencies.history, db, agency_id)
        return [e.model_dump(mode="json") for e in entries]

    async def subtree_sites(request: Request) -> Any:
        agency_id = request.path_params["agency_id"]
        if await asyncio.to_thread(agencies.get_agency, db, agency_id) is None:
            return error(404, f"agency {agency_id!r} is not registered")
        sites = await asyncio.to_thread(agencies.subtree_sites, db, agency_id)
        return [s.model_dump(mode="json", exclude={"ingest_token"}) for s in sites]

    async def rename(request: Request) -> Any:
        body = _object(await _body(request))
        name, effective = _string(body, "name"), _date(body, "effective", required=True)
        assert effective is not None
        stored = await asyncio.to_thread(
            agencies.rename_agency, db, request.path_params["agency_id"], name, effective
        )
        return stored.model_dump(mode="json")

    async def merge(request: Request) -> Any:
        body = _object(await _body(request))
        into, effective = _string(body, "into"), _date(body, "effective", required=True)
        assert effective is not None
        stored = await asyncio.to_thread(
            agencies.merge_agency, db, request.path_params["agency_id"], into, effective
        )
        return stored.model_dump(mode="json")

    async def load(request: Request) -> Any:
        try:
            entries = parse_agencies(await _body(request))
            count = await asyncio.to_thread(agencies.load, db, entries)
        except ValueError as exc:
            if isinstance(exc, _BadBody | RegistryError):
                raise
            return error(422, str(exc))
        return {"loaded": count}

    async def list_tokens(request: Request) -> Any:
        found = await asyncio.to_thread(tokens.list_tokens, db)
        return [t.as_json() for t in found]

    async def create_token(request: Request) -> Any:
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
        token_id = request.path_params["token_id"]
        if not await asyncio.to_thread(tokens.revoke_token, db, token_id):
            return error(404, f"token {token_id!r} does not exist")
        return {"revoked": token_id}

    async def removal_check(request: Request) -> Any:
        site_id = request.path_params["site_id"]
        if await asyncio.to_thread(registry.get_site, db, site_id) is None:
            return error(404, f"site {site_id!r} is not registered")
        reasons = await asyncio.to_thread(registry.removal_blockers, db, site_id)
        return {"site": site_id, "blockers": reasons}

    base = "/api/v1/agencies"
    return [
        Route(base, admin(list_all), methods=["GET"]),
        Route(f"{base}/load", admin(load), methods=["POST"]),
        Route(base + "/{agency_id}", admin(get_one), methods=["GET"]),
        Route(base + "/{agency_id}", admin(put_one), methods=["PUT"]),
        Route(base + "/{agency_id}", admin(delete_one), methods=["DELETE"]),
        Route(base + "/{agency_id}/history", admin(history), methods=["GET"]),
        Route(base + "/{agency_id}/sites", admin(subtree_sites), methods=["GET"]),
        Route(base + "/{agency_id}/rename", admin(rename), methods=["POST"]),
        Route(base + "/{agency_id}/merge", admin(merge), methods=["POST"]),
        Route("/api/v1/tokens", admin(list_tokens), methods=["GET"]),
        Route("/api/v1/tokens", admin(create_token), methods=["POST"]),
        Route("/api/v1/tokens/{token_id}", admin(revoke_token), methods=["DELETE"]),
        Route("/api/v1/sites/{site_id}/removal-check", admin(removal_check), methods=["GET"]),
    ]
