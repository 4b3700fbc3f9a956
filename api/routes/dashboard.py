"""Serves the web dashboard (``dashboard/static``) and its front-end libraries at ``/``.

Why here and not a separate server: the dashboard is a handful of plain ES modules that call the
warehouse's own API, so the warehouse process serves it (same origin, no CORS, nothing more to
start). The libraries (charts, world geometry, ISO code table) come from the npm registry by
``make dashboard`` (``npm ci`` in ``dashboard/``) and are served from ``dashboard/node_modules``
through an allow-list: only the folders named in ``VENDOR`` are reachable, never the whole tree.

Routes: ``/`` the page, ``/static/…`` the dashboard's own files, ``/vendor/<package>/…`` the
allowed library folders. A missing library answers 503 naming the command that installs it.
None of these need the bearer token: the page holds no data; every number comes from ``/api/``.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from api.guard import Access, error, route

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "dashboard"

#: URL name → folder inside ``node_modules`` that may be served (and nothing else).
VENDOR: dict[str, str] = {
    "echarts": "echarts/dist",
    "topojson-client": "topojson-client/src",
    "world-atlas": "world-atlas",
    "i18n-iso-countries": "i18n-iso-countries",
}

#: Module scripts need a JavaScript type; Python 3.11's mimetypes does not know ``.mjs``.
_MEDIA = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
_SERVED = frozenset(_MEDIA)


def _inside(base: Path, relative: str) -> Path | None:
    """``base/relative`` when it is a servable file inside ``base`` (no ``..`` escapes)."""
    if not relative or "\x00" in relative:
        return None
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base.resolve()) or not candidate.is_file():
        return None
    if candidate.suffix not in _SERVED:
        return None
    return candidate


def _file(path: Path, cache: str) -> Response:
    return FileResponse(path, media_type=_MEDIA[path.suffix], headers={"Cache-Control": cache})


def _root(request: Request) -> Path:
    """The ``dashboard/`` folder (``app.state.dashboard_root``: tests serve another)."""
    root: Path = getattr(request.app.state, "dashboard_root", DASHBOARD_DIR)
    return root


async def index(request: Request) -> Response:
    page = _root(request) / "static" / "index.html"
    if not page.is_file():
        return error(404, f"dashboard page {page} is missing")
    return _file(page, "no-cache")


async def own_file(request: Request) -> Response:
    relative = request.path_params["path"]
    found = _inside(_root(request) / "static", relative)
    if found is None:
        return error(404, f"no dashboard file {relative!r}")
    return _file(found, "no-cache")


async def vendor_file(request: Request) -> Response:
    package = request.path_params["package"]
    relative = request.path_params["path"]
    folder = VENDOR.get(package)
    if folder is None:
        return error(404, f"package {package!r} is not served (allowed: {', '.join(VENDOR)})")
    modules = _root(request) / "node_modules"
    base = modules / folder
    if not base.is_dir():
        return error(
            503,
            f"front-end package {package!r} is not installed in {modules}: run `make dashboard`",
        )
    found = _inside(base, relative)
    if found is None:
        return error(404, f"no file {relative!r} in package {package!r}")
    return _file(found, "public, max-age=3600")


ROUTES: list[Route] = [
    route("/", index, methods=["GET"], access=Access.PUBLIC),
    route("/static/{path:path}", own_file, methods=["GET"], access=Access.PUBLIC),
    route("/vendor/{package}/{path:path}", vendor_file, methods=["GET"], access=Access.PUBLIC),
]
