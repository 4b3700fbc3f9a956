"""Rankings at every level (issue 18) on real chDB: an agency's children ranked by any
indicator with change, a token's rankings inside its subtree, and its own rank among peers.

The tree and the dossiers of 1–7 March 2026 (local, UTC+7), written so every rate is known:

    prov (province) ─┬─ dept-a (department) ── a-mc: A1 online on time, A2 online late,
                     │                               A3 direct open          → 2/3 online, 1/2 on time
                     ├─ dept-b (department) ── b-mc: B1 direct on time
                     │     └─ b-unit (other)  ── bu-mc: U1 online on time, U2 direct late
                     │                                               → dept-b 1/3 online, 2/3 on time
                     ├─ dept-c (department, no site)
                     └─ xa-1 (commune)      ── x1-mc: X1 online on time  → 1/1, 1/1
                                                      (X0 direct in the previous week: 0/1)
    prov2 (province) ── p2-mc: P1 online on time                         → 1/1

On-time rate = resolved on or before the due time / all resolved (seed 004, footnote 5:
"Tỷ lệ giải quyết trước và đúng hạn" 31264 / 41426 = 75,47 %): ``indicators.dossiers``
computes it and the ranking calls it, so each child's value must equal the one-stop overview of
that child (checked below for every ranked child), not a formula of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
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
from tests.integration.test_dossier_api import PERIOD, Dossier, L, _store

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TOKEN = "levels-admin"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
K = AgencyKind

TREE = [
    Agency(id="prov", name="Tỉnh P", kind=K.PROVINCE),
    Agency(id="prov2", name="Tỉnh Q", kind=K.PROVINCE),
    Agency(id="dept-a", name="Sở A", kind=K.DEPARTMENT, parent_id="prov"),
    Agency(id="dept-b", name="Sở B", kind=K.DEPARTMENT, parent_id="prov"),
    Agency(id="b-unit", name="Chi cục B", kind=K.OTHER, parent_id="dept-b"),
    Agency(id="dept-c", name="Sở C", kind=K.DEPARTMENT, parent_id="prov"),
    Agency(id="xa-1", name="Xã 1", kind=K.COMMUNE, parent_id="prov"),
]
SITES = {"a-mc": "dept-a", "b-mc": "dept-b", "bu-mc": "b-unit", "x1-mc": "xa-1", "p2-mc": "prov2"}
DOSSIERS = [
    Dossier("A1", "S1", "online", L(2), due=L(5, 17), resolved=L(3), site="a-mc"),
    Dossier("A2", "S1", "online", L(2), due=L(4, 17), resolved=L(6), site="a-mc"),
    Dossier("A3", "S2", "direct", L(3), due=L(9, 17), site="a-mc"),
    Dossier("B1", "S1", "direct", L(2), due=L(5, 17), resolved=L(3), site="b-mc"),
    Dossier("U1", "S3", "online", L(2), due=L(5, 17), resolved=L(4), site="bu-mc"),
    Dossier("U2", "S3", "direct", L(3), due=L(4, 17), resolved=L(5), site="bu-mc"),
    Dossier("X1", "S1", "online", L(2), due=L(5, 17), resolved=L(3), site="x1-mc"),
    Dossier("X0", "S1", "direct", L(24, month=2), site="x1-mc"),
    Dossier("P1", "S1", "online", L(2), due=L(5, 17), resolved=L(3), site="p2-mc"),
]


@pytest.fixture(scope="module")
def levels_db(clickhouse_engine: Any) -> Iterator[Database]:
    """One migrated database with the tree and dossiers above for the module (read only)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    clickhouse_engine.command(f"CREATE DATABASE {name}")
    migrate(clickhouse_engine, name)
    db = Database(clickhouse_engine, name)
    agencies.load(db, TREE)
    for site, agency in SITES.items():
        registry.upsert_site(db, Site(id=site, name=site, type=SiteType.ONESTOP, agency_id=agency))
    _store(db, DOSSIERS)
    try:
        yield db
    finally:
        clickhouse_engine.command(f"DROP DATABASE IF EXISTS {name} SYNC")


@pytest_asyncio.fixture(loop_scope="session")
async def world(levels_db: Database) -> AsyncIterator[dict[str, Any]]:
    db = levels_db
    settings = Settings(clickhouse_database=db.database, admin_token=TOKEN)  # type: ignore[arg-type]
    made = {a: tokens.create_token(db, a, a)[1] for a in ("prov", "dept-b")}
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield {
            "api": client,
            **{a: {"Authorization": f"Bearer {t}"} for a, t in made.items()},
        }


async def _get(
    world: dict[str, Any], path: str, headers: dict[str, str], **params: str
) -> httpx.Response:
    return await world["api"].get(path, params={**PERIOD, **params}, headers=headers)


def _rows(answer: dict[str, Any], change: str = "change_pp") -> list[tuple[Any, ...]]:
    return [(r["agency"], r["value"], r["rank"], r[change]) for r in answer["rows"]]


async def test_a_provinces_children_by_online_and_on_time_rate(world: dict[str, Any]) -> None:
    online = await _get(
        world, "/api/v1/rankings", ADMIN, agency="prov", metric="online_dossier_rate"
    )
    assert online.status_code == 200, online.text
    answer = online.json()
    assert answer["group"] == "children" and answer["parent"]["id"] == "prov"
    # x1-mc: 0 of 1 online in the previous week, so +100 points; the others had no dossier
    assert _rows(answer) == [
        ("xa-1", 100.0, 1, 100.0), ("dept-a", 66.7, 2, None), ("dept-b", 33.3, 3, None),
    ]  # fmt: skip
    assert answer["without_sites"] == ["dept-c"] and answer["without_data"] == []
    on_time = await _get(world, "/api/v1/rankings", ADMIN, agency="prov", metric="on_time_rate")
    assert _rows(on_time.json()) == [
        ("xa-1", 100.0, 1, None), ("dept-b", 66.7, 2, None), ("dept-a", 50.0, 3, None),
    ]  # fmt: skip
    # only the departments, lowest first
    departments = await _get(
        world, "/api/v1/rankings", ADMIN, agency="prov", metric="on_time_rate",
        kind="department", order="asc",
    )  # fmt: skip
    assert [(r["agency"], r["rank"]) for r in departments.json()["rows"]] == [
        ("dept-a", 1), ("dept-b", 2),
    ]  # fmt: skip
    # a count with a tie: competition ranks 1, 1, 3 (every channel, the III.5 base; X0 direct in
    # the previous week, so xa-1 is unchanged)
    received = await _get(
        world, "/api/v1/rankings", ADMIN, agency="prov", metric="received_all_channels"
    )
    assert _rows(received.json(), "change_pct") == [
        ("dept-a", 3, 1, None), ("dept-b", 3, 1, None), ("xa-1", 1, 3, 0.0),
    ]  # fmt: skip
    # III.3 counts the dossiers received online only (seed 000): A1, A2 / U1 / X1; xa-1 had
    # none online the week before, so no change can be computed
    online_received = await _get(
        world, "/api/v1/rankings", ADMIN, agency="prov", metric="received_total"
    )
    assert _rows(online_received.json(), "change_pct") == [
        ("dept-a", 2, 1, None), ("dept-b", 1, 2, None), ("xa-1", 1, 2, None),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "metric", ["services_online_pct", "on_time_rate_pct", "avg_processing_time_s", "resolved"]
)
async def test_each_childs_value_is_its_own_overview(world: dict[str, Any], metric: str) -> None:
    """Services with dossiers received online, the on-time rate and the rest come from the
    one-stop overview of each child, never from a formula of the ranking's own."""
    answer = (await _get(world, "/api/v1/rankings", ADMIN, agency="prov", metric=metric)).json()
    assert {r["agency"] for r in answer["rows"]} | set(answer["without_data"]) == {
        "dept-a", "dept-b", "xa-1",
    }  # fmt: skip
    for row in answer["rows"]:
        overview = await _get(world, "/api/v1/onestop/overview", ADMIN, agency=row["agency"])
        assert overview.json()["metrics"][metric]["value"] == row["value"], row
    # services with dossiers: dept-a S1 online + S2 direct = 1 of 2 services online
    if metric == "services_online_pct":
        assert next(r for r in answer["rows"] if r["agency"] == "dept-a")["value"] == 50.0


async def test_a_token_ranks_inside_its_subtree_only(world: dict[str, Any]) -> None:
    prov, dept_b = world["prov"], world["dept-b"]
    # without agency= a token ranks its own agency's children
    mine = await _get(world, "/api/v1/rankings", prov, metric="online_dossier_rate")
    admin = await _get(
        world, "/api/v1/rankings", ADMIN, agency="prov", metric="online_dossier_rate"
    )
    assert mine.status_code == 200 and mine.json() == admin.json()
    below = await _get(world, "/api/v1/rankings", dept_b, metric="on_time_rate")
    assert _rows(below.json()) == [("b-unit", 50.0, 1, None)]
    for agency in ("prov", "dept-a", "prov2", "nope"):
        outside = await _get(
            world, "/api/v1/rankings", dept_b, agency=agency, metric="on_time_rate"
        )
        assert outside.status_code == 404
        assert outside.json() == {"error": f"agency: agency {agency!r} is not registered"}
    group = await _get(world, "/api/v1/rankings", prov, group="provinces", metric="visits")
    assert group.status_code == 403 and group.json()["error"].startswith("group")


async def test_own_rank_among_peers_names_no_peer(world: dict[str, Any]) -> None:
    dept = await _get(world, "/api/v1/rankings/own", world["dept-b"], metric="online_dossier_rate")
    assert dept.status_code == 200, dept.text
    answer = dept.json()
    # the departments of prov: dept-a 66.7 (1st), dept-b 33.3 (2nd); dept-c has no site
    assert (answer["agency"], answer["peers"], answer["rank"], answer["of"], answer["value"]) == (
        "dept-b", "siblings", 2, 2, 33.3,
    )  # fmt: skip
    assert "dept-a" not in dept.text and "Sở A" not in dept.text
    # a province among the provinces: prov 4 of 7 online (57.1 %) after prov2's 1 of 1
    prov = await _get(world, "/api/v1/rankings/own", world["prov"], metric="online_dossier_rate")
    assert (prov.json()["peers"], prov.json()["rank"], prov.json()["of"]) == ("provinces", 2, 2)
    assert prov.json()["value"] == 57.1 and "prov2" not in prov.text
    # a sub-agency of the subtree may be placed; one outside answers like an unknown one
    sub = await _get(
        world, "/api/v1/rankings/own", world["prov"], agency="xa-1", metric="on_time_rate"
    )
    assert (sub.json()["rank"], sub.json()["of"], sub.json()["change_pp"]) == (1, 1, None)
    hidden = await _get(
        world, "/api/v1/rankings/own", world["dept-b"], agency="dept-a", metric="on_time_rate"
    )
    assert hidden.status_code == 404
    no_site = await _get(
        world, "/api/v1/rankings/own", ADMIN, agency="dept-c", metric="on_time_rate"
    )
    assert (no_site.json()["rank"], no_site.json()["reason"]) == (None, "no_sites")
    need = await _get(world, "/api/v1/rankings/own", ADMIN, metric="on_time_rate")
    assert need.status_code == 400 and need.json()["error"].startswith("agency: required")
