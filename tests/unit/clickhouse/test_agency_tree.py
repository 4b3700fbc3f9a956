"""The agency tree rules (subtree, loops, load order, printed tree), the site/agency selection
of indicator endpoints and the starter data file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.params import parse_selection
from clickhouse.agency_tree import (
    load_order,
    sites_tree_lines,
    subtree,
    tree_lines,
    would_cycle,
)
from indicators.access import Selection
from indicators.errors import ParamError
from schemas.agencies import Agency, AgencyKind, parse_agencies

TREE = [
    Agency(id="p", name="Province", kind=AgencyKind.PROVINCE, code="01"),
    Agency(id="d1", name="Dept 1", kind=AgencyKind.DEPARTMENT, parent_id="p"),
    Agency(id="d2", name="Dept 2", kind=AgencyKind.DEPARTMENT, parent_id="p"),
    Agency(id="c1", name="Commune", kind=AgencyKind.COMMUNE, parent_id="d1"),
    Agency(id="q", name="Other province", kind=AgencyKind.PROVINCE),
]


def test_subtree_holds_the_root_and_everything_below() -> None:
    assert subtree(TREE, "p") == {"p", "d1", "d2", "c1"}
    assert subtree(TREE, "d1") == {"d1", "c1"}
    assert subtree(TREE, "q") == {"q"}
    assert subtree(TREE, "unknown") == set()


def test_a_hand_written_cycle_cannot_loop_forever() -> None:
    looped = [
        Agency(id="a", name="A", kind=AgencyKind.OTHER, parent_id="b"),
        Agency(id="b", name="B", kind=AgencyKind.OTHER, parent_id="a"),
    ]
    assert subtree(looped, "a") == {"a", "b"}


def test_would_cycle() -> None:
    assert would_cycle(TREE, "p", "c1")
    assert would_cycle(TREE, "p", "p")
    assert not would_cycle(TREE, "c1", "d2")
    assert not would_cycle(TREE, "p", "")


def test_load_order_puts_parents_first_and_names_a_dangling_parent() -> None:
    shuffled = [TREE[3], TREE[1], TREE[0], TREE[2]]
    ordered = [a.id for a in load_order(shuffled, [])]
    assert ordered.index("p") < ordered.index("d1") < ordered.index("c1")
    assert [a.id for a in load_order([TREE[3]], ["d1"])] == ["c1"]
    with pytest.raises(ValueError, match="agency 'c1': parent 'd1'"):
        load_order([TREE[3]], [])


def test_tree_lines_indent_children_and_count_sites() -> None:
    lines = tree_lines(TREE, {"d1": 2, "q": 1})
    assert lines == [
        "p  Province [province, 01]",
        "  d1  Dept 1 [department] (2 sites)",
        "    c1  Commune [commune]",
        "  d2  Dept 2 [department]",
        "q  Other province [province] (1 site)",
    ]


def test_parse_selection() -> None:
    assert parse_selection({"site": "a,b"}) == Selection("site", sites=("a", "b"))
    assert parse_selection({"agency": "p"}) == Selection("agency", agency="p")
    with pytest.raises(ParamError, match=r"^site: give either"):
        parse_selection({"site": "a", "agency": "p"})
    with pytest.raises(ParamError, match=r"^site: required"):
        parse_selection({})
    with pytest.raises(ParamError, match=r"^agency: at most 1"):
        parse_selection({"agency": "p,q"})
    with pytest.raises(ParamError, match=r"^agency: 'p q' is not a site id"):
        parse_selection({"agency": "p q"})


def test_the_starter_file_has_the_2025_tree() -> None:
    path = Path(__file__).resolve().parents[3] / "data" / "agencies_vn.json"
    agencies = parse_agencies(json.loads(path.read_text(encoding="utf-8")))
    provinces = [a for a in agencies if a.kind is AgencyKind.PROVINCE]
    assert len(provinces) == 34
    assert len({p.code for p in provinces}) == 34 and all(p.code for p in provinces)
    assert sum(p.name.startswith("Thành phố") for p in provinces) == 6
    assert sum(a.kind is AgencyKind.MINISTRY for a in agencies) == 14
    assert sum(a.kind is AgencyKind.MINISTRY_LEVEL for a in agencies) == 3
    assert all(not a.parent_id for a in agencies)


def test_parse_agencies_names_the_entry() -> None:
    with pytest.raises(ValueError, match="entry 2: id 'a' appears twice"):
        parse_agencies([{"id": "a", "name": "A", "kind": "other"}] * 2)
    with pytest.raises(ValueError, match="expected a JSON list"):
        parse_agencies({"x": 1})


def test_cli_parses_the_registry_commands() -> None:
    from emc.cli import build_parser
    from emc.registry_cli import snippet

    parser = build_parser()
    args = parser.parse_args(
        ["agencies", "merge", "p-a", "--into", "p-b", "--effective", "2025-07-01"]
    )
    assert (args.agencies_cmd, args.id, args.into, args.effective) == (
        "merge",
        "p-a",
        "p-b",
        "2025-07-01",
    )
    args = parser.parse_args(["tokens", "create", "--agency", "ha-noi"])
    assert (args.tokens_cmd, args.agency) == ("create", "ha-noi")
    args = parser.parse_args(["sites", "edit", "s", "--matomo-id", "12", "--agency", "ha-noi"])
    assert (args.sites_cmd, args.matomo_id, args.agency_id) == ("edit", 12, "ha-noi")
    assert parser.parse_args(["sites", "remove", "s", "--force"]).force
    assert snippet("hcm", "https://c.example.vn/") == (
        '<script defer src="https://c.example.vn/emc.js" data-site="hcm"></script>'
    )


def test_sites_tree_puts_sites_under_agencies_and_parent_sites() -> None:
    sites = [
        ("portal-p", "portal", "p", ""),
        ("dvc-p", "dvc", "p", "portal-p"),
        ("c1-portal", "portal", "c1", ""),
        ("loose", "onestop", "", ""),
        ("ghost", "portal", "deleted-agency", ""),
    ]
    assert sites_tree_lines(TREE, sites) == [
        "p  Province [province, 01]",
        "  - portal-p (portal)",
        "    - dvc-p (dvc)",
        "  d1  Dept 1 [department]",
        "    c1  Commune [commune]",
        "      - c1-portal (portal)",
        "  d2  Dept 2 [department]",
        "q  Other province [province]",
        "(no agency)",
        "  - ghost (portal)",
        "  - loose (onestop)",
    ]
