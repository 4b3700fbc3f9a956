"""HTTP routes of the service catalog and the account lists, per site.

``POST /api/v1/sites/{id}/catalog`` (multipart field ``file``, or the raw .xlsx body;
``default=true`` as a query or form field) imports a catalog version;
``GET /api/v1/sites/{id}/catalog[?version=N&format=json|xlsx]`` exports one (default: the
default version); ``GET …/catalog/history`` lists versions and default switches;
``PUT …/catalog/default`` with ``{"version": N}`` switches the default;
``POST /api/v1/sites/{id}/accounts`` imports an account list (``.xlsx`` or ``.xls`` each);
``GET /api/v1/sites/{id}/accounts/imports`` lists the account imports, newest first.

Why these answers: a refused file answers 422 (415 for a file that is not a workbook) with the
whole report ``{"error", "problem_count", "problems": [{"row", "column", "problem"}]}`` so the
user can fix every row at once; nothing is stored.

Access (issue 18): imports and the default switch are ``Access.EDITOR`` (the admin, or an editor
token for a site of its subtree), reads are ``Access.TOKEN`` (any token, its subtree's sites);
a site outside the token's subtree answers 404 exactly like an unregistered one.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.guard import Access, Handler, context, error, principal, route
from clickhouse import accounts, catalog
from indicators.access import site_in_subtree
from schemas.workbooks import (
    CATALOG_COLUMNS,
    ImportRefused,
    read_accounts,
    read_catalog,
    write_catalog,
)

#: Largest accepted workbook upload (a 5,000-row catalog is about 200 kB).
MAX_UPLOAD_BYTES = 20_000_000
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS_MEDIA = "application/vnd.ms-excel"
_TRUE = {"1", "true", "yes", "on"}


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _upload(request: Request) -> tuple[bytes, str, dict[str, str]]:
    """The uploaded workbook bytes, its file name and the other form fields."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_UPLOAD_BYTES:
        raise _HttpError(413, f"file: larger than {MAX_UPLOAD_BYTES} bytes")
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        try:
            form = await request.form(max_files=1)
        except Exception as exc:  # python-multipart errors share no base class
            raise _HttpError(400, f"body: not a valid multipart form ({exc})") from None
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise _HttpError(400, "file: required, the .xlsx workbook as multipart field 'file'")
        data = await upload.read()
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        name = upload.filename or "upload.xlsx"
    elif kind in (XLSX_MEDIA, XLS_MEDIA, "application/octet-stream"):
        data = await request.body()
        fields, name = {}, request.query_params.get("file_name", "upload.xlsx")
    else:
        raise _HttpError(
            415, f"Content-Type {kind or '(none)'!r}: use multipart/form-data (field 'file')"
        )
    if len(data) > MAX_UPLOAD_BYTES:
        raise _HttpError(413, f"file: larger than {MAX_UPLOAD_BYTES} bytes")
    if not data:
        raise _HttpError(400, "file: empty")
    return data, name, fields


def _per_site(handler: Callable[[Request, str], Awaitable[Response]]) -> Handler:
    """``handler(request, site)`` for a registered ``{site_id}`` that the caller may see (else
    404, the same answer for both); its errors as answers."""

    async def run(request: Request) -> Response:
        db = context(request).db
        site = request.path_params["site_id"]
        try:
            if not await asyncio.to_thread(site_in_subtree, db, principal(request), site):
                return error(404, f"site: {site!r} is not registered")
            return await handler(request, site)
        except _HttpError as exc:
            return error(exc.status, str(exc))
        except ImportRefused as exc:
            return JSONResponse(exc.report(), status_code=exc.status)
        except catalog.CatalogError as exc:
            return error(exc.status, str(exc))

    run.__name__ = handler.__name__
    return run


async def import_catalog(request: Request, site: str) -> Response:
    db = context(request).db
    data, name, fields = await _upload(request)
    flag = fields.get("default", request.query_params.get("default", ""))
    rows = await asyncio.to_thread(read_catalog, data)
    version = await asyncio.to_thread(
        lambda: catalog.import_catalog(
            db,
            site,
            rows,
            file_name=name,
            sha256=hashlib.sha256(data).hexdigest(),
            make_default=flag.strip().lower() in _TRUE,
        )
    )
    return JSONResponse(version.as_json(), status_code=201)


async def export_catalog(request: Request, site: str) -> Response:
    db = context(request).db
    raw_version = request.query_params.get("version")
    version: int | None = None
    if raw_version:
        if not raw_version.isdigit():
            raise _HttpError(400, f"version: {raw_version!r} is not a version number")
        version = int(raw_version)
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "xlsx"):
        raise _HttpError(400, f"format: {fmt!r} is not one of json, xlsx")
    number, rows = await asyncio.to_thread(catalog.services, db, site, version)
    if fmt == "xlsx":
        body = await asyncio.to_thread(write_catalog, rows)
        headers = {"Content-Disposition": f'attachment; filename="catalog-{site}-v{number}.xlsx"'}
        return Response(body, media_type=XLSX_MEDIA, headers=headers)
    answer: dict[str, Any] = {
        "site": site,
        "version": number,
        "columns": list(CATALOG_COLUMNS),
        "services": [
            {
                "row": r.row,
                "name": r.name,
                "level": r.level,
                "url": r.url,
                "id_cdvcqg": r.id_cdvcqg,
                "id_mcdt": r.id_mcdt,
            }
            for r in rows
        ],
    }
    return Response(orjson.dumps(answer), media_type="application/json")


async def catalog_history(request: Request, site: str) -> Response:
    db = context(request).db
    versions = await asyncio.to_thread(catalog.history, db, site)
    changes = await asyncio.to_thread(catalog.default_changes, db, site)
    return JSONResponse(
        {
            "site": site,
            "versions": [v.as_json() for v in versions],
            "default_changes": changes,
        }
    )


async def set_default(request: Request, site: str) -> Response:
    db = context(request).db
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise _HttpError(400, f"body: not valid JSON ({exc})") from None
    version = body.get("version") if isinstance(body, dict) else None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _HttpError(422, "version: required, a catalog version number (1, 2, …)")
    chosen = await asyncio.to_thread(catalog.set_default, db, site, version)
    return JSONResponse(chosen.as_json())


async def import_accounts(request: Request, site: str) -> Response:
    db = context(request).db
    data, name, _ = await _upload(request)
    rows = await asyncio.to_thread(read_accounts, data)
    done = await asyncio.to_thread(
        lambda: accounts.import_accounts(
            db, site, rows, file_name=name, sha256=hashlib.sha256(data).hexdigest()
        )
    )
    return JSONResponse(done.as_json(), status_code=201)


async def account_imports(request: Request, site: str) -> Response:
    db = context(request).db
    found = await asyncio.to_thread(accounts.imports, db, site)
    return JSONResponse({"site": site, "imports": [i.as_json() for i in found]})


BASE = "/api/v1/sites/{site_id}"
EDITOR, TOKEN = Access.EDITOR, Access.TOKEN
ROUTES: list[Route] = [
    route(f"{BASE}/catalog", _per_site(import_catalog), methods=["POST"], access=EDITOR),
    route(f"{BASE}/catalog", _per_site(export_catalog), methods=["GET"], access=TOKEN),
    route(f"{BASE}/catalog/history", _per_site(catalog_history), methods=["GET"], access=TOKEN),
    route(f"{BASE}/catalog/default", _per_site(set_default), methods=["PUT"], access=EDITOR),
    route(f"{BASE}/accounts", _per_site(import_accounts), methods=["POST"], access=EDITOR),
    route(f"{BASE}/accounts/imports", _per_site(account_imports), methods=["GET"], access=TOKEN),
]

#: The upload reading of this module, shared with the other workbook imports (targets,
#: reconciliation: ``api/routes/targets.py``).
HttpError = _HttpError
read_upload = _upload
