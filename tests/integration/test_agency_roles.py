"""Token roles (issue 18): an editor manages its own subtree, a viewer only reads, and neither
reaches another subtree's objects through any new or opened route.

The tree (one database for the module; each test uses its own ids where it writes):

    prov (province) ─┬─ dept (department) ── site dept-web
                     └─ dist (commune)    ── site dist-mc
    other (province) ── site other-web

Tokens: ``editor`` and ``viewer`` of ``prov``, ``rival`` (an editor of ``other``), and the admin.
As for the read routes (``test_agency_access``), an object outside the token's subtree answers
exactly like an id that does not exist: same status, same message with the id swapped.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from clickhouse import agencies, registry, tokens
from clickhouse.client import Database
from clickhouse.migrate import migrate
from core.settings import Settings
from schemas.agencies import Agency, AgencyKind
from schemas.sites import Site, SiteType

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
TOKEN = "roles-admin"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def roles_db(clickhouse_engine: Any) -> Iterator[Database]:
    """One migrated database for the module (the tree is only added to, never reshaped)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    clickhouse_engine.command(f"CREATE DATABASE {name}")
    migrate(clickhouse_engine, name)
    db = Database(clickhouse_engine, name)
    agencies.load(
        db,
        [
            Agency(id="prov", name="Tỉnh P", kind=AgencyKind.PROVINCE, code="90"),
            Agency(id="dept", name="Sở Tư pháp", kind=AgencyKind.DEPARTMENT, parent_id="prov"),
            Agency(id="dist", name="Phường D", kind=AgencyKind.COMMUNE, parent_id="prov"),
            Agency(id="other", name="Tỉnh O", kind=AgencyKind.PROVINCE, code="91"),
        ],
    )
    for site, kind, agency in (
        ("dept-web", SiteType.PORTAL, "dept"),
        ("dist-mc", SiteType.ONESTOP, "dist"),
        ("other-web", SiteType.PORTAL, "other"),
    ):
        registry.upsert_site(
            db,
            Site(id=site, name=site, type=kind, agency_id=agency, ingest_token=f"secret-{site}"),
        )
    try:
        yield db
    finally:
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {name} SYNC")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest_asyncio.fixture(loop_scope="session")
async def world(roles_db: Database) -> AsyncIterator[dict[str, Any]]:
    settings = Settings(
        clickhouse_database=roles_db.database,
        admin_token=TOKEN,  # type: ignore[arg-type]
    )
    _, editor = tokens.create_token(roles_db, "prov", "editors of P", tokens.EDITOR)
    _, viewer = tokens.create_token(roles_db, "prov", "analysts of P")
    _, rival = tokens.create_token(roles_db, "other", "editors of O", tokens.EDITOR)
    transport = httpx.ASGITransport(app=create_app(settings, roles_db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield {
            "api": client,
            "db": roles_db,
            "editor": _bearer(editor),
            "viewer": _bearer(viewer),
            "rival": _bearer(rival),
        }


def _xls_catalog() -> bytes:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("DVC")
    rows = [
        ["Name", "Level", "Url", "ID CDVCQG", "ID MCDT"],
        ["Đăng ký khai sinh", 4, "", "1.001193", "1.001193"],
        ["Cấp phép xây dựng", 3, "", "", "1.000894"],
    ]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _upload(name: str, data: bytes) -> dict[str, Any]:
    return {"files": {"file": (name, data, XLSX)}}


# --- what an editor may do in its own subtree -----------------------------------------------


async def test_an_editor_imports_its_sites_catalogs_and_accounts(world: dict[str, Any]) -> None:
    api, editor, viewer = world["api"], world["editor"], world["viewer"]
    xlsx = (SAMPLES / "catalog.xlsx").read_bytes()
    first = await api.post(
        "/api/v1/sites/dept-web/catalog", headers=editor, **_upload("catalog.xlsx", xlsx)
    )
    assert first.status_code == 201, first.text
    assert (first.json()["version"], first.json()["is_default"]) == (1, True)
    # the legacy .xls that units still produce, as version 2, made the default
    second = await api.post(
        "/api/v1/sites/dept-web/catalog",
        headers=editor,
        data={"default": "true"},
        files={"file": ("dm.xls", _xls_catalog(), "application/vnd.ms-excel")},
    )
    assert second.status_code == 201, second.text
    assert (second.json()["version"], second.json()["rows"], second.json()["is_default"]) == (
        2, 2, True,
    )  # fmt: skip
    back = await api.put(
        "/api/v1/sites/dept-web/catalog/default", json={"version": 1}, headers=editor
    )
    assert back.status_code == 200 and back.json()["version"] == 1
    # a viewer of the same province reads the history and the export, but cannot import
    history = await api.get("/api/v1/sites/dept-web/catalog/history", headers=viewer)
    assert history.status_code == 200
    assert [v["is_default"] for v in history.json()["versions"]] == [True, False]
    assert [c["version"] for c in history.json()["default_changes"]] == [1, 2, 1]
    export = await api.get("/api/v1/sites/dept-web/catalog?version=2", headers=viewer)
    assert [s["id_mcdt"] for s in export.json()["services"]] == ["1.001193", "1.000894"]
    refused = await api.post(
        "/api/v1/sites/dept-web/catalog", headers=viewer, **_upload("c.xlsx", xlsx)
    )
    assert refused.status_code == 403 and "editor token" in refused.json()["error"]
    # accounts, and a refused file reports its rows without storing anything
    accounts = (SAMPLES / "accounts.xlsx").read_bytes()
    done = await api.post(
        "/api/v1/sites/dist-mc/accounts", headers=editor, **_upload("tk.xlsx", accounts)
    )
    assert done.status_code == 201, done.text
    broken = (SAMPLES / "broken" / "catalog_unknown_level.xlsx").read_bytes()
    bad = await api.post(
        "/api/v1/sites/dist-mc/catalog", headers=editor, **_upload("bad.xlsx", broken)
    )
    assert bad.status_code == 422 and bad.json()["problems"][0]["column"] == "Level"
    imports = await api.get("/api/v1/sites/dist-mc/accounts/imports", headers=viewer)
    assert [i["file_name"] for i in imports.json()["imports"]] == ["tk.xlsx"]


async def test_an_editor_edits_domains_and_adds_agencies_and_sites(world: dict[str, Any]) -> None:
    api, db, editor = world["api"], world["db"], world["editor"]
    put = await api.put(
        "/api/v1/sites/dept-web/domains", json={"domains": ["stp.p.gov.vn"]}, headers=editor
    )
    assert put.status_code == 200, put.text
    assert put.json()["domains"] == ["stp.p.gov.vn"] and "ingest_token" not in put.json()
    stored = registry.get_site(db, "dept-web")
    assert stored is not None and stored.ingest_token == "secret-dept-web"  # kept
    bad = await api.put(
        "/api/v1/sites/dept-web/domains", json={"domains": ["not a host"]}, headers=editor
    )
    assert bad.status_code == 422 and "domains" in bad.json()["error"]

    child = {"id": "xa-a", "name": "Xã A", "kind": "commune"}
    made = await api.post("/api/v1/agencies/prov/children", json=child, headers=editor)
    assert made.status_code == 201, made.text
    assert made.json()["parent_id"] == "prov"
    again = await api.post("/api/v1/agencies/prov/children", json=child, headers=editor)
    assert again.status_code == 409
    moved = {**child, "id": "xa-b", "parent_id": "dept"}
    mismatch = await api.post("/api/v1/agencies/prov/children", json=moved, headers=editor)
    assert mismatch.status_code == 422 and mismatch.json()["error"].startswith("parent_id")
    # a "province" under a province would join the provinces' rankings: not from an editor
    top = {**child, "id": "xa-c", "kind": "province"}
    refused = await api.post("/api/v1/agencies/prov/children", json=top, headers=editor)
    assert refused.status_code == 422 and refused.json()["error"].startswith("kind")
    assert agencies.get_agency(db, "xa-c") is None

    site = {"id": "xa-a-mc", "name": "Một cửa xã A", "type": "onestop", "domains": ["a.p.vn"]}
    added = await api.post("/api/v1/agencies/xa-a/sites", json=site, headers=editor)
    assert added.status_code == 201, added.text
    assert added.json()["agency_id"] == "xa-a" and "ingest_token" not in added.json()
    secret = {**site, "id": "xa-a-2", "ingest_token": "mine"}
    refused = await api.post("/api/v1/agencies/xa-a/sites", json=secret, headers=editor)
    assert refused.status_code == 422 and refused.json()["error"].startswith("ingest_token")
    taken = await api.post(
        "/api/v1/agencies/xa-a/sites", json={**site, "id": "other-web"}, headers=editor
    )
    assert taken.status_code == 409
    # the new commune and its site are in the editor's (and viewer's) subtree at once
    me = (await api.get("/api/v1/me", headers=world["viewer"])).json()
    assert {"xa-a"} <= {a["id"] for a in me["agencies"]}
    assert "xa-a-mc" in {s["id"] for s in me["sites"]}
    assert me["token_role"] == "viewer"
    assert (await api.get("/api/v1/me", headers=editor)).json()["token_role"] == "editor"


async def test_an_editor_creates_lists_and_revokes_viewer_tokens_below_it(
    world: dict[str, Any],
) -> None:
    api, editor = world["api"], world["editor"]
    made = await api.post(
        "/api/v1/tokens", json={"agency_id": "dept", "name": "Sở Tư pháp"}, headers=editor
    )
    assert made.status_code == 201, made.text
    assert (made.json()["role"], made.json()["agency_id"]) == ("viewer", "dept")
    dept = _bearer(made.json()["token"])
    # the new viewer token sees the department's site, not the district's
    own = await api.get("/api/v1/sites/dept-web/catalog/history", headers=dept)
    assert own.status_code == 200
    assert (await api.get("/api/v1/sites/dist-mc/catalog", headers=dept)).status_code == 404
    assert (await api.get("/api/v1/tokens", headers=dept)).status_code == 403
    # no editor tokens from an editor; only the admin makes those
    raised = await api.post(
        "/api/v1/tokens", json={"agency_id": "dept", "role": "editor"}, headers=editor
    )
    assert raised.status_code == 403 and raised.json()["error"].startswith("role")
    admin_made = await api.post(
        "/api/v1/tokens", json={"agency_id": "dept", "role": "editor"}, headers=ADMIN
    )
    assert admin_made.status_code == 201 and admin_made.json()["role"] == "editor"
    wrong = await api.post("/api/v1/tokens", json={"agency_id": "dept", "role": "x"}, headers=ADMIN)
    assert wrong.status_code == 422 and wrong.json()["error"].startswith("role")
    # the list: the subtree's tokens only (the admin sees the rival's too)
    listed = (await api.get("/api/v1/tokens", headers=editor)).json()
    assert {t["agency_id"] for t in listed} == {"prov", "dept"}
    every = (await api.get("/api/v1/tokens", headers=ADMIN)).json()
    assert "other" in {t["agency_id"] for t in every}
    # revoking: a viewer below yes, an editor token no
    gone = await api.delete(f"/api/v1/tokens/{made.json()['id']}", headers=editor)
    assert gone.status_code == 200
    after = await api.get("/api/v1/sites/dept-web/catalog/history", headers=dept)
    assert after.status_code == 401
    kept = await api.delete(f"/api/v1/tokens/{admin_made.json()['id']}", headers=editor)
    assert kept.status_code == 403


# --- isolation: every new or opened route, from the other province and from a viewer --------

#: (method, path with {site} or {agency}, JSON body or upload) of each route an editor uses.
EDITOR_ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/api/v1/sites/{site}/catalog", "catalog"),
    ("PUT", "/api/v1/sites/{site}/catalog/default", {"version": 1}),
    ("POST", "/api/v1/sites/{site}/accounts", "accounts"),
    ("PUT", "/api/v1/sites/{site}/domains", {"domains": ["x.gov.vn"]}),
    ("POST", "/api/v1/agencies/{agency}/children", {"id": "z", "name": "Z", "kind": "commune"}),
    ("POST", "/api/v1/agencies/{agency}/sites", {"id": "z-web", "name": "Z", "type": "portal"}),
    ("POST", "/api/v1/sites/{site}/goals", {"id": "g", "name": "G", "page": "/g/*"}),
    ("DELETE", "/api/v1/sites/{site}/goals/g", None),
]
READ_ROUTES = [
    "/api/v1/sites/{site}/catalog",
    "/api/v1/sites/{site}/catalog/history",
    "/api/v1/sites/{site}/accounts/imports",
    "/api/v1/sites/{site}/goals",
]


async def _call(
    api: httpx.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    if body == "catalog":
        upload = _upload("c.xlsx", (SAMPLES / "catalog.xlsx").read_bytes())
        return await api.request(method, path, headers=headers, **upload)
    if body == "accounts":
        upload = _upload("a.xlsx", (SAMPLES / "accounts.xlsx").read_bytes())
        return await api.request(method, path, headers=headers, **upload)
    return await api.request(method, path, json=body, headers=headers)


async def test_an_editor_manages_the_goals_of_its_sites(world: dict[str, Any]) -> None:
    api, editor, viewer = world["api"], world["editor"], world["viewer"]
    goal = {"id": "nop", "name": "Nộp hồ sơ", "event": "submit"}
    created = await api.post("/api/v1/sites/dept-web/goals", json=goal, headers=editor)
    assert created.status_code == 201, created.text
    listed = await api.get("/api/v1/sites/dept-web/goals", headers=viewer)
    assert [g["id"] for g in listed.json()] == ["nop"]
    gone = await api.delete("/api/v1/sites/dept-web/goals/nop", headers=editor)
    assert gone.status_code == 200
    assert (await api.get("/api/v1/sites/dept-web/goals", headers=viewer)).json() == []


@pytest.mark.parametrize(("method", "path", "body"), EDITOR_ROUTES)
async def test_another_provinces_editor_gets_404_like_an_unknown_id(
    world: dict[str, Any], method: str, path: str, body: Any
) -> None:
    api, rival = world["api"], world["rival"]
    for site, agency in (("dept-web", "dept"), ("dist-mc", "prov")):
        target = path.format(site=site, agency=agency)
        response = await _call(api, method, target, body, rival)
        assert response.status_code == 404, (target, response.text)
        hidden = site if "{site}" in path else agency
        fake = await _call(api, method, path.format(site="nope", agency="nope"), body, rival)
        assert fake.status_code == 404
        assert response.json() == {"error": fake.json()["error"].replace("nope", hidden)}
    assert registry.get_site(world["db"], "z-web") is None
    assert agencies.get_agency(world["db"], "z") is None


@pytest.mark.parametrize(("method", "path", "body"), EDITOR_ROUTES)
async def test_a_viewer_cannot_use_editor_routes(
    world: dict[str, Any], method: str, path: str, body: Any
) -> None:
    target = path.format(site="dept-web", agency="prov")
    response = await _call(world["api"], method, target, body, world["viewer"])
    assert response.status_code == 403 and "editor token" in response.json()["error"]


@pytest.mark.parametrize("path", READ_ROUTES)
async def test_reads_of_another_subtree_answer_like_unknown_sites(
    world: dict[str, Any], path: str
) -> None:
    api = world["api"]
    for who in ("viewer", "editor"):
        response = await api.get(path.format(site="other-web"), headers=world[who])
        fake = await api.get(path.format(site="nope"), headers=world[who])
        assert response.status_code == 404 == fake.status_code
        assert response.json() == {"error": fake.json()["error"].replace("nope", "other-web")}


async def test_tokens_of_another_subtree_are_invisible(world: dict[str, Any]) -> None:
    api, db, rival = world["api"], world["db"], world["rival"]
    info, _ = tokens.create_token(db, "dist", "Phường D")
    listed = (await api.get("/api/v1/tokens", headers=rival)).json()
    assert {t["agency_id"] for t in listed} == {"other"}
    revoke = await api.delete(f"/api/v1/tokens/{info.id}", headers=rival)
    unknown = await api.delete("/api/v1/tokens/nope", headers=rival)
    assert revoke.status_code == 404 == unknown.status_code
    assert revoke.json() == {"error": unknown.json()["error"].replace("nope", info.id)}
    made = await api.post("/api/v1/tokens", json={"agency_id": "dist"}, headers=rival)
    fake = await api.post("/api/v1/tokens", json={"agency_id": "nope"}, headers=rival)
    assert made.status_code == 422 == fake.status_code
    assert made.json() == {"error": fake.json()["error"].replace("nope", "dist")}
    assert tokens.get_token(db, info.id) is not None
    assert not any(t.revoked for t in tokens.list_tokens(db) if t.id == info.id)


async def test_admin_only_routes_stay_admin_only_for_an_editor(world: dict[str, Any]) -> None:
    api, editor = world["api"], world["editor"]
    for method, path, body in [
        ("GET", "/api/v1/sites", None),
        ("GET", "/api/v1/sites/dept-web", None),
        ("PUT", "/api/v1/sites/dept-web", {"name": "x", "type": "portal"}),
        ("DELETE", "/api/v1/sites/dept-web", None),
        ("GET", "/api/v1/agencies", None),
        ("PUT", "/api/v1/agencies/dept", {"name": "x", "kind": "department"}),
        ("DELETE", "/api/v1/agencies/dist", None),
        ("POST", "/api/v1/agencies/load", []),
        ("POST", "/api/v1/agencies/dept/rename", {"name": "x", "effective": "2026-01-01"}),
        ("POST", "/api/v1/agencies/dept/merge", {"into": "dist", "effective": "2026-01-01"}),
        ("GET", "/api/v1/sites/dept-web/removal-check", None),
    ]:
        response = await api.request(method, path, json=body, headers=editor)
        assert response.status_code == 403, (method, path, response.text)
        assert "needs the admin token" in response.json()["error"]
    assert agencies.get_agency(world["db"], "dept") is not None
