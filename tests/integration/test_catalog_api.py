"""Catalog and account imports over the warehouse API (real chDB), and the ``emc catalog`` /
``emc accounts`` commands in a separate process (direct database mode)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from openpyxl import load_workbook

from api.app import create_app
from clickhouse.client import Database
from core.settings import Settings
from schemas.workbooks import read_catalog, write_catalog
from tests.conftest import free_port

pytestmark = [pytest.mark.integration]
ASYNC = pytest.mark.asyncio(loop_scope="session")

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
TOKEN = "cat-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest_asyncio.fixture(loop_scope="session")
async def api(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    db.command(
        "INSERT INTO sites (id, name, type, updated_at) VALUES ('mc', 'MC', 'onestop', now64())"
    )
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _read(path: Path) -> bytes:
    return path.read_bytes()


async def _upload(api: httpx.AsyncClient, path: Path, **data: str) -> httpx.Response:
    return await api.post(
        "/api/v1/sites/mc/catalog",
        files={"file": (path.name, _read(path), XLSX)},
        data=data,
        headers=AUTH,
    )


async def _levels(api: httpx.AsyncClient, **params: str) -> dict[str, int]:
    answer = (await api.get("/api/v1/sites/mc/catalog", params=params, headers=AUTH)).json()
    return {s["id_mcdt"]: s["level"] for s in answer["services"]}


@ASYNC
async def test_versions_default_history_and_export(
    api: httpx.AsyncClient, clickhouse_engine: Any, ch_database: str, tmp_path: Path
) -> None:
    sample = read_catalog((SAMPLES / "catalog.xlsx").read_bytes())
    first = await _upload(api, SAMPLES / "catalog.xlsx")
    assert first.status_code == 201, first.text
    assert first.json() | {"imported_at": "", "sha256": ""} == {
        "site": "mc", "version": 1, "imported_at": "", "file_name": "catalog.xlsx",
        "rows": len(sample), "sha256": "", "is_default": True,  # the first one is used at once
    }  # fmt: skip
    assert await _levels(api) == {r.id_mcdt: r.level for r in sample}

    # version 2: birth registration drops to level 3; not the default until switched
    changed = [r if r.id_mcdt != "1.001193" else replace(r, level=3) for r in sample]
    second_file = tmp_path / "catalog-v2.xlsx"
    second_file.write_bytes(write_catalog(changed))
    second = await _upload(api, second_file)
    assert second.status_code == 201 and second.json()["version"] == 2
    assert second.json()["is_default"] is False
    assert (await _levels(api))["1.001193"] == 4
    switched = await api.put("/api/v1/sites/mc/catalog/default", json={"version": 2}, headers=AUTH)
    assert switched.status_code == 200 and switched.json()["is_default"] is True
    assert (await _levels(api))["1.001193"] == 3
    assert (await _levels(api, version="1"))["1.001193"] == 4
    db = Database(clickhouse_engine, ch_database)
    assert db.query("SELECT level FROM catalog WHERE id_mcdt = '1.001193'").result_rows == [(3,)]

    # a third import with --default becomes the default at once
    third = await _upload(api, SAMPLES / "catalog.xlsx", default="true")
    assert third.json()["version"] == 3 and third.json()["is_default"] is True
    history = (await api.get("/api/v1/sites/mc/catalog/history", headers=AUTH)).json()
    assert [(v["version"], v["is_default"]) for v in history["versions"]] == [
        (1, False), (2, False), (3, True)
    ]  # fmt: skip
    assert [c["version"] for c in history["default_changes"]] == [1, 2, 3]

    export = await api.get(
        "/api/v1/sites/mc/catalog", params={"version": "2", "format": "xlsx"}, headers=AUTH
    )
    assert export.status_code == 200 and export.headers["content-type"] == XLSX
    assert read_catalog(export.content) == changed
    header = next(
        load_workbook(io.BytesIO(export.content)).worksheets[0].iter_rows(values_only=True)
    )
    assert list(header) == ["Name", "Level", "Url", "ID CDVCQG", "ID MCDT"]


@pytest.mark.parametrize(
    ("name", "status", "row", "column"),
    [
        ("catalog_missing_column", 422, 1, "ID MCDT"),
        ("catalog_unknown_level", 422, 4, "Level"),
        ("catalog_duplicate_id_mcdt", 422, 9, "ID MCDT"),
        ("catalog_empty_name", 422, 5, "Name"),
        ("catalog_not_xlsx", 415, 0, ""),
    ],
)
@ASYNC
async def test_a_broken_catalog_is_refused_whole(
    api: httpx.AsyncClient,
    clickhouse_engine: Any,
    ch_database: str,
    name: str,
    status: int,
    row: int,
    column: str,
) -> None:
    response = await _upload(api, SAMPLES / "broken" / f"{name}.xlsx", default="true")
    assert response.status_code == status
    body = response.json()
    assert body["error"].startswith("catalog: refused, nothing imported")
    assert [(p["row"], p["column"]) for p in body["problems"]] == [(row, column)]
    db = Database(clickhouse_engine, ch_database)
    for table in ("catalog_services", "catalog_versions", "catalog_defaults"):
        assert db.query(f"SELECT count() FROM {table}").result_rows == [(0,)], table


@ASYNC
async def test_errors_name_what_to_fix(api: httpx.AsyncClient) -> None:
    sample = SAMPLES / "catalog.xlsx"
    unknown = await api.post(
        "/api/v1/sites/nope/catalog", files={"file": ("c.xlsx", sample.read_bytes())}, headers=AUTH
    )
    assert unknown.status_code == 404 and unknown.json()["error"].startswith("site:")
    no_token = await api.post("/api/v1/sites/mc/catalog", files={"file": ("c.xlsx", b"x")})
    assert no_token.status_code == 401
    no_file = await api.post("/api/v1/sites/mc/catalog", data={"x": "1"}, headers=AUTH)
    assert no_file.status_code in (400, 415)
    assert no_file.json()["error"].startswith(("file:", "Content-Type"))
    missing = await api.post(
        "/api/v1/sites/mc/catalog", files={"other": ("c.xlsx", b"x")}, headers=AUTH
    )
    assert missing.status_code == 400 and missing.json()["error"].startswith("file:")
    none_yet = await api.get("/api/v1/sites/mc/catalog", headers=AUTH)
    assert none_yet.status_code == 404 and "no service catalog" in none_yet.json()["error"]
    bad_version = await api.put(
        "/api/v1/sites/mc/catalog/default", json={"version": 7}, headers=AUTH
    )
    assert bad_version.status_code == 404 and bad_version.json()["error"].startswith("version:")
    not_number = await api.put(
        "/api/v1/sites/mc/catalog/default", json={"version": "2"}, headers=AUTH
    )
    assert not_number.status_code == 422


@ASYNC
async def test_account_lists(
    api: httpx.AsyncClient, clickhouse_engine: Any, ch_database: str
) -> None:
    sample = SAMPLES / "accounts.xlsx"
    done = await api.post(
        "/api/v1/sites/mc/accounts",
        files={"file": (sample.name, sample.read_bytes())},
        headers=AUTH,
    )
    assert done.status_code == 201 and done.json()["rows"] == 5 and done.json()["import_id"] == 1
    broken = SAMPLES / "broken" / "accounts_unknown_type.xlsx"
    refused = await api.post(
        "/api/v1/sites/mc/accounts",
        files={"file": (broken.name, broken.read_bytes())},
        headers=AUTH,
    )
    assert refused.status_code == 422
    assert refused.json()["problems"] == [
        {"row": 3, "column": "TYPE", "problem": refused.json()["problems"][0]["problem"]}
    ]
    db = Database(clickhouse_engine, ch_database)
    rows = db.query(
        "SELECT id_local, type, created_local, last_login_local FROM accounts_current "
        "WHERE id_local IN ('u-0003', 'u-0002') ORDER BY id_local"
    ).result_rows
    assert [(r[0], r[1]) for r in rows] == [("u-0002", 2), ("u-0003", 1)]
    assert rows[0][3] is None
    assert rows[1][2].replace(tzinfo=None).isoformat() == "2026-02-15T00:00:00"


def test_the_cli_in_direct_database_mode(tmp_path: Path) -> None:
    """Nothing runs: the commands open the database themselves (a process of their own,
    because chDB allows one data folder per process)."""
    env = {
        **os.environ,
        "EMC_DATA_DIR": str(tmp_path / "data"),
        "EMC_API_URL": f"http://127.0.0.1:{free_port()}",
        "EMC_LOG_LEVEL": "WARNING",
    }
    script = f"""
import sys
from emc.cli import main
from clickhouse.client import open_database
from clickhouse.migrate import migrate
from clickhouse.registry import upsert_site
from core.settings import load_settings
from schemas.sites import Site
settings = load_settings()
db = open_database(settings)
migrate(db.client, settings.clickhouse_database)
upsert_site(db, Site(id="mc", name="MC", type="onestop"))
codes = [
    main(["catalog", "import", "{SAMPLES / "catalog.xlsx"}", "--site", "mc"]),
    main(["catalog", "import", "{SAMPLES / "catalog.xlsx"}", "--site", "mc"]),
    main(["catalog", "set-default", "--site", "mc", "--version", "2"]),
    main(["catalog", "history", "--site", "mc"]),
    main(["catalog", "export", "--site", "mc", "--out", "{tmp_path / "out.xlsx"}"]),
    main(["catalog", "import", "{SAMPLES / "broken" / "catalog_unknown_level.xlsx"}", "--site", "mc"]),
    main(["accounts", "import", "{SAMPLES / "accounts.xlsx"}", "--site", "mc"]),
    main(["catalog", "set-default", "--site", "mc", "--version", "9"]),
]
print("CODES", codes)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "CODES [0, 0, 0, 0, 0, 1, 0, 1]" in done.stdout, done.stdout + done.stderr
    assert "version 1 with 7 services, the default" in done.stdout
    assert "version 2 with 7 services, not the default" in done.stdout
    assert "version 2 is now the default" in done.stdout
    assert "row 4, column Level: unknown level 2" in done.stderr
    assert "has no catalog version 9" in done.stderr
    assert "import 1 with 5 accounts" in done.stdout
    assert read_catalog((tmp_path / "out.xlsx").read_bytes()) == read_catalog(
        (SAMPLES / "catalog.xlsx").read_bytes()
    )
