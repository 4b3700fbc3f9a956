"""The agency tree and token admin API on the real ClickHouse engine: the starter file, renames
and mergers with effective dates, guards against loops and against removing what still holds
sites or data."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from clickhouse.client import Database
from core.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "registry-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STARTER = Path(__file__).resolve().parents[2] / "data" / "agencies_vn.json"


@pytest_asyncio.fixture(loop_scope="session")
async def api(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN)  # type: ignore[arg-type]
    app = create_app(settings, Database(clickhouse_engine, ch_database))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        client.headers.update(AUTH)
        yield client


async def _put(api: httpx.AsyncClient, agency: dict[str, Any]) -> httpx.Response:
    return await api.put(f"/api/v1/agencies/{agency['id']}", json=agency)


async def test_starter_file_loads_the_ministries_and_34_provinces(api: httpx.AsyncClient) -> None:
    payload = json.loads(STARTER.read_text(encoding="utf-8"))
    response = await api.post("/api/v1/agencies/load", json=payload)
    assert response.status_code == 200, response.text
    assert response.json() == {"loaded": len(payload["agencies"])}
    listed = (await api.get("/api/v1/agencies")).json()
    provinces = [a for a in listed if a["kind"] == "province"]
    assert len(provinces) == 34
    assert {p["code"] for p in provinces} >= {"01", "79", "48"}
    tree = (await api.get("/api/v1/agencies?format=tree")).text
    assert "ha-noi  Thành phố Hà Nội [province, 01]" in tree
    # loading again is idempotent (same ids, no duplicates)
    await api.post("/api/v1/agencies/load", json=payload)
    assert len((await api.get("/api/v1/agencies")).json()) == len(listed)


async def test_load_refuses_a_dangling_parent_naming_the_entry(api: httpx.AsyncClient) -> None:
    bad = [
        {"id": "a", "name": "A", "kind": "province"},
        {"id": "b", "name": "B", "kind": "department", "parent_id": "missing"},
    ]
    response = await api.post("/api/v1/agencies/load", json=bad)
    assert response.status_code == 422
    assert response.json()["error"].startswith("agency 'b': parent 'missing'")
    invalid = await api.post("/api/v1/agencies/load", json=[{"id": "x", "name": "X", "kind": "?"}])
    assert invalid.status_code == 422 and invalid.json()["error"].startswith("entry 1: kind")
    assert (await api.get("/api/v1/agencies")).json() == []


async def test_tree_edits_rename_merge_and_guards(api: httpx.AsyncClient) -> None:
    for agency in [
        {"id": "p-a", "name": "Tỉnh A", "kind": "province", "code": "10"},
        {"id": "p-b", "name": "Tỉnh B", "kind": "province", "code": "15"},
        {"id": "d-a", "name": "Sở A", "kind": "department", "parent_id": "p-a"},
    ]:
        assert (await _put(api, agency)).status_code == 200
    site = {"id": "s-a", "name": "Cổng A", "type": "portal", "agency_id": "p-a"}
    assert (await api.put("/api/v1/sites/s-a", json=site)).status_code == 200

    loop = await _put(api, {"id": "p-a", "name": "Tỉnh A", "kind": "province", "parent_id": "d-a"})
    assert loop.status_code == 422 and loop.json()["error"].startswith("parent_id:")
    orphan = await _put(api, {"id": "x", "name": "X", "kind": "other", "parent_id": "nope"})
    assert orphan.status_code == 422

    renamed = await api.post(
        "/api/v1/agencies/d-a/rename", json={"name": "Sở A mới", "effective": "2025-03-01"}
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Sở A mới"
    no_date = await api.post("/api/v1/agencies/d-a/rename", json={"name": "Z"})
    assert no_date.status_code == 422 and no_date.json()["error"].startswith("effective:")

    blocked = await api.delete("/api/v1/agencies/p-a")
    assert blocked.status_code == 409
    assert "d-a" in blocked.json()["error"] and "s-a" in blocked.json()["error"]

    merged = await api.post(
        "/api/v1/agencies/p-a/merge", json={"into": "p-b", "effective": "2025-07-01"}
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["merged_into"] == "p-b" and merged.json()["ended_on"] == "2025-07-01"
    assert (await api.get("/api/v1/agencies/d-a")).json()["parent_id"] == "p-b"
    assert (await api.get("/api/v1/sites/s-a")).json()["agency_id"] == "p-b"
    sub = (await api.get("/api/v1/agencies/p-b/sites")).json()
    assert [s["id"] for s in sub] == ["s-a"] and "ingest_token" not in sub[0]

    history = (await api.get("/api/v1/agencies/d-a/history")).json()
    changes = [(h["change"], h["effective"], h["old_value"], h["new_value"]) for h in history]
    assert ("renamed", "2025-03-01", "Sở A", "Sở A mới") in changes
    absorbed = (await api.get("/api/v1/agencies/p-b/history")).json()
    assert ("absorbed", "2025-07-01", "p-a") in [
        (h["change"], h["effective"], h["old_value"]) for h in absorbed
    ]
    self_merge = await api.post(
        "/api/v1/agencies/p-b/merge", json={"into": "p-b", "effective": "2025-07-01"}
    )
    assert self_merge.status_code == 422
    # p-a now has nothing left: it can be removed
    assert (await api.delete("/api/v1/agencies/p-a")).status_code == 200
    assert (await api.get("/api/v1/agencies/p-a")).status_code == 404


async def test_site_removal_guard(
    api: httpx.AsyncClient, clickhouse_engine: Any, ch_database: str
) -> None:
    for sid, parent in (("parent", ""), ("child", "parent"), ("busy", "")):
        body = {"id": sid, "name": sid, "type": "portal", "parent_site": parent}
        assert (await api.put(f"/api/v1/sites/{sid}", json=body)).status_code == 200
    clickhouse_engine.command(
        f"INSERT INTO {ch_database}.pageviews (event_id, site, ts, local_ts, received_ts, visitor_id)"
        " VALUES ('e1', 'busy', now64(3), now64(3), now64(3), 'v')"
    )
    managed = await api.delete("/api/v1/sites/parent")
    assert managed.status_code == 409 and "it manages sites child" in managed.json()["error"]
    busy = await api.delete("/api/v1/sites/busy")
    assert busy.status_code == 409 and "pageviews holds 1 rows" in busy.json()["error"]
    check = (await api.get("/api/v1/sites/busy/removal-check")).json()
    assert check == {"site": "busy", "blockers": ["pageviews holds 1 rows for it"]}
    assert (await api.delete("/api/v1/sites/child")).status_code == 200
    assert (await api.delete("/api/v1/sites/parent")).status_code == 200
    assert (await api.delete("/api/v1/sites/busy?force=1")).status_code == 200


async def test_tokens_api(api: httpx.AsyncClient) -> None:
    await _put(api, {"id": "p-a", "name": "A", "kind": "province"})
    unknown = await api.post("/api/v1/tokens", json={"agency_id": "nope"})
    assert unknown.status_code == 422 and unknown.json()["error"].startswith("agency_id:")
    made = await api.post("/api/v1/tokens", json={"agency_id": "p-a", "name": "team"})
    assert made.status_code == 201
    token = made.json()["token"]
    assert token.startswith(f"emc_{made.json()['id']}_")
    listed = (await api.get("/api/v1/tokens")).json()
    assert [t["id"] for t in listed] == [made.json()["id"]]
    assert "token" not in listed[0] and token not in str(listed)
    assert (await api.delete(f"/api/v1/tokens/{made.json()['id']}")).status_code == 200
    assert (await api.get("/api/v1/tokens")).json()[0]["revoked"] is True
    assert (await api.delete("/api/v1/tokens/nope")).status_code == 404
