"""``GET /api/v1/me`` on the real ClickHouse engine: each token sees its own subtree only, and no
answer a dashboard reads ever carries a site's ingest token.

The tree written out here:

    region (other) ─┬─ p-hcm (province) ── d-hcm (department) ── site hcm (ingest token tok-hcm)
                    └─ p-hn  (province) ── site hn (tok-hn), site hn2 (tok-hn2)
    ministry m-x (no site); site orphan (no agency; only the admin sees it)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from clickhouse import agencies, registry, tokens
from clickhouse.client import Database
from core.settings import Settings
from schemas.agencies import Agency, AgencyKind
from schemas.sites import Site, SiteType

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "me-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
TREE = [
    Agency(id="region", name="Region", kind=AgencyKind.OTHER),
    Agency(id="p-hcm", name="TP HCM", kind=AgencyKind.PROVINCE, parent_id="region"),
    Agency(id="d-hcm", name="Sở Y tế", kind=AgencyKind.DEPARTMENT, parent_id="p-hcm"),
    Agency(id="p-hn", name="Hà Nội", kind=AgencyKind.PROVINCE, parent_id="region"),
    Agency(id="m-x", name="Bộ X", kind=AgencyKind.MINISTRY),
]
#: site id → (agency, ingest token)
SITES = {
    "hcm": ("d-hcm", "tok-hcm"),
    "hn": ("p-hn", "tok-hn"),
    "hn2": ("p-hn", "tok-hn2"),
    "orphan": ("", "tok-orphan"),
}


@pytest_asyncio.fixture(loop_scope="session")
async def world(clickhouse_engine: Any, ch_database: str) -> AsyncIterator[dict[str, Any]]:
    settings = Settings(clickhouse_database=ch_database, admin_token=TOKEN)  # type: ignore[arg-type]
    db = Database(clickhouse_engine, ch_database)
    agencies.load(db, TREE)
    for site, (agency, secret) in SITES.items():
        registry.upsert_site(
            db,
            Site(id=site, name=f"Site {site}", type=SiteType.PORTAL, agency_id=agency,
                 ingest_token=secret),
        )  # fmt: skip
    _, hn = tokens.create_token(db, "p-hn", "Hà Nội analysts")
    _, hcm = tokens.create_token(db, "p-hcm", "HCM analysts")
    revoked_info, revoked = tokens.create_token(db, "p-hn", "gone")
    tokens.revoke_token(db, revoked_info.id)
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield {
            "api": client,
            "hn": {"Authorization": f"Bearer {hn}"},
            "hcm": {"Authorization": f"Bearer {hcm}"},
            "revoked": {"Authorization": f"Bearer {revoked}"},
        }


def _subtree(root: str) -> set[str]:
    """``root`` and the agencies below it, walking TREE by hand (not the code under test)."""
    below = {root}
    changed = True
    while changed:
        grown = below | {a.id for a in TREE if a.parent_id in below}
        changed, below = grown != below, grown
    return below


def _subtree_sites(root: str) -> list[str]:
    return sorted(s for s, (agency, _) in SITES.items() if agency in _subtree(root))


async def test_admin_sees_every_agency_and_site_without_ingest_tokens(
    world: dict[str, Any],
) -> None:
    response = await world["api"].get("/api/v1/me", headers=ADMIN)
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["role"] == "admin" and me["agency"] is None
    assert sorted(s["id"] for s in me["sites"]) == sorted(SITES)
    assert [a["id"] for a in me["agencies"]] == sorted(a.id for a in TREE)
    assert {a["id"]: a["sites"] for a in me["agencies"]} == {
        a.id: _subtree_sites(a.id) for a in TREE
    }
    assert _subtree_sites("m-x") == [] and _subtree_sites("region") == ["hcm", "hn", "hn2"]
    for site in me["sites"]:
        assert "ingest_token" not in site, site
    assert not any(secret in response.text for _, secret in SITES.values())


@pytest.mark.parametrize(("who", "root"), [("hn", "p-hn"), ("hcm", "p-hcm")])
async def test_an_agency_token_sees_only_its_subtree(
    world: dict[str, Any], who: str, root: str
) -> None:
    response = await world["api"].get("/api/v1/me", headers=world[who])
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["role"] == "agency"
    assert me["agency"]["id"] == root and me["agency"]["sites"] == _subtree_sites(root)
    assert sorted(s["id"] for s in me["sites"]) == _subtree_sites(root)
    assert [a["id"] for a in me["agencies"]] == sorted(_subtree(root))
    assert {a["id"]: a["sites"] for a in me["agencies"]} == {
        a: _subtree_sites(a) for a in _subtree(root)
    }
    for other in set(SITES) - set(_subtree_sites(root)):
        assert other not in response.text
    assert "region" not in response.text and "ingest_token" not in response.text
    assert not any(secret in response.text for _, secret in SITES.values())


async def test_me_needs_a_valid_token(world: dict[str, Any]) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, world["revoked"]):
        response = await world["api"].get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert "bearer token" in response.json()["error"]


async def test_the_collectors_site_list_stays_admin_only(world: dict[str, Any]) -> None:
    """``/api/v1/sites`` carries the ingest tokens the collector needs: never to an agency."""
    for who in ("hn", "hcm"):
        response = await world["api"].get("/api/v1/sites", headers=world[who])
        assert response.status_code == 403
        assert "tok-" not in response.text
        one = await world["api"].get("/api/v1/sites/hn", headers=world[who])
        assert one.status_code == 403 and "tok-" not in one.text
        subtree = await world["api"].get("/api/v1/agencies/p-hn/sites", headers=world[who])
        assert subtree.status_code == 403
    listed = (await world["api"].get("/api/v1/sites", headers=ADMIN)).json()
    assert {s["id"]: s["ingest_token"] for s in listed} == {s: t for s, (_, t) in SITES.items()}


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        ("SELECT id, ingest_token FROM sites", "sites"),
        ("SELECT * FROM pageviews WHERE site IN (SELECT ingest_token FROM sites)", "sites"),
        ("SELECT token_hash FROM api_tokens", "api_tokens"),
    ],
)
async def test_free_sql_never_reads_ingest_tokens_for_an_agency(
    world: dict[str, Any], sql: str, table: str
) -> None:
    response = await world["api"].post("/api/v1/sql", json={"sql": sql}, headers=world["hn"])
    assert response.status_code == 403, response.text
    assert f".{table} is not available to agency tokens" in response.json()["error"]
    assert not any(secret in response.text for _, secret in SITES.values())
