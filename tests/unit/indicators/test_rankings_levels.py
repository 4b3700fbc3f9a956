"""Pure parts of the rankings at every level (issue 18): whom an agency is ranked against,
which children are ranked, the order with ties and missing values, and that every metric
offered is one the overviews compute."""

from __future__ import annotations

from indicators import dossiers
from indicators.rankings import (
    DVC_METRICS,
    METRICS,
    ONESTOP_METRICS,
    SOURCES,
    children,
    is_rate,
    order_and_rank,
    peers,
)
from schemas.agencies import Agency, AgencyKind

K = AgencyKind
TREE = [
    Agency(id="m1", name="Bộ 1", kind=K.MINISTRY),
    Agency(id="m2", name="Cơ quan ngang bộ", kind=K.MINISTRY_LEVEL),
    Agency(id="p1", name="Tỉnh 1", kind=K.PROVINCE),
    Agency(id="p2", name="Tỉnh 2", kind=K.PROVINCE),
    Agency(id="p3", name="Tỉnh 3 (sáp nhập)", kind=K.PROVINCE, merged_into="p1"),
    Agency(id="d1", name="Sở 1", kind=K.DEPARTMENT, parent_id="p1"),
    Agency(id="d2", name="Sở 2", kind=K.DEPARTMENT, parent_id="p1"),
    Agency(id="c1", name="Xã 1", kind=K.COMMUNE, parent_id="p1"),
    Agency(id="c0", name="Xã cũ", kind=K.COMMUNE, parent_id="p1", merged_into="c1"),
    Agency(id="u1", name="Cục 1", kind=K.DEPARTMENT, parent_id="m1"),
    Agency(id="o1", name="Khác", kind=K.OTHER),
]


def _by_id(agency_id: str) -> Agency:
    return next(a for a in TREE if a.id == agency_id)


def test_children_are_direct_in_force_and_optionally_of_one_kind() -> None:
    assert [a.id for a in children(TREE, "p1")] == ["c1", "d1", "d2"]  # c0 was merged
    assert [a.id for a in children(TREE, "p1", K.DEPARTMENT)] == ["d1", "d2"]
    assert [a.id for a in children(TREE, "m1")] == ["u1"]  # a ministry's units
    assert children(TREE, "d1") == []


def test_peers_are_same_kind_siblings_or_the_top_group() -> None:
    label, found = peers(TREE, _by_id("d2"))
    assert (label, [a.id for a in found]) == ("siblings", ["d1", "d2"])  # not the commune
    label, found = peers(TREE, _by_id("c1"))
    assert (label, [a.id for a in found]) == ("siblings", ["c1"])
    label, found = peers(TREE, _by_id("p2"))
    assert (label, sorted(a.id for a in found)) == ("provinces", ["p1", "p2"])  # p3 merged
    label, found = peers(TREE, _by_id("m1"))
    assert (label, sorted(a.id for a in found)) == ("ministries", ["m1", "m2"])
    label, found = peers(TREE, _by_id("o1"))
    assert (label, [a.id for a in found]) == ("siblings", ["o1"])


def test_order_and_rank_ties_missing_values_and_direction() -> None:
    entries = [
        {"agency": "b", "value": 50.0},
        {"agency": "a", "value": 50.0},
        {"agency": "c", "value": None},
        {"agency": "d", "value": 75.0},
        {"agency": "e", "value": 0.0},
    ]
    ranked, without = order_and_rank([dict(e) for e in entries], descending=True)
    assert [(e["agency"], e["rank"]) for e in ranked] == [("d", 1), ("a", 2), ("b", 2), ("e", 4)]
    assert without == ["c"]
    ranked, _ = order_and_rank([dict(e) for e in entries], descending=False)
    assert [(e["agency"], e["rank"]) for e in ranked] == [("e", 1), ("a", 2), ("b", 2), ("d", 4)]


def test_every_metric_is_one_the_overviews_compute() -> None:
    """The ranking offers exactly the overviews' metrics (plus visits and the two first rate
    names): a metric added to an overview must be added here, and none is invented here."""
    onestop = set(dossiers._onestop_values({}))
    catalog = {"services": 0, "l4_services": 0, "l3_services": 0}
    dvc = set(dossiers._dvc_values({}, 0, catalog))
    assert set(ONESTOP_METRICS) == onestop
    assert set(DVC_METRICS) == dvc - {"pageviews"}  # the portal's pageviews stand for it
    assert set(METRICS) == onestop | dvc | {"visits", "online_dossier_rate", "on_time_rate"}
    assert SOURCES["on_time_rate"] == ("onestop", "on_time_rate_pct")
    assert is_rate("on_time_rate") and is_rate("l4_services_with_dossiers_pct")
    assert not is_rate("l4_services_with_dossiers") and not is_rate("avg_processing_time_s")


def test_rates_are_the_overviews_rates() -> None:
    """A rate changes in percentage points in the overview, so in the ranking too."""
    rates = dossiers._ONESTOP_RATES | dossiers._DVC_RATES
    for metric in ONESTOP_METRICS + DVC_METRICS:
        assert is_rate(metric) == (metric in rates), metric
