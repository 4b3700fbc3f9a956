"""The dashboard's file routes: the page, its own files, and only the allowed library folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.testclient import TestClient

from api.routes.dashboard import DASHBOARD_DIR, ROUTES, VENDOR


def _app(root: Path) -> Starlette:
    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": f"no route {request.url.path}"}, status_code=404)

    app = Starlette(routes=ROUTES, exception_handlers={404: not_found})
    app.state.dashboard_root = root
    return app


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    (tmp_path / "static" / "js").mkdir(parents=True)
    (tmp_path / "static" / "index.html").write_text("<!doctype html><title>t</title>")
    (tmp_path / "static" / "js" / "main.js").write_text("export const x = 1;")
    (tmp_path / "static" / "notes.txt").write_text("not served")
    dist = tmp_path / "node_modules" / "echarts" / "dist"
    dist.mkdir(parents=True)
    (dist / "echarts.esm.min.mjs").write_text("export default {};")
    (tmp_path / "node_modules" / "echarts" / "package.json").write_text("{}")
    (tmp_path / "node_modules" / "secret").mkdir()
    (tmp_path / "node_modules" / "secret" / "x.js").write_text("nope")
    return tmp_path


@pytest.fixture()
def client(root: Path) -> Iterator[TestClient]:
    with TestClient(_app(root)) as test_client:
        yield test_client


def test_page_and_own_files_with_javascript_types(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.text.startswith("<!doctype html>")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    script = client.get("/static/js/main.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"


def test_module_files_are_served_as_javascript(client: TestClient) -> None:
    """Browsers refuse module scripts of another type; Python 3.11 does not know .mjs."""
    response = client.get("/vendor/echarts/echarts.esm.min.mjs")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.text == "export default {};"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/vendor/secret/x.js", "package 'secret' is not served"),
        ("/vendor/echarts/../package.json", None),  # the client resolves the dots itself
        ("/vendor/echarts/%2e%2e/package.json", "no file '../package.json' in package 'echarts'"),
        ("/vendor/echarts/missing.mjs", "no file 'missing.mjs' in package 'echarts'"),
        ("/static/notes.txt", "no dashboard file 'notes.txt'"),
        ("/static/../node_modules/secret/x.js", None),
    ],
)
def test_nothing_outside_the_allow_list(client: TestClient, path: str, message: str | None) -> None:
    response = client.get(path)
    assert response.status_code == 404
    body = response.json()
    assert body["error"] != ""
    if message:
        assert body["error"].startswith(message)


def test_a_missing_install_names_the_command(client: TestClient, root: Path) -> None:
    response = client.get("/vendor/world-atlas/countries-110m.json")
    assert response.status_code == 503
    assert "make dashboard" in response.json()["error"]


def test_the_import_map_points_at_served_files() -> None:
    """Every library the page imports is in the allow-list and exists after `make dashboard`."""
    page = (DASHBOARD_DIR / "static" / "index.html").read_text()
    for url in ("/vendor/echarts/echarts.esm.min.mjs", "/vendor/topojson-client/index.js"):
        assert url in page
        package, relative = url.removeprefix("/vendor/").split("/", 1)
        assert package in VENDOR
        if (DASHBOARD_DIR / "node_modules").is_dir():
            assert (DASHBOARD_DIR / "node_modules" / VENDOR[package] / relative).is_file()
