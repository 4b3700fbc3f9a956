"""The provisional Decision 766/QĐ-TTg scorecard (issue 16, item 3), pure parts: the weights
file and the scoring. Issue 16: "five groups — openness 18 points, progress and results 20,
digitised dossiers 22, online services 22, satisfaction 18 … a group the data cannot compute
shows 'not measured', never 0". Expected points are computed by hand in the comments from the
shipped file's thresholds (points × clamp((value − zero_at) / (full_at − zero_at), 0, 1))."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from indicators.scorecard import Measure, measures, score, scorecard_table
from indicators.scorecard_config import DEFAULT_PATH, GROUP_POINTS, ConfigError, load, parse

CONFIG = load()

ZERO_TOTALS: dict[str, int] = {
    "resolved": 0, "resolved_with_due": 0, "resolved_on_time": 0, "overdue_open": 0, "received": 0,
    "received_online": 0, "received_l4": 0, "received_online_l4": 0,
}  # fmt: skip


def _raw() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


def test_the_shipped_file_is_provisional_with_the_five_groups_of_the_issue() -> None:
    assert CONFIG.provisional is True
    assert [(g.key, g.points) for g in CONFIG.groups] == list(GROUP_POINTS.items())
    assert sum(g.points for g in CONFIG.groups) == 100
    for group in CONFIG.groups:
        assert sum(i.points for i in group.indicators) == group.points


def test_known_answer() -> None:
    """A period whose every count is chosen so the points can be added up by hand."""
    found = measures(
        {
            # on time 9 / 10 = 0.9 → 12 × 0.9 = 10.8; overdue (10 − 9 + 0) / 10 = 0.1 →
            # 8 × (0.1 − 0.2) / (0 − 0.2) = 4.0: progress 14.8 of 20
            "resolved": 10,
            "resolved_with_due": 10,
            "resolved_on_time": 9,
            "overdue_open": 0,
            # online 12 / 20 = 0.6 → 8 × 0.6 / 0.8 = 6.0; full process 6 / 10 → 6.0
            "received": 20,
            "received_online": 12,
            "received_l4": 10,
            "received_online_l4": 6,
        },
        {"fee_reported": 8, "paid_online": 2},  # 0.25 → 6 × 0.25 / 0.5 = 3.0: online 15.0
        {"digitized_reported": 5, "digitized": 4},  # 0.8 → 10 × 0.8 = 8.0 (partial, of 10)
        {5: 3, 4: 1, 1: 1},  # mean (15 + 4 + 1) / 5 = 4 → 18 × (4 − 1) / 4 = 13.5
    )
    answer = score(CONFIG, found)
    groups = {g["key"]: g for g in answer["groups"]}
    assert {k: (g["status"], g["points"], g["measured_max"]) for k, g in groups.items()} == {
        "openness": ("not_measured", None, 0),
        "progress": ("measured", 14.8, 20),
        "digitization": ("partial", 8.0, 10),
        "online": ("measured", 15.0, 22),
        "satisfaction": ("measured", 13.5, 18),
    }
    assert groups["openness"]["reason"].startswith("EMC holds no data on publication")
    overdue = groups["progress"]["indicators"][1]
    assert (overdue["value"], overdue["numerator"], overdue["denominator"]) == (0.1, 1, 10)
    assert answer["total"] == {
        "points_max": 100,
        "points": 51.3,  # 14.8 + 8.0 + 15.0 + 13.5
        "measured_max": 70,  # 20 + 10 + 22 + 18
        "measured_pct": 73.3,  # 51.3 / 70
        "complete": False,
    }
    assert answer["provisional"] is True


def test_no_data_is_not_measured_never_zero() -> None:
    answer = score(CONFIG, measures(ZERO_TOTALS, {}, {}, {}))
    assert all(g["status"] == "not_measured" and g["points"] is None for g in answer["groups"])
    satisfaction = answer["groups"][4]
    assert satisfaction["reason"] == "0 ratings in the period; at least 1 needed"
    assert answer["total"]["points"] is None and answer["total"]["measured_pct"] is None
    assert all(
        i["points"] is None and i["reason"] for g in answer["groups"] for i in g["indicators"]
    )


def test_thresholds_clamp_and_lower_is_better() -> None:
    worst = {
        **ZERO_TOTALS, "resolved": 4, "resolved_with_due": 4, "resolved_on_time": 0, "overdue_open": 1,
        "received": 5, "received_online": 5, "received_l4": 1, "received_online_l4": 1,
    }  # fmt: skip
    answer = score(CONFIG, measures(worst, {"fee_reported": 1, "paid_online": 1}, {}, {1: 2}))
    _, progress, _, online, satisfaction = answer["groups"]
    # on time 0 → 0 points (measured: a real 0, not "not measured"); overdue 5 / 5 = 1.0,
    # beyond zero_at 0.2 → 0
    assert [i["points"] for i in progress["indicators"]] == [0.0, 0.0]
    assert progress["status"] == "measured" and progress["points"] == 0.0
    # online 1.0 ≥ full_at 0.8 → full points, never more
    assert [i["points"] for i in online["indicators"]] == [8.0, 8.0, 6.0]
    assert satisfaction["points"] == 0.0  # every rating 1


def test_the_csv_table_has_one_row_per_indicator_and_the_total() -> None:
    answer = score(CONFIG, measures(ZERO_TOTALS, {}, {}, {3: 1}))
    table = scorecard_table(answer)
    assert len(table.rows) == sum(len(g.indicators) for g in CONFIG.groups) + 1
    assert table.rows[-1][0] == "total" and table.rows[-1][2] == 9.0  # 18 × (3 − 1) / 4


def test_measure_value() -> None:
    assert Measure(1, 4).value == 0.25 and Measure(0, 0).value is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("provisional"), "provisional"),
        (lambda d: d["groups"][0].update(points=20), "groups[0].points: group openness has 18"),
        (lambda d: d["groups"][1]["indicators"][0].update(points=11), "points sum to 19"),
        (lambda d: d["groups"][1]["indicators"][0].update(metric="nope"), "metric: 'nope'"),
        (lambda d: d["groups"][0]["indicators"][0].pop("reason"), "indicators[0].reason"),
        (lambda d: d["groups"][1]["indicators"][0].update(full_at=0.0), "must differ"),
        (lambda d: d["groups"][1]["indicators"][0].update(min_count=0), "min_count"),
        (lambda d: d["groups"].reverse(), "groups"),
        (lambda d: d["groups"][2]["indicators"][1].update(key="on_time"), "used twice"),
    ],
)
def test_a_wrong_file_is_refused_naming_the_entry(change: Any, message: str) -> None:
    data = _raw()
    change(data)
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse(data)


def test_an_unreadable_file_names_it(tmp_path: Any) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("provisional = [", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load(path)
