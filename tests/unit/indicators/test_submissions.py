"""The matching rule of DVC online submissions (EMC II.2–4, ``indicators.submissions``), pure.

Seed 000, Phụ lục 2, II.2: "Tổng số lần người dùng thực hiện chức năng nộp hồ sơ trực tuyến trên
Cổng dịch vụ công trực tuyến" — each act of submitting counts once, whichever source saw it.
"""

from __future__ import annotations

from typing import Any

from indicators.submissions import by_level, merge, split


def test_split_pairs_codes_first_then_uncoded_events() -> None:
    # 3 pushed, 1 named by a coded event; 3 uncoded events: 2 pair, 1 only the tracker saw
    assert split(3, 3, 0, 1) == {"both": 3, "pushed_only": 0, "tracker_only": 1}
    # fewer events than pushed dossiers: the rest only the push reported
    assert split(4, 1, 0, 1) == {"both": 2, "pushed_only": 2, "tracker_only": 0}
    # coded events never pushed are tracker-only, once per code
    assert split(1, 0, 2, 0) == {"both": 0, "pushed_only": 1, "tracker_only": 2}
    # one source only
    assert split(0, 5, 0, 0) == {"both": 0, "pushed_only": 0, "tracker_only": 5}
    assert split(5, 0, 0, 0) == {"both": 0, "pushed_only": 5, "tracker_only": 0}
    assert split(0, 0, 0, 0) == {"both": 0, "pushed_only": 0, "tracker_only": 0}


def _pushed(site: str, code: str, level: int | None, submitted: int) -> dict[str, Any]:
    return {
        "site": site, "procedure_code": code, "procedure_name": "", "level": level,
        "catalog_name": "", "submitted": submitted, "submitted_or_received": submitted,
        "received": 0,
    }  # fmt: skip


def test_merge_adds_tracker_only_submissions_and_rows() -> None:
    pushed = [_pushed("dvc", "A", 4, 2), _pushed("dvc", "B", 3, 1)]
    tracker = [
        {"site": "dvc", "procedure_code": "A", "uncoded": 3, "coded_only": 0, "confirmed": 0,
         "level": 4, "catalog_name": "a"},
        {"site": "dvc", "procedure_code": "C", "uncoded": 0, "coded_only": 1, "confirmed": 0,
         "level": None, "catalog_name": ""},
        # only codes of dossiers submitted in another period: nothing to count here
        {"site": "dvc", "procedure_code": "D", "uncoded": 0, "coded_only": 0, "confirmed": 0,
         "level": 4, "catalog_name": "d"},
    ]  # fmt: skip
    rows = {r["procedure_code"]: r for r in merge(pushed, tracker)}
    assert set(rows) == {"A", "B", "C"}
    assert (rows["A"]["submitted"], rows["A"]["both"], rows["A"]["tracker_only"]) == (3, 2, 1)
    assert (rows["B"]["submitted"], rows["B"]["pushed_only"]) == (1, 1)
    assert rows["C"]["submitted"] == rows["C"]["submitted_or_received"] == 1
    assert rows["C"]["received"] == 0 and rows["C"]["level"] is None
    assert by_level(rows.values()) == {
        "submissions": {"both": 2, "pushed_only": 1, "tracker_only": 2},
        "submissions_l4": {"both": 2, "pushed_only": 0, "tracker_only": 1},
        "submissions_l3": {"both": 0, "pushed_only": 1, "tracker_only": 0},
    }
